"""Markdown for incident tickets (``-o markdown``).

The data is cleaned first (:func:`for_text`: secrets masked, controls escaped); what comes
from the cluster is then put in code spans (:func:`code`) or Markdown-escaped
(:func:`escape_markdown`), so that a name or a message cannot format, link or restructure
the ticket."""

from __future__ import annotations

import re
from collections.abc import Sequence

from podinit_diag.core.kubetime import format_time
from podinit_diag.core.model import Evidence, Report
from podinit_diag.core.sanitize import escape, escape_markdown
from podinit_diag.core.summary import Row, ScanSummary
from podinit_diag.render.common import (
    CONDITION_HEADERS,
    POD_HEADERS,
    SCAN_HEADERS,
    STEP_HEADERS,
    blocking_line,
    cached,
    clean,
    condition_row,
    context_line,
    context_lines,
    for_text,
    listed_rows,
    plural,
    pod_row,
    step_row,
    waiting_line,
)


def code(text: str) -> str:
    """An inline code span that survives backticks and pipes inside ``text`` (whose
    non-printable characters are escaped: a code span shows its content literally)."""
    text = " ".join(escape(text).split()).replace("|", "\\|")
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def prose(text: str) -> str:
    """Our sentences with data in them (finding titles, fixes): the parts between
    backticks as code spans, as the rules write commands, the rest Markdown-escaped. A
    backtick in the data can only move where a code span starts or ends."""
    parts = text.split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: the last one is text
        parts[-2:] = [parts[-2] + "`" + parts[-1]]
    return "".join(
        (code(part) if part else "\\`\\`") if i % 2 else escape_markdown(part)
        for i, part in enumerate(parts)
    )


_cell = cached(escape_markdown)


def cells(row: Sequence[str]) -> list[str]:
    """Table cells from the data, Markdown-escaped."""
    return [_cell(c) for c in row]


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A table of our ``headers`` and rows of Markdown (see :func:`cells`)."""
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return out


def render_one(r: Report) -> str:
    r = for_text(r)
    p = r.pod
    out = [f"## Pod {code(f'{p.namespace}/{p.name}')}: {escape_markdown(p.status)}", ""]
    out += table(POD_HEADERS, [cells(pod_row(r))])
    out += ["", f"{escape_markdown(context_line(r))} · observed {format_time(r.observed_at)}"]
    if r.conditions:
        rows = [_bold(cells(condition_row(c, r)), 0, c.current) for c in r.conditions]
        out += ["", "### Pod conditions", ""] + table(CONDITION_HEADERS, rows)
        waiting = waiting_line(r)
        if waiting:
            out += ["", f"**{escape_markdown(waiting)}**"]
    if r.timeline:
        rows = [
            _bold(cells(step_row(i, s, r)), 1, s.blocking, " (blocking)")
            for i, s in enumerate(r.timeline, 1)
        ]
        out += ["", "### Init containers", ""] + table(STEP_HEADERS, rows)
    blocked = blocking_line(r)
    if blocked:
        out += ["", f"**{escape_markdown(blocked)}**"]
    out += ["", "### Findings", ""]
    if not r.findings:
        out.append("No problems found.")
    for n, f in enumerate(r.findings, 1):
        where = (
            f" · {f.container_kind.value} container {code(f.container or '-')}"
            if f.container_kind
            else ""
        )
        out += [f"#### {n}. {f.code} {f.rule} ({f.severity.value}){where}", "", prose(f.title), ""]
        out.append("Evidence:")
        for e in f.evidence:
            out.append(f"- {escape_markdown(e.source)} {code(e.ref)}: {code(e.text)}")
            out += log_block(e)
        out += ["", f"**Fix:** {prose(f.fix)}", "", f"Docs: [{f.code} {f.rule}]({f.docs})", ""]
    if r.errors:
        out += ["### Notes", ""] + [f"- {escape_markdown(e)}" for e in r.errors] + [""]
    return "\n".join(out).rstrip("\n") + "\n"


def log_block(e: Evidence) -> list[str]:
    """The lines around a log line (``e`` cleaned), numbered, the quoted one marked with
    ``>``, in a fenced block under its list item; [] when there are none. The fence is
    longer than any run of backticks in the lines, so none of them can close it."""
    numbered = context_lines(e)
    if not numbered:
        return []
    width = len(str(numbered[-1][0]))
    longest = max((len(m) for _, line, _ in numbered for m in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    body = [
        f"  {'>' if quoted else ' '} {n:>{width}} | {line}".rstrip() for n, line, quoted in numbered
    ]
    return ["", f"  {fence}text", *body, f"  {fence}"]


def _bold(row: list[str], col: int, marked: bool, suffix: str = "") -> list[str]:
    """The step where the pod is (current condition, blocking init container) in bold."""
    if marked:
        row[col] = f"**{row[col]}**{suffix}"
    return row


def render(reports: Sequence[Report]) -> str:
    return "\n".join(render_one(r) for r in reports)


def render_scan(s: ScanSummary, rows: Sequence[Row] | None = None) -> str:
    lines = [cells(for_text(r).cells()) for r in listed_rows(s, rows)]
    out = ["## Scan", ""]
    if lines:
        out += table(SCAN_HEADERS, lines)
    if s.groups:
        out += ["", "### Groups (same owner, same cause)", ""]
        for g in map(for_text, s.groups):
            where = f" · container {code(g.container)}" if g.container else ""
            owner = code(f"{g.namespace}/{g.owner or '-'}")
            out.append(
                f"- **{g.code} {g.rule}** ({g.severity.value}) · {owner}"
                f"{where}: {g.count} pods, e.g. {', '.join(code(e) for e in g.examples)}: "
                f"{prose(g.title)}"
            )
    out += [
        "",
        f"{plural(s.pods, 'pod')} scanned: {s.unhealthy} with findings, {s.healthy} healthy.",
    ]
    out += [f"- error: {escape_markdown(clean(e))}" for e in s.errors]
    return "\n".join(out) + "\n"
