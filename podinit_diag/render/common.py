"""Wording shared by the text renderers (table and Markdown)."""

from __future__ import annotations

from datetime import datetime

from ..kubetime import human_duration, translate_timestamp_since
from ..model import Evidence, Report, TimelineStep

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
