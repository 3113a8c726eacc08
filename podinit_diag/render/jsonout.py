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
from typing import Any

from podinit_diag.core.model import Report
from podinit_diag.core.summary import ScanSummary
from podinit_diag.core.version import VERSION
from podinit_diag.render.common import for_json

SCHEMA_VERSION = 1


def report_dict(r: Report) -> dict[str, Any]:
    """One element of ``reports``: :meth:`Report.to_dict` (the library gives the same)."""
    return r.to_dict()


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
