"""PI8xx: never silent. Where a pod that is not Ready waits when no specific rule knows why.

These rules run only when no other rule found an error or a warning (except PI805, a pod
that will not go away, which is worth saying next to anything else), and rank after every
specific cause. Each says at which step of the readiness chain the pod waits, for which
container, since when, and quotes the best evidence there is, so that a pod stuck for an
hour never gets an empty report because its failure is worded in a way no rule knows.

A pod is judged only once it has waited at its step for a short grace period
(``GRACE``); a pod waiting on a running init container, only once that container has
run past ``--stuck-after``, as PI106 judges it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from podinit_diag.core.access import as_dict, as_list, as_str
from podinit_diag.core.kubetime import human_duration
from podinit_diag.core.model import (
    ConditionStep,
    ContainerKind,
    ContainerView,
    EventView,
    Evidence,
    PodSnapshot,
    Severity,
    Stage,
)
from podinit_diag.core.normalize import as_int
from podinit_diag.core.timeline import current_step
from podinit_diag.rules import evidence as ev
from podinit_diag.rules.base import Draft, RuleContext, rule
from podinit_diag.rules.classify import (
    GRACE,
    SETTING_UP,
    deletion_overdue,
    deletion_requested,
    has_run,
)

# A Failed pod whose containers explain it needs nothing from here; these ends need no
# explanation either (a Job's pod stopped by its controller).
_JOB_ENDS = ("DeadlineExceeded", "BackoffLimitExceeded")


@dataclass(frozen=True)
class Stall:
    """Where a pod that is not Ready waits: the readiness-chain step, the container it
    waits on (when one), how long, and the step's condition as evidence."""

    step: ConditionStep
    ref: str | None  # JSONPath of the step's condition in the pod, when it has one
    container: ContainerView | None
    waiting: timedelta


def _stall(ctx: RuleContext) -> Stall | None:
    """The step the pod has waited at past its grace period; None when Ready, finished or
    still within the grace period."""
    snap = ctx.snap
    if snap.phase in ("Succeeded", "Failed") or snap.deleted:
        return None
    if snap.created_at is not None and snap.now - snap.created_at < GRACE:
        return None  # no step can have waited longer than the pod has existed
    step = current_step(snap)
    if step is None:
        return None
    waiting = step.waiting
    if waiting is None and snap.created_at is not None:
        waiting = snap.now - snap.created_at
    if waiting is None:
        return None
    container = _waits_on(snap, step)
    grace = GRACE
    if (
        container is not None
        and container.kind is ContainerKind.INIT
        and container.state == "running"
    ):
        grace = max(grace, ctx.config.stuck_after)
    if waiting < grace:
        return None
    at = snap.condition_at(step.type)
    return Stall(step, f"{at[0]}.status" if at else None, container, waiting)


@dataclass(frozen=True)
class Situation:
    """Which fallback speaks for a stalled pod (one of them at most), and about what."""

    code: str
    stall: Stall | None  # None: a Failed pod, past every step
    container: ContainerView | None


def situation(ctx: RuleContext) -> Situation | None:
    """Where the pod is stuck, as the one fallback that describes it; worked out once."""
    if "fallback" not in ctx.shared:
        ctx.shared["fallback"] = _situation(ctx)
    found = ctx.shared["fallback"]
    return found if isinstance(found, Situation) else None


def _situation(ctx: RuleContext) -> Situation | None:
    snap = ctx.snap
    if snap.condition_true("Ready"):
        return None
    if snap.phase == "Failed" and not snap.deleted and snap.reason not in _JOB_ENDS:
        return Situation("PI806", None, None)  # refused or stopped by the kubelet, unexplained
    s = _stall(ctx)
    if s is None:
        return None
    if not snap.node:
        return Situation("PI801", s, None)
    if not any(has_run(c) for c in snap.containers):
        first = next(iter(snap.containers), None)
        return Situation("PI802", s, None if s.step.type == "PodReadyToStartContainers" else first)
    for c in snap.containers:
        if c.kind is ContainerKind.SIDECAR and c.state == "running" and not c.started:
            ran = snap.now - c.started_at if c.started_at else s.waiting
            if ran >= max(GRACE, _startup_budget(c) or GRACE):
                return Situation("PI804", s, c)
    if snap.condition_true("Initialized"):
        for c in snap.app_containers:
            if c.state == "waiting" and c.reason in SETTING_UP and not c.restart_count:
                return Situation("PI803", Stall(s.step, s.ref, c, s.waiting), c)
    return Situation("PI806", s, s.container)


def _waits_on(snap: PodSnapshot, step: ConditionStep) -> ContainerView | None:
    if step.type == "Initialized":
        # The blocking step of the init timeline: the first the kubelet has reached (it
        # has a status) that is not done; else the first not done.
        pending = [c for c in snap.init_containers if not c.past_init_step]
        return next((c for c in pending if c.status is not None), pending[0] if pending else None)
    if step.type in ("ContainersReady", "Ready"):
        return next((c for c in snap.app_containers if not c.ready), None)
    return None


def _where(s: Stall) -> str:
    what = f" ({ev.who(s.container)}, {_state(s.container)})" if s.container else ""
    return f"at {s.step.type}{what} for {human_duration(s.waiting)}"


def _state(c: ContainerView) -> str:
    if c.state == "waiting":
        return f"waiting: {c.reason}" if c.reason else "waiting"
    if c.state == "running":
        return "running, not ready" if c.kind is ContainerKind.APP else "running"
    if c.state == "terminated" and c.terminated is not None:
        return f"terminated: {ev.exit_phrase(c.terminated)}"
    return "no status yet"


def _proof(s: Stall, snap: PodSnapshot) -> list[Evidence]:
    out: list[Evidence] = []
    if s.ref is not None:
        out.append(ev.status(s.ref, s.step.status))
        if s.step.message:
            out.append(ev.status(s.ref.rsplit(".", 1)[0] + ".message", s.step.message))
    c = s.container
    if c is not None and c.status_ref:
        if c.state == "waiting" and c.reason:
            out += ev.waiting(c)
        elif c.state == "running":
            out.append(ev.status(f"{c.status_ref}.started", c.started))
    latest = _latest_event(snap, c)
    if latest is not None:
        out.append(ev.event(latest, snap))
    return out


def _latest_event(snap: PodSnapshot, c: ContainerView | None) -> EventView | None:
    """The newest warning about the container (or else the pod): the best evidence left.
    (Warnings only: a scan does not read the routine Normal events.)"""
    for events in (snap.events_for(c.name) if c is not None else (), snap.events):
        warnings = [e for e in events if e.type == "Warning"]
        if warnings:
            return warnings[-1]
    return None


@rule(
    "PI801",
    "unschedulable-unexplained",
    Severity.ERROR,
    Stage.FALLBACK,
    fallback=True,
    events=("FailedScheduling",),
)
def unschedulable_unexplained(ctx: RuleContext) -> Iterator[Draft]:
    """The pod is not scheduled and no specific scheduling rule reads why.

    What it detects:
        A pod whose ``PodScheduled`` condition is not ``True`` (or that has no node) past the
        grace period, when PI001-PI004 found nothing: the scheduler's message is in a wording
        they do not know (an older release, a scheduler plugin, a custom scheduler), or there
        is no message at all (no scheduler is handling the pod's ``schedulerName``).
    Why it happens:
        Any scheduling failure: resources, placement, volumes, a scheduler extender or
        plugin that refuses the pod, or a ``schedulerName`` no running scheduler serves.
    How to fix:
        Read the scheduler's message quoted in the finding and ``kubectl describe pod``; when
        there is none, check that the scheduler named by ``spec.schedulerName`` runs.
    """
    snap = ctx.snap
    sit = situation(ctx)
    if sit is None or sit.code != "PI801" or sit.stall is None:
        return
    s = sit.stall
    spec = as_dict(snap.pod.get("spec"))
    scheduler = as_str(spec.get("schedulerName")) or "default-scheduler"
    event = next((e for e in reversed(snap.events) if e.reason == "FailedScheduling"), None)
    said = event.message if event else s.step.message
    proof = _proof(s, snap)
    if said:
        title = f"Pod has not been scheduled for {human_duration(s.waiting)}: {ev.short(said)}"
        fix = (
            f"Act on what {scheduler} says (`kubectl describe pod {snap.name} -n "
            f"{snap.namespace}`): compare the pod's requests, nodeSelector, affinity, "
            f"tolerations and volumes with the nodes (`kubectl describe nodes`)."
        )
    else:
        if "schedulerName" in spec:
            proof.append(ev.spec("$.spec.schedulerName", spec.get("schedulerName")))
        title = (
            f"Pod has not been scheduled for {human_duration(s.waiting)} and no scheduler has "
            f"said why (schedulerName {scheduler})"
        )
        fix = (
            f"Check that {scheduler} is running and serves this pod (`kubectl get pods -n "
            f"kube-system`; its logs), and that the pod is not waiting for a quota or admission "
            f"controller."
        )
    yield Draft(None, title, tuple(proof), fix)


@rule(
    "PI802",
    "pod-setup-stalled",
    Severity.WARNING,
    Stage.FALLBACK,
    fallback=True,
)
def pod_setup_stalled(ctx: RuleContext) -> Iterator[Draft]:
    """The pod was scheduled long ago but none of its containers has started.

    What it detects:
        A scheduled pod past the grace period where no container has ever run (all waiting
        in ``ContainerCreating``/``PodInitializing`` or without status) and no specific rule
        found the cause: no ``FailedMount``, sandbox, image or configuration error was seen.
    Why it happens:
        The kubelet is still setting the pod up and says nothing: a volume attach or mount
        that hangs without reporting (CSI driver down on the node), a sandbox the runtime
        never finishes, a very large image still pulling, or a kubelet that is not syncing
        the pod at all (node trouble, events not captured).
    How to fix:
        ``kubectl describe pod`` and ``kubectl get events -n NS --field-selector
        involvedObject.name=POD`` for anything new; on the node, the kubelet's log
        (``journalctl -u kubelet``), the CSI and CNI pods running there, and ``crictl pods``.
    """
    snap = ctx.snap
    sit = situation(ctx)
    if sit is None or sit.code != "PI802" or sit.stall is None:
        return
    s = sit.stall
    setup = s.step.type == "PodReadyToStartContainers"
    what = "its sandbox (network) is not ready" if setup else "no container has started"
    proof = [ev.spec("$.spec.nodeName", snap.node)] + _proof(s, snap)
    yield Draft(
        sit.container,
        f"Pod was scheduled to node {snap.node} but {what} {_where(s)}",
        tuple(proof),
        f"Look for what the kubelet on node {snap.node} is doing (`kubectl get events -n "
        f"{snap.namespace} --field-selector involvedObject.name={snap.name}`, the kubelet log, "
        f"the CSI and CNI pods on that node): a volume that never attaches or a sandbox that "
        f"is never created leaves no other trace.",
    )


@rule(
    "PI803",
    "app-not-started",
    Severity.WARNING,
    Stage.FALLBACK,
    fallback=True,
)
def app_not_started(ctx: RuleContext) -> Iterator[Draft]:
    """The pod is Initialized but an app container has still not started.

    What it detects:
        A pod whose ``Initialized`` condition is ``True`` while an app container is still
        waiting in ``PodInitializing`` or ``ContainerCreating`` past the grace period, and no
        specific rule found why.
    Why it happens:
        The kubelet starts app containers in order and runs each ``postStart`` hook before
        the next one: a proxy whose hook waits for readiness (Istio's
        ``holdApplicationUntilProxyStarts``) or any hanging hook holds the rest; or the
        image is still pulling, or the kubelet has stopped syncing the pod.
    How to fix:
        Check the containers declared before it (their ``postStart`` hooks and readiness),
        ``kubectl describe pod`` for pull progress, and the kubelet on the node.
    """
    snap = ctx.snap
    sit = situation(ctx)
    if sit is None or sit.code != "PI803" or sit.container is None or sit.stall is None:
        return
    s, waiting = sit.stall, sit.container
    hooks = _before_hooks(snap, waiting)
    held = f"; {', '.join(hooks)} declared before it has a postStart hook" if hooks else ""
    yield Draft(
        waiting,
        f"Container {waiting.name} has not started although the pod is Initialized: waiting "
        f"{_where(s)}{held}",
        tuple(_proof(s, snap)),
        f"Check what holds container {waiting.name}: the postStart hooks of the containers "
        f"declared before it, the image pull (`kubectl describe pod {snap.name} -n "
        f"{snap.namespace}`), and the kubelet on node {snap.node or '?'}.",
    )


def _before_hooks(snap: PodSnapshot, c: ContainerView) -> list[str]:
    return [
        o.name
        for o in snap.app_containers
        if o.index < c.index and as_dict(as_dict(o.spec.get("lifecycle")).get("postStart"))
    ]


@rule(
    "PI804",
    "sidecar-not-started",
    Severity.WARNING,
    Stage.FALLBACK,
    fallback=True,
)
def sidecar_not_started(ctx: RuleContext) -> Iterator[Draft]:
    """A native sidecar is running but has never been reported started.

    What it detects:
        A native sidecar (an init container with ``restartPolicy: Always``) that is running
        with ``started: false`` past the grace period - or past its startup probe's budget
        (``initialDelaySeconds`` + ``failureThreshold`` × ``periodSeconds``) - with no probe
        failure seen (PI402 reports those). The init containers after it cannot start.
    Why it happens:
        A startup probe that never runs or never answers (its events not captured), a
        ``postStart`` hook that hangs, or a kubelet that stopped syncing the pod.
    How to fix:
        ``kubectl describe pod`` for the sidecar's probe and hook events; check its startup
        probe's port and path against what it serves, and the kubelet on the node.
    """
    snap = ctx.snap
    sit = situation(ctx)
    if sit is None or sit.code != "PI804" or sit.container is None or sit.stall is None:
        return
    c = sit.container
    ran = snap.now - c.started_at if c.started_at else sit.stall.waiting
    budget = _startup_budget(c)
    proof = [ev.status(f"{c.status_ref}.started", c.started)] if c.status_ref else []
    probe = as_dict(c.spec.get("startupProbe"))
    if probe:
        proof.append(ev.spec(f"{c.spec_ref}.startupProbe", probe))
    latest = _latest_event(snap, c)
    proof += [ev.event(latest, snap)] if latest is not None else []
    within = f" (its startup probe allows {human_duration(budget)})" if budget else ""
    yield Draft(
        c,
        f"Sidecar {c.name} has been running {human_duration(ran)} without being reported "
        f"started{within}; the init containers after it wait",
        tuple(proof),
        f"Check sidecar {c.name}'s startup probe and postStart hook (`kubectl describe pod "
        f"{snap.name} -n {snap.namespace}`) against what it serves; the containers after it "
        f"start once it is started.",
    )


def _startup_budget(c: ContainerView) -> timedelta | None:
    probe = as_dict(c.spec.get("startupProbe"))
    if not probe:
        return None
    delay = as_int(probe.get("initialDelaySeconds")) or 0
    period = as_int(probe.get("periodSeconds")) or 10
    failures = as_int(probe.get("failureThreshold")) or 3
    return timedelta(seconds=delay + period * failures)


@rule(
    "PI805",
    "pod-stuck-terminating",
    Severity.WARNING,
    Stage.FALLBACK,
)
def pod_stuck_terminating(ctx: RuleContext) -> Iterator[Draft]:
    """The pod was deleted but has not gone away.

    What it detects:
        A pod deleted more than three minutes ago (its ``deletionTimestamp`` minus
        ``deletionGracePeriodSeconds``) that still exists: it shows ``Terminating`` in
        kubectl, whether its containers still run within a long grace period or it is past
        it. Runs next to any other finding; what its containers did before is history.
    Why it happens:
        A finalizer that no controller removes, a node that is gone or NotReady so that no
        kubelet confirms the containers stopped, or containers the runtime cannot kill (a
        hung volume unmount, a process in uninterruptible sleep).
    How to fix:
        Finalizers: find the controller that owns them, or remove them with ``kubectl patch``
        if it is gone. A lost node: delete the Node object or force-delete the pod
        (``--grace-period=0 --force``) once you are sure it no longer runs. Otherwise the
        kubelet's log on the node.
    """
    snap = ctx.snap
    deleted_at = snap.deleted_at
    if deleted_at is None or not deletion_overdue(snap):
        return
    meta = as_dict(snap.pod.get("metadata"))
    proof = [ev.status("$.metadata.deletionTimestamp", meta.get("deletionTimestamp"))]
    finalizers = [f for f in as_list(meta.get("finalizers")) if isinstance(f, str)]
    if finalizers:
        proof.append(ev.status("$.metadata.finalizers", finalizers))
        why = f"finalizer {', '.join(finalizers)} has not been removed"
        fix = (
            f"Find the controller that handles {', '.join(finalizers)} and why it has not "
            f"finished; if it is gone, remove the finalizer (`kubectl patch pod {snap.name} -n "
            f'{snap.namespace} --type=merge -p \'{{"metadata":{{"finalizers":null}}}}\'`).'
        )
    else:
        running = [c.name for c in snap.containers if c.state == "running"]
        why = (
            f"container {', '.join(running)} still reported running"
            if running
            else "no kubelet has confirmed it stopped"
        )
        fix = (
            f"Check node {snap.node or '?'}: if it is NotReady or gone, delete the Node or "
            f"force-delete the pod (`kubectl delete pod {snap.name} -n {snap.namespace} "
            f"--grace-period=0 --force`) once it no longer runs; otherwise read the kubelet log "
            f"there (a hung unmount or an unkillable process)."
        )
    requested = deletion_requested(snap) or deleted_at
    if snap.now < deleted_at:
        when = (
            f"{human_duration(snap.now - requested)} (its grace period ends in "
            f"{human_duration(deleted_at - snap.now)})"
        )
        if not finalizers:
            fix = (
                f"Containers get SIGTERM at deletion and SIGKILL at the end of the grace period: "
                f"check what keeps {why.split(' still')[0]} alive (a process that ignores "
                f"SIGTERM, a slow preStop hook, a native sidecar that never started and is not "
                f"signalled), or shorten terminationGracePeriodSeconds in {ev.owner_phrase(snap)}."
            )
    else:
        when = f"{human_duration(snap.now - requested)}, past its grace period"
    yield Draft(None, f"Pod has been Terminating for {when}: {why}", tuple(proof), fix)


@rule(
    "PI806",
    "pod-not-ready",
    Severity.WARNING,
    Stage.FALLBACK,
    fallback=True,
)
def pod_not_ready(ctx: RuleContext) -> Iterator[Draft]:
    """The pod is not Ready and no specific rule knows why: where it waits, and the evidence.

    What it detects:
        A pod past the grace period at a step of the readiness chain (``PodScheduled`` →
        ``PodReadyToStartContainers`` → ``Initialized`` → ``ContainersReady`` → ``Ready``)
        that PI801-PI804 do not cover, when no other rule found an error or a warning: a
        container that is running but not ready without failing probes, an init container
        whose run says nothing recognisable, a readiness gate nobody sets.
    Why it happens:
        Anything the catalogue does not recognise yet; the finding names the step and the
        container so that the search can start there.
    How to fix:
        Start at the container and step named: ``kubectl describe pod``, its logs, and its
        probes; for a readiness gate, the controller that should set the condition. A pod
        the kubelet failed without a container to blame (``OutOfcpu``,
        ``UnexpectedAdmissionError``, ``NodeAffinity``, ``Terminated``) is reported with the
        kubelet's reason and message: usually its controller replaces it; delete the
        leftovers.
    """
    snap = ctx.snap
    sit = situation(ctx)
    if sit is None or sit.code != "PI806":
        return
    s = sit.stall
    if s is None:
        yield _failed_pod(snap)
        return
    c = s.container
    gates = [
        as_str(as_dict(g).get("conditionType"))
        for g in as_list(as_dict(snap.pod.get("spec")).get("readinessGates"))
    ]
    gate = next((g for g in gates if g and not snap.condition_true(g)), None)
    if s.step.type == "Ready" and gate and snap.condition_true("ContainersReady"):
        title = f"Pod is not Ready: readiness gate {gate} is not True {_where(s)}"
        fix = f"Find the controller that sets condition {gate} (a load balancer controller?)."
    else:
        title = f"Pod is not Ready: it waits {_where(s)}"
        fix = (
            f"Start at {ev.who(c)}: `{ev.logs_command(snap, c, c.restart_count > 0)}` and "
            f"`kubectl describe pod {snap.name} -n {snap.namespace}` (probes, events)."
            if c is not None
            else f"`kubectl describe pod {snap.name} -n {snap.namespace}` for the condition's "
            f"reason and the pod's events."
        )
    yield Draft(c, title, tuple(_proof(s, snap)), fix)


def _failed_pod(snap: PodSnapshot) -> Draft:
    status = as_dict(snap.pod.get("status"))
    proof = [ev.status("$.status.phase", "Failed")]
    for key in ("reason", "message"):
        if status.get(key):
            proof.append(ev.status(f"$.status.{key}", status.get(key)))
    said = ": ".join(as_str(status.get(k)) for k in ("reason", "message") if status.get(k))
    return Draft(
        None,
        f"Pod failed{f' ({ev.short(said)})' if said else ' and no container says why'}",
        tuple(proof),
        f"Read the kubelet's reason above (`kubectl describe pod {snap.name} -n "
        f"{snap.namespace}`): a pod refused at admission (OutOfcpu, UnexpectedAdmissionError, "
        f"NodeAffinity) is replaced by its controller; delete the failed leftovers.",
    )


RULES = (
    unschedulable_unexplained,
    pod_setup_stalled,
    app_not_started,
    sidecar_not_started,
    pod_stuck_terminating,
    pod_not_ready,
)
