"""Assemble a :class:`Bundle` for one pod from a live cluster, with as few requests as possible.

GET the pod, LIST its events, then ask only for what the first-pass findings need: the
log tails of the containers in trouble (the previous instance for restarted ones) and
the Services/EndpointSlices an init container waits on. A typical pod costs 3-5 GETs.
Optional objects that cannot be read become notes in the report, never a failure.
"""

from __future__ import annotations

import difflib
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from podinit_diag.core.access import Json, as_dict, as_objects, as_str
from podinit_diag.core.model import Bundle, ContainerKind, PodSnapshot
from podinit_diag.core.normalize import LOG_TAIL_LINES, normalize
from podinit_diag.rules import Config, RuleContext, lookups, no_logs_codes
from podinit_diag.rules.classify import Verdict
from podinit_diag.rules.dependency import wait_targets
from podinit_diag.rules.logscan import service_of
from podinit_diag.sources.cluster import Cluster, ClusterError, NotFound
from podinit_diag.sources.workloads import KINDS, identity


def fetch_bundle(
    cluster: Cluster, namespace: str, name: str, config: Config | None = None
) -> Bundle:
    ns, pod_name = quote(namespace, safe=""), quote(name, safe="")
    try:
        pod = cluster.get(f"/api/v1/namespaces/{ns}/pods/{pod_name}")
    except NotFound:
        raise NotFound(missing_pod_message(cluster, namespace, name)) from None
    # Whole seconds: meta.json stores them, and a saved bundle must re-diagnose identically.
    now = datetime.now(UTC).replace(microsecond=0)
    notes: list[str] = []
    uid = as_str(as_dict(pod.get("metadata")).get("uid"))
    selector = f"involvedObject.uid={uid}" if uid else f"involvedObject.name={name}"
    try:
        events = tuple(cluster.list_all(f"/api/v1/namespaces/{ns}/events", fieldSelector=selector))
    except ClusterError as exc:
        events = ()
        notes.append(f"could not read events: {exc}")
    return complete_bundle(cluster, pod, events, config or Config(), now, notes)


def complete_bundle(
    cluster: Cluster,
    pod: Json,
    events: tuple[Json, ...],
    config: Config,
    now: datetime,
    notes: list[str] | None = None,
) -> Bundle:
    """A pod already read, with its events, plus what its first-pass findings need: log
    tails, the owner chain, the Services waited on, the ConfigMaps and Secrets named."""
    notes = list(notes or ())
    meta = as_dict(pod.get("metadata"))
    namespace, name = as_str(meta.get("namespace")), as_str(meta.get("name"))
    first = RuleContext(normalize(Bundle(pod=pod, events=events, captured_at=now), now), config)
    verdicts = first.verdicts
    snap = first.snap
    logs = _logs(cluster, verdicts, quote(namespace, safe=""), quote(name, safe=""), notes)
    related = _owner(cluster, snap, notes) + _related(cluster, snap, notes)
    wanted = lookups(first)
    objects, about = _objects(cluster, snap, [w for w in wanted if w[0] in OBJECTS], notes)
    looked_up = _lookups(cluster, snap, [w for w in wanted if w[0] not in OBJECTS], notes)
    return Bundle(
        pod=pod,
        events=events + tuple(about),
        related=tuple(related + objects),
        logs=logs,
        captured_at=now,
        source=f"{cluster.server}/api/v1/namespaces/{namespace}/pods/{name}",
        notes=tuple(notes),
        lookups=tuple(looked_up),
        live=True,  # its logs exist nowhere but in the cluster: evidence names kubectl logs
    )


def _logs(
    cluster: Cluster, verdicts: tuple[Verdict, ...], ns: str, pod: str, notes: list[str]
) -> dict[str, bytes]:
    """Log tails of the containers the first pass found in trouble."""
    logs: dict[str, bytes] = {}
    no_logs = no_logs_codes()
    for v in verdicts:
        c = v.container
        if v.code in no_logs or (c.state == "waiting" and c.restart_count == 0):
            continue  # never ran: there is no log to read
        wanted = []
        if c.restart_count > 0 or (c.state == "waiting" and c.last_terminated):
            wanted.append(True)
        if c.state in ("running", "terminated"):
            wanted.append(False)
        for previous in wanted:
            try:
                logs[f"{c.name}{'.previous' if previous else ''}.log"] = cluster.get_text(
                    f"/api/v1/namespaces/{ns}/pods/{pod}/log",
                    container=c.name,
                    previous=previous,
                    tailLines=LOG_TAIL_LINES,
                )
            except ClusterError as exc:
                notes.append(
                    f"could not read {'previous ' if previous else ''}log of {c.name}: {exc}"
                )
    return logs


def _related(cluster: Cluster, snap: PodSnapshot, notes: list[str]) -> list[Json]:
    """Services and EndpointSlices that init containers wait on (PI107)."""
    out: list[Json] = []
    seen_ns: set[str] = set()
    for c in snap.containers:
        if c.kind is not ContainerKind.INIT or c.completed or c.status is None:
            continue
        for host, _ in wait_targets(c):
            svc = service_of(host, snap.namespace)
            if svc is None:
                continue
            name, ns = svc
            try:
                if ns not in seen_ns:
                    seen_ns.add(ns)
                    services = cluster.list_all(f"/api/v1/namespaces/{quote(ns)}/services")
                    out += _kind("Service", services)
                    if not any(_name(s) == name for s in services):
                        out += _elsewhere(cluster, name, notes)
                slices = cluster.list_all(
                    f"/apis/discovery.k8s.io/v1/namespaces/{quote(ns)}/endpointslices",
                    labelSelector=f"kubernetes.io/service-name={name}",
                )
                out += _kind("EndpointSlice", slices)
                if not slices:  # clusters without EndpointSlices, or mirroring turned off
                    out += _endpoints(cluster, ns, name)
            except ClusterError as exc:
                notes.append(f"could not verify Service {ns}/{name}: {exc}")
    return out


def _lookups(
    cluster: Cluster, snap: PodSnapshot, wanted: list[tuple[str, str]], notes: list[str]
) -> list[Json]:
    """Look up the ConfigMaps and Secrets the rules name (see each rule's ``lookups``) so
    the report can say whether they exist. Secrets: metadata only."""
    out: list[Json] = []
    ns = quote(snap.namespace, safe="")
    for kind, name in wanted:
        plural = "configmaps" if kind == "ConfigMap" else "secrets"
        path = f"/api/v1/namespaces/{ns}/{plural}/{quote(name, safe='')}"
        entry: dict[str, Any] = {"kind": kind, "namespace": snap.namespace, "name": name}
        try:
            if kind == "Secret":
                cluster.get_metadata(path)
            else:
                cm = cluster.get(path)
                keys = list(as_dict(cm.get("data"))) + list(as_dict(cm.get("binaryData")))
                entry["keys"] = sorted(keys)
            entry["found"] = True
        except NotFound:
            entry["found"] = False
        except ClusterError as exc:
            notes.append(f"could not verify {kind} {snap.namespace}/{name}: {exc}")
            continue
        out.append(entry)
    return out


# Related objects read whole (trimmed), with their events, when a rule asks for them: the
# kind's collection path from the namespace, and the fields worth keeping in a bundle.
OBJECTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "PersistentVolumeClaim": (
        "/api/v1/namespaces/{ns}/persistentvolumeclaims",
        ("spec", "status"),
    ),
    "Node": ("/api/v1/nodes", ("spec", "status")),
}
# A Node's status lists every image on it (kilobytes per node): not evidence of anything.
_NODE_STATUS = ("conditions", "allocatable", "capacity", "nodeInfo")


def _objects(
    cluster: Cluster, snap: PodSnapshot, wanted: list[tuple[str, str]], notes: list[str]
) -> tuple[list[Json], list[Json]]:
    """The related objects the rules asked for (a claim, the node), and their events."""
    objects: list[Json] = []
    events: list[Json] = []
    ns = quote(snap.namespace, safe="")
    for kind, name in wanted:
        collection, keep = OBJECTS[kind]
        try:
            obj = cluster.get(f"{collection.format(ns=ns)}/{quote(name, safe='')}")
        except NotFound:
            notes.append(f"{kind} {name} not found")
            continue
        except ClusterError as exc:
            notes.append(f"could not read {kind} {name}: {exc}")
            continue
        meta = as_dict(obj.get("metadata"))
        trimmed: dict[str, Any] = {
            "apiVersion": obj.get("apiVersion") or "v1",
            "kind": kind,
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "labels") if k in meta},
        }
        trimmed |= {k: obj[k] for k in keep if k in obj}
        if kind == "Node":
            status = as_dict(obj.get("status"))
            trimmed["status"] = {k: status[k] for k in _NODE_STATUS if k in status}
        objects.append(trimmed)
        selector = f"involvedObject.kind={kind},involvedObject.name={name}"
        where = f"/api/v1/namespaces/{ns}/events" if kind != "Node" else "/api/v1/events"
        try:
            events += cluster.list_all(where, fieldSelector=selector)
        except ClusterError as exc:
            notes.append(f"could not read events of {kind} {name}: {exc}")
    return objects, events


_OWNER_KINDS = ("ReplicaSet", "Job")  # the controllers whose own owner the fixes name


def _owner(cluster: Cluster, snap: PodSnapshot, notes: list[str]) -> list[Json]:
    """The controlling ReplicaSet or Job, whose own owner names the Deployment or CronJob
    whose template the fixes should point at. One request."""
    owner = snap.owner
    if owner is None or owner.kind not in _OWNER_KINDS:
        return []
    collection = KINDS[owner.kind].path.format(ns=quote(snap.namespace, safe=""))
    path = f"{collection}/{quote(owner.name, safe='')}"
    try:
        obj = cluster.get(path)
    except NotFound:
        return []  # already gone: the fix texts fall back to naming what the pod says
    except ClusterError as exc:
        notes.append(f"could not read owner {owner.kind} {owner.name}: {exc}")
        return []
    # Only identity and ownership: the template is the pod's own spec already.
    return [identity(obj, owner.kind)]


def _elsewhere(cluster: Cluster, name: str, notes: list[str]) -> list[Json]:
    """Services of that name in other namespaces: a short name used across namespaces is the
    classic mistake, and saying where the Service is makes the fix obvious. One request."""
    try:
        found = cluster.list_all("/api/v1/services", fieldSelector=f"metadata.name={name}")
    except ClusterError as exc:
        notes.append(f"could not look for Service {name} in other namespaces: {exc}")
        return []
    return _kind("Service", found)


def _endpoints(cluster: Cluster, ns: str, name: str) -> list[Json]:
    try:
        return _kind(
            "Endpoints", [cluster.get(f"/api/v1/namespaces/{quote(ns)}/endpoints/{quote(name)}")]
        )
    except NotFound:
        return []


def _name(obj: dict[str, Any]) -> str:
    return str(as_dict(obj.get("metadata")).get("name") or "")


def _kind(kind: str, items: list[dict[str, Any]]) -> list[Json]:
    # Lists omit each item's kind; the rules need it to tell objects apart.
    return [{**i, "kind": kind} for i in items]


def missing_pod_message(cluster: Cluster, namespace: str, name: str) -> str:
    """Why the pod ``name`` is not in ``namespace``, in kubectl's words (``pods "web" not
    found``), with the namespaces where a pod of that name does exist (one cluster-wide
    list, when the user may make it), else the close names in the namespace."""
    elsewhere = _namespaces_with_pod(cluster, name, namespace)
    hint = ""
    if elsewhere:
        shown = ", ".join(f'"{ns}"' for ns in elsewhere[:3]) + (
            ", ..." if len(elsewhere) > 3 else ""
        )
        plural = "s" if len(elsewhere) > 1 else ""
        hint = f"; it exists in namespace{plural} {shown} (use -n {elsewhere[0]})"
    try:
        cluster.get(f"/api/v1/namespaces/{quote(namespace, safe='')}")
    except NotFound:
        return f'namespace "{namespace}" not found{hint}'
    except ClusterError:
        pass
    if hint:
        return f'pods "{name}" not found in namespace "{namespace}"{hint}'
    try:
        pods = cluster.get(f"/api/v1/namespaces/{quote(namespace, safe='')}/pods", limit=500)
        items = as_objects(pods.get("items"))
        names = [as_str(as_dict(p.get("metadata")).get("name")) for p in items]
    except ClusterError:
        names = []
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return f'pods "{name}" not found in namespace "{namespace}"{hint}'


# Namespaces looked for, at most: the hint names three, and says when there are more.
_ELSEWHERE_LIMIT = 10


def _namespaces_with_pod(cluster: Cluster, name: str, namespace: str) -> list[str]:
    """The other namespaces holding a pod called ``name``: one list across namespaces,
    which a user bound to a few namespaces may not make (then: none, silently)."""
    try:
        found = cluster.get(
            "/api/v1/pods", fieldSelector=f"metadata.name={name}", limit=_ELSEWHERE_LIMIT
        )
    except ClusterError:
        return []
    spaces = {
        as_str(as_dict(p.get("metadata")).get("namespace")) for p in as_objects(found.get("items"))
    }
    return sorted(ns for ns in spaces if ns and ns != namespace)
