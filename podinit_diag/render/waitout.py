"""How ``--wait`` shows progress: a line per transition (or a JSON object per line with
``-o json``) and the headline of the verdict; the reports themselves render as usual."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from podinit_diag.core.kubetime import format_time
from podinit_diag.core.progress import Outcome, Transition
from podinit_diag.render.common import for_json, for_text

_VERDICT = {"met": "met", "failed": "cannot be met", "timeout": "timed out"}


def clock(seconds: float) -> str:
    """``m:ss`` (``h:mm:ss`` past an hour): how long the wait has run."""
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _took(seconds: float) -> str:
    return f"{seconds:.0f}s" if seconds < 120 else clock(seconds)


def transition_line(t: Transition, start: datetime) -> str:
    """``+0:12  pod/web-1  Init:0/2 -> Init:1/2  (init container migrate took 11s)``."""
    t = for_text(t)
    when = clock(max((t.at - start).total_seconds(), 0.0))
    change = t.after if t.before is None else f"{t.before} -> {t.after}"
    line = f"+{when}  pod/{t.pod}  {change}"
    if t.init_done:
        took = ", ".join(f"{name} took {_took(s)}" for name, s in t.init_done)
        line += f"  (init container{'s' if len(t.init_done) > 1 else ''} {took})"
    return line


def transition_dict(t: Transition, start: datetime) -> dict[str, Any]:
    t = for_json(t)
    return {
        "type": "transition",
        "time": format_time(t.at),
        "elapsed_seconds": round(max((t.at - start).total_seconds(), 0.0), 1),
        "namespace": t.namespace,
        "pod": t.pod,
        "from": t.before,
        "to": t.after,
        "init_containers_done": [
            {"name": name, "duration_seconds": round(s, 1)} for name, s in t.init_done
        ],
    }


def wait_headline(o: Outcome) -> str:
    o = for_text(o)
    pods = f"{o.met}/{o.wanted} pod{'s' if o.wanted != 1 else ''} {o.condition}"
    if o.state == "met":
        return f"{o.target}: {o.condition} after {clock(o.elapsed)} ({pods})"
    why = (
        "a finding makes success impossible"
        if o.state == "failed"
        else f"still not {o.condition} after {clock(o.elapsed)}"
    )
    return f"{o.target}: {why} ({pods}); what blocks it:"


def wait_dict(o: Outcome) -> dict[str, Any]:
    o = for_json(o)
    return {
        "target": o.target,
        "condition": o.condition,
        "outcome": o.state,
        "verdict": _VERDICT[o.state],
        "elapsed_seconds": round(o.elapsed, 1),
        "pods_met": o.met,
        "pods_wanted": o.wanted,
    }
