"""The one pass that makes a report's data safe to show: :func:`for_text` (secrets masked,
non-printable characters escaped) for the text renderers, :func:`for_json` (secrets masked)
for JSON and :meth:`Report.to_dict`.

In the core, not in ``render``, so that the library's ``Report.to_dict()`` gives exactly
what ``-o json`` prints, redaction included. It knows nothing of the model's classes: it
walks any frozen dataclass by its fields, so a field added later is covered without a
change here. A field whose ``dataclasses.field`` metadata has ``"reference": True`` (a
JSONPath, a log file and line, a ``kubectl logs`` command: references we compose) is
escaped but not redacted: redaction reads ``logs/fetch-secrets.previous.log:2`` as a
``secret...: value`` pair.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, is_dataclass, replace
from datetime import datetime, timedelta
from enum import Enum
from functools import lru_cache
from types import UnionType
from typing import Any, Literal, TypeVar, Union, cast, get_args, get_origin, get_type_hints

from podinit_diag.core.redact import redact
from podinit_diag.core.sanitize import escape

T = TypeVar("T")


def cached(fn: Callable[[str], str]) -> Callable[[str], str]:
    """``fn`` with its results for short strings cached: a scan shows the same statuses,
    reasons, container names and "-" on tens of thousands of rows, and each would cost a
    redaction search and a printable check. Long strings (messages, log lines) are not
    kept: a hostile server could send thousands of distinct megabyte-long ones."""
    short = lru_cache(maxsize=8192)(fn)

    def call(text: str) -> str:
        return short(text) if len(text) <= 256 else fn(text)

    return call


def _clean(text: str) -> str:
    return escape(redact(text))


_clean_cached = cached(_clean)


def clean(text: str) -> str:
    """A string from the cluster or a file as a text renderer may show it: secrets
    masked, then every non-printable character escaped (one line, nothing to execute)."""
    return _clean_cached(text)


_redact = cached(redact)


def _keep(text: str) -> str:
    return text


def for_text(value: T) -> T:
    """``value`` (a report, a scan row or group, a wait transition or outcome) with every
    string in it, at any depth of frozen dataclasses and tuples, passed through
    :func:`clean`. Fields are found with :func:`dataclasses.fields`, so one added later
    is covered without a change here; enums (our own words), numbers, times and None are
    kept. What is already clean comes back as the same object, without a copy."""
    return cast(T, _walk(value, clean, escape))


def for_json(value: T) -> T:
    """:func:`for_text` with redaction only: JSON escapes control characters itself."""
    return cast(T, _walk(value, _redact, _keep))


# (field, is a reference) per dataclass type: the init fields (replace() takes no other)
# whose type may hold text; () for any other type
_FIELDS: dict[type, tuple[tuple[str, bool], ...]] = {}


def _names(cls: type) -> tuple[tuple[str, bool], ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = ()
        if is_dataclass(cls):
            try:
                hints = get_type_hints(cls)
            except (NameError, TypeError):  # an annotation that does not resolve: walk it
                hints = {}
            names = tuple(
                (f.name, bool(f.metadata.get("reference")))
                for f in fields(cls)
                if f.init and _may_hold_text(hints.get(f.name, Any))
            )
        _FIELDS[cls] = names
    return names


def _may_hold_text(hint: Any) -> bool:
    """False for a field declared as numbers, times, booleans, our enums or literals
    (our words), alone or in unions and tuples of them; True for anything else. Skipping
    those halves the walk; it trusts the declared types, which mypy --strict checks and
    the normalizer's accessors guarantee for data from the cluster."""
    if hint in _LEAVES or (isinstance(hint, type) and issubclass(hint, Enum)):
        return False
    origin = get_origin(hint)
    if origin is Literal:
        return False
    if origin in (Union, UnionType, tuple):
        return any(_may_hold_text(a) for a in get_args(hint) if a is not Ellipsis)
    return True


# Types with no string inside, answered before any other test: most of a report's values.
_LEAVES: frozenset[Any] = frozenset({type(None), bool, int, float, datetime, timedelta})


def _walk(value: Any, fix: Callable[[str], str], fix_ref: Callable[[str], str]) -> Any:
    """``value`` with ``fix`` applied to its strings (``fix_ref`` to references)."""
    kind = type(value)
    if kind is str:
        out = fix(value)
        return value if out == value else out
    if kind in _LEAVES:
        return value
    if kind is tuple:
        for i, item in enumerate(value):
            new = _walk(item, fix, fix_ref)
            if new is not item:  # copy from the first change on; most tuples are clean
                rest = (_walk(v, fix, fix_ref) for v in value[i + 1 :])
                return (*value[:i], new, *rest)
        return value
    if isinstance(value, str):
        # our enums (Severity, ContainerKind) are str subclasses: our words, kept
        return value if isinstance(value, Enum) else _walk(str(value), fix, fix_ref)
    changes = {}
    for name, reference in _names(kind):
        old = getattr(value, name)
        new = _walk(old, fix_ref if reference else fix, fix_ref)
        if new is not old:
            changes[name] = new
    return replace(value, **changes) if changes else value
