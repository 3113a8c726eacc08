"""Regular expressions compiled on first use. The rules hold some sixty patterns and a run
needs few of them; compiling them all at import was a fifth of the CLI's start-up."""

from __future__ import annotations

import re
from typing import cast

# What the compiled pattern offers, bound on the instance at first use.
_ATTRIBUTES = (
    "search",
    "match",
    "fullmatch",
    "finditer",
    "findall",
    "sub",
    "subn",
    "split",
    "groups",
    "groupindex",
    "pattern",
    "flags",
)


class _Lazy:
    def __init__(self, pattern: str, flags: int) -> None:
        self._source = (pattern, flags)

    def __getattr__(self, name: str) -> object:
        # Only reached before the first use: compiling binds the compiled pattern's methods
        # and attributes on the instance, so later uses cost what the pattern's own cost.
        compiled = re.compile(*self._source)
        for attribute in _ATTRIBUTES:
            setattr(self, attribute, getattr(compiled, attribute))
        self.__dict__["compiled"] = compiled
        return getattr(compiled, name)


def lazy(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """Like :func:`re.compile`, compiled when first used."""
    return cast(re.Pattern[str], _Lazy(pattern, flags))
