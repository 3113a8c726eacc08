"""Pods with varied but valid statuses, for the apiserver's own STATUS column to judge.

:func:`generate` is a seeded (``random.Random(seed)``) generator of pods (spec and status)
that covers the branches of Kubernetes' ``printPod`` (``pkg/printers/internalversion/
printers.go``): every pod phase and ``status.reason``, regular init containers in every state,
native sidecars (started or not, ready or not, restarting), several app containers, restart
counts whose last termination lies in every range of ``duration.HumanDuration``, pod
conditions and readiness gates, scheduling gates, and deletion (a finalizer keeps a deleted
pod, now Terminating, in the store). :func:`tricky` is a short hand-picked list of the same
branches, each with the STATUS the apiserver prints for it.

:func:`write_pods` writes them as the components of a cluster would: a POST of the pod (bound
to a node that does not exist, so that neither the scheduler nor the test kubelet touches
it), a PUT of its status through the ``status`` subresource as a kubelet does, then a DELETE
for the pods to be shown Terminating.

The apiserver validates status updates loosely (``ValidatePodStatusUpdate`` in
``pkg/apis/core/validation/validation.go`` checks IPs, conditions' type names and state
transitions of terminated containers, not the consistency of the states), so "valid" here
means "what it accepts", which is a wider space than any kubelet writes.
"""

from __future__ import annotations

import random
import threading
import zlib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from e2e.rest import ApiError, Rest

Json = dict[str, Any]

# Binding to a node that is not there keeps the scheduler away (it only looks at unbound
# pods) and the test kubelet too (it only plays e2e-node-*); without the node lifecycle and
# pod GC controllers nothing else deletes or rewrites such pods.
NODE = "printing-node-absent"
# Keeps a DELETEd pod in the store with its deletionTimestamp; the cluster is thrown away.
HOLD = "e2e.podinit-diag/hold"
GATE = "podgen.example.com/hold"
READINESS_GATES = ("podgen.example.com/gate-a", "podgen.example.com/gate-b")
LABEL = "podinit-diag.e2e/podgen"

_INIT_WAITING = (
    "PodInitializing",
    "PodInitializing",
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "CreateContainerConfigError",
    "ContainerCreating",
    "RunContainerError",
    "",
)
_APP_WAITING = (
    "ContainerCreating",
    "PodInitializing",
    "CrashLoopBackOff",
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "CreateContainerConfigError",
    "CreateContainerError",
    "InvalidImageName",
    "",
)
# (reason, exit code, signal): the runtime's words, and terminations it gave no reason for.
_FAILURES = (
    ("Error", 1, 0),
    ("Error", 2, 0),
    ("OOMKilled", 137, 0),
    ("ContainerCannotRun", 128, 0),
    ("StartError", 128, 0),
    ("DeadlineExceeded", 1, 0),
    ("", 3, 0),
    ("", 255, 0),
    ("", 137, 9),
    ("", 143, 15),
)
_SUCCESSES = (("Completed", 0, 0), ("Completed", 0, 0), ("", 0, 0), ("", 0, 15))
_POD_REASONS = (
    "Evicted",
    "NodeLost",
    "NodeAffinity",
    "UnexpectedAdmissionError",
    "OutOfcpu",
    "OutOfmemory",
    "Preempting",
    "Shutdown",
    "Terminated",
    "DeadlineExceeded",
)
_PHASES = ("Pending", "Running", "Succeeded", "Failed", "Unknown")
_SECOND = 1
_MINUTE = 60
_HOUR = 3600
_DAY = 86400
_YEAR = 365 * _DAY
# HumanDuration's ranges (apimachinery pkg/util/duration/duration.go): (lowest, highest,
# the smallest unit it prints there). An age is a whole number of units plus half a unit, so
# the column cannot change while a request is served, except where it counts seconds.
AGE_RANGES: tuple[tuple[str, int, int, int], ...] = (
    ("seconds", 0, 119, _SECOND),
    ("minutes-seconds", 2 * _MINUTE, 10 * _MINUTE - 1, _SECOND),
    ("minutes", 10 * _MINUTE, 3 * _HOUR - 1, _MINUTE),
    ("hours-minutes", 3 * _HOUR, 8 * _HOUR - 1, _MINUTE),
    ("hours", 8 * _HOUR, 48 * _HOUR - 1, _HOUR),
    ("days-hours", 2 * _DAY, 8 * _DAY - 1, _HOUR),
    ("days", 8 * _DAY, 2 * _YEAR - 1, _DAY),
    ("years-days", 2 * _YEAR, 8 * _YEAR - 1, _DAY),
    ("years", 8 * _YEAR, 200 * _YEAR, _YEAR),
)


@dataclass
class GenPod:
    """One pod to write: its spec, the status a kubelet would PUT, and whether to delete it."""

    name: str
    spec: Json
    status: Json
    delete: bool = False
    labels: dict[str, str] = field(default_factory=dict)

    def manifest(self) -> Json:
        """The body of the POST (the status comes after, through the subresource)."""
        meta: Json = {"name": self.name, "labels": {LABEL: "1", **self.labels}}
        if self.delete:
            meta["finalizers"] = [HOLD]
        return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": self.spec}


def stamp(t: datetime) -> str:
    """metav1.Time as the apiserver writes it (whole seconds, UTC)."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def container(name: str, sidecar: bool = False) -> Json:
    """A container spec; images stay clear of ``e2e.invalid/``, which the test kubelet runs."""
    c: Json = {"name": name, "image": f"registry.example/podgen/{name.split('-')[0]}:1"}
    if sidecar:
        c["restartPolicy"] = "Always"
    return c


def spec_of(
    inits: Iterable[tuple[str, bool]] = (),
    apps: Iterable[str] = ("app-0",),
    restart_policy: str = "Always",
    gated: bool = False,
    readiness_gates: int = 0,
) -> Json:
    """A pod spec bound to :data:`NODE` (or, when ``gated``, held by a scheduling gate: a gated
    pod may not be bound)."""
    spec: Json = {
        "restartPolicy": restart_policy,
        "terminationGracePeriodSeconds": 30,
        "containers": [container(n) for n in apps],
    }
    init_list = [container(n, sidecar) for n, sidecar in inits]
    if init_list:
        spec["initContainers"] = init_list
    if gated:
        spec["schedulingGates"] = [{"name": GATE}]
    else:
        spec["nodeName"] = NODE
    if readiness_gates:
        spec["readinessGates"] = [{"conditionType": t} for t in READINESS_GATES[:readiness_gates]]
    return spec


def waiting(reason: str) -> Json:
    return {"waiting": {"reason": reason} if reason else {}}


def running(started_at: datetime) -> Json:
    return {"running": {"startedAt": stamp(started_at)}}


def terminated(reason: str, exit_code: int, signal: int, finished: datetime) -> Json:
    body: Json = {
        "exitCode": exit_code,
        "startedAt": stamp(finished - timedelta(seconds=40)),
        "finishedAt": stamp(finished),
    }
    if reason:
        body["reason"] = reason
    if signal:
        body["signal"] = signal
    return {"terminated": body}


def cstatus(
    name: str,
    state: Json,
    ready: bool = False,
    started: bool | None = None,
    restarts: int = 0,
    last: Json | None = None,
) -> Json:
    """One container status, with the fields a kubelet writes."""
    s: Json = {
        "name": name,
        "state": state,
        "lastState": last or {},
        "ready": ready,
        "restartCount": restarts,
        "image": f"registry.example/podgen/{name.split('-')[0]}:1",
        "imageID": "",
    }
    if "running" in state or "terminated" in state:
        s["containerID"] = f"containerd://{zlib.crc32(repr((name, state)).encode()):064x}"
        s["imageID"] = f"registry.example/podgen/{name.split('-')[0]}@sha256:{'0' * 64}"
    if started is not None:
        s["started"] = started
    return s


def condition(kind: str, status: bool | str, at: datetime, reason: str = "") -> Json:
    value = status if isinstance(status, str) else ("True" if status else "False")
    c: Json = {"type": kind, "status": value, "lastProbeTime": None}
    c["lastTransitionTime"] = stamp(at)
    if reason:
        c["reason"] = reason
    return c


def finished_ago(rng: random.Random, now: datetime) -> datetime:
    """When a previous run ended, in a random HumanDuration range, half a unit clear of the
    next change of the printed age."""
    _, low, high, unit = rng.choice(AGE_RANGES)
    whole = rng.randrange(low // unit, high // unit + 1) * unit
    offset = unit // 2 if unit > 1 else 0
    return now - timedelta(seconds=min(max(whole + offset, low), high))


class _Builder:
    """The state of one generated pod while its containers are decided."""

    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng = rng
        self.now = now
        self.started_at = now - timedelta(seconds=rng.randrange(60, 40 * _DAY))
        self.gates = 0  # readiness gates in the spec (their conditions are drawn too)

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def last_state(self, restarts: int) -> Json:
        """lastState for a container that restarted ``restarts`` times (sometimes none at all,
        sometimes one without a finishedAt, which printPod shows without an age)."""
        r = self.rng.random()
        if restarts == 0 and r < 0.9:
            return {}
        if r < 0.05:
            return {}
        reason, code, signal = self.rng.choice(_FAILURES + _SUCCESSES)
        if r < 0.1:
            body: Json = {"exitCode": code}
            if reason:
                body["reason"] = reason
            return {"terminated": body}
        if r < 0.12:
            # A clock that ran ahead: "<invalid>" where HumanDuration meets the future.
            when = self.now + timedelta(minutes=self.rng.randrange(5, 500))
        elif r < 0.14:
            # Past the range of Go's time.Duration (about 292 years), which saturates.
            when = datetime(self.rng.randrange(1600, 1730), 6, 1, 12, tzinfo=UTC)
        else:
            when = finished_ago(self.rng, self.now)
        return terminated(reason, code, signal, when)

    def restarts(self) -> int:
        r = self.rng.random()
        if r < 0.6:
            return 0
        if r < 0.985:
            return self.rng.choice((1, 1, 2, 3, 4, 7, 12, 31, 99, 250, 1024))
        return self.rng.choice((2**31 - 1, -1))

    def status(
        self,
        name: str,
        state: Json,
        ready: bool = False,
        started: bool | None = None,
        restarts: int | None = None,
    ) -> Json:
        count = self.restarts() if restarts is None else restarts
        return cstatus(name, state, ready, started, count, self.last_state(count))

    def finished(self) -> datetime:
        return self.now - timedelta(seconds=self.rng.randrange(5, 3 * _DAY))

    def failure(self) -> Json:
        reason, code, signal = self.rng.choice(_FAILURES)
        return terminated(reason, code, signal, self.finished())

    def success(self) -> Json:
        reason, code, signal = self.rng.choice(_SUCCESSES)
        return terminated(reason, code, signal, self.finished())

    def any_state(self, app: bool) -> Json:
        r = self.rng.random()
        if r < 0.3:
            return waiting(self.rng.choice(_APP_WAITING if app else _INIT_WAITING))
        if r < 0.55:
            return running(self.started_at)
        if r < 0.75:
            return self.failure()
        if r < 0.95:
            return self.success()
        return {}  # no state at all: printPod must cope


def _conditions(
    b: _Builder,
    scheduled: bool | str,
    initialized: bool | str,
    ready: bool,
    gates: int,
    gated_reason: bool = False,
) -> list[Json]:
    """Pod conditions in the kubelet's order, plus the readiness gates' own conditions."""
    t = b.started_at
    if gated_reason:
        return [condition("PodScheduled", False, t, "SchedulingGated")]
    out = [
        condition("PodReadyToStartContainers", scheduled is True, t),
        condition(
            "Initialized", initialized, t, "" if initialized is True else "ContainersNotInitialized"
        ),
        condition("Ready", ready, t, "" if ready else "ContainersNotReady"),
        condition("ContainersReady", ready, t, "" if ready else "ContainersNotReady"),
        condition("PodScheduled", scheduled, t),
    ]
    for kind in READINESS_GATES[:gates]:
        if b.chance(0.8):
            out.append(condition(kind, b.chance(0.6), t))
    return out


def _layout(b: _Builder) -> tuple[list[tuple[str, bool]], list[str]]:
    """Init containers (name, is a sidecar) in spec order, and app container names."""
    inits: list[tuple[str, bool]] = []
    for i in range(b.rng.choice((0, 0, 1, 1, 2, 2, 3, 4))):
        sidecar = b.chance(0.4)
        inits.append((f"{'side' if sidecar else 'init'}-{i}", sidecar))
    apps = [f"app-{i}" for i in range(b.rng.choice((1, 1, 1, 2, 2, 3, 4)))]
    return inits, apps


def _pending_in_init(b: _Builder, inits: list[tuple[str, bool]], apps: list[str]) -> Json:
    """A pod whose init phase stops at one container, as the kubelet reports it."""
    current = b.rng.randrange(len(inits))
    statuses = []
    failed = False
    for i, (name, sidecar) in enumerate(inits):
        if i < current:
            if sidecar:
                statuses.append(b.status(name, running(b.started_at), b.chance(0.7), started=True))
            else:
                statuses.append(b.status(name, b.success(), started=False, restarts=0))
        elif i == current:
            if sidecar:
                state = b.rng.choice(
                    (running(b.started_at), waiting("CrashLoopBackOff"), waiting("PodInitializing"))
                )
                statuses.append(b.status(name, state, False, started=False))
            else:
                r = b.rng.random()
                if r < 0.45:
                    state = waiting(b.rng.choice(_INIT_WAITING))
                elif r < 0.75:
                    state = running(b.started_at)
                else:
                    state = b.failure()
                    failed = True
                statuses.append(b.status(name, state, False, started=r >= 0.45 and r < 0.75))
        else:
            statuses.append(
                cstatus(name, waiting("PodInitializing"), started=False if sidecar else None)
            )
    app_statuses = [cstatus(n, waiting("PodInitializing"), started=False) for n in apps]
    phase = "Failed" if failed and b.chance(0.3) else "Pending"
    return {
        "phase": phase,
        "initContainerStatuses": statuses,
        "containerStatuses": app_statuses,
        "conditions": _conditions(b, True, False, False, 0),
    }


def _running(b: _Builder, inits: list[tuple[str, bool]], apps: list[str]) -> Json:
    """Init done; sidecars up (or restarting), app containers in any state."""
    statuses = []
    for name, sidecar in inits:
        if sidecar:
            r = b.rng.random()
            if r < 0.7:
                statuses.append(b.status(name, running(b.started_at), b.chance(0.8), True))
            elif r < 0.9:
                restarts = b.rng.choice((1, 4, 9))
                statuses.append(b.status(name, waiting("CrashLoopBackOff"), False, False, restarts))
            else:
                statuses.append(b.status(name, b.failure(), False, False))
        else:
            statuses.append(b.status(name, b.success(), started=False))
    app_statuses = []
    all_ready = True
    for name in apps:
        r = b.rng.random()
        if r < 0.55:
            ready = b.chance(0.8)
            app_statuses.append(b.status(name, running(b.started_at), ready, True))
        elif r < 0.75:
            ready = False
            app_statuses.append(b.status(name, waiting(b.rng.choice(_APP_WAITING)), False, False))
        elif r < 0.9:
            ready = False
            app_statuses.append(b.status(name, b.success(), False, False))
        else:
            ready = False
            app_statuses.append(b.status(name, b.failure(), False, False))
        all_ready = all_ready and ready
    b.gates = b.rng.choice((0, 0, 0, 1, 2))
    return {
        "phase": "Running",
        "initContainerStatuses": statuses,
        "containerStatuses": app_statuses,
        "conditions": _conditions(b, True, True, all_ready and b.chance(0.9), b.gates),
    }


def _finished(b: _Builder, inits: list[tuple[str, bool]], apps: list[str]) -> Json:
    """Every app container ended (a Job's pod): Succeeded or Failed."""
    statuses = []
    for name, sidecar in inits:
        if sidecar:
            state = b.rng.choice((b.success(), b.failure(), running(b.started_at)))
            statuses.append(b.status(name, state, False, False))
        else:
            statuses.append(b.status(name, b.success(), started=False))
    app_statuses = []
    ok = True
    for name in apps:
        state = b.success() if b.chance(0.6) else b.failure()
        ok = ok and state["terminated"]["exitCode"] == 0
        app_statuses.append(b.status(name, state, False, False))
    return {
        "phase": "Succeeded" if ok else "Failed",
        "initContainerStatuses": statuses,
        "containerStatuses": app_statuses,
        "conditions": _conditions(b, True, True, False, 0),
    }


def _with_reason(b: _Builder, inits: list[tuple[str, bool]], apps: list[str]) -> Json:
    """A pod the node gave up on, with the reason it wrote (Evicted, NodeLost, ...)."""
    status = _finished(b, inits, apps) if b.chance(0.5) else _running(b, inits, apps)
    status["phase"] = b.rng.choice(("Failed", "Failed", "Pending", "Running", "Unknown"))
    status["reason"] = b.rng.choice(_POD_REASONS)
    status["message"] = "The node was low on resource: memory."
    if b.chance(0.3):
        status.pop("initContainerStatuses", None)
        status.pop("containerStatuses", None)
    return status


def _chaos(b: _Builder, inits: list[tuple[str, bool]], apps: list[str]) -> Json:
    """Anything the apiserver accepts: independent states, shuffled or missing statuses,
    statuses of containers the spec does not have, any phase and conditions."""
    b.gates = b.rng.choice((0, 1, 2))
    statuses = [
        b.status(n, b.any_state(False), b.chance(0.4), b.rng.choice((True, False, None)))
        for n, _ in inits
    ]
    app_statuses = [
        b.status(n, b.any_state(True), b.chance(0.5), b.rng.choice((True, False, None)))
        for n in apps
    ]
    for group in (statuses, app_statuses):
        if b.chance(0.15):
            b.rng.shuffle(group)
        if group and b.chance(0.1):
            group.pop(b.rng.randrange(len(group)))
        if b.chance(0.05):
            group.append(b.status("ghost-9", b.any_state(True), b.chance(0.5), True))
    conditions = _conditions(
        b,
        b.rng.choice((True, False)),
        b.rng.choice((True, False, "Unknown")),
        b.chance(0.5),
        b.gates,
    )
    b.rng.shuffle(conditions)
    if b.chance(0.1):
        conditions = conditions[: b.rng.randrange(len(conditions) + 1)]
    status: Json = {
        "phase": b.rng.choice(_PHASES),
        "initContainerStatuses": statuses,
        "containerStatuses": app_statuses,
        "conditions": conditions,
    }
    if b.chance(0.1):
        status["reason"] = b.rng.choice(_POD_REASONS)
    if b.chance(0.05):
        status["conditions"].append(condition("PodScheduled", False, b.now, "SchedulingGated"))
    return status


def _unstarted(b: _Builder, inits: list[tuple[str, bool]], apps: list[str]) -> Json:
    """Bound but nothing reported yet, or gated before scheduling."""
    return {
        "phase": "Pending",
        "conditions": _conditions(b, b.chance(0.5), False, False, 0),
    }


_SCENARIOS: tuple[
    tuple[str, float, Callable[[_Builder, list[tuple[str, bool]], list[str]], Json]], ...
] = (
    ("init", 0.22, _pending_in_init),
    ("run", 0.25, _running),
    ("done", 0.12, _finished),
    ("reason", 0.08, _with_reason),
    ("chaos", 0.28, _chaos),
    ("new", 0.05, _unstarted),
)


def generate(n: int, seed: int, now: datetime) -> list[GenPod]:
    """``n`` pods, the same ones for the same ``seed`` and ``now``."""
    rng = random.Random(seed)
    pods = []
    weights = [w for _, w, _ in _SCENARIOS]
    for index in range(n):
        label, _, make = rng.choices(_SCENARIOS, weights)[0]
        b = _Builder(rng, now)
        inits, apps = _layout(b)
        if make is _pending_in_init and not inits:
            inits = [("init-0", False)]
        status = make(b, inits, apps)
        gated = make is _unstarted and b.chance(0.5)
        if gated:
            status["conditions"] = [
                condition("PodScheduled", False, b.started_at, "SchedulingGated")
            ]
            if b.chance(0.2):
                status["conditions"] = []  # the gate without the condition: plain Pending
        else:
            status["podIP"] = f"10.244.{index // 250}.{index % 250 + 1}"
            status["podIPs"] = [{"ip": status["podIP"]}]
            status["hostIP"] = "192.0.2.10"
            status["hostIPs"] = [{"ip": "192.0.2.10"}]
            status["startTime"] = stamp(b.started_at)
        for key in ("initContainerStatuses", "containerStatuses"):
            if not status.get(key):
                status.pop(key, None)
        policy = rng.choice(("Always", "Always", "OnFailure", "Never"))
        delete = b.chance(0.1)
        if delete and b.chance(0.3):
            status["reason"] = "NodeLost"
            status["message"] = f"Node {NODE} which was running pod is unresponsive"
        pods.append(
            GenPod(
                name=f"p{index:05d}-{label}",
                spec=spec_of(inits, apps, policy, gated, b.gates),
                status=status,
                delete=delete,
                labels={"scenario": label},
            )
        )
    return pods


@dataclass(frozen=True)
class Tricky:
    """A hand-picked pod and the STATUS, READY and RESTARTS the apiserver prints for it
    (RESTARTS None where it holds an age)."""

    id: str
    pod: GenPod
    status: str
    ready: str
    restarts: str | None = None


def tricky(now: datetime) -> list[Tricky]:
    """One pod per branch of printPod, each with the columns printPod gives it (read off the
    code of v1.37.2, and checked against the apiserver by the tests)."""
    t = now - timedelta(hours=2)
    done = terminated("Completed", 0, 0, t)
    up = running(t)
    out: list[Tricky] = []

    def add(
        id_: str,
        spec: Json,
        status: Json,
        expect: str,
        ready: str,
        restarts: str | None = "0",
        delete: bool = False,
    ) -> None:
        out.append(Tricky(id_, GenPod(f"t-{id_}", spec, status, delete), expect, ready, restarts))

    one_init = spec_of([("init-0", False), ("init-1", False)], ["app-0"])
    add(
        "init-waiting-podinitializing",
        one_init,
        {
            "phase": "Pending",
            "initContainerStatuses": [
                cstatus("init-0", waiting("PodInitializing")),
                cstatus("init-1", waiting("PodInitializing")),
            ],
        },
        "Init:0/2",
        "0/1",
    )
    add(
        "init-second-running",
        one_init,
        {
            "phase": "Pending",
            "initContainerStatuses": [cstatus("init-0", done), cstatus("init-1", up)],
        },
        "Init:1/2",
        "0/1",
    )
    add(
        "init-crashloop",
        one_init,
        {
            "phase": "Pending",
            "initContainerStatuses": [
                cstatus("init-0", waiting("CrashLoopBackOff"), restarts=4),
                cstatus("init-1", waiting("PodInitializing")),
            ],
        },
        "Init:CrashLoopBackOff",
        "0/1",
        "4",  # no lastState: a count without an age
    )
    add(
        "init-oomkilled",
        one_init,
        {
            "phase": "Pending",
            "initContainerStatuses": [
                cstatus("init-0", done),
                cstatus("init-1", terminated("OOMKilled", 137, 0, t)),
            ],
        },
        "Init:OOMKilled",
        "0/1",
    )
    add(
        "init-exitcode-without-reason",
        one_init,
        {"phase": "Pending", "initContainerStatuses": [cstatus("init-0", terminated("", 3, 0, t))]},
        "Init:ExitCode:3",
        "0/1",
    )
    add(
        "init-signal-without-reason",
        one_init,
        {
            "phase": "Pending",
            "initContainerStatuses": [cstatus("init-0", terminated("", 137, 9, t))],
        },
        "Init:Signal:9",
        "0/1",
    )
    sidecar_first = spec_of([("side-0", True), ("init-1", False)], ["app-0"])
    add(
        "sidecar-started-next-init-waits",
        sidecar_first,
        {
            "phase": "Pending",
            "initContainerStatuses": [
                cstatus("side-0", up, ready=True, started=True),
                cstatus("init-1", waiting("PodInitializing")),
            ],
        },
        "Init:1/2",
        "1/2",
    )
    add(
        "sidecar-not-started",
        sidecar_first,
        {
            "phase": "Pending",
            "initContainerStatuses": [cstatus("side-0", up, started=False)],
        },
        "Init:0/2",
        "0/2",
    )
    add(
        "sidecar-restarting-before-init",
        sidecar_first,
        {
            "phase": "Pending",
            "initContainerStatuses": [
                cstatus(
                    "side-0",
                    waiting("CrashLoopBackOff"),
                    started=False,
                    restarts=3,
                    last=terminated("Error", 1, 0, now - timedelta(days=3, hours=4, minutes=30)),
                ),
            ],
        },
        "Init:CrashLoopBackOff",
        "0/2",
        "3 (3d4h ago)",
    )
    sidecar_job = spec_of([("side-0", True)], ["app-0"], "Never")
    add(
        "sidecar-failed-after-initialized-app-running",
        sidecar_job,
        {
            "phase": "Running",
            "conditions": [condition("Initialized", True, t), condition("Ready", False, t)],
            "initContainerStatuses": [
                cstatus("side-0", waiting("CrashLoopBackOff"), started=False, restarts=2)
            ],
            "containerStatuses": [cstatus("app-0", up, ready=True, started=True)],
        },
        # printPod keeps the init reason: the app loop only overwrites it with a reason of
        # its own, and a running container has none.
        "Init:CrashLoopBackOff",
        "1/2",
        "2",
    )
    add(
        "sidecar-killed-after-job-completed",
        sidecar_job,
        {
            "phase": "Succeeded",
            "conditions": [condition("Initialized", True, t)],
            "initContainerStatuses": [cstatus("side-0", terminated("", 143, 15, t), started=False)],
            "containerStatuses": [cstatus("app-0", done, started=False)],
        },
        "Completed",
        "0/2",
    )
    two_apps = spec_of([], ["app-0", "app-1"])
    add(
        "completed-beside-running-ready",
        two_apps,
        {
            "phase": "Running",
            "conditions": [condition("Ready", True, t)],
            "containerStatuses": [cstatus("app-0", up, ready=True), cstatus("app-1", done)],
        },
        "Running",
        "1/2",
    )
    add(
        "completed-beside-running-pod-not-ready",
        two_apps,
        {
            "phase": "Running",
            "conditions": [condition("Ready", False, t)],
            "containerStatuses": [cstatus("app-0", up, ready=True), cstatus("app-1", done)],
        },
        "NotReady",
        "1/2",
    )
    add(
        "completed-beside-failed",
        two_apps,
        {
            "phase": "Failed",
            "containerStatuses": [
                cstatus("app-0", done),
                cstatus("app-1", terminated("Error", 1, 0, t)),
            ],
        },
        # The first container's Completed is shown only when no container failed
        # (printPod's errorReason in v1.37.2).
        "Error",
        "0/2",
    )
    add(
        "first-app-problem-wins",
        two_apps,
        {
            "phase": "Pending",
            "containerStatuses": [
                cstatus("app-0", waiting("CrashLoopBackOff"), restarts=7),
                cstatus("app-1", waiting("ImagePullBackOff")),
            ],
        },
        "CrashLoopBackOff",
        "0/2",
        "7",
    )
    add(
        "app-signal-without-reason",
        spec_of(),
        {"phase": "Failed", "containerStatuses": [cstatus("app-0", terminated("", 143, 15, t))]},
        "Signal:15",
        "0/1",
    )
    add(
        "app-waiting-without-reason",
        spec_of(),
        {"phase": "Pending", "containerStatuses": [cstatus("app-0", waiting(""))]},
        "Pending",
        "0/1",
    )
    add(
        "evicted",
        spec_of(),
        {
            "phase": "Failed",
            "reason": "Evicted",
            "message": "The node was low on resource: memory.",
        },
        "Evicted",
        "0/1",
    )
    add(
        "phase-unknown",
        spec_of(),
        {"phase": "Unknown"},
        "Unknown",
        "0/1",
    )
    add(
        "scheduling-gated",
        spec_of(gated=True),
        {
            "phase": "Pending",
            "conditions": [condition("PodScheduled", False, t, "SchedulingGated")],
        },
        "SchedulingGated",
        "0/1",
    )
    add(
        "terminating",
        spec_of(),
        {"phase": "Running", "containerStatuses": [cstatus("app-0", up, ready=True, started=True)]},
        "Terminating",
        "1/1",
        delete=True,
    )
    add(
        "nodelost-deleted",
        spec_of(),
        {
            "phase": "Running",
            "reason": "NodeLost",
            "containerStatuses": [cstatus("app-0", up, ready=True, started=True)],
        },
        "Unknown",
        "1/1",
        delete=True,
    )
    add(
        "succeeded-deleted-keeps-status",
        spec_of(restart_policy="Never"),
        {"phase": "Succeeded", "containerStatuses": [cstatus("app-0", done)]},
        "Completed",
        "0/1",
        delete=True,
    )
    add(
        "restarts-in-years",
        spec_of(),
        {
            "phase": "Running",
            "conditions": [condition("Ready", True, t)],
            "containerStatuses": [
                cstatus(
                    "app-0",
                    up,
                    ready=True,
                    restarts=5,
                    last=terminated("Error", 1, 0, now - timedelta(days=3 * 365 + 12, hours=12)),
                )
            ],
        },
        "Running",
        "1/1",
        "5 (3y12d ago)",
    )
    add(
        "restarts-beyond-go-duration",
        spec_of(),
        {
            "phase": "Running",
            "containerStatuses": [
                cstatus(
                    "app-0",
                    up,
                    ready=True,
                    restarts=1,
                    last=terminated("Error", 1, 0, datetime(1700, 1, 1, tzinfo=UTC)),
                )
            ],
        },
        "Running",
        "1/1",
        # time.Since saturates at the largest time.Duration, 292 years and some.
        "1 (292y ago)",
    )
    add(
        "restarts-in-the-future",
        spec_of(),
        {
            "phase": "Running",
            "containerStatuses": [
                cstatus(
                    "app-0",
                    up,
                    ready=True,
                    restarts=2,
                    last=terminated("Error", 1, 0, now + timedelta(hours=1)),
                )
            ],
        },
        "Running",
        "1/1",
        "2 (<invalid> ago)",
    )
    return out


@dataclass
class WriteReport:
    """What :func:`write_pods` did: requests, and every refusal with its exact message."""

    requests: int = 0
    refusals: list[tuple[str, str, int, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self) -> None:
        with self.lock:
            self.requests += 1


def write_one(rest: Rest, namespace: str, pod: GenPod, report: WriteReport) -> None:
    """POST the pod, PUT its status through the subresource, DELETE it if it is to be shown
    Terminating; a refusal is recorded (pod, step, code, message) and ends this pod."""
    base = f"/api/v1/namespaces/{namespace}/pods"
    step = "create"
    try:
        created = rest.create(base, pod.manifest())
        report.count()
        step = "status"
        created["status"] = {**pod.status, "qosClass": created["status"].get("qosClass", "")}
        rest.put(f"{base}/{pod.name}/status", created)
        report.count()
        if pod.delete:
            step = "delete"
            rest.delete(f"{base}/{pod.name}")
            report.count()
    except ApiError as exc:
        report.refusals.append((pod.name, step, exc.status, str(exc.doc.get("message", exc))))


def write_pods(rest: Rest, namespace: str, pods: list[GenPod], threads: int = 4) -> WriteReport:
    """Write ``pods`` with ``threads`` connections at once."""
    report = WriteReport()
    with ThreadPoolExecutor(threads) as pool:
        for _ in pool.map(lambda p: write_one(rest, namespace, p, report), pods):
            pass
    return report
