"""Recreate a saved bundle (a demo scenario) in the real cluster, as it would have happened.

The pod is created from its spec in a namespace of the test's, its status written through
the status subresource and its events created, every timestamp moved by the same amount so
that the capture time becomes now; its container logs are served by the test kubelet and
its related objects (Services) are created. What the real API refuses or changes in the
process is what the tests learn from; the cluster's own additions (uid, the service
account's token volume, the scheduler's decision for a pod without a node) are kept.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from e2e.kubelet import TestKubelet
from e2e.rest import Json, Rest

_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
# Set by the API from the pod's priority class; a pod that names neither is refused with a
# value in them ("the integer value of priority ... must not be provided in pod spec").
_SPEC_DROP = ("priority", "preemptionPolicy", "priorityClassName")


def _load(path: Path) -> Any:
    return json.loads(path.read_text()) if path.is_file() else None


def shift_times(doc: Any, by: timedelta) -> Any:
    """Every RFC 3339 timestamp in ``doc`` moved by ``by`` (same format)."""
    if isinstance(doc, dict):
        return {k: shift_times(v, by) for k, v in doc.items()}
    if isinstance(doc, list):
        return [shift_times(v, by) for v in doc]
    if isinstance(doc, str) and _TIME.match(doc):
        fraction = "." in doc
        at = datetime.fromisoformat(doc.replace("Z", "+00:00")) + by
        return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if fraction else "%Y-%m-%dT%H:%M:%SZ")
    return doc


def scenario_now(directory: Path) -> datetime:
    meta = _load(directory / "meta.json") or {}
    return datetime.fromisoformat(str(meta["captured_at"]).replace("Z", "+00:00"))


def recreate(
    directory: Path, admin: Rest, kubelet: TestKubelet, namespace: str, node: str
) -> tuple[Json, datetime]:
    """The scenario's pod created in ``namespace`` (bound to ``node`` when the scenario's
    was bound), with its status, events, logs and Services; returns the pod as the API
    has it and the moment that stands for the scenario's capture time."""
    captured = scenario_now(directory)
    now = datetime.now(UTC).replace(microsecond=0)
    by = now - captured
    original = shift_times(_load(directory / "pod.json"), by)
    meta = original["metadata"]
    spec = copy.deepcopy(original["spec"])
    for key in _SPEC_DROP:
        spec.pop(key, None)
    if spec.get("nodeName"):
        spec["nodeName"] = node
    # The token volume is the service account admission's to add (with a name of its own).
    spec["volumes"] = [
        v for v in spec.get("volumes") or [] if not v["name"].startswith("kube-api-access-")
    ]
    for c in spec.get("initContainers", []) + spec["containers"]:
        c["volumeMounts"] = [
            m for m in c.get("volumeMounts") or [] if not m["name"].startswith("kube-api-access-")
        ]
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": meta["name"],
            "labels": meta.get("labels") or {},
            "annotations": meta.get("annotations") or {},
        },
        "spec": spec,
    }
    for related in (_load(directory / "related.json") or {}).get("items", []):
        if related.get("kind") == "Service":
            _create_service(admin, namespace, related)
    pod = admin.create(f"/api/v1/namespaces/{namespace}/pods", body)
    name = pod["metadata"]["name"]
    if spec.get("nodeName"):
        status = dict(original["status"])
        status.pop("qosClass", None)  # the API's own, from the spec
        pod = kubelet.write_status(namespace, name, status)
    events = shift_times(_load(directory / "events.json") or {"items": []}, by)["items"]
    for event in events:
        if event.get("involvedObject", {}).get("kind") != "Pod":
            continue
        if event.get("source", {}).get("component") == "default-scheduler" and not spec.get(
            "nodeName"
        ):
            continue  # the real scheduler writes its own
        _create_event(admin, namespace, pod, event)
    for log in sorted((directory / "logs").glob("*.log")) if (directory / "logs").is_dir() else ():
        container, previous = log.stem.removesuffix(".previous"), log.stem.endswith(".previous")
        kubelet.logs[(namespace, name, container, previous)] = log.read_text()
    return pod, now


def _create_service(admin: Rest, namespace: str, service: Json) -> None:
    spec = {
        k: v
        for k, v in service["spec"].items()
        if k not in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy")
    }
    admin.create(
        f"/api/v1/namespaces/{namespace}/services",
        {
            "metadata": {
                "name": service["metadata"]["name"],
                "labels": service["metadata"].get("labels") or {},
            },
            "spec": spec,
        },
    )


def _create_event(admin: Rest, namespace: str, pod: Json, event: Json) -> Json:
    body = copy.deepcopy(event)
    meta = pod["metadata"]
    body["metadata"] = {
        "name": f"{meta['name']}.{event['metadata']['name'].rpartition('.')[2]}",
        "namespace": namespace,
    }
    body["involvedObject"] = dict(
        event["involvedObject"],
        namespace=namespace,
        name=meta["name"],
        uid=meta["uid"],
        resourceVersion=meta["resourceVersion"],
    )
    for key in ("apiVersion", "kind"):
        body.pop(key, None)
    return admin.create(f"/api/v1/namespaces/{namespace}/events", body)
