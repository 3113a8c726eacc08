"""The scheduler's latest explanation of an unschedulable pod, parsed once per pod and
shared by the scheduling rules (PI001-PI003) through the rule context."""

from __future__ import annotations

from dataclasses import dataclass

from podinit_diag.core.access import as_str
from podinit_diag.core.model import Evidence, PodSnapshot
from podinit_diag.rules import evidence as ev
from podinit_diag.rules.messages import SchedulerReason, scheduler_reasons


@dataclass(frozen=True)
class SchedulingFailure:
    total: int | None
    reasons: tuple[SchedulerReason, ...]
    proof: tuple[Evidence, ...]


# Unschedulable: no node fits. SchedulerError: a plugin failed once a node was chosen (the
# PreBind of VolumeBinding when a claim cannot be provisioned), worded without node counts.
_REASONS = ("Unschedulable", "SchedulerError")


def scheduling_failure(snap: PodSnapshot) -> SchedulingFailure | None:
    """The newest reason the scheduler gave, while the pod is still unscheduled."""
    if snap.conditions.get("PodScheduled", {}).get("reason") not in _REASONS:
        return None
    cond = snap.condition_at("PodScheduled")
    if cond is None or cond[1].get("status") != "False" or cond[1].get("reason") not in _REASONS:
        return None
    ref, c = cond
    proof = [ev.status(f"{ref}.reason", c.get("reason"))]
    event = next((e for e in reversed(snap.events) if e.reason == "FailedScheduling"), None)
    message = event.message if event else as_str(c.get("message"))
    if event is not None:
        proof.append(ev.event(event, snap))
    elif message:
        proof.append(ev.status(f"{ref}.message", message))
    total, reasons = scheduler_reasons(message)
    return SchedulingFailure(total, reasons, tuple(proof))
