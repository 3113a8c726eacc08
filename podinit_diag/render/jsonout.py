"""The versioned JSON report (``-o json``), described by ``docs/report.schema.json``.

Fields may be added under the same ``schema_version``; renaming or removing one
bumps it. Keys are emitted in a fixed order so that output is byte-identical for
the same input. Strings from the cluster are redacted (:func:`for_json`), and the text
is ASCII (``ensure_ascii``): a control, bidi or zero-width character, or a lone
surrogate, is a ``\\u`` escape, harmless on a terminal and encodable in any locale.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from podinit_diag.core.kubetime import format_time, human_duration
from podinit_diag.core.model import ConditionStep, Finding, Report, TimelineStep
from podinit_diag.core.summary import ScanSummary
from podinit_diag.core.version import VERSION
from podinit_diag.render.common import for_json

SCHEMA_VERSION = 1


def report_dict(r: Report) -> dict[str, Any]:
    r = for_json(r)
    p = r.pod
    counts = {
        s: sum(1 for f in r.findings if f.severity.value == s) for s in ("error", "warning", "info")
    }
    return {
        "pod": {
            "namespace": p.namespace,
            "name": p.name,
            "uid": p.uid,
            "phase": p.phase,
            "status": p.status,
            "ready": p.ready,
            "restarts": p.restarts,
            "restart_count": p.restart_count,
            "node": p.node or None,
            "owner": {"kind": p.owner.kind, "name": p.owner.name} if p.owner else None,
            "age": p.age,
        },
        "observed_at": format_time(r.observed_at),
        "source": r.source,
        "init_timeline": [_step(s) for s in r.timeline],
        "pod_conditions": [_condition_dict(c) for c in r.conditions],
        "waiting_at": _waiting_at(r),
        "ready_after_seconds": _seconds(r.ready_after),
        "findings": [finding_dict(f) for f in r.findings],
        "summary": {**counts, "worst": r.worst.value if r.worst else None},
        "errors": list(r.errors),
    }


def finding_dict(f: Finding) -> dict[str, Any]:
    return {
        "code": f.code,
        "rule": f.rule,
        "severity": f.severity.value,
        "container": f.container,
        "container_kind": f.container_kind.value if f.container_kind else None,
        "title": f.title,
        "evidence": [{"source": e.source, "ref": e.ref, "text": e.text} for e in f.evidence],
        "fix": f.fix,
        "docs": f.docs,
    }


def _time(t: datetime | None) -> str | None:
    return format_time(t) if t else None


def _seconds(d: timedelta | None) -> int | None:
    return int(d.total_seconds()) if d is not None else None


def _condition_dict(c: ConditionStep) -> dict[str, Any]:
    return {
        "type": c.type,
        "status": c.status,
        "reason": c.reason or None,
        "message": c.message or None,
        "last_transition_time": _time(c.transitioned_at),
        "age": human_duration(c.age) if c.age is not None else None,
        "took_seconds": _seconds(c.took),
        "current": c.current,
    }


def _waiting_at(r: Report) -> dict[str, Any] | None:
    c = r.waiting_at
    if c is None:
        return None
    init = r.waiting_for_init
    return {
        "condition": c.type,
        "for_seconds": _seconds(c.waiting),
        "init_container": init.name if init else None,
    }


def _step(s: TimelineStep) -> dict[str, Any]:
    return {
        "name": s.name,
        "kind": s.kind.value,
        "state": s.state,
        "reason": s.reason or None,
        "exit_code": s.exit_code,
        "restarts": s.restarts,
        "started_at": _time(s.started_at),
        "finished_at": _time(s.finished_at),
        "duration_seconds": _seconds(s.duration),
        "blocking": s.blocking,
    }


def envelope(reports: Sequence[Report]) -> dict[str, Any]:
    # "errors" is the scan's (namespaces it could not read); a pod's own are in its report
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "initdoctor", "version": VERSION},
        "reports": [report_dict(r) for r in reports],
        "errors": [],
    }


def render(reports: Sequence[Report]) -> str:
    return json.dumps(envelope(reports), indent=2) + "\n"


def scan_tail(s: ScanSummary) -> dict[str, Any]:
    """What a scan adds after its reports: errors, groups, summary."""
    doc: dict[str, Any] = {"errors": list(for_json(tuple(s.errors)))}
    doc["groups"] = [
        {
            "namespace": g.namespace,
            "owner": g.owner or None,
            "code": g.code,
            "rule": g.rule,
            "severity": g.severity.value,
            "container": g.container,
            "title": g.title,
            "count": g.count,
            "examples": list(g.examples),
        }
        for g in map(for_json, s.groups)
    ]
    doc["summary"] = {
        "pods": s.pods,
        "with_findings": s.unhealthy,
        "healthy": s.healthy,
        "by_severity": s.by_severity(),
    }
    return doc


class ScanStream:
    """A scan's JSON written as it goes: the envelope's head, each report as it is ready,
    then errors, groups and summary, so the reports of a big cluster are never all in
    memory. Compact: a scan is machine input (indenting disables the C encoder, which
    costs seconds at 10k pods); ``jq .`` shows it indented."""

    def __init__(self) -> None:
        self._count = 0
        self._started = False

    def start(self) -> str:
        self._started = True
        head = envelope(())
        del head["reports"], head["errors"]
        return _compact(head)[:-1] + ',"reports":['

    @staticmethod
    def encode(report: Report) -> str:
        """A report's JSON (pure: a parallel scan encodes in its worker processes)."""
        return _compact(report_dict(report))

    def item(self, encoded: str) -> str:
        """An encoded report, in its place in the array."""
        self._count += 1
        return ("," if self._count > 1 else "") + encoded

    def end(self, s: ScanSummary) -> str:
        """The rest: errors, groups and summary (the head too, if no report came)."""
        head = "" if self._started else self.start()
        return head + "]," + _compact(scan_tail(s))[1:] + "\n"


def _compact(doc: Any) -> str:
    return json.dumps(doc, separators=(",", ":"))
