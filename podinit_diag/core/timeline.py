"""The pod's progress: the init timeline and the chain of readiness conditions."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

from podinit_diag.core.access import Json, as_dict, as_str
from podinit_diag.core.kubetime import known_time, parse_time
from podinit_diag.core.model import ConditionStep, PodSnapshot, TimelineStep
from podinit_diag.core.redact import redact

# The order in which the kubelet sets the pod's conditions (Pod Lifecycle → Pod conditions).
CONDITION_CHAIN = (
    "PodScheduled",
    "PodReadyToStartContainers",
    "Initialized",
    "ContainersReady",
    "Ready",
)
# Beta since 1.29 and behind a feature gate before: older clusters never set it, so it is a
# step only when the pod carries it.
_CHAIN = tuple(t for t in CONDITION_CHAIN if t != "PodReadyToStartContainers")
_STATUSES = frozenset({"True", "False", "Unknown"})
_FINISHED_PHASES = frozenset({"Succeeded", "Failed"})
# The kubelet's Ready reasons for a pod in a terminal phase (a tuple: reasons in odd data
# may be unhashable).
_FINISHED_READY_REASONS = ("PodCompleted", "PodFailed")
_ZERO = timedelta(0)


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
        started = known_time(c.started_at or (t.started_at if t else None))
        finished = known_time(t.finished_at if t else None)
        if started and finished:
            duration = finished - started
        elif started and c.state == "running":
            duration = snap.now - started
        else:
            duration = None
        done = c.past_init_step
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


def condition_chain(snap: PodSnapshot) -> tuple[ConditionStep, ...]:
    """The readiness chain PodScheduled → (PodReadyToStartContainers) → Initialized →
    ContainersReady → Ready, one step per condition, absent ones included (status None);
    PodReadyToStartContainers only when the pod has it.

    A True step's ``took`` runs from the moment the earlier steps were done (the latest
    transition among the earlier True steps; the pod's creation for the first) to its own
    transition, never below zero; None when either time is unknown.

    The *current* step is the first one that is not True, where the pod is waiting;
    an absent condition followed by a True one was evidently passed and is skipped.
    Its ``waiting`` runs to ``snap.now`` from the moment the earlier steps were done, or
    from its own last transition when that is later (a condition that was True and fell
    back, e.g. a container that stopped being ready); None when unknown. A pod that has
    finished (Succeeded or Failed) has no current step.

    Never raises on odd data: missing fields and unparseable times read as unknown.
    """
    kinds, raw, statuses, current = _positions(snap)
    now, created = snap.now, snap.created_at
    # When the steps so far were all done: the latest transition among the earlier True
    # steps (creation before the first). The kubelet sets some conditions in the same sync
    # (Initialized is True at once without init containers, before the sandbox is ready),
    # so transitions need not follow the chain's order; the latest one is when the pod
    # actually reached the next step.
    ref: datetime | None = created
    steps: list[ConditionStep] = []
    for i, kind in enumerate(kinds):
        c, status = raw[i], statuses[i]
        at: datetime | None = None
        reason = message = ""
        if c is not None:
            at = parse_time(c.get("lastTransitionTime"))
            reason = as_str(c.get("reason"))
            message = as_str(c.get("message"))
            if message:
                message = _redact(message)
        took: timedelta | None = None
        since_created: timedelta | None = None
        waiting: timedelta | None = None
        if status == "True":
            if at is not None:
                if ref is not None:
                    took = at - ref if at > ref else _ZERO
                if created is not None:
                    since_created = at - created if at > created else _ZERO
            # A True step without a time makes the next reference unknown, not earlier.
            ref = at if at is None or ref is None or at > ref else ref
        elif i == current and ref is not None:
            start = at if at is not None and at > ref else ref
            waiting = now - start if now > start else _ZERO
        # Positional: keywords cost a fifth of this function on a 10k-pod scan.
        steps.append(
            ConditionStep(
                kind,
                status,
                reason,
                message,
                at,
                None if at is None else now - at,  # age
                took,
                since_created,
                i == current,  # current
                waiting,
            )
        )
    return tuple(steps)


def current_step(snap: PodSnapshot) -> ConditionStep | None:
    """The step of :func:`condition_chain` where the pod waits (None when Ready or
    finished), worked out without building the others: the never-silent rules ask it of
    every pod that is not Ready."""
    kinds, raw, statuses, current = _positions(snap)
    if current < 0:
        return None
    ref = snap.created_at
    for i in range(current):
        if statuses[i] == "True":
            at = parse_time(as_dict(raw[i]).get("lastTransitionTime"))
            ref = at if at is None or ref is None or at > ref else ref
    c = raw[current]
    at = parse_time(c.get("lastTransitionTime")) if c is not None else None
    waiting = None
    if ref is not None:
        start = at if at is not None and at > ref else ref
        waiting = snap.now - start if snap.now > start else _ZERO
    message = _redact(as_str(c.get("message"))) if c is not None and c.get("message") else ""
    return ConditionStep(
        kinds[current],
        statuses[current],
        as_str(c.get("reason")) if c is not None else "",
        message,
        at,
        None if at is None else snap.now - at,
        None,
        None,
        True,
        waiting,
    )


def _positions(
    snap: PodSnapshot,
) -> tuple[tuple[str, ...], list[Json | None], list[str | None], int]:
    """The chain's kinds, their conditions and statuses, and the index of the current step
    (-1 when the pod is Ready or finished)."""
    conds = snap.conditions
    kinds = CONDITION_CHAIN if "PodReadyToStartContainers" in conds else _CHAIN
    raw = [conds.get(t) for t in kinds]
    statuses = [None if c is None else _status(c.get("status")) for c in raw]
    ready = raw[-1]
    finished = snap.phase in _FINISHED_PHASES or (
        ready is not None and ready.get("reason") in _FINISHED_READY_REASONS
    )
    current = -1
    if not finished:
        for i, status in enumerate(statuses):
            # An absent condition before a True one was evidently passed: not where it waits.
            if status != "True" and (status is not None or "True" not in statuses[i + 1 :]):
                current = i
                break
    return kinds, raw, statuses, current


# Condition messages repeat across the pods of a workload (the kubelet's "containers with
# unready status: [...]", the scheduler's verdict): redact each distinct one once per scan.
# Readiness-gate controllers write free text there, so it is redacted like any quoted text.
_redact = lru_cache(maxsize=4096)(redact)


def _status(value: object) -> str:
    return value if isinstance(value, str) and value in _STATUSES else "Unknown"
