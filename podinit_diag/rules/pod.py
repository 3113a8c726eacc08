"""PI0xx: the pod as a whole - scheduling, volumes, sandbox, and how it ended.

The scheduler explains a failure in one sentence per attempt (``0/5 nodes are
available: 3 Insufficient memory, 2 node(s) had untolerated taint {...}. preemption:
...``); :func:`scheduler_reasons` splits it so that each failure class gets its own
finding with the node counts the scheduler gave.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping

from podinit_diag.core.access import as_dict, as_list, as_str
from podinit_diag.core.lazyre import lazy
from podinit_diag.core.model import (
    ContainerKind,
    ContainerView,
    EventView,
    Evidence,
    PodSnapshot,
    Severity,
    Stage,
    quote_value,
)
from podinit_diag.core.resources import effective_request, format_quantity, quantity
from podinit_diag.rules import evidence as ev
from podinit_diag.rules.base import Draft, RuleContext, rule
from podinit_diag.rules.classify import GRACE, deletion_overdue, has_run
from podinit_diag.rules.messages import SchedulerReason, is_config_mount_failure, mounted_since
from podinit_diag.rules.scheduling import SchedulingFailure

MOUNT_REASONS = frozenset({"FailedMount", "FailedAttachVolume", "FailedMapVolume"})


_PLACEMENT = lazy(
    r"untolerated taint|didn't match Pod's node affinity|didn't match pod affinity"
    r"|didn't match pod anti-affinity|didn't satisfy existing pods anti-affinity"
    r"|didn't match pod topology spread|were unschedulable|didn't have free ports"
    r"|didn't match the requested node name|node\(s\) had taints?\b|didn't match node selector"
    r"|had untolerated taint|didn't tolerate",
)
# A claim's events while it waits to be bound (PersistentVolume controller, external
# provisioners): the kind of wait they say, quoted when the claim has no warning.
_CLAIM_WAITS = ("WaitForFirstConsumer", "ExternalProvisioning", "WaitForPodScheduled")
_CONTROL_PLANE = lazy(r"node-role\.kubernetes\.io/(?:control-plane|master)")
_VOLUME = lazy(
    r"unbound (?:immediate )?PersistentVolumeClaims|persistentvolumeclaim \"[^\"]+\" not found"
    r"|volume node affinity conflict|didn't find available persistent volumes"
    r"|enough free storage|storageclass[\w.]* \"[^\"]+\" not found|max volume count"
    r"|volume to be created|persistentvolumeclaim \"[^\"]+\" (?:is being deleted|not bound)"
    r"|had no available volume zone|volume zone conflict"
    # a PreBind failure: the claim was to be provisioned once the node was chosen
    r"|binding volumes|provisioning failed for PVC",
)


def _nodes(r: SchedulerReason, total: int | None) -> str:
    if r.nodes is None:
        return ""
    return f"{r.nodes}/{total} nodes: " if total else f"{r.nodes} nodes: "


_COMBINED = lazy(r"^\(combined from similar events\): ")
_QUOTA = lazy(r"exceeded quota|failed quota|must specify (?:limits|requests)", re.I)
_POD_SECURITY = lazy(r"violates PodSecurity|pod security policy|PodSecurityPolicy")
_WEBHOOK = lazy(r"admission webhook|failed calling webhook|denied the request")
_LIMIT_RANGE = lazy(r"(?:maximum|minimum) (?:cpu|memory|storage) usage per (?:Container|Pod)")
_SERVICE_ACCOUNT = lazy(r"serviceaccounts? \"[^\"]+\" not found|error looking up service account")


def _creation_hint(message: str, owner: str) -> str:
    if _QUOTA.search(message):
        return (
            f"A ResourceQuota refuses every pod made from {owner}: lower their requests/limits, "
            f"give the containers the requests the quota demands, or raise the quota "
            f"(`kubectl describe resourcequota`)."
        )
    if _POD_SECURITY.search(message):
        return (
            f"The namespace's Pod Security level refuses the pod template of {owner}: set the "
            f"securityContext fields the message names (runAsNonRoot, seccompProfile, dropped "
            f"capabilities), for init containers too, or change the namespace's "
            f"pod-security.kubernetes.io/enforce label."
        )
    if _WEBHOOK.search(message):
        return (
            f"An admission webhook refuses or cannot judge the pods made from {owner}: fix what "
            f"it denies, or the webhook's Service if the call fails (`kubectl get "
            f"validatingwebhookconfigurations,mutatingwebhookconfigurations`)."
        )
    if _LIMIT_RANGE.search(message):
        return f"A LimitRange refuses the pod template of {owner}: fit its containers' resources."
    if _SERVICE_ACCOUNT.search(message):
        return f"Create the ServiceAccount the pod template of {owner} names, or fix the name."
    return f"Fix what the controller of {owner} reports when it creates the pods."


@rule(
    "PI010",
    "pods-not-created",
    Severity.ERROR,
    Stage.SCHEDULING,
    events=("FailedCreate",),
    hopeless=True,
)
def pods_not_created(ctx: RuleContext) -> Iterator[Draft]:
    """The workload's controller cannot create its pods at all.

    What it detects:
        A workload without pods (``initdoctor deploy/NAME`` finds none) whose controller -
        the Deployment's newest ReplicaSet, the StatefulSet, DaemonSet, Job or ReplicaSet -
        has ``FailedCreate`` warnings, or whose Deployment has a ``ReplicaFailure``
        condition. The report is about the pod template, named after the workload.
    Why it happens:
        The API server refuses the pods before any exists: a ResourceQuota exceeded or
        demanding requests/limits, the namespace's Pod Security level, an admission webhook
        that denies the pod or cannot be reached, a LimitRange, a missing ServiceAccount.
    How to fix:
        Read the controller's message: fit the template to the quota, the Pod Security
        level or the LimitRange, fix the webhook, or create the ServiceAccount.
    """
    snap = ctx.snap
    if snap.created_at is not None or snap.uid or snap.owner is None:
        return  # a pod that exists: its owner's trouble creating others is not its own
    owner = f"{snap.owner.kind} {snap.owner.name}"
    failures = [
        e
        for e in snap.related_events
        if e.reason == "FailedCreate" and e.about == owner and e.type == "Warning"
    ]
    proof = [ev.event(e, snap) for e in failures[-1:]]
    message = _COMBINED.sub("", failures[-1].message) if failures else ""
    for o in snap.related:
        if o.get("kind") != "Deployment":
            continue
        for i, c in enumerate(map(as_dict, as_list(as_dict(o.get("status")).get("conditions")))):
            if c.get("type") == "ReplicaFailure" and c.get("status") == "True":
                name = as_str(as_dict(o.get("metadata")).get("name"))
                proof.append(
                    Evidence(
                        source="cluster",
                        ref=f"Deployment {name} status.conditions[{i}] ReplicaFailure",
                        text=as_str(c.get("message")) or as_str(c.get("reason")),
                    )
                )
                message = message or as_str(c.get("message"))
    if not proof:
        return
    yield Draft(
        None,
        f"No pod can be created: {owner} reports {ev.short(message, 200)}",
        tuple(proof),
        _creation_hint(message, ev.owner_phrase(snap)),
    )


@rule(
    "PI001",
    "unschedulable-resources",
    Severity.ERROR,
    Stage.SCHEDULING,
    events=("FailedScheduling",),
)
def unschedulable_resources(ctx: RuleContext) -> Iterator[Draft]:
    """No node has enough free CPU, memory or another resource for the pod's request.

    What it detects:
        A pod whose ``PodScheduled`` condition is ``False``/``Unschedulable`` and whose latest
        ``FailedScheduling`` message has ``Insufficient <resource>`` parts. The pod's effective
        request is computed as the scheduler does: the larger of the app containers plus all
        native sidecars, and the largest regular init container plus the sidecars declared
        before it, plus pod overhead; the container that drives it is named.
    Why it happens:
        Requests larger than any node's allocatable capacity (often an init container given a
        large request for a one-off job: the scheduler reserves it for the whole pod), nodes
        full of other pods, or a node pool too small with no autoscaler able to add a node.
    How to fix:
        Lower the request of the container that drives the effective request (init containers
        rarely need the app's peak), or add nodes big enough (``kubectl describe nodes`` shows
        Allocatable and the requests already placed), or let preemption or the cluster
        autoscaler make room.
    """
    snap = ctx.snap
    failure = ctx.scheduling
    if failure is None:
        return
    spec = as_dict(snap.pod.get("spec"))
    # The scheduler sorts its reasons as strings ("1 Too many pods, 2 Insufficient cpu"):
    # a request the pod makes, refused by the most nodes, is the cause to name first.
    shortages = sorted(
        (r for r in failure.reasons if _INSUFFICIENT.match(r.text) or r.text == _TOO_MANY),
        key=lambda r: (r.text == _TOO_MANY, -(r.nodes or 0)),
    )
    for r in shortages:
        m = _INSUFFICIENT.match(r.text)
        if m is None:
            yield _too_many_pods(snap, failure, r)
            continue
        resource = m.group(1)
        eff = effective_request(snap.containers, spec, resource)
        need = format_quantity(resource, eff.total)
        biggest, proof = _with_largest_node(snap, failure, resource)
        room = f"; the largest node allocates {biggest[1]} ({biggest[0]})" if biggest else ""
        d = eff.driver
        if d is not None:
            value = as_dict(as_dict(d.spec.get("resources")).get("requests")).get(resource)
            proof.append(ev.spec(f"{d.spec_ref}.resources.requests.{resource}", value))
            title = (
                f"Pod cannot be scheduled ({_nodes(r, failure.total)}insufficient {resource}): "
                f"it requests {need} {resource} because init container {d.name} asks for "
                f"{format_quantity(resource, eff.init_peak)} while the app containers need "
                f"{format_quantity(resource, eff.app_side)}{room}"
            )
            fix = (
                f"Lower resources.requests.{resource} of init container {d.name} in "
                f"{ev.owner_phrase(snap)}: the scheduler reserves the largest init container's "
                f"request for the whole pod. Otherwise add nodes with at least {need} {resource} "
                f"allocatable."
            )
        else:
            for c in snap.containers:
                if c.kind is not ContainerKind.INIT:
                    raw = as_dict(as_dict(c.spec.get("resources")).get("requests")).get(resource)
                    if raw is not None:
                        proof.append(ev.spec(f"{c.spec_ref}.resources.requests.{resource}", raw))
            title = (
                f"Pod cannot be scheduled ({_nodes(r, failure.total)}insufficient {resource}): "
                f"its containers request {need} {resource} in all{room}"
            )
            fix = (
                f"Lower the {resource} requests in {ev.owner_phrase(snap)} or add node capacity: "
                f"a node needs {need} {resource} free (check `kubectl describe nodes`, "
                f"Allocated resources)."
            )
        yield Draft(d or _dominant_sidecar(snap, resource), title, tuple(proof), fix)


_INSUFFICIENT = lazy(r"Insufficient (\S+)")
# The NodeResourcesFit plugin's words for a node already running its allocatable.pods
# (pkg/scheduler/framework/plugins/noderesources/fit.go): not a request the pod makes.
_TOO_MANY = "Too many pods"


def _too_many_pods(snap: PodSnapshot, failure: SchedulingFailure, r: SchedulerReason) -> Draft:
    biggest, proof = _with_largest_node(snap, failure, "pods")
    limit = f" (at most {biggest[1]} on {biggest[0]})" if biggest else ""
    title = (
        f"Pod cannot be scheduled ({_nodes(r, failure.total)}too many pods): those nodes "
        f"already run as many pods as they allocate{limit}"
    )
    fix = (
        "Make room on the nodes (delete finished or unneeded pods), raise the kubelet's "
        "maxPods where the node has the addresses and resources for it, or add nodes "
        "(`kubectl describe nodes` shows Allocatable pods and the Non-terminated Pods)."
    )
    return Draft(None, title, tuple(proof), fix)


def _with_largest_node(
    snap: PodSnapshot, failure: SchedulingFailure, resource: str
) -> tuple[tuple[str, str] | None, list[Evidence]]:
    """The node allocating the most of ``resource`` (name, amount), and the scheduler's
    evidence with that node's allocatable added."""
    biggest = _largest_allocatable(snap, resource)
    proof = list(failure.proof)
    if biggest:
        ref = f"Node {biggest[0]} status.allocatable.{resource}"
        proof.append(Evidence(source="cluster", ref=ref, text=biggest[1]))
    return biggest, proof


def _dominant_sidecar(snap: PodSnapshot, resource: str) -> ContainerView | None:
    """The native sidecar whose request alone outweighs all the app containers' requests:
    the container that drives the effective request when no init container does."""

    def request(c: ContainerView) -> float:
        raw = as_dict(as_dict(c.spec.get("resources")).get("requests")).get(resource)
        return quantity(raw) or 0.0

    apps = sum(request(c) for c in snap.app_containers)
    sidecars = [(request(c), c) for c in snap.containers if c.kind is ContainerKind.SIDECAR]
    best = max(sidecars, key=lambda t: t[0], default=None)
    return best[1] if best is not None and best[0] > apps else None


def _largest_allocatable(snap: PodSnapshot, resource: str) -> tuple[str, str] | None:
    best: tuple[object, str, str] | None = None
    for o in snap.related:
        if o.get("kind") != "Node":
            continue
        raw = as_dict(as_dict(o.get("status")).get("allocatable")).get(resource)
        value = quantity(raw)
        if value is not None and (best is None or value > best[0]):  # type: ignore[operator]
            best = (value, as_str(as_dict(o.get("metadata")).get("name")), str(raw))
    return (best[1], best[2]) if best else None


@rule(
    "PI002",
    "unschedulable-placement",
    Severity.ERROR,
    Stage.SCHEDULING,
    events=("FailedScheduling",),
)
def unschedulable_placement(ctx: RuleContext) -> Iterator[Draft]:
    """No node satisfies the pod's placement constraints.

    What it detects:
        A pod that is ``Unschedulable`` whose ``FailedScheduling`` message has placement parts:
        ``had untolerated taint``, ``didn't match Pod's node affinity/selector`` (``didn't
        match node selector`` before 1.22), pod (anti-)affinity, topology spread constraints,
        ``were unschedulable`` (cordoned), ``didn't have free ports``. The control-plane
        taint is left out when other nodes are refused for other reasons.
    Why it happens:
        A ``nodeSelector``/affinity naming labels no node has (a typo, a node pool that was
        replaced), taints on the only nodes with capacity (GPU, control-plane, spot pools)
        without matching tolerations, anti-affinity with too few nodes or zones, cordoned
        nodes, or a hostPort already in use.
    How to fix:
        Compare the pod's ``nodeSelector``, affinity and tolerations with ``kubectl get nodes
        --show-labels`` and the nodes' taints; add the missing toleration or label, relax the
        rule, or add nodes that satisfy it.
    """
    snap = ctx.snap
    failure = ctx.scheduling
    if failure is None:
        return
    parts = [r for r in failure.reasons if _PLACEMENT.search(r.text)]
    if len(parts) < len(failure.reasons):
        # Control-plane nodes are tainted on every cluster: beside another reason for the
        # other nodes, their taint is not why the pod waits.
        parts = [r for r in parts if not _CONTROL_PLANE.search(r.text)]
    if not parts:
        return
    spec = as_dict(snap.pod.get("spec"))
    proof = list(failure.proof)
    for key in ("nodeSelector", "affinity", "topologySpreadConstraints"):
        if spec.get(key):
            proof.append(ev.spec(f"$.spec.{key}", spec.get(key)))
    said = "; ".join(f"{_nodes(r, failure.total)}{r.text}" for r in parts)
    hints = []
    if any("taint" in r.text for r in parts):
        hints.append("add a toleration for the taint or target untainted nodes")
    if any("affinity/selector" in r.text for r in parts):
        hints.append("make nodeSelector/nodeAffinity match labels that nodes have")
    if any("anti-affinity" in r.text or "pod affinity" in r.text for r in parts):
        hints.append("relax the pod (anti-)affinity or add nodes")
    if any("topology spread" in r.text for r in parts):
        hints.append("relax topologySpreadConstraints (whenUnsatisfiable: ScheduleAnyway)")
    if any("unschedulable" in r.text for r in parts):
        hints.append("uncordon nodes")
    if any("free ports" in r.text for r in parts):
        hints.append("drop the hostPort or free it")
    yield Draft(
        None,
        f"Pod cannot be scheduled: no node satisfies its placement rules ({said})",
        tuple(proof),
        f"In {ev.owner_phrase(snap)}: {'; '.join(hints) or 'relax the placement rules'} "
        f"(compare with `kubectl get nodes --show-labels` and node taints).",
    )


def _volume_claims(ctx: RuleContext) -> Iterator[tuple[str, str]]:
    """The claims PI003 weighs: read them (and their events) when the pod is unschedulable."""
    if ctx.scheduling is not None:
        for _, claim in _claims(ctx.snap):
            yield "PersistentVolumeClaim", claim


@rule(
    "PI003",
    "unschedulable-volume",
    Severity.ERROR,
    Stage.SCHEDULING,
    priority=4,  # a claim bound in one zone is the constraint the others must be read against
    events=("FailedScheduling", *_CLAIM_WAITS),
    lookups=_volume_claims,
)
def unschedulable_volume(ctx: RuleContext) -> Iterator[Draft]:
    """The pod cannot be placed because of its volumes.

    What it detects:
        A pod that is ``Unschedulable`` with volume parts in the scheduler's message: ``pod has
        unbound immediate PersistentVolumeClaims``, ``persistentvolumeclaim "X" not found``,
        ``had volume node affinity conflict``, ``didn't find available persistent volumes to
        bind``, missing StorageClass, or the node's attachable volume limit; also an
        unschedulable pod whose claim is captured unbound with warnings of its own. The claim's
        phase and its newest event (``ProvisioningFailed``, ``FailedBinding``,
        ``WaitForFirstConsumer``, ``ExternalProvisioning``) are quoted when captured.
    Why it happens:
        A PVC with no matching PersistentVolume and no working provisioner (wrong or missing
        StorageClass), a PVC that does not exist, or a zonal disk (EBS, PD) bound in a zone
        where no schedulable node remains.
    How to fix:
        ``kubectl describe pvc`` for the claim's events; create the StorageClass or PV, fix the
        claim name, or run nodes in the volume's zone (use ``WaitForFirstConsumer`` binding for
        new volumes).
    """
    snap = ctx.snap
    failure = ctx.scheduling
    if failure is None:
        return
    parts = [r for r in failure.reasons if _VOLUME.search(r.text)]
    claims = _claims(snap)
    troubled = [c for c in claims if _claim_trouble(snap, c[1])]
    if not parts and not (troubled and not any(_PLACEMENT.search(r.text) for r in failure.reasons)):
        return
    proof = list(failure.proof)
    for i, claim in claims:
        proof.append(ev.spec(f"$.spec.volumes[{i}].persistentVolumeClaim.claimName", claim))
    said = "; ".join(f"{_nodes(r, failure.total)}{r.text}" for r in parts)
    pvc_said = ""
    for _, claim in claims:
        trouble = _claim_trouble(snap, claim)
        proof += trouble
        if trouble and not pvc_said and trouble[-1].source == "event":
            pvc_said = f"; PersistentVolumeClaim {claim}: {ev.short(trouble[-1].text, 200)}"
    names = [c for _, c in claims]
    which = f"PersistentVolumeClaim {', '.join(names)}" if names else "the pod's volume claims"
    yield Draft(
        None,
        f"Pod cannot be scheduled because of its volumes ({said or 'a claim is not bound'})"
        f"{pvc_said}",
        tuple(proof),
        f"Check {which} with `kubectl describe pvc -n {snap.namespace}`: make it bind (a valid "
        f"StorageClass or a matching PV, a provisioner that runs) and make sure schedulable nodes "
        f"exist in the volume's zone.",
    )


def _claims(snap: PodSnapshot) -> list[tuple[int, str]]:
    """(volume index, claim name) of the pod's PersistentVolumeClaim volumes."""
    out = []
    for i, vol in enumerate(map(as_dict, as_list(as_dict(snap.pod.get("spec")).get("volumes")))):
        claim = as_str(as_dict(vol.get("persistentVolumeClaim")).get("claimName"))
        if claim:
            out.append((i, claim))
    return out


def _claim_trouble(snap: PodSnapshot, claim: str) -> list[Evidence]:
    """What the captured claim and its events say when it is not bound: its phase, and its
    newest warning (``ProvisioningFailed``, ``FailedBinding``) or waiting note."""
    obj = snap.related_object("PersistentVolumeClaim", claim)
    phase = as_str(as_dict(obj.get("status")).get("phase")) if obj else ""
    if phase == "Bound":
        return []
    out: list[Evidence] = []
    if phase:
        out.append(
            Evidence(
                source="cluster", ref=f"PersistentVolumeClaim {claim} status.phase", text=phase
            )
        )
    events = snap.events_about("PersistentVolumeClaim", claim)
    warnings = [e for e in events if e.type == "Warning"]
    notes = [e for e in events if e.reason in _CLAIM_WAITS]
    newest = (warnings or notes)[-1:] if (warnings or notes) else []
    out += [ev.event(e, snap) for e in newest]
    return out


@rule("PI004", "scheduling-gated", Severity.WARNING, Stage.SCHEDULING)
def scheduling_gated(ctx: RuleContext) -> Iterator[Draft]:
    """The pod carries scheduling gates, so the scheduler does not even try to place it.

    What it detects:
        A pod whose ``PodScheduled`` condition is ``False`` with reason ``SchedulingGated``
        (``spec.schedulingGates`` is not empty). ``kubectl get pods`` shows
        ``SchedulingGated``.
    Why it happens:
        A controller (a quota or queueing system such as Kueue, a custom admission workflow)
        added the gate and has not removed it yet: the job is waiting for quota, or that
        controller is not running.
    How to fix:
        Find the controller that owns each gate named in the finding and check why it has not
        released the pod (its logs, its queue status); removing the gate by hand bypasses it.
    """
    snap = ctx.snap
    if snap.conditions.get("PodScheduled", {}).get("reason") != "SchedulingGated":
        return
    cond = snap.condition_at("PodScheduled")
    if cond is None:
        return
    gates = [
        as_str(as_dict(g).get("name"))
        for g in as_list(as_dict(snap.pod.get("spec")).get("schedulingGates"))
    ]
    proof = [ev.status(f"{cond[0]}.reason", "SchedulingGated")]
    if gates:
        proof.append(
            ev.spec("$.spec.schedulingGates", as_dict(snap.pod.get("spec")).get("schedulingGates"))
        )
    names = ", ".join(gates) or "(not listed)"
    yield Draft(
        None,
        f"Pod is held by scheduling gates {names}; the scheduler will not place it until they "
        f"are removed",
        tuple(proof),
        f"Check the controller that owns gate {names} (for example Kueue's workload status) and "
        f"why it has not released pod {snap.name}.",
    )


def _warnings(snap: PodSnapshot, reasons: Collection[str]) -> list[EventView]:
    return [e for e in snap.events if e.type == "Warning" and e.reason in reasons]


def _finished(snap: PodSnapshot) -> bool:
    return snap.phase in ("Succeeded", "Failed")


def _running_ready(snap: PodSnapshot) -> bool:
    return snap.phase == "Running" and snap.condition_true("Ready")


@rule("PI005", "volume-mount-failed", Severity.ERROR, Stage.POD_SETUP, events=MOUNT_REASONS)
def volume_mount_failed(ctx: RuleContext) -> Iterator[Draft]:
    """A volume cannot be attached or mounted, so no container of the pod can start.

    What it detects:
        ``FailedMount``, ``FailedAttachVolume`` or ``FailedMapVolume`` warnings on a pod that is
        not running and ready, other than a missing ConfigMap/Secret (PI301-PI303):
        ``Multi-Attach error for volume``, ``AttachVolume.Attach failed``, ``MountVolume.SetUp
        failed``, ``Unable to attach or mount volumes: ... timed out waiting for the
        condition``.
    Why it happens:
        A ReadWriteOnce volume still attached to another node (a Deployment rollout or a pod
        stuck terminating elsewhere), a CSI driver that is not running or lacks permissions on
        the node, an NFS server that is unreachable, or a wrong mount option.
    How to fix:
        For Multi-Attach, stop the other pod using the volume (or use ``strategy: Recreate``
        for single-writer Deployments); otherwise read the CSI driver's node plugin logs and
        ``kubectl describe pvc``/``volumeattachment`` for the volume named in the message.
    """
    snap = ctx.snap
    if not snap.event_reasons & MOUNT_REASONS or _running_ready(snap) or _finished(snap):
        return
    events = [
        e
        for e in _warnings(snap, MOUNT_REASONS)
        if not is_config_mount_failure(e) and not mounted_since(snap, e)
    ]
    if not events:
        return
    newest = events[-1]
    volumes = sorted({m for e in events for m in re.findall(r"volume \"([^\"]+)\"", e.message)})
    multi = any("Multi-Attach" in e.message for e in events)
    what = f"volume {', '.join(volumes)}" if volumes else "a volume"
    fix = (
        f"{what.capitalize()} is still attached to another node: stop the pod that uses it there "
        f"(see the Multi-Attach message), or use strategy Recreate for {ev.owner_phrase(snap)}."
        if multi
        else f"Check the storage driver for {what} (`kubectl describe pvc -n {snap.namespace}`, "
        f"the CSI node plugin's logs on node {snap.node or '?'}) and fix what the event reports."
    )
    yield Draft(
        None,
        f"{what.capitalize()} cannot be {'attached' if multi else 'mounted'}: "
        f"{ev.short(newest.message)}",
        tuple(ev.event(e, snap) for e in events[-3:]),
        fix,
    )


@rule(
    "PI006",
    "sandbox-failed",
    Severity.ERROR,
    Stage.POD_SETUP,
    events=("FailedCreatePodSandBox",),
)
def sandbox_failed(ctx: RuleContext) -> Iterator[Draft]:
    """The pod sandbox (its network namespace) cannot be created.

    What it detects:
        ``FailedCreatePodSandBox`` warnings while no container of the pod is running, usually
        from the CNI plugin: ``failed to setup network for sandbox``, ``failed to assign an IP
        address``, ``plugin type="calico" failed``.
    Why it happens:
        The CNI plugin cannot give the pod an IP: the subnet or the node's IP/ENI capacity is
        exhausted, the CNI daemon on the node is not ready, or its configuration is broken.
    How to fix:
        Check the CNI pods on node (``kubectl get pods -n kube-system -o wide``) and their
        logs; free IPs (larger subnets, prefix delegation on AWS VPC CNI) or move the pod to
        another node.
    """
    snap = ctx.snap
    if "FailedCreatePodSandBox" not in snap.event_reasons or _finished(snap):
        return
    if any(c.state in ("running", "terminated") or c.restart_count for c in snap.containers):
        return  # a sandbox came up since: the warning is history
    events = _warnings(snap, ("FailedCreatePodSandBox",))
    if not events:
        return
    newest = events[-1]
    cni = re.search(r'plugin type="([^"]+)"', newest.message)
    plugin = f" ({cni.group(1)} CNI)" if cni else ""
    yield Draft(
        None,
        f"Pod sandbox cannot be created on node {snap.node or '?'}{plugin}: "
        f"{ev.short(newest.message)}",
        (ev.event(newest, snap),),
        f"Check the CNI plugin{plugin} on node {snap.node or '?'} (its pods and logs in "
        f"kube-system) and the IP capacity of the node's subnet; the kubelet retries on its own.",
    )


@rule(
    "PI007",
    "pod-evicted",
    Severity.ERROR,
    Stage.LIFECYCLE,
    events=("Preempted", "Evicted"),
    hopeless=True,
)
def pod_evicted(ctx: RuleContext) -> Iterator[Draft]:
    """The pod was evicted by the kubelet or preempted by the scheduler.

    What it detects:
        ``status.reason`` ``Evicted`` or ``Preempted``, a ``Preempted`` event, or a
        ``DisruptionTarget`` condition with reason ``PreemptionByScheduler``,
        ``TerminationByKubelet`` or ``EvictionByEvictionAPI``. The captured node's pressure
        conditions (``MemoryPressure``, ``DiskPressure``, ``PIDPressure``) are quoted.
    Why it happens:
        Node pressure (memory, disk, PIDs): the kubelet evicts pods, those using most above
        their requests first; or a higher-priority pod needed the room; or a drain.
    How to fix:
        For node pressure, set requests close to real use (and memory limits), and check what
        filled the node's disk; for preemption, review PriorityClasses and capacity. The
        controller replaces the pod; delete evicted pods to clean up.
    """
    snap = ctx.snap
    if (
        snap.reason not in ("Evicted", "Preempted")
        and "DisruptionTarget" not in snap.conditions
        and not snap.event_reasons & {"Preempted", "Evicted"}
    ):
        return
    status = as_dict(snap.pod.get("status"))
    reason = snap.reason
    proof: list[Evidence] = []
    what = ""
    if reason in ("Evicted", "Preempted"):
        proof.append(ev.status("$.status.reason", reason))
        if status.get("message"):
            proof.append(ev.status("$.status.message", status.get("message")))
        what = f"{reason.lower()}: {ev.short(as_str(status.get('message')))}"
    cond = snap.condition_at("DisruptionTarget")
    if (
        cond
        and cond[1].get("status") == "True"
        and cond[1].get("reason")
        in (
            "PreemptionByScheduler",
            "TerminationByKubelet",
            "EvictionByEvictionAPI",
        )
    ):
        proof.append(ev.status(f"{cond[0]}.reason", cond[1].get("reason")))
        what = what or f"{cond[1].get('reason')}: {ev.short(as_str(cond[1].get('message')))}"
    for e in snap.events:
        if e.reason in ("Preempted", "Evicted"):
            proof.append(ev.event(e, snap))
            what = what or ev.short(e.message)
    if not proof:
        return
    proof += _node_conditions(snap, _PRESSURE)
    pressure = re.search(r"low on resource: ([\w-]+)", what)
    fix = (
        f"Node {snap.node or '?'} ran low on {pressure.group(1)}: set requests close to real use "
        f"(and limits) in {ev.owner_phrase(snap)} and check what else consumes it on the node; "
        f"`kubectl delete pod {snap.name} -n {snap.namespace}` removes the evicted pod."
        if pressure
        else f"Review PriorityClasses and cluster capacity; the controller of "
        f"{ev.owner_phrase(snap)} "
        f"creates a replacement."
    )
    yield Draft(None, f"Pod was {what}", tuple(proof), fix)


# Node conditions (type, statuses) that explain a pod's end: a node that stopped reporting,
# and the pressures behind the kubelet's evictions.
_NOT_READY = {"Ready": ("False", "Unknown")}
_PRESSURE = {t: ("True",) for t in ("MemoryPressure", "DiskPressure", "PIDPressure")}


def _node_conditions(snap: PodSnapshot, wanted: Mapping[str, tuple[str, ...]]) -> list[Evidence]:
    """The captured node's conditions among ``wanted``, as cluster evidence."""
    node = snap.related_object("Node", snap.node) if snap.node else None
    out = []
    for c in map(as_dict, as_list(as_dict(node.get("status")).get("conditions") if node else [])):
        kind, status = as_str(c.get("type")), c.get("status")
        if status in wanted.get(kind, ()):
            out.append(
                Evidence(
                    source="cluster",
                    ref=f"Node {snap.node} condition {kind}={status}",
                    text=as_str(c.get("message")) or as_str(c.get("reason")),
                )
            )
    return out


def _node_in_doubt(ctx: RuleContext) -> Iterator[tuple[str, str]]:
    """The pod's node, when something suggests it stopped working: the node's conditions
    then say whether it did (PI008). One GET, cluster-scoped."""
    snap = ctx.snap
    if not snap.node:
        return
    unknown = any(
        (c.state == "unknown" and c.status is not None)
        or (c.terminated is not None and c.terminated.reason == "ContainerStatusUnknown")
        for c in snap.containers
    )
    stalled = (  # nothing explains why no container runs: the kubelet says nothing
        snap.phase == "Pending"
        and not ctx.verdicts
        and not any(e.type == "Warning" for e in snap.events)
        and snap.created_at is not None
        and snap.now - snap.created_at >= GRACE
        and not any(has_run(c) for c in snap.containers)
    )
    if (
        snap.reason == "NodeLost"
        or "NodeNotReady" in snap.event_reasons
        or deletion_overdue(snap)
        or unknown
        or stalled
    ):
        yield "Node", snap.node


@rule(
    "PI008",
    "node-lost",
    Severity.ERROR,
    Stage.LIFECYCLE,
    events=("NodeNotReady",),
    lookups=_node_in_doubt,
)
def node_lost(ctx: RuleContext) -> Iterator[Draft]:
    """The pod's node stopped reporting, so the pod's state is unknown.

    What it detects:
        ``status.reason`` ``NodeLost``, a ``NodeNotReady`` event on the pod, or (from the
        captured Node in ``related.json``) the pod's node with its ``Ready`` condition
        ``False`` or ``Unknown``.
    Why it happens:
        The node crashed, lost its network, ran out of resources so that the kubelet died, or
        was shut down; after the taint grace period (300 s by default) the pod is evicted.
    How to fix:
        Check the node (``kubectl describe node``, the cloud console); StatefulSet pods on a
        lost node need the node removed or the pod force-deleted before a replacement starts.
    """
    snap = ctx.snap
    if snap.reason != "NodeLost" and "NodeNotReady" not in snap.event_reasons and not snap.related:
        return
    proof: list[Evidence] = []
    if snap.reason == "NodeLost":
        proof.append(ev.status("$.status.reason", "NodeLost"))
    now_down = _node_conditions(snap, _NOT_READY)
    if _running_ready(snap) and not now_down:
        return  # the node came back: a NodeNotReady event on a Ready pod is history
    proof += [ev.event(e, snap) for e in snap.events if e.reason == "NodeNotReady"][-1:]
    proof += now_down
    if not proof:
        return
    yield Draft(
        None,
        f"Node {snap.node or '?'} of pod {snap.name} is not ready; its containers' state is "
        f"unknown",
        tuple(proof),
        f"Check node {snap.node or '?'} (`kubectl describe node {snap.node}`); if it is gone, "
        f"delete the Node object so that the pod is replaced elsewhere.",
    )


@rule("PI009", "deadline-exceeded", Severity.ERROR, Stage.LIFECYCLE, hopeless=True)
def deadline_exceeded(ctx: RuleContext) -> Iterator[Draft]:
    """The pod ran longer than its ``activeDeadlineSeconds`` and was stopped.

    What it detects:
        ``status.reason`` ``DeadlineExceeded`` (``Pod was active on the node longer than the
        specified deadline``).
    Why it happens:
        ``spec.activeDeadlineSeconds`` (set directly or by a Job's ``activeDeadlineSeconds``)
        counts from the pod's start, init containers included; a slow or hanging init
        container uses up the budget before the app even starts.
    How to fix:
        Find the step that took the time in the init timeline, fix it, or raise
        ``activeDeadlineSeconds``.
    """
    snap = ctx.snap
    if snap.reason != "DeadlineExceeded":
        return
    proof = [ev.status("$.status.reason", "DeadlineExceeded")]
    deadline = as_dict(snap.pod.get("spec")).get("activeDeadlineSeconds")
    if deadline is not None:
        proof.append(ev.spec("$.spec.activeDeadlineSeconds", deadline))
    slow = next(
        (c for c in snap.init_containers if c.kind is ContainerKind.INIT and not c.completed), None
    )
    during = f" while init container {slow.name} had not finished" if slow else ""
    yield Draft(
        slow,
        f"Pod exceeded activeDeadlineSeconds ({quote_value(deadline)}s){during}",
        tuple(proof),
        f"Speed up or fix {('init container ' + slow.name) if slow else 'the slow step'}, or raise "
        f"activeDeadlineSeconds in {ev.owner_phrase(snap)}.",
    )


RULES = (
    unschedulable_resources,
    unschedulable_placement,
    unschedulable_volume,
    scheduling_gated,
    volume_mount_failed,
    sandbox_failed,
    pod_evicted,
    node_lost,
    deadline_exceeded,
    pods_not_created,
)
