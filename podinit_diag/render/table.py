"""The human report (``-o table``, ``-o wide``): kubectl's header line, the readiness
chain, the init containers, the findings; and a scan's rows and groups.

Laid out for the :class:`Style` the CLI chose: columns cut to the terminal's width (never
names), prose wrapped at word boundaries with commands on lines of their own, ASCII when
the terminal cannot show the box characters. tabulate is used only here. What comes from
the cluster is cleaned (:func:`for_text`) before any line is built, so the only escape
sequences in the output are the colours added here.
"""

from __future__ import annotations

from collections.abc import Sequence

import tabulate as _tabulate
from tabulate import DataRow, TableFormat, tabulate

from podinit_diag.core.model import Evidence, Report, Severity
from podinit_diag.core.summary import Row, ScanSummary
from podinit_diag.render import bars
from podinit_diag.render.common import (
    POD_HEADERS,
    SCAN_HEADERS,
    STEP_HEADERS,
    blocking_line,
    clean,
    condition_parts,
    context_line,
    evidence_parts,
    for_text,
    listed_rows,
    plural,
    pod_row,
    step_row,
)
from podinit_diag.render.layout import (
    GAP,
    PLAIN,
    Style,
    ascii_only,
    column_widths,
    cut,
    fit,
    join_fitting,
    table_width,
    wrap,
)
from podinit_diag.rules import Rule

_COLOURS = {Severity.ERROR: "31", Severity.WARNING: "33", Severity.INFO: "36"}
# kubectl's column layout: no rules, GAP spaces between columns
_PLAIN = TableFormat(
    lineabove=None,
    linebelowheader=None,
    linebetweenrows=None,
    linebelow=None,
    headerrow=DataRow("", " " * GAP, ""),
    datarow=DataRow("", " " * GAP, ""),
    padding=0,
    with_header_hide=None,
)
# tabulate pads headers by 2 more by default; kubectl's columns are GAP apart, no more.
# A module setting, and tabulate is used by this module only.
_tabulate.MIN_PADDING = 0

# The compact columns (the wide ones, every column, are shared with Markdown): kubectl
# get's own, the reason in STATUS as kubectl shows it, times in the timeline below.
POD_COMPACT = POD_HEADERS[:5]
STEP_COMPACT = ("NAME", "KIND", "STATUS", "EXIT", "RESTARTS", "DURATION")
SCAN_COMPACT = SCAN_HEADERS[:-1]


# The timeline's width at most: wider, a bar's label drifts away from it.
BARS_WIDTH = 100


def _paint(text: str, code: str, colour: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if colour else text


def columns(
    headers: Sequence[str], rows: Sequence[Sequence[str]], style: Style, shrink: Sequence[int] = ()
) -> list[str]:
    """Rows under ``headers`` as kubectl prints them, cut to the width unless wide."""
    fitted = fit(headers, rows, None if style.wide else style.width, shrink)
    return _lay_out(headers, fitted, style.headers)


def _lay_out(headers: Sequence[str], rows: Sequence[Sequence[str]], show: bool) -> list[str]:
    if not rows:
        return [] if not show else [(" " * GAP).join(headers)]
    text = tabulate(rows, headers=headers if show else (), tablefmt=_PLAIN, disable_numparse=True)
    return [line.rstrip() for line in text.split("\n")]


def render_one(r: Report, style: Style = PLAIN) -> str:
    r = for_text(r)
    width, colour = style.width, style.colour
    row = pod_row(r) if style.wide else pod_row(r)[:5]
    headers = POD_HEADERS if style.wide else POD_COMPACT
    if not style.wide and width is not None and table_width(column_widths(headers, [row])) > width:
        row[3] = str(r.pod.restart_count)  # "5 (2m11s ago)": the count, not the STATUS cut
    out = columns(headers, [row], style)
    out += join_fitting(context_line(r, node=not style.wide).split(" · "), width, "", " · ", "  ")
    parts = condition_parts(r)
    if parts:
        strong = [_paint(p, "1", colour) if current else p for p, current in parts]
        out += join_fitting(strong, width, "Conditions: ", " · ", "  ")
    if r.timeline:
        out += ["", "Init containers:"]
        out += _steps(r, style)
        timeline = bars.text_bars(r, min(width or BARS_WIDTH, BARS_WIDTH), style.ascii)
        if timeline:
            out += ["", *timeline]
    blocked = blocking_line(r)
    if blocked:
        out += ["", *wrap(blocked, width, "")]
    out.append("")
    if not r.findings:
        out.append("No problems found.")
    else:
        out.append(f"Findings ({len(r.findings)}, most likely root cause first):")
    for n, f in enumerate(r.findings, 1):
        label = _paint(f"{f.severity.value.upper():<7}", _COLOURS[f.severity], colour)
        where = f" [{f.container_kind.value} {f.container}]" if f.container_kind else ""
        out += ["", f"{n}. {label} {f.code} {f.rule}{where}"]
        out += wrap(f.title, width, "   ")
        for e in f.evidence:
            out += _evidence(e, width)
        out += wrap(f.fix, width, "   Fix:  ", " " * 9)
        out += wrap(f.docs, width, "   Docs: ", " " * 9)
    for note in r.errors:
        out += ["", *wrap(f"note: {note}", width, "", "      ")]
    text = "\n".join(out) + "\n"
    return ascii_only(text) if style.ascii else text


_EVIDENCE = " " * 13  # where an evidence's text starts: "     status  "


def _evidence(e: Evidence, width: int | None) -> list[str]:
    """One fact; a log line with the lines around it as ``kubectl logs`` shows them, in a
    gutter (``│``, the decisive line ``>``) so that no line of a pod's log can pass for a
    line of the report. The decisive line is whole; the others are cut to the width (JSON
    has them whole)."""
    source, ref, text = evidence_parts(e)
    if not (e.before or e.after):
        return wrap(f"{source:<7} {ref}{text}", width, "     ", _EVIDENCE)
    out = [f"     {source:<7} {ref}:"]
    room = None if width is None else max(width - len(_EVIDENCE) - 2, 20)
    before, after = _trim(e.before, e.after)
    quoted = [f"{_EVIDENCE}│ {line if room is None else cut(line, room)}" for line in before]
    quoted += wrap(e.text, width, f"{_EVIDENCE}> ", f"{_EVIDENCE}> ")  # all of it marked
    quoted += [f"{_EVIDENCE}│ {line if room is None else cut(line, room)}" for line in after]
    return out + [line.rstrip() for line in quoted]


def _trim(before: Sequence[str], after: Sequence[str]) -> tuple[Sequence[str], Sequence[str]]:
    """Context without the blank lines at its ends: they would read as the finding's end."""
    start = next((i for i, line in enumerate(before) if line.strip()), len(before))
    end = next((i for i in range(len(after), 0, -1) if after[i - 1].strip()), 0)
    return before[start:], after[:end]


def _steps(r: Report, style: Style) -> list[str]:
    rows, blocking = [], None
    for i, s in enumerate(r.timeline, 1):
        cells = step_row(i, s, r)
        if style.wide:
            row = cells
        else:  # kubectl's STATUS: the reason when there is one, else the state
            row = [cells[1], cells[2], s.reason or s.state, cells[5], cells[6], cells[9]]
        if s.blocking:
            row[1 if style.wide else 0] += " ◀ blocking"
            blocking = i - 1
        rows.append(row)
    headers = STEP_HEADERS if style.wide else STEP_COMPACT
    lines = columns(headers, rows, style, shrink=(0, 2) if not style.wide else ())
    if blocking is not None and style.colour:
        at = blocking + (1 if style.headers else 0)
        lines[at] = _paint(lines[at], "1", True)
    return lines


def render(reports: Sequence[Report], colour: bool = False, style: Style | None = None) -> str:
    style = style or Style(colour=colour)
    parts = [render_one(r, style) for r in reports]
    rule = "─" * min(72, style.width or 72)
    return ("\n" + (ascii_only(rule) if style.ascii else rule) + "\n\n").join(parts)


def render_rules(rules: Sequence[Rule], style: Style = PLAIN) -> str:
    rows = [[r.code, r.name, r.severity.value, r.summary] for r in rules]
    return "\n".join(columns(("CODE", "RULE", "SEVERITY", "SUMMARY"), rows, style, (3,))) + "\n"


def render_scan(
    s: ScanSummary,
    rows: Sequence[Row] | None = None,
    colour: bool = False,
    style: Style | None = None,
    namespaces: bool | None = None,
) -> str:
    """One line per listed pod (``rows``, else ``s.reports``), most severe first, then the
    groups of two or more pods failing the same way. The NAMESPACE column is shown when
    ``namespaces`` says so (``-A``), else when the rows span more than one namespace."""
    style = style or Style(colour=colour)
    listed = listed_rows(s, rows)
    if namespaces is None:
        namespaces = len({r.namespace for r in listed}) > 1
    headers = list(SCAN_HEADERS if style.wide else SCAN_COMPACT)
    cells = []
    for row in listed:
        c = for_text(row).cells()
        if not style.wide:
            c = c[:4] + [c[4].split(" ", 1)[0]] + [c[5]]  # RESTARTS: the count
        cells.append(c if namespaces else c[1:])
    if not namespaces:
        headers = headers[1:]
    finding = headers.index("FINDING")
    if not style.wide:
        # a finding that does not fit whole is shown by its code: "PI404 s…" says nothing
        fitted = fit(headers, cells, style.width, shrink=(finding,))
        for c, f in zip(cells, fitted, strict=True):
            if f[finding] != c[finding]:
                c[finding] = c[finding].split(" ", 1)[0]
    lines = _lay_out(headers, cells, style.headers)
    if style.colour:
        top = 1 if style.headers else 0
        for i, row in enumerate(listed):
            if row.severity is not None:  # the finding in its severity's colour
                code = row.finding.split(" ", 1)[0]
                line = lines[top + i]
                at = line.rfind(code)
                lines[top + i] = line[:at] + _paint(line[at:], _COLOURS[row.severity], True)
    out = lines if listed else []
    groups = s.groups
    if groups:
        out += ["", "Groups (same owner, same cause):"]
        for g in map(for_text, groups):
            label = _paint(f"{g.severity.value.upper():<7}", _COLOURS[g.severity], style.colour)
            where = f" [{g.container}]" if g.container else ""
            owner = g.owner or "(no owner)"
            out += wrap(
                f"{label} {g.code} {g.rule}  {g.namespace}/{owner}{where}: {g.count} pods"
                f" (e.g. {', '.join(g.examples)})",
                style.width, "  ", " " * 10,
            )  # fmt: skip
            out += wrap(g.title, style.width, " " * 10)
    out += ["", *wrap(scan_line(s), style.width, "")]
    out += [f"error: {clean(e)}" for e in s.errors]
    text = "\n".join(out) + "\n"
    return ascii_only(text) if style.ascii else text


def scan_line(s: ScanSummary) -> str:
    by = s.by_severity()
    worst = ", ".join(f"{n} {k}" for k, n in by.items() if n)
    listed = " (listed)" if s.keep_healthy else " (not listed; --all lists them)"
    return (
        f"{plural(s.pods, 'pod')} scanned: {s.unhealthy} with findings"
        + (f" ({worst})" if worst else "")
        + f", {s.healthy} healthy{listed if s.healthy else ''}"
    )
