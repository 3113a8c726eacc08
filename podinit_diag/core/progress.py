"""A pod's progress through initialization, from one state of it to the next: what changed
in its STATUS column and which init containers finished in between (``--wait``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from podinit_diag.core.access import Json, as_dict, as_objects, as_str
from podinit_diag.core.kubetime import parse_time
from podinit_diag.core.model import Report, past_init_step


@dataclass(frozen=True)
class Transition:
    """A pod's STATUS column changed (``before`` is None for a pod first seen)."""

    at: datetime
    namespace: str
    pod: str
    before: str | None
    after: str
    init_done: tuple[tuple[str, float], ...] = ()  # (init container, seconds it ran)
    deleted: bool = False


@dataclass(frozen=True)
class Outcome:
    state: str  # "met", "failed" (a hopeless finding) or "timeout"
    elapsed: float
    met: int
    wanted: int
    target: str  # "pod/web-0", "deploy/web"
    condition: str  # "Initialized" or "Ready"
    reports: tuple[Report, ...]  # the blocking pods with logs, or every pod when met


def completed_inits(pod: Json) -> frozenset[str]:
    """Init containers past their step: exited 0, or for a native sidecar, started."""
    sidecars = {
        as_str(c.get("name"))
        for c in as_objects(as_dict(pod.get("spec")).get("initContainers"))
        if c.get("restartPolicy") == "Always"
    }
    out = set()
    for s in as_objects(as_dict(pod.get("status")).get("initContainerStatuses")):
        name = as_str(s.get("name"))
        exit_code = as_dict(as_dict(s.get("state")).get("terminated")).get("exitCode")
        if past_init_step(name in sidecars, s.get("started") is True, exit_code):
            out.add(name)
    return frozenset(out)


def init_durations(pod: Json, names: frozenset[str]) -> tuple[tuple[str, float], ...]:
    """How long each of ``names`` ran (startedAt to finishedAt), in status order. A native
    sidecar has no duration: it keeps running, and when its startup probe passed is not
    recorded anywhere."""
    out = []
    for s in as_objects(as_dict(pod.get("status")).get("initContainerStatuses")):
        name = as_str(s.get("name"))
        if name not in names:
            continue
        t = as_dict(as_dict(s.get("state")).get("terminated"))
        start, end = parse_time(t.get("startedAt")), parse_time(t.get("finishedAt"))
        if start is not None and end is not None:
            out.append((name, (end - start).total_seconds()))
    return tuple(out)
