"""Wording shared by the text renderers (table and Markdown). The one pass that makes the
data they show safe, :func:`for_text` (and :func:`for_json` for JSON), is in
:mod:`podinit_diag.core.cleaning` (``Report.to_dict`` uses it too); it is importable from
here as before."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from podinit_diag.core.cleaning import cached as cached
from podinit_diag.core.cleaning import clean as clean
from podinit_diag.core.cleaning import for_json as for_json
from podinit_diag.core.cleaning import for_text as for_text
from podinit_diag.core.kubetime import human_duration, translate_timestamp_since
from podinit_diag.core.model import ConditionStep, Evidence, Report, TimelineStep
from podinit_diag.core.summary import Row, ScanSummary


def context_lines(e: Evidence) -> list[tuple[int, str, bool]]:
    """A log evidence's lines as (line number, text, is the quoted line), the lines before
    and after it included; [] for evidence without any (not from a log, or alone)."""
    if e.line is None or not (e.before or e.after):
        return []
    first = e.line - len(e.before)
    lines = (*e.before, e.text, *e.after)
    return [(n, text, n == e.line) for n, text in enumerate(lines, first)]


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


def context_line(r: Report, node: bool = False) -> str:
    """Where the pod is: namespace, owner, phase (and its node, when no NODE column
    shows it)."""
    p = r.pod
    owner = f"{p.owner.kind}/{p.owner.name}" if p.owner else "none"
    where = f" · node {p.node or '<none>'}" if node else ""
    return (
        f"namespace {p.namespace or '<none>'}{where} · owner {owner} · phase {p.phase or '<none>'}"
    )


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


def condition_parts(r: Report) -> list[tuple[str, bool]]:
    """The readiness chain, one part per condition, with whether it is the current step:
    ``✓ took`` for True steps, ``… waiting`` at the current one, bare names for the steps
    after it, ``✗``/``?``/``absent`` with the reason otherwise (a finished pod); then how
    long the pod took to be ready."""
    parts = []
    reached = True
    for c in r.conditions:
        if c.current:
            waited = f" {human_duration(c.waiting)}" if c.waiting is not None else ""
            detail = _waiting_detail(c, r)
            parts.append((f"{c.type} … waiting{waited}" + (f" ({detail})" if detail else ""), True))
            reached = False
        elif c.status == "True":
            took = f" {human_duration(c.took)}" if c.took is not None else ""
            parts.append((f"{c.type} ✓{took}", False))
        elif not reached:
            parts.append((c.type, False))  # not reached yet: its False adds nothing
        else:
            mark = {"False": "✗", None: "absent"}.get(c.status, "?")
            parts.append((f"{c.type} {mark}" + (f" {c.reason}" if c.reason else ""), False))
    ready = r.ready_after
    if parts and ready is not None:
        parts.append((f"ready {human_duration(ready)} after creation", False))
    return parts


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


def evidence_parts(e: Evidence) -> tuple[str, str, str]:
    """Source, reference, and the text after its separator (``= value`` for a field,
    ``: text`` for an event, a log line or a cluster object)."""
    sep = " = " if e.source in ("status", "spec") else ": "
    return e.source, e.ref, sep + e.text


def blocking_line(r: Report) -> str | None:
    for s in r.timeline:
        if s.blocking:
            what = s.reason or s.state
            return f"Blocked at init container {s.name} ({s.kind.value}, {what})"
    return None


SCAN_HEADERS = ("NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "FINDING", "CONTAINER")


def listed_rows(s: ScanSummary, rows: Sequence[Row] | None = None) -> list[Row]:
    """A scan's listed pods (``rows``, else the summary's reports) in the order of every
    scan output: most severe first, then by namespace and name."""
    return sorted(rows if rows is not None else map(Row.of, s.reports), key=Row.order)


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
