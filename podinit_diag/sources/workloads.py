"""Workload targets (``deploy/web``, ``sts/db``, ``cronjob/nightly`` ...) resolved to pod selectors.

A workload's pods are the ones its ``spec.selector`` matches in its namespace; a CronJob's
are those of the Jobs it owns. Names follow kubectl: short names, singular and plural
forms, and ``plural.group``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from podinit_diag.core.access import Json, JsonDict, as_dict, as_list, as_objects, as_str, int_or
from podinit_diag.core.errors import InputError
from podinit_diag.core.kinds import BY_NAME
from podinit_diag.core.model import Bundle

if TYPE_CHECKING:  # the CLI reads TYPE/NAME targets before (and without) any connection
    from podinit_diag.sources.cluster import Cluster


@dataclass(frozen=True)
class Kind:
    kind: str
    path: str  # API path of the collection, {ns} to fill


KINDS = {
    "Deployment": Kind("Deployment", "/apis/apps/v1/namespaces/{ns}/deployments"),
    "StatefulSet": Kind("StatefulSet", "/apis/apps/v1/namespaces/{ns}/statefulsets"),
    "DaemonSet": Kind("DaemonSet", "/apis/apps/v1/namespaces/{ns}/daemonsets"),
    "ReplicaSet": Kind("ReplicaSet", "/apis/apps/v1/namespaces/{ns}/replicasets"),
    "Job": Kind("Job", "/apis/batch/v1/namespaces/{ns}/jobs"),
    "CronJob": Kind("CronJob", "/apis/batch/v1/namespaces/{ns}/cronjobs"),
}


def parse_target(target: str) -> tuple[str, str] | None:
    """(Kind, name) for ``deploy/web``; None for a pod (``web``, ``pod/web``)."""
    if "/" not in target:
        return None
    resource, name = target.split("/", 1)
    kind = BY_NAME.get(resource.lower())
    if kind == "Pod":
        return None
    if kind is None or not name:
        known = ", ".join(sorted(a for a in BY_NAME if "." not in a and BY_NAME[a] != "Pod"))
        raise InputError(
            f"{target}: unknown resource type {resource!r} (use pod or one of {known})"
        )
    return kind, name


def selectors(cluster: Cluster, namespace: str, targets: list[str]) -> list[str]:
    """The label selectors of the pods of workload targets (``deploy/web``; a CronJob's:
    those of its Jobs)."""
    found = [
        s
        for kind, name in filter(None, map(parse_target, targets))
        for s in pod_selectors(cluster, namespace, kind, name)
    ]
    if not found:
        raise InputError(f"{targets[0]}: no pods (the workload owns no Jobs)")
    return found


def selector_string(selector: Any) -> str:
    """A LabelSelector object as the ``labelSelector`` query syntax."""
    if not isinstance(selector, dict):
        return ""
    terms = [f"{k}={v}" for k, v in sorted(as_dict(selector.get("matchLabels")).items())]
    for e in as_objects(selector.get("matchExpressions")):
        key, op = as_str(e.get("key")), e.get("operator")
        values = [v for v in as_list(e.get("values")) if isinstance(v, str)]
        if op == "In":
            terms.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            terms.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            terms.append(str(key))
        elif op == "DoesNotExist":
            terms.append(f"!{key}")
    return ",".join(terms)


def read_workload(cluster: Cluster, namespace: str, kind: str, name: str) -> tuple[str, JsonDict]:
    """The workload object and its collection's path; a missing one as kubectl says it."""
    from podinit_diag.sources.cluster import NotFound

    collection = KINDS[kind].path.format(ns=quote(namespace, safe=""))
    try:
        obj = cluster.get(f"{collection}/{quote(name, safe='')}")
    except NotFound:
        raise NotFound(f'{kind.lower()} "{name}" not found in namespace "{namespace}"') from None
    return collection, obj


def pod_selector(kind: str, name: str, obj: JsonDict) -> str:
    """A workload's ``spec.selector`` as a query; a workload without one is refused."""
    selector = selector_string(as_dict(obj.get("spec")).get("selector"))
    if not selector:
        raise InputError(f"{kind} {name} has no pod selector")
    return selector


def pod_selectors(cluster: Cluster, namespace: str, kind: str, name: str) -> list[str]:
    """The label selectors of the pods a workload owns (several for a CronJob's Jobs)."""
    _, obj = read_workload(cluster, namespace, kind, name)
    if kind != "CronJob":
        return [pod_selector(kind, name, obj)]
    owned = _owned(cluster, namespace, "Job", obj)
    return [
        s for s in (selector_string(as_dict(j.get("spec")).get("selector")) for j in owned) if s
    ]


def unborn(cluster: Cluster, namespace: str, targets: list[str]) -> list[Bundle]:
    """For workload targets that own no pods: one stand-in per workload, its pod template
    named after it (``deployment/web``) and owned by the controller that should create the
    pods, with that controller's events, so that the diagnosis can say why none exists."""
    from podinit_diag.sources.cluster import ClusterError

    out = []
    for kind, name in filter(None, map(parse_target, targets)):
        _, obj = read_workload(cluster, namespace, kind, name)
        creator_kind, creator = kind, obj
        if kind == "Deployment":
            creator_kind, creator = (
                "ReplicaSet",
                newest_owned(cluster, namespace, "ReplicaSet", obj),
            )
        elif kind == "CronJob":
            creator_kind, creator = "Job", newest_owned(cluster, namespace, "Job", obj)
        if not creator:
            continue
        creator_name = str(as_dict(creator.get("metadata")).get("name") or "")
        template = as_dict(as_dict(creator.get("spec")).get("template"))
        events: list[JsonDict] = []
        for k, n in {(kind, name), (creator_kind, creator_name)}:
            # Without its events the stand-in is still diagnosed: it says what it can.
            with contextlib.suppress(ClusterError):
                events += cluster.list_all(
                    f"/api/v1/namespaces/{quote(namespace, safe='')}/events",
                    fieldSelector=f"involvedObject.kind={k},involvedObject.name={n}",
                )
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"{kind.lower()}/{name}",
                "namespace": namespace,
                "labels": as_dict(as_dict(template.get("metadata")).get("labels")),
                "ownerReferences": [
                    {"kind": creator_kind, "name": creator_name, "controller": True}
                ],
            },
            "spec": as_dict(template.get("spec")),
            "status": {"phase": "Pending", "reason": "FailedCreate"},
        }
        related = [identity(obj, kind, keep_status=kind == "Deployment")]
        if creator is not obj:
            related.append(identity(creator, creator_kind))
        out.append(
            Bundle(
                pod=pod,
                events=tuple(events),
                related=tuple(related),
                source=f"{cluster.server}{KINDS[kind].path.format(ns=namespace)}/{name}",
                notes=(f"{kind} {name} has no pods: the report is about its pod template",),
            )
        )
    return out


def _owned(
    cluster: Cluster, namespace: str, kind: str, owner: Json, selector: str = ""
) -> list[JsonDict]:
    """The objects of ``kind`` in the namespace that ``owner`` controls (its Jobs, its
    ReplicaSets), by their controller reference; ``selector``: only those it picks."""
    uid = as_dict(owner.get("metadata")).get("uid")
    query: dict[str, str | int | bool] = {"labelSelector": selector} if selector else {}
    items = cluster.list_all(KINDS[kind].path.format(ns=quote(namespace, safe="")), 500, **query)
    return [
        i
        for i in items
        if any(
            r.get("uid") == uid and r.get("controller") is True
            for r in as_objects(as_dict(i.get("metadata")).get("ownerReferences"))
        )
    ]


def newest_owned(
    cluster: Cluster, namespace: str, kind: str, owner: Json, selector: str = ""
) -> JsonDict:
    """The owner's newest ReplicaSet (highest revision) or Job (latest creation);
    ``selector`` as for :func:`_owned`."""
    owned = [{**i, "kind": kind} for i in _owned(cluster, namespace, kind, owner, selector)]

    def order(o: JsonDict) -> tuple[int, str]:
        return revision(o), as_str(as_dict(o.get("metadata")).get("creationTimestamp"))

    return max(owned, key=order, default={})


def revision(replicaset: Json, default: int = 0) -> int:
    """The Deployment revision a ReplicaSet carries in its annotation, else ``default``."""
    annotations = as_dict(as_dict(replicaset.get("metadata")).get("annotations"))
    return int_or(annotations.get("deployment.kubernetes.io/revision"), default)


def identity(obj: JsonDict, kind: str, keep_status: bool = False) -> JsonDict:
    """Who an object is (and its conditions when they explain failures); never its spec."""
    meta = as_dict(obj.get("metadata"))
    out: JsonDict = {
        "apiVersion": obj.get("apiVersion"),
        "kind": kind,
        "metadata": {
            k: meta[k] for k in ("name", "namespace", "uid", "ownerReferences") if k in meta
        },
    }
    if keep_status:
        out["status"] = {"conditions": as_objects(as_dict(obj.get("status")).get("conditions"))}
    return out
