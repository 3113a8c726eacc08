"""The start of a pod as a time axis: one bar per init and sidecar container between the
pod's creation and now, with the moments it was scheduled, initialized and ready.

:func:`axis` computes the geometry (positions as fractions of the axis, 0 to 1) from a
:class:`Report`; :func:`text_bars` draws it in a terminal's columns and ``render.html``
as an SVG. Pure: the report's ``observed_at`` is "now".

What the status cannot tell is not drawn: a container's status keeps only its *last*
run, so the time before it in a container that restarted is shown as earlier runs (no
times), not as invented runs. A container the kubelet has not reached has no bar.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from podinit_diag.core.kubetime import human_duration, known_time
from podinit_diag.core.model import ContainerKind, Report, TimelineStep
from podinit_diag.render.common import for_text
from podinit_diag.render.layout import display_width

SegmentKind = Literal["earlier", "run", "wait"]


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of the axis, as fractions of its length (0 is its start, 1 its end)."""

    start: float
    end: float


@dataclass(frozen=True, slots=True)
class Segment:
    """One part of a bar: ``run`` its last run, ``wait`` time waiting to start or in
    back-off, ``earlier`` the time of its earlier runs (restarts), whose times the status
    does not keep."""

    kind: SegmentKind
    span: Span


@dataclass(frozen=True, slots=True)
class Mark:
    """A moment on the axis: ``scheduled``, ``initialized``, ``ready`` (when reached) or
    ``now`` (when on the axis)."""

    name: str
    at: datetime
    pos: float


@dataclass(frozen=True, slots=True)
class Bar:
    """One init or sidecar container. ``span`` runs from when it could start (the previous
    one was done) to when it stopped, or to the axis end while it runs or waits; None for a
    container the kubelet has not reached or without any time."""

    step: TimelineStep  # the container's row of the init table: name, kind, state...
    span: Span | None
    segments: tuple[Segment, ...]
    run_time: timedelta | None  # of the last run, to now while it runs

    @property
    def reached(self) -> bool:
        return self.span is not None


@dataclass(frozen=True, slots=True)
class Axis:
    """The time axis of a pod's start. ``end`` is now, unless the start-up ended long before
    (the pod is Ready or finished and has been for longer than it took to start): then the
    axis ends at the last step and ``clipped`` is True, so the bars are not squashed."""

    start: datetime  # the pod's creation, or the earliest time known
    end: datetime
    now: datetime
    marks: tuple[Mark, ...]
    bars: tuple[Bar, ...]

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    @property
    def clipped(self) -> bool:
        return self.now > self.end

    def pos(self, t: datetime) -> float:
        """Where ``t`` falls on the axis, clamped to 0..1."""
        return _clamp((t - self.start) / self.length)


_MARKS = (("scheduled", "PodScheduled"), ("initialized", "Initialized"), ("ready", "Ready"))
# A container time this far before the conditions' earliest time is a clock apart, not the
# pod's start; within it, the axis starts earlier to hold it.
_SKEW = timedelta(minutes=1)
_SECOND = timedelta(seconds=1)


def _clamp(x: float) -> float:
    return 0.0 if x < 0 or math.isnan(x) else 1.0 if x > 1 else x


def axis(report: Report) -> Axis | None:
    """The geometry of the report's init timeline; None when the pod has no init or
    sidecar containers, or no time is known to place them, or its times are so far apart
    (years 1 and 9999 in a hostile pod) that datetime arithmetic overflows."""
    try:
        return _axis(report)
    except OverflowError:
        return None


def _axis(report: Report) -> Axis | None:
    if not report.timeline:
        return None
    now = report.observed_at
    by_type = {c.type: c for c in report.conditions}
    hints: list[datetime] = []  # what the conditions say of the pod's creation
    for c in report.conditions:
        at = known_time(c.transitioned_at)
        if at is not None:
            hints.append(at)
            if c.status == "True" and c.since_created is not None:
                hints.append(at - c.since_created)
        if c.current and c.waiting is not None:
            hints.append(now - c.waiting)
    floor = min(hints) - _SKEW if hints else None
    times = [
        t
        for s in report.timeline
        for t in (known_time(s.started_at), known_time(s.finished_at))
        if t is not None and (floor is None or t >= floor)
    ]
    if not hints and not times:
        return None
    start = min(hints + times)
    marks = [
        (name, at)
        for name, kind in _MARKS
        if (cond := by_type.get(kind)) is not None
        and cond.status == "True"
        and (at := known_time(cond.transitioned_at)) is not None
    ]
    sandbox = by_type.get("PodReadyToStartContainers")
    first = next((at for name, at in marks if name == "scheduled"), None)
    if sandbox is not None and sandbox.status == "True":
        first = known_time(sandbox.transitioned_at) or first
    plans = _plan(report.timeline, first, now, floor)
    end = now
    if report.waiting_at is None:
        # Start-up over: when now is further from its end than the start-up took, end the
        # axis there, or a pod Ready for days would show its init containers as slivers.
        last = max(
            [at for _, at in marks]
            + [t for p in plans for t in (p.since, p.run_start, p.run_end) if t is not None]
            + [start]
        )
        if last > start and now - last > last - start:
            end = last
    if end <= start:
        end = start + _SECOND
    ax = Axis(start=start, end=end, now=now, marks=(), bars=())
    points = [Mark(name, at, ax.pos(at)) for name, at in marks]
    if not ax.clipped:
        points.append(Mark("now", now, 1.0))
    return Axis(
        start=start,
        end=end,
        now=now,
        marks=tuple(points),
        bars=tuple(_bar(s, p, ax) for s, p in zip(report.timeline, plans, strict=True)),
    )


@dataclass(frozen=True, slots=True)
class _Plan:
    """A container's times: when it could start, its last run, the end of its bar."""

    since: datetime | None
    run_start: datetime | None
    run_end: datetime | None
    until: datetime | None


def _plan(
    steps: tuple[TimelineStep, ...], first: datetime | None, now: datetime, floor: datetime | None
) -> list[_Plan]:
    plans = []
    could = first  # when the next container could start: the previous one was done
    passed_block = False
    for s in steps:
        started = known_time(s.started_at)
        finished = known_time(s.finished_at)
        if floor is not None:  # a clock apart from the pod's (see _SKEW): unknown
            started = started if started is None or started >= floor else None
            finished = finished if finished is None or finished >= floor else None
        if started is not None and finished is not None and finished < started:
            finished = started
        if passed_block or s.state == "pending":
            plans.append(_Plan(None, None, None, None))
        else:
            run_start = started or finished
            run_end = finished
            if s.state == "running" and started is not None:
                run_end = max(now, started)  # now: never before its start (a wrong --now)
            since = could if could is not None else run_start
            if since is not None and run_start is not None:
                since = min(since, run_start)
            if s.state in ("running", "waiting"):
                until: datetime | None = now if since is not None else None
            else:
                until = run_end or run_start
            if until is not None and since is not None and until < since:
                until = since
            if run_end is not None and until is not None:
                until = max(until, run_end)
            plans.append(_Plan(since, run_start, run_end, until))
        passed_block = passed_block or s.blocking
        if s.kind is ContainerKind.SIDECAR:
            could = started
        else:
            done = s.state == "terminated" and s.exit_code == 0
            could = finished if done else None
    return plans


def _bar(s: TimelineStep, p: _Plan, ax: Axis) -> Bar:
    segments: list[Segment] = []
    span = None
    run_time = None
    if p.since is not None and p.until is not None:
        span = Span(ax.pos(p.since), ax.pos(p.until))
        if p.run_start is not None:
            if p.since < p.run_start:
                before: SegmentKind = "earlier" if s.restarts > 0 else "wait"
                segments.append(Segment(before, Span(span.start, ax.pos(p.run_start))))
            run_end = p.run_end or p.run_start
            segments.append(Segment("run", Span(ax.pos(p.run_start), ax.pos(run_end))))
            run_time = run_end - p.run_start
            if s.state == "waiting" and p.until > run_end:
                segments.append(Segment("wait", Span(ax.pos(run_end), span.end)))
        elif s.state == "waiting":
            segments.append(Segment("wait", span))
    return Bar(
        step=s,
        span=span,
        segments=tuple(segments),
        run_time=run_time,
    )


def state_word(bar: Bar) -> str:
    """A bar's state in a word or two: ``5s`` for a run that completed, ``exit 1``,
    ``running 2m``, the waiting reason, ``not started``."""
    if not bar.reached:
        return "not started"
    if bar.step.state == "running":
        took = f" {human_duration(bar.run_time)}" if bar.run_time is not None else ""
        return f"running{took}"
    if bar.step.state == "terminated":
        if bar.step.exit_code not in (0, None):
            return f"exit {bar.step.exit_code}"
        return human_duration(bar.run_time) if bar.run_time is not None else "completed"
    return bar.step.reason or bar.step.state


# The glyphs of a bar: the last run in eighths of a column, waiting, earlier runs.
_EIGHTHS = " ▏▎▍▌▋▊▉"
_GLYPHS = {
    True: {"run": "#", "wait": "-", "earlier": "."},
    False: {"run": "█", "wait": "─", "earlier": "░"},
}
_WORDS = {
    True: {"restarts": "x", "blocking": "<", "sep": " | ", "none": "-", "cut": "..."},
    False: {"restarts": "×", "blocking": "◀", "sep": " · ", "none": "–", "cut": "…"},
}
# Least columns for the bar (which takes a third when names and labels are long), and
# for the name and label columns (cut to fit, never below these).
_MIN_BAR = 8
_MIN_NAME = 4
_MIN_LABEL = 4


def text_bars(report: Report, width: int, ascii: bool = False) -> list[str]:
    """The timeline as lines of at most ``width`` columns (the widest bar line takes all
    of them): a heading with the moments the pod reached, then one line per init or
    sidecar container, ``NAME BAR LABEL``. Names and labels are cut with an ellipsis to
    fit; with ``ascii`` every character is ASCII (text from the cluster included, escaped
    as ``\\u00e9``). ``[]`` when there is no timeline, no container was reached yet, or
    ``width`` cannot hold one."""
    ax = axis(for_text(report))
    if ax is None or not any(b.reached for b in ax.bars):
        return []  # no container reached yet (an unscheduled pod): nothing to draw
    words = _WORDS[ascii]
    names = [_text(b.step.name, ascii) for b in ax.bars]
    labels = [_label(b, words, ascii) for b in ax.bars]
    room = width - 4  # the indent and a space either side of the bar
    bar_least = max(_MIN_BAR, room // 3)
    needs = max(map(display_width, names)), max(map(display_width, labels))
    name_w, label_w = _share(room - bar_least, *needs)
    if name_w < min(needs[0], _MIN_NAME) or label_w < min(needs[1], _MIN_LABEL):
        return []
    bar_w = room - name_w - label_w
    lines = _heading(ax, words, width)
    for bar, name, label in zip(ax.bars, names, labels, strict=True):
        name = _cut(name, name_w, words["cut"])
        pad = " " * (name_w - display_width(name))
        cells = _cells(bar, bar_w, ascii)
        lines.append(f"  {name}{pad} {cells} {_cut(label, label_w, words['cut'])}")
    return lines


def _share(room: int, name: int, label: int) -> tuple[int, int]:
    """Columns for the name and the label out of ``room``: what they need when both fit,
    else half each, a column that needs less giving the rest to the other."""
    if name + label <= room:
        return name, label
    half = room // 2
    if name <= half:
        return name, room - name
    if label <= room - half:
        return room - label, label
    return half, room - half


def _text(text: str, ascii: bool) -> str:
    return text.encode("ascii", "backslashreplace").decode("ascii") if ascii else text


def _label(bar: Bar, words: dict[str, str], ascii: bool) -> str:
    parts = []
    if bar.step.restarts:
        parts.append(f"{words['restarts']}{bar.step.restarts}")
    if bar.step.blocking:
        parts.append(words["blocking"])
    parts.append(_text(state_word(bar), ascii))
    return " ".join(parts)


def _heading(ax: Axis, words: dict[str, str], width: int) -> list[str]:
    """``Timeline (9m36s to now): scheduled 0s · initialized – · ready –``, broken between
    the moments when narrower than ``width``."""
    length = human_duration(ax.length)
    if ax.clipped:
        title = f"Timeline (first {length} of {human_duration(ax.now - ax.start)}):"
    else:
        title = f"Timeline ({length} to now):"
    at = {m.name: human_duration(m.at - ax.start) for m in ax.marks}
    lines, line = [], title
    for name, _ in _MARKS:
        moment = f"{name} {at.get(name, words['none'])}"
        sep = " " if line is title else words["sep"]
        if display_width(line + sep + moment) <= width:
            line += sep + moment
        else:
            lines.append(line)
            line = "  " + moment
    lines.append(line)
    return [_cut(text, width, words["cut"]) for text in lines]


def _cut(text: str, width: int, ellipsis: str) -> str:
    """``text`` in at most ``width`` columns, ending with ``ellipsis`` when cut."""
    if display_width(text) <= width:
        return text
    room = width - display_width(ellipsis)
    if room < 0:
        return ellipsis[:width]
    out, used = [], 0
    for ch in text:
        w = display_width(ch)
        if used + w > room:
            break
        out.append(ch)
        used += w
    return "".join(out) + ellipsis


def _cells(bar: Bar, width: int, ascii: bool) -> str:
    """A bar in ``width`` columns: earlier runs and waiting to the nearest column, the
    last run over them from the column it starts in, its end in eighths of a column (at
    least one eighth, so that a run of a second still shows)."""
    glyph = _GLYPHS[ascii]
    cells = [" "] * width
    for seg in bar.segments:
        if seg.kind == "run":
            continue
        for i in range(round(seg.span.start * width), min(round(seg.span.end * width), width)):
            cells[i] = glyph[seg.kind]
    for seg in bar.segments:
        if seg.kind != "run":
            continue
        first = min(int(seg.span.start * width), width - 1)
        if ascii:
            for i in range(first, max(first + 1, min(round(seg.span.end * width), width))):
                cells[i] = glyph["run"]
            continue
        eighths = min(max(first * 8 + 1, round(seg.span.end * width * 8)), width * 8)
        full, part = divmod(eighths - first * 8, 8)
        for i in range(first, first + full):
            cells[i] = glyph["run"]
        if part:
            cells[first + full] = _EIGHTHS[part]
    return "".join(cells)
