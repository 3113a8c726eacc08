"""Wording shared by the text renderers (table and Markdown), and the one pass that makes
the data they show safe: :func:`for_text` (and :func:`for_json` for JSON)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, is_dataclass, replace
from datetime import datetime, timedelta
from enum import Enum
from functools import lru_cache
from types import UnionType
from typing import Any, Literal, TypeVar, Union, cast, get_args, get_origin, get_type_hints

from podinit_diag.core.kubetime import human_duration, translate_timestamp_since
from podinit_diag.core.model import ConditionStep, Evidence, Report, TimelineStep
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


# References we compose, a JSONPath or a log file and line, are escaped but not redacted:
# redaction reads `logs/fetch-secrets.previous.log:2` as a `secret...: value` pair.
_REFERENCES = {(Evidence, "ref")}

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
                (f.name, (cls, f.name) in _REFERENCES)
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


STEP_HEADERS = (
    "#",
    "NAME",
    "KIND",
    "STATE",
    "REASON",
    "EXIT",
    "RESTARTS",
    "STARTED",
    "FINISHED",
    "DURATION",
)
POD_HEADERS = ("NAME", "READY", "STATUS", "RESTARTS", "AGE", "NODE")
CONDITION_HEADERS = ("CONDITION", "STATUS", "REASON", "MESSAGE", "LAST TRANSITION", "TOOK")


def pod_row(r: Report) -> list[str]:
    p = r.pod
    return [p.name, p.ready, p.status, p.restarts, p.age, p.node or "<none>"]


def context_line(r: Report) -> str:
    p = r.pod
    owner = f"{p.owner.kind}/{p.owner.name}" if p.owner else "none"
    return f"namespace {p.namespace or '<none>'} · owner {owner} · phase {p.phase or '<none>'}"


def _ago(t: datetime | None, r: Report) -> str:
    return f"{translate_timestamp_since(t, r.observed_at)} ago" if t else "-"


def step_row(i: int, s: TimelineStep, r: Report) -> list[str]:
    return [
        str(i),
        s.name,
        s.kind.value,
        s.state,
        s.reason or "-",
        "-" if s.exit_code is None else str(s.exit_code),
        str(s.restarts),
        _ago(s.started_at, r),
        _ago(s.finished_at, r),
        human_duration(s.duration) if s.duration is not None else "-",
    ]


def _waiting_detail(c: ConditionStep, r: Report) -> str:
    """Why the current step waits: the blocking init container, else the condition's reason."""
    init = r.waiting_for_init
    if init is not None:
        return f"init container {init.name}"
    if c.status is None:
        return "not reported yet"
    return c.reason


def condition_row(c: ConditionStep, r: Report) -> list[str]:
    if c.current:
        took = "waiting" + (f" {human_duration(c.waiting)}" if c.waiting is not None else "")
    else:
        took = human_duration(c.took) if c.took is not None else "-"
    return [
        c.type,
        c.status or "absent",
        c.reason or "-",
        c.message or "-",
        _ago(c.transitioned_at, r),
        took,
    ]


def _plain(text: str) -> str:
    return text


def conditions_line(r: Report, strong: Callable[[str], str] = _plain) -> str | None:
    """The readiness chain on one line: ``✓ took`` for True steps, ``… waiting`` at the
    current one, bare names for the other steps after it, ``✗``/``?``/``absent`` with the
    reason otherwise (a finished pod). ``strong`` highlights the current step."""
    if not r.conditions:
        return None
    parts = []
    reached = True
    for c in r.conditions:
        if c.current:
            waited = f" {human_duration(c.waiting)}" if c.waiting is not None else ""
            detail = _waiting_detail(c, r)
            parts.append(strong(f"{c.type} … waiting{waited}" + (f" ({detail})" if detail else "")))
            reached = False
        elif c.status == "True":
            parts.append(
                f"{c.type} ✓" + (f" {human_duration(c.took)}" if c.took is not None else "")
            )
        elif not reached:
            parts.append(c.type)  # not reached yet: its False adds nothing
        else:
            mark = {"False": "✗", None: "absent"}.get(c.status, "?")
            parts.append(f"{c.type} {mark}" + (f" {c.reason}" if c.reason else ""))
    line = "Conditions: " + " · ".join(parts)
    ready = r.ready_after
    if ready is not None:
        line += f" · ready {human_duration(ready)} after creation"
    return line


def waiting_line(r: Report) -> str | None:
    """One sentence on which step is taking the time, or how long the pod took to be Ready."""
    c = r.waiting_at
    if c is not None:
        waited = f" for {human_duration(c.waiting)}" if c.waiting is not None else ""
        detail = _waiting_detail(c, r)
        return f"Waiting at {c.type}{waited}" + (f" ({detail})" if detail else "")
    ready = r.ready_after
    if ready is not None:
        return f"Ready {human_duration(ready)} after creation"
    return None


def evidence_line(e: Evidence) -> str:
    sep = " = " if e.source in ("status", "spec") else ": "
    return f"{e.source:<6}  {e.ref}{sep}{e.text}"


def blocking_line(r: Report) -> str | None:
    for s in r.timeline:
        if s.blocking:
            what = s.reason or s.state
            return f"Blocked at init container {s.name} ({s.kind.value}, {what})"
    return None


SCAN_HEADERS = ("NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "FINDING", "CONTAINER")
