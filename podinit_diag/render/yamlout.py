"""The JSON report as YAML (``-o yaml``): the same document as ``-o json``, field for
field and in the same order, so that ``yaml.safe_load`` of it equals ``json.loads`` of
the JSON.

Like the JSON, the text is ASCII: PyYAML writes every character outside printable ASCII
as an escape in a double-quoted string (``"\\e[2J"``, ``"\\u202E"``, ``"\\uD800"``), so a
control, bidi or zero-width character from a pod never reaches the terminal, and the
text can be written in any locale. A string of several lines of printable ASCII is shown
as a literal block (``|``), as kubectl shows one. A string that YAML 1.2 readers (yq,
go-yaml) would take for a number is quoted, as PyYAML already quotes those YAML 1.1 would.
Long strings are not folded across lines (kubectl does not fold them either), so a line
of the output can be searched whole.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

__all__ = ["render"]

# PyYAML folds plain and quoted scalars at its ``width``; this one is never reached.
_NO_FOLDING = 1 << 30

# Plain scalars that YAML 1.2's core schema (yq, go-yaml v3) reads as numbers although
# PyYAML's YAML 1.1 resolver reads them as strings: quoted, so that every reader agrees.
_NUMBER_1_2 = re.compile(
    r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
)


def render(doc: Any) -> str:
    """``doc`` (the dict ``-o json`` prints: a report envelope or a scan's document) as
    one YAML document, block style, keys in the document's order."""
    try:
        return _dump(doc, fast=True)
    except UnicodeEncodeError:
        # libyaml takes the text as UTF-8, which a lone surrogate (a report keeps one as
        # it came) cannot be encoded to; the pure-Python emitter escapes it
        return _dump(doc, fast=False)


def _dump(doc: Any, fast: bool) -> str:
    import yaml  # here, not at the top: importing PyYAML is start-up time -o json never needs

    text: str = yaml.dump(
        doc,
        Dumper=_dumper(fast),
        sort_keys=False,
        allow_unicode=False,
        default_flow_style=False,
        width=_NO_FOLDING,
    )
    return text


@cache
def _dumper(fast: bool) -> type[Any]:
    """PyYAML's safe dumper (libyaml's emitter when ``fast`` and PyYAML has it, some
    2.5 times faster), with strings of several lines as literal blocks."""
    import yaml

    base = (
        yaml.CSafeDumper if fast and getattr(yaml, "__with_libyaml__", False) else yaml.SafeDumper
    )

    class Dumper(base):  # type: ignore[valid-type,misc]
        pass

    def represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
        # The emitter falls back to double quotes when a block cannot hold the text
        # exactly (escapes needed, trailing spaces): asking for a block is always safe.
        # Newlines alone are clearer as "\n" than as a single-quoted run of blank lines.
        style = None
        if "\n" in data:
            style = "|" if "\n" in data.strip("\n") else '"'
        elif _NUMBER_1_2.fullmatch(data):
            style = "'"
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)

    Dumper.add_representer(str, represent_str)
    return Dumper
