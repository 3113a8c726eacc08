"""The human report (``-o table``): kubectl's header line, the init timeline, the findings.

tabulate is used only here. Colour is an argument; whether the terminal wants it
is the CLI's decision. What comes from the cluster is cleaned (:func:`for_text`) before
any line is built, so the only escape sequences in the output are the colours added here.
"""

from __future__ import annotations

from collections.abc import Sequence

from tabulate import tabulate

from podinit_diag.core.model import Report, Severity
from podinit_diag.core.summary import Row, ScanSummary
from podinit_diag.render.common import (
    POD_HEADERS,
    SCAN_HEADERS,
    STEP_HEADERS,
    blocking_line,
    clean,
    conditions_line,
    context_line,
    evidence_line,
    for_text,
    pod_row,
    step_row,
)
from podinit_diag.rules import Rule

_COLOURS = {Severity.ERROR: "31", Severity.WARNING: "33", Severity.INFO: "36"}


def _paint(text: str, code: str, colour: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if colour else text


def render_one(r: Report, colour: bool = False) -> str:
    r = for_text(r)
    out = [tabulate([pod_row(r)], headers=POD_HEADERS, tablefmt="plain", disable_numparse=True)]
    out.append(context_line(r))
    chain = conditions_line(r, lambda text: _paint(text, "1", colour))
    if chain:
        out.append(chain)
    if r.timeline:
        rows = []
        for i, s in enumerate(r.timeline, 1):
            row = step_row(i, s, r)
            if s.blocking:
                row[1] = _paint(f"{row[1]} ◀ blocking", "1", colour)
            rows.append(row)
        out += ["", "Init containers:"]
        out.append(tabulate(rows, headers=STEP_HEADERS, tablefmt="plain", disable_numparse=True))
    blocked = blocking_line(r)
    if blocked:
        out += ["", blocked]
    out.append("")
    if not r.findings:
        out.append("No problems found.")
    else:
        out.append(f"Findings ({len(r.findings)}, most likely root cause first):")
    for n, f in enumerate(r.findings, 1):
        label = _paint(f"{f.severity.value.upper():<7}", _COLOURS[f.severity], colour)
        where = f" [{f.container_kind.value} {f.container}]" if f.container_kind else ""
        out += ["", f"{n}. {label} {f.code} {f.rule}{where}", f"   {f.title}"]
        for e in f.evidence:
            out.append(f"     {evidence_line(e)}")
        out += [f"   Fix:  {f.fix}", f"   Docs: {f.docs}"]
    for note in r.errors:
        out += ["", f"note: {note}"]
    return "\n".join(out) + "\n"


def render(reports: Sequence[Report], colour: bool = False) -> str:
    parts = [render_one(r, colour) for r in reports]
    return ("\n" + "─" * 72 + "\n\n").join(parts)


def render_rules(rules: Sequence[Rule]) -> str:
    rows = [[r.code, r.name, r.severity.value, r.summary] for r in rules]
    return tabulate(rows, headers=("CODE", "RULE", "SEVERITY", "SUMMARY"), tablefmt="plain") + "\n"


def render_scan(s: ScanSummary, rows: Sequence[Row] | None = None, colour: bool = False) -> str:
    """One line per listed pod (``rows``, else ``s.reports``), then the groups of pods
    failing the same way."""
    lines = []
    for row in rows if rows is not None else map(Row.of, s.reports):
        cells = for_text(row).cells()
        if row.severity is not None:  # colour the finding by its severity
            cells[5] = _paint(cells[5], _COLOURS[row.severity], colour)
        lines.append(cells)
    out = []
    if lines:
        out.append(tabulate(lines, headers=SCAN_HEADERS, tablefmt="plain", disable_numparse=True))
    groups = s.groups
    if groups:
        out += ["", "Groups (same owner, same cause):"]
        for g in map(for_text, groups):
            label = _paint(f"{g.severity.value.upper():<7}", _COLOURS[g.severity], colour)
            where = f" [{g.container}]" if g.container else ""
            owner = g.owner or "(no owner)"
            pods = "pod" if g.count == 1 else "pods"
            out.append(
                f"  {label} {g.code} {g.rule}  {g.namespace}/{owner}{where}: {g.count} {pods}"
                f" (e.g. {', '.join(g.examples)})"
            )
            out.append(f"          {g.title}")
    out += ["", scan_line(s)]
    out += [f"error: {clean(e)}" for e in s.errors]
    return "\n".join(out) + "\n"


def scan_line(s: ScanSummary) -> str:
    by = s.by_severity()
    worst = ", ".join(f"{n} {k}" for k, n in by.items() if n)
    listed = " (listed)" if s.keep_healthy else " (not listed; --all lists them)"
    return (
        f"{s.pods} pods scanned: {s.unhealthy} with findings"
        + (f" ({worst})" if worst else "")
        + f", {s.healthy} healthy{listed if s.healthy else ''}"
    )
