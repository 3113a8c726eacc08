"""Workload targets (``deploy/web``, ``sts/db``, ``cronjob/nightly`` ...) resolved to pod selectors.

A workload's pods are the ones its ``spec.selector`` matches in its namespace; a CronJob's
are those of the Jobs it owns. Names follow kubectl: short names, singular and plural
forms, and ``plural.group``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from podinit_diag.core.access import JsonDict, as_dict
from podinit_diag.core.errors import InputError

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
_ALIASES = {
    "Deployment": ("deploy", "deployment", "deployments", "deployments.apps"),
    "StatefulSet": ("sts", "statefulset", "statefulsets", "statefulsets.apps"),
    "DaemonSet": ("ds", "daemonset", "daemonsets", "daemonsets.apps"),
    "ReplicaSet": ("rs", "replicaset", "replicasets", "replicasets.apps"),
    "Job": ("job", "jobs", "jobs.batch"),
    "CronJob": ("cj", "cronjob", "cronjobs", "cronjobs.batch"),
}
BY_NAME = {alias: kind for kind, aliases in _ALIASES.items() for alias in aliases}


def parse_target(target: str) -> tuple[str, str] | None:
    """(Kind, name) for ``deploy/web``; None for a pod (``web``, ``pod/web``)."""
    if "/" not in target:
        return None
    resource, name = target.split("/", 1)
    if resource.lower() in ("po", "pod", "pods"):
        return None
    kind = BY_NAME.get(resource.lower())
    if kind is None or not name:
        known = ", ".join(sorted(a for a in BY_NAME if "." not in a))
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
    for e in selector.get("matchExpressions") or []:
        if not isinstance(e, dict):
            continue
        key, op, values = e.get("key"), e.get("operator"), e.get("values") or []
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
    uid = as_dict(obj.get("metadata")).get("uid")
    jobs = cluster.list_all(KINDS["Job"].path.format(ns=quote(namespace, safe="")))
    owned = [
        j
        for j in jobs
        if any(
            isinstance(r, dict) and r.get("uid") == uid and r.get("controller") is True
            for r in as_dict(j.get("metadata")).get("ownerReferences") or []
        )
    ]
    return [
        s for s in (selector_string(as_dict(j.get("spec")).get("selector")) for j in owned) if s
    ]
