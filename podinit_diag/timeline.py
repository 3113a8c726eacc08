"""The init timeline: each init container in spec order and the one blocking the pod."""

from __future__ import annotations

from .model import ContainerKind, PodSnapshot, TimelineStep


def init_timeline(snap: PodSnapshot) -> tuple[TimelineStep, ...]:
    """One step per init container (regular and sidecar) in spec order.

    The blocking step is the first one the kubelet has reached (it has a status)
    that is not done: a regular init container is done when it exited 0, a sidecar
    once it has started (its startup probe passed). Nothing blocks once the pod is
    Initialized or finished.
    """
    settled = snap.condition_true("Initialized") or snap.phase == "Succeeded"
    steps: list[TimelineStep] = []
    blocked = settled
    for c in snap.init_containers:
        # A container waiting to be restarted shows its last attempt.
        t = c.terminated or (c.last_terminated if c.state == "waiting" else None)
        started = c.started_at or (t.started_at if t else None)
        finished = t.finished_at if t else None
        if started and finished:
            duration = finished - started
        elif started and c.state == "running":
            duration = snap.now - started
        else:
            duration = None
        done = c.started if c.kind is ContainerKind.SIDECAR else c.completed
        blocking = not blocked and c.status is not None and not done
        blocked = blocked or blocking
        last = c.last_termination
        steps.append(
            TimelineStep(
                name=c.name,
                kind=c.kind,
                state=c.state if c.status is not None else "pending",
                reason=c.reason,
                exit_code=last.exit_code if last else None,
                restarts=c.restart_count,
                started_at=started,
                finished_at=finished,
                duration=duration,
                blocking=blocking,
            )
        )
    return tuple(steps)
