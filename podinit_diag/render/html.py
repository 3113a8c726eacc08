"""``-o html``: one self-contained page for an incident ticket, per pod its header, the
readiness chain, the init timeline as an inline SVG, the init containers and the findings
with their evidence and fixes.

Self-contained: inline CSS, no script, no external resource (a Content-Security-Policy
forbids them all, so that nothing the page holds could load or run one). Everything from
the cluster is cleaned with :func:`for_text` (secrets masked, control and bidi characters
made visible escapes) and then HTML-escaped, in attributes too.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from podinit_diag.core.kubetime import format_time, human_duration
from podinit_diag.core.model import Finding, Report
from podinit_diag.core.version import VERSION
from podinit_diag.render.bars import Axis, Bar, Mark, state_word
from podinit_diag.render.bars import axis as timeline_axis
from podinit_diag.render.common import (
    POD_HEADERS,
    STEP_HEADERS,
    blocking_line,
    condition_parts,
    context_line,
    for_text,
    pod_row,
    step_row,
    waiting_line,
)

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1f2328;
  background:#fff}
h1{font-size:20px;margin:0 0 4px}
h2{font-size:18px;margin:0 0 8px}
h3{font-size:15px;margin:18px 0 6px}
h4{font-size:14px;margin:0 0 4px}
section.pod{border:1px solid #d0d7de;border-radius:6px;padding:16px;margin:18px 0}
table{border-collapse:collapse;margin:6px 0}
th,td{text-align:left;padding:3px 10px 3px 0;vertical-align:top}
th{font-size:12px;color:#57606a;font-weight:600}
code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f6f8fa;
  padding:1px 4px;border-radius:4px;overflow-wrap:anywhere}
.meta,.context{color:#57606a}
.conditions strong,.blocked{color:#9a3412}
tr.blocking td{font-weight:600;color:#9a3412}
.badge{display:inline-block;font-size:12px;font-weight:600;padding:1px 8px;border-radius:10px;
  color:#fff;background:#6e7781;vertical-align:middle}
.badge.error{background:#c62828}
.badge.warning{background:#b26a00}
.badge.info{background:#0969da}
.badge.ok{background:#2e7d32}
ol.findings{padding-left:0;list-style:none}
li.finding{border-left:4px solid #6e7781;padding:6px 12px;margin:10px 0;background:#fafbfc}
li.finding.error{border-color:#c62828}
li.finding.warning{border-color:#b26a00}
li.finding.info{border-color:#0969da}
table.evidence td{font-size:13px}
table.evidence td.ref code{white-space:nowrap}
table.evidence td.text{overflow-wrap:anywhere}
figure.timeline{margin:10px 0}
figure.timeline svg{max-width:100%;height:auto}
figcaption{font-size:12px;color:#57606a}
.key{display:inline-block;width:14px;height:10px;margin:0 4px 0 10px;vertical-align:middle;
  border-radius:2px}
svg text{font:12px system-ui,sans-serif;fill:#1f2328}
svg text.mark-label,svg text.tick{fill:#57606a;font-size:11px}
svg .row.blocking text.name{font-weight:700;fill:#9a3412}
svg rect.bar{fill:#fff;fill-opacity:0;stroke:#8c959f;stroke-width:1}
svg rect.bar.step.blocking{stroke:#c62828;stroke-width:2.5}
svg rect.bar.pending{stroke-dasharray:3 2}
svg line.mark{stroke:#8c959f;stroke-dasharray:4 3}
svg line.mark.now{stroke:#0969da}
svg line.axis{stroke:#8c959f}
.ok{fill:#2e7d32;background:#2e7d32}
.failed{fill:#c62828;background:#c62828}
.running{fill:#1565c0;background:#1565c0}
.unknown{fill:#8c959f;background:#8c959f}
.wait{fill:#d0d7de;background:#d0d7de}
.earlier-key{background:repeating-linear-gradient(45deg,#e0a030 0 3px,#fff 3px 6px)}
"""

# Content-Security-Policy: the page needs its inline style and nothing else.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

# The SVG's geometry (user units): names right-aligned before the bar area, labels after.
_VIEW_W = 960
_NAME_X = 190
_X0 = 200
_X1 = 740
_LABEL_X = 752
_TOP = 44  # two rows of mark labels above the bars
_ROW_H = 26
_BAR_H = 14
_CHAR_W = 6.6  # an 11-12px sans-serif character, to keep mark labels apart
_NAME_CHARS = 28
_LABEL_CHARS = 30


def _h(text: str) -> str:
    """Text or an attribute value for the page: every markup character escaped."""
    return html.escape(text, quote=True)


def render(reports: Sequence[Report]) -> str:
    """One HTML5 page for ``reports``: a section per pod, and a list of them when there
    are several (a scan)."""
    reports = [for_text(r) for r in reports]
    if len(reports) == 1:
        title = f"initdoctor: {reports[0].pod.namespace}/{reports[0].pod.name}"
    else:
        title = f"initdoctor: {len(reports)} pods"
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="initdoctor {_h(VERSION)}">',
        f"<title>{_h(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{_h(title)}</h1>",
    ]
    if not reports:
        out.append("<p>No pods.</p>")
    if len(reports) > 1:
        out.append('<nav><ol class="pods">')
        for i, r in enumerate(reports, 1):
            out.append(
                f'<li><a href="#pod-{i}">{_h(r.pod.namespace)}/{_h(r.pod.name)}</a> '
                f"{_h(r.pod.status)} {_badge(r)}</li>"
            )
        out.append("</ol></nav>")
    for i, r in enumerate(reports, 1):
        out += _section(r, i)
    out += [f'<p class="meta">initdoctor {_h(VERSION)}</p>', "</body>", "</html>"]
    return "\n".join(out) + "\n"


def _badge(r: Report) -> str:
    worst = r.worst
    if worst is None:
        return '<span class="badge ok">no problems found</span>'
    return f'<span class="badge {_h(worst.value)}">{_h(worst.value.upper())}</span>'


def _section(r: Report, n: int) -> list[str]:
    p = r.pod
    out = [
        f'<section class="pod" id="pod-{n}">',
        f"<h2>Pod {_h(p.namespace)}/{_h(p.name)} {_badge(r)}</h2>",
        _table(POD_HEADERS, [pod_row(r)], "pod"),
        f'<p class="context">{_h(context_line(r))}</p>',
        f'<p class="meta">observed {_h(format_time(r.observed_at))}'
        + (f" · source {_h(r.source)}" if r.source else "")
        + "</p>",
    ]
    chain = [f"<strong>{_h(t)}</strong>" if now else _h(t) for t, now in condition_parts(r)]
    if chain:
        out.append(f'<p class="conditions">Conditions: {" · ".join(chain)}</p>')
    waiting = waiting_line(r)
    if waiting:
        out.append(f'<p class="waiting">{_h(waiting)}</p>')
    ax = timeline_axis(r)
    if ax is not None:
        out += _figure(ax, r, n)
    if r.timeline:
        rows = [step_row(i, s, r) for i, s in enumerate(r.timeline, 1)]
        marks = ["blocking" if s.blocking else "" for s in r.timeline]
        out += ["<h3>Init containers</h3>", _table(STEP_HEADERS, rows, "steps", marks)]
    blocked = blocking_line(r)
    if blocked:
        out.append(f'<p class="blocked">{_h(blocked)}</p>')
    if r.findings:
        out.append(f"<h3>Findings ({len(r.findings)}, most likely root cause first)</h3>")
        out.append('<ol class="findings">')
        out += [_finding(f) for f in r.findings]
        out.append("</ol>")
    else:
        out.append("<h3>Findings</h3><p>No problems found.</p>")
    if r.errors:
        out.append('<h3>Notes</h3><ul class="notes">')
        out += [f"<li>{_h(e)}</li>" for e in r.errors]
        out.append("</ul>")
    out.append("</section>")
    return out


def _table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    cls: str,
    row_classes: Sequence[str] = (),
) -> str:
    head = "".join(f"<th>{_h(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        rc = row_classes[i] if i < len(row_classes) else ""
        attr = f' class="{_h(rc)}"' if rc else ""
        body.append(f"<tr{attr}>" + "".join(f"<td>{_h(c)}</td>" for c in row) + "</tr>")
    return (
        f'<table class="{_h(cls)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _finding(f: Finding) -> str:
    where = f" [{f.container_kind.value} {f.container}]" if f.container_kind else ""
    sev = f.severity.value
    evidence = "".join(
        f'<tr><td>{_h(e.source)}</td><td class="ref"><code>{_h(e.ref)}</code></td>'
        f'<td class="text">{_h(e.text)}</td></tr>'
        for e in f.evidence
    )
    return "".join(
        [
            f'<li class="finding {_h(sev)}">',
            f'<h4><span class="badge {_h(sev)}">{_h(sev.upper())}</span> ',
            f"<code>{_h(f.code)}</code> {_h(f.rule)}{_h(where)}</h4>",
            f'<p class="title">{_h(f.title)}</p>',
            f'<table class="evidence"><tbody>{evidence}</tbody></table>' if evidence else "",
            f'<p class="fix"><strong>Fix:</strong> {_with_code(f.fix)}</p>',
            f'<p class="docs"><strong>Docs:</strong> {_docs(f.docs)}</p>',
            "</li>",
        ]
    )


def _with_code(text: str) -> str:
    """Text whose commands are in backticks, the commands as ``<code>``."""
    parts = text.split("`")
    return "".join(f"<code>{_h(p)}</code>" if i % 2 else _h(p) for i, p in enumerate(parts))


def _docs(docs: str) -> str:
    # Only a web address is a link: a path or a command is shown as what it is.
    if docs.startswith(("https://", "http://")):
        return f'<a href="{_h(docs)}" rel="noreferrer">{_h(docs)}</a>'
    return f"<code>{_h(docs)}</code>"


def _cut(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


def _x(pos: float) -> float:
    return _X0 + pos * (_X1 - _X0)


def _n(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _figure(ax: Axis, r: Report, n: int) -> list[str]:
    rows = len(ax.bars)
    axis_y = _TOP + rows * _ROW_H + 6
    height = axis_y + 30
    pattern = f"earlier-{n}"
    out = [
        '<figure class="timeline">',
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_VIEW_W} {height}" '
        f'width="{_VIEW_W}" height="{height}" role="img" '
        f'aria-label="{_h(f"Init timeline of pod {r.pod.name}")}">',
        f'<defs><pattern id="{pattern}" patternUnits="userSpaceOnUse" width="6" '
        f'height="6" patternTransform="rotate(45)"><rect width="3" height="6" '
        f'fill="#e0a030"/></pattern></defs>',
    ]
    out += _marks(ax, axis_y)
    for i, bar in enumerate(ax.bars):
        out.append(_row(bar, _TOP + i * _ROW_H, pattern))
    out += _ticks(ax, axis_y)
    out.append("</svg>")
    out.append(
        "<figcaption>"
        '<span class="key ok"></span>last run, exit 0'
        '<span class="key failed"></span>failed'
        '<span class="key running"></span>running'
        '<span class="key earlier-key"></span>earlier runs (restarts; the status keeps no '
        "times for them)"
        '<span class="key wait"></span>waiting to start or in back-off'
        " · ◀ blocking: the container the pod waits for"
        "</figcaption>"
    )
    out.append("</figure>")
    return out


def _marks(ax: Axis, axis_y: int) -> list[str]:
    """Dashed lines at the moments the pod reached, their labels on two rows so that
    close ones do not overlap."""
    out = []
    ends = [float("-inf"), float("-inf")]  # where the last label of each row ends
    for m in sorted(ax.marks, key=lambda m: m.pos):
        x = _x(m.pos)
        label = _mark_label(m, ax)
        width = len(label) * _CHAR_W
        anchor, left = ("end", x - width) if x + width > _VIEW_W - 4 else ("start", x + 2)
        level = 0 if ends[0] < left - 6 else 1 if ends[1] < left - 6 else 0
        ends[level] = left + width
        y = 14 + level * 16
        cls = "mark now" if m.name == "now" else "mark"
        out.append(
            f'<line class="{cls}" data-mark="{_h(m.name)}" x1="{_n(x)}" y1="{y + 4}" '
            f'x2="{_n(x)}" y2="{axis_y}"/>'
        )
        tx = x - 2 if anchor == "end" else x + 2
        out.append(
            f'<text class="mark-label" x="{_n(tx)}" y="{y}" text-anchor="{anchor}">'
            f"{_h(label)}</text>"
        )
    return out


def _mark_label(m: Mark, ax: Axis) -> str:
    if m.name == "now":
        return "now"
    return f"{m.name} {human_duration(m.at - ax.start)}"


def _run_class(bar: Bar) -> str:
    if bar.step.state == "running":
        return "running"
    if bar.step.exit_code == 0:
        return "ok"
    return "unknown" if bar.step.exit_code is None else "failed"


def _row(bar: Bar, y: int, pattern: str) -> str:
    by = y + (_ROW_H - _BAR_H) / 2
    mid = y + _ROW_H / 2 + 4
    name = _h(bar.step.name)
    parts = [
        f'<g class="row{" blocking" if bar.step.blocking else ""}" data-container="{name}">',
        f'<text class="name" x="{_NAME_X}" y="{_n(mid)}" text-anchor="end">'
        f"<title>{name}</title>{_h(_cut(bar.step.name, _NAME_CHARS))}</text>",
    ]
    for seg in bar.segments:
        x0, x1 = _x(seg.span.start), _x(seg.span.end)
        width = max(x1 - x0, 4.0 if seg.kind == "run" else 0.0)
        if seg.kind == "earlier":
            fill = f' fill="url(#{pattern})"'
            cls = "seg earlier"
        else:
            fill = ""
            cls = f"seg run {_run_class(bar)}" if seg.kind == "run" else "seg wait"
        parts.append(
            f'<rect class="{cls}"{fill} x="{_n(x0)}" y="{_n(by)}" width="{_n(width)}" '
            f'height="{_BAR_H}"/>'
        )
    if bar.span is not None:
        x0 = _x(bar.span.start)
        width = max(_x(bar.span.end) - x0, 2.0)
    else:  # not reached: a dashed stub at the end of the axis
        x0, width = _X1 - 8.0, 8.0
    classes = ["bar", bar.step.kind.value] + (["blocking"] if bar.step.blocking else [])
    classes += [] if bar.reached else ["pending"]
    tip = [f"{bar.step.name}: {bar.step.kind.value} container, {bar.step.state}"]
    if bar.step.reason:
        tip.append(bar.step.reason)
    if bar.step.restarts:
        tip.append(f"{bar.step.restarts} restarts")
    if bar.run_time is not None:
        tip.append(f"last run {human_duration(bar.run_time)}")
    if bar.step.exit_code is not None:
        tip.append(f"exit code {bar.step.exit_code}")
    parts.append(
        f'<rect class="{" ".join(classes)}" data-container="{name}" '
        f'data-state="{_h(bar.step.state)}" data-restarts="{bar.step.restarts}" '
        f'x="{_n(x0)}" y="{_n(by)}" width="{_n(width)}" height="{_BAR_H}" rx="2">'
        f"<title>{_h(', '.join(tip))}</title></rect>"
    )
    label = []
    if bar.step.restarts:
        label.append(f"×{bar.step.restarts}")
    if bar.step.blocking:
        label.append("◀")
    label.append(state_word(bar))
    parts.append(
        f'<text class="label" x="{_LABEL_X}" y="{_n(mid)}">'
        f"{_h(_cut(' '.join(label), _LABEL_CHARS))}</text>"
    )
    parts.append("</g>")
    return "".join(parts)


def _ticks(ax: Axis, axis_y: int) -> list[str]:
    out = [f'<line class="axis" x1="{_X0}" y1="{axis_y}" x2="{_X1}" y2="{axis_y}"/>']
    for i in range(5):
        f = i / 4
        x = _x(f)
        label = human_duration(ax.length * f)
        if i == 4:
            label += f" (now +{human_duration(ax.now - ax.end)})" if ax.clipped else " (now)"
        anchor = "start" if i == 0 else "end" if i == 4 else "middle"
        out.append(
            f'<text class="tick" x="{_n(x)}" y="{axis_y + 16}" text-anchor="{anchor}">'
            f"{_h(label)}</text>"
        )
    return out
