"""Markdown for incident tickets (``-o markdown``)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from podinit_diag.core.kubetime import format_time
from podinit_diag.core.model import Report
from podinit_diag.core.summary import Row, ScanSummary
from podinit_diag.render.common import (
    CONDITION_HEADERS,
    POD_HEADERS,
    SCAN_HEADERS,
    STEP_HEADERS,
    blocking_line,
    condition_row,
    context_line,
    pod_row,
    step_row,
    waiting_line,
)


def code(text: str) -> str:
    """An inline code span that survives backticks and pipes inside ``text``."""
    text = " ".join(text.split()).replace("|", "\\|")
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return out


def render_one(r: Report) -> str:
    p = r.pod
    out = [f"## Pod `{p.namespace}/{p.name}`: {p.status}", ""]
    out += table(POD_HEADERS, [pod_row(r)])
    out += ["", f"{context_line(r)} · observed {format_time(r.observed_at)}"]
    if r.conditions:
        rows = [_bold(condition_row(c, r), 0, c.current) for c in r.conditions]
        out += ["", "### Pod conditions", ""] + table(CONDITION_HEADERS, rows)
        waiting = waiting_line(r)
        if waiting:
            out += ["", f"**{waiting}**"]
    if r.timeline:
        rows = [
            _bold(step_row(i, s, r), 1, s.blocking, " (blocking)")
            for i, s in enumerate(r.timeline, 1)
        ]
        out += ["", "### Init containers", ""] + table(STEP_HEADERS, rows)
    blocked = blocking_line(r)
    if blocked:
        out += ["", f"**{blocked}**"]
    out += ["", "### Findings", ""]
    if not r.findings:
        out.append("No problems found.")
    for n, f in enumerate(r.findings, 1):
        where = f" · {f.container_kind.value} container `{f.container}`" if f.container_kind else ""
        out += [f"#### {n}. {f.code} {f.rule} ({f.severity.value}){where}", "", f.title, ""]
        out.append("Evidence:")
        out += [f"- {e.source} {code(e.ref)}: {code(e.text)}" for e in f.evidence]
        out += ["", f"**Fix:** {f.fix}", "", f"Docs: [{f.code} {f.rule}]({f.docs})", ""]
    if r.errors:
        out += ["### Notes", ""] + [f"- {e}" for e in r.errors] + [""]
    return "\n".join(out).rstrip("\n") + "\n"


def _bold(row: list[str], col: int, marked: bool, suffix: str = "") -> list[str]:
    """The step where the pod is (current condition, blocking init container) in bold."""
    if marked:
        row[col] = f"**{row[col]}**{suffix}"
    return row


def render(reports: Sequence[Report]) -> str:
    return "\n".join(render_one(r) for r in reports)


def render_scan(s: ScanSummary, rows: Sequence[Row] | None = None) -> str:
    cells = [r.cells() for r in (rows if rows is not None else map(Row.of, s.reports))]
    out = ["## Scan", ""]
    if cells:
        out += table(SCAN_HEADERS, cells)
    if s.groups:
        out += ["", "### Groups (same owner, same cause)", ""]
        for g in s.groups:
            where = f" · container `{g.container}`" if g.container else ""
            out.append(
                f"- **{g.code} {g.rule}** ({g.severity.value}) · `{g.namespace}/{g.owner or '-'}`"
                f"{where}: {g.count} pod(s), e.g. {', '.join(code(e) for e in g.examples)}: "
                f"{g.title}"
            )
    out += ["", f"{s.pods} pods scanned: {s.unhealthy} with findings, {s.healthy} healthy."]
    out += [f"- error: {e}" for e in s.errors]
    return "\n".join(out) + "\n"
