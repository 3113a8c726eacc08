"""The STATUS, READY and RESTARTS columns of ``kubectl get pods``, computed locally.

This mirrors kubectl's ``printPod`` (``pkg/printers/internalversion/printers.go`` in
kubernetes/kubernetes, the newest version, which knows about restartable init containers,
also called native sidecars).  The API server runs that function when ``kubectl get pods``
asks for a table; we run the same rules on the pod JSON ourselves so that a report can show
exactly what the user saw in their terminal, even for a pod captured with ``-o json``.
``e2e/test_printing.py`` checks the port against a real kube-apiserver (v1.37.2) on 2,000
generated pods.

The input is the camelCase dict of ``kubectl get pod -o json``.  Real input is sometimes
truncated, hand-edited or produced by other tools, so every field is read defensively: a
field of the wrong JSON type counts as absent, exactly as if the key were missing, and
``pod_status`` never raises on such data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from podinit_diag.core.access import as_dict, as_objects, as_str
from podinit_diag.core.errors import InputError
from podinit_diag.core.kubetime import human_duration, parse_time

__all__ = ["PodStatus", "pod_status"]

# status.reason the node lifecycle controller writes when it gives up on a node.
_NODE_LOST = "NodeLost"
_SCHEDULING_GATED = "SchedulingGated"
_TERMINAL_PHASES = frozenset({"Succeeded", "Failed"})
# Go's metav1.Time zero value; kubectl treats a timestamp equal to it as "never".
_ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)
# The API declares counts and exit codes as int32: anything outside could not have been
# decoded by kubectl at all, so we treat it like any other malformed field.
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
# Go's largest time.Duration, 2**63 - 1 nanoseconds (to the microsecond below it).
_GO_MAX_DURATION = timedelta(microseconds=(2**63 - 1) // 1000)


@dataclass(frozen=True)
class PodStatus:
    """One pod as ``kubectl get pods`` shows it."""

    status: str
    """The STATUS column, e.g. ``Init:1/3``, ``Init:CrashLoopBackOff``, ``Running``."""
    ready: str
    """The READY column, e.g. ``1/2``."""
    restarts: str
    """The RESTARTS column, e.g. ``0`` or ``3 (5m ago)``."""
    restart_count: int
    """The number in the RESTARTS column, without the age."""


def pod_status(pod: Mapping[str, Any], now: datetime | None = None) -> PodStatus:
    """Compute the STATUS, READY and RESTARTS columns for ``pod`` as kubectl prints them.

    ``now`` is the reference for the "(5m ago)" part of RESTARTS; it defaults to the current
    time. A naive ``now`` is taken to be UTC (unlike :func:`podinit_diag.diagnose`, which
    refuses one: here it moves no more than that age). Raises :class:`InputError` when
    ``now`` is not a datetime; any pod, even one that is not a mapping, gets columns.
    """
    if now is None:
        now = datetime.now(UTC)
    elif not isinstance(now, datetime):
        raise InputError(f"pod_status(): now must be a datetime, not {type(now).__name__}")
    elif now.tzinfo is None:
        now = now.replace(tzinfo=UTC)

    pod = as_dict(pod)
    metadata = as_dict(pod.get("metadata"))
    spec = as_dict(pod.get("spec"))
    status = as_dict(pod.get("status"))

    phase = as_str(status.get("phase"))
    status_reason = as_str(status.get("reason"))
    reason = status_reason or phase
    conditions = as_objects(status.get("conditions"))

    # A gated pod is Pending with no reason; the PodScheduled condition is the only place
    # that says why, and it is far more useful to the reader than "Pending".
    for condition in conditions:
        if (
            as_str(condition.get("type")) == "PodScheduled"
            and as_str(condition.get("reason")) == _SCHEDULING_GATED
        ):
            reason = _SCHEDULING_GATED

    init_specs = as_objects(spec.get("initContainers"))
    # Statuses refer to spec entries by name; a later duplicate wins, as in kubectl's map.
    sidecar_by_name: dict[str, bool] = {}
    for init_spec in init_specs:
        sidecar_by_name[as_str(init_spec.get("name"))] = _is_sidecar(init_spec)
    # Sidecars keep running next to the app containers, so READY counts them too.
    total = len(as_objects(spec.get("containers"))) + sum(map(_is_sidecar, init_specs))

    ready = 0
    restarts = 0
    last_restart: datetime | None = None
    sidecar_restarts = 0
    last_sidecar_restart: datetime | None = None
    initializing = False

    for index, raw in enumerate(as_objects(status.get("initContainerStatuses"))):
        container = _ContainerStatus.from_json(raw)
        restarts += container.restart_count
        last_restart = _latest(last_restart, container.last_finished)
        is_sidecar = sidecar_by_name.get(container.name, False)
        if is_sidecar:
            sidecar_restarts += container.restart_count
            last_sidecar_restart = _latest(last_sidecar_restart, container.last_finished)

        terminated = container.terminated
        if terminated is not None and terminated.exit_code == 0:
            continue
        if is_sidecar and container.started:
            # A started sidecar no longer blocks the next init container.
            if container.ready:
                ready += 1
            continue
        # This is the init container the pod is waiting on; kubectl stops looking here, so
        # later init containers contribute neither restarts nor a status.
        initializing = True
        if terminated is not None:
            reason = "Init:" + (terminated.reason or terminated.describe_exit())
        elif container.waiting_reason and container.waiting_reason != "PodInitializing":
            reason = "Init:" + container.waiting_reason
        else:
            reason = f"Init:{index}/{len(init_specs)}"
        break

    # Once the kubelet reports Initialized, a failing sidecar must not hide the state of
    # the app containers (a Job whose sidecar was killed after the app finished still
    # reads "Completed").
    if not initializing or _initialized(conditions):
        # Restarts of ordinary init containers belong to the past; sidecars still count.
        restarts = sidecar_restarts
        last_restart = last_sidecar_restart
        has_running = False
        # The last failed termination seen (so the first one in spec order), which a
        # "Completed" from an earlier container must not hide: kubernetes/kubernetes#121563.
        error_reason = ""
        # Walk backwards so that the first container's problem is the one shown.
        for raw in reversed(as_objects(status.get("containerStatuses"))):
            container = _ContainerStatus.from_json(raw)
            restarts += container.restart_count
            last_restart = _latest(last_restart, container.last_finished)
            terminated = container.terminated
            if container.waiting_reason:
                reason = container.waiting_reason
            elif terminated is not None:
                reason = terminated.reason or terminated.describe_exit()
                if terminated.exit_code != 0:
                    error_reason = reason
            elif container.ready and container.running:
                has_running = True
                ready += 1

        if reason == "Completed":
            # One container finished while another still serves: the pod is not done.
            if has_running and _ready(conditions):
                reason = "Running"
            elif error_reason:
                reason = error_reason
            elif has_running:
                reason = "NotReady"

    if _timestamp(metadata.get("deletionTimestamp")) is not None:
        if status_reason == _NODE_LOST:
            reason = "Unknown"
        elif phase not in _TERMINAL_PHASES:
            # A finished pod being garbage-collected keeps its final status.
            reason = "Terminating"

    restarts_text = str(restarts)
    if restarts != 0 and last_restart is not None:
        restarts_text = f"{restarts} ({_since(last_restart, now)} ago)"

    return PodStatus(
        status=reason,
        ready=f"{ready}/{total}",
        restarts=restarts_text,
        restart_count=restarts,
    )


@dataclass(frozen=True)
class _Terminated:
    reason: str
    exit_code: int
    signal: int

    def describe_exit(self) -> str:
        """What kubectl shows for a termination the runtime gave no reason for."""
        if self.signal != 0:
            return f"Signal:{self.signal}"
        return f"ExitCode:{self.exit_code}"


@dataclass(frozen=True)
class _ContainerStatus:
    """The fields of one containerStatuses entry that the columns depend on."""

    name: str
    ready: bool
    started: bool
    restart_count: int
    waiting_reason: str | None
    """None when there is no waiting state; "" when waiting without a reason."""
    running: bool
    terminated: _Terminated | None
    last_finished: datetime | None
    """lastState.terminated.finishedAt: when the previous run of this container ended."""

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> _ContainerStatus:
        state = as_dict(raw.get("state"))
        # An empty object ({"running": {}}) is a state that is set; only a missing key,
        # null or a non-object means "not in this state".
        waiting = _object_or_none(state.get("waiting"))
        terminated = _object_or_none(state.get("terminated"))
        last_terminated = _object_or_none(as_dict(raw.get("lastState")).get("terminated"))
        return cls(
            name=as_str(raw.get("name")),
            ready=raw.get("ready") is True,
            started=raw.get("started") is True,
            restart_count=_int32(raw.get("restartCount")),
            waiting_reason=None if waiting is None else as_str(waiting.get("reason")),
            running=_object_or_none(state.get("running")) is not None,
            terminated=None
            if terminated is None
            else _Terminated(
                reason=as_str(terminated.get("reason")),
                exit_code=_int32(terminated.get("exitCode")),
                signal=_int32(terminated.get("signal")),
            ),
            last_finished=None
            if last_terminated is None
            else _nonzero(_timestamp(last_terminated.get("finishedAt"))),
        )


def _since(then: datetime, now: datetime) -> str:
    """translateTimestampSince, whose time.Since saturates at the range of Go's
    time.Duration (about 292 years either way): a restart in 1700 reads "292y"."""
    age = now - then
    if age > _GO_MAX_DURATION:
        return human_duration(_GO_MAX_DURATION)
    return human_duration(age)


def _is_sidecar(container: Mapping[str, Any]) -> bool:
    return as_str(container.get("restartPolicy")) == "Always"


def _initialized(conditions: list[Mapping[str, Any]]) -> bool:
    # Only the first Initialized condition counts, as in kubectl.
    for condition in conditions:
        if as_str(condition.get("type")) == "Initialized":
            return as_str(condition.get("status")) == "True"
    return False


def _ready(conditions: list[Mapping[str, Any]]) -> bool:
    return any(
        as_str(c.get("type")) == "Ready" and as_str(c.get("status")) == "True" for c in conditions
    )


def _latest(current: datetime | None, candidate: datetime | None) -> datetime | None:
    if candidate is None:
        return current
    if current is None or candidate > current:
        return candidate
    return current


def _object_or_none(value: object) -> Mapping[str, Any] | None:
    return value if isinstance(value, Mapping) else None


def _int32(value: object) -> int:
    # bool is an int in Python but never a number in JSON.
    if isinstance(value, bool) or not isinstance(value, int):
        return 0
    return value if _INT32_MIN <= value <= _INT32_MAX else 0


def _timestamp(value: object) -> datetime | None:
    try:
        return parse_time(value)
    except (ValueError, OverflowError):
        # parse_time lets a few out-of-range values escape (offsets of 24h or more, dates
        # that leave the datetime range once shifted to UTC); they are malformed all the same.
        return None


def _nonzero(value: datetime | None) -> datetime | None:
    return None if value == _ZERO_TIME else value
