"""Incidents as they unfold: pods at successive moments, for ``--wait`` tests and demo.

A :class:`Moment` says where each container of a pod is at one moment; :func:`pod_at`
writes the pod as the kubelet reports it then (phase, conditions with their transition
times, container statuses, as ``kubectl get pod -o json`` shows them). :func:`rollout`
and :func:`missing_secret` are the built-in scenarios: a Deployment whose two pods
initialize and become ready, and a pod whose init containers pass but whose app
container refers to a Secret that does not exist.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from podinit_diag.core.access import JsonDict
from podinit_diag.core.kubetime import format_time, parse_time
from podinit_diag.core.model import Bundle
from podinit_diag.devserver.apiserver import ApiServer, Step

T0 = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Moment:
    """A pod ``at`` seconds after its creation. ``inits``: for each init container in spec
    order, ``(started, finished)`` seconds (None: not yet). ``app``: the app container's
    start (None: not yet); ``ready``: when it became ready. ``app_error``: the app container
    is waiting with this (reason, message) instead of starting."""

    at: float
    inits: tuple[tuple[float | None, float | None], ...]
    app: float | None = None
    ready: float | None = None
    app_error: tuple[str, str] | None = None
    events: tuple[tuple[float, str, str, str], ...] = field(default=())  # at, type, reason, msg


def _hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _t(seconds: float | None) -> str | None:
    return None if seconds is None else format_time(T0 + timedelta(seconds=seconds))


def _cid(pod: str, name: str) -> str:
    return "containerd://" + hashlib.sha256(f"{pod}/{name}".encode()).hexdigest()


def _pod_condition(
    kind: str, true_since: float | None, since: float, reason: str, msg: str
) -> JsonDict:
    if true_since is not None:
        return {
            "lastProbeTime": None,
            "lastTransitionTime": _t(true_since),
            "status": "True",
            "type": kind,
        }
    return {
        "lastProbeTime": None,
        "lastTransitionTime": _t(since),
        "message": msg,
        "reason": reason,
        "status": "False",
        "type": kind,
    }


def pod_at(template: JsonDict, stage: Moment, created: float = 0.0) -> JsonDict:
    """``template`` (metadata and spec of a scheduled pod, created ``created`` seconds after
    :data:`T0`) with the status of ``stage`` (times in the same clock)."""
    pod = copy.deepcopy(template)
    name = pod["metadata"]["name"]
    inits = pod["spec"]["initContainers"]
    app = pod["spec"]["containers"][0]
    init_statuses = []
    for c, (started, finished) in zip(inits, stage.inits, strict=True):
        image = c["image"] if "/" in c["image"] else f"docker.io/library/{c['image']}"
        s: JsonDict = {"image": image, "imageID": "", "lastState": {}, "name": c["name"]}
        if started is None:
            s |= {"ready": False, "restartCount": 0, "started": False}
            s["state"] = {"waiting": {"reason": "PodInitializing"}}
        else:
            s["containerID"] = _cid(name, c["name"])
            s["imageID"] = (
                image.split(":")[0] + "@sha256:" + hashlib.sha256(image.encode()).hexdigest()
            )
            if finished is None:
                s |= {"ready": False, "restartCount": 0, "started": True}
                s["state"] = {"running": {"startedAt": _t(started)}}
            else:
                s |= {"ready": True, "restartCount": 0, "started": False}
                s["state"] = {
                    "terminated": {
                        "containerID": s["containerID"],
                        "exitCode": 0,
                        "finishedAt": _t(finished),
                        "reason": "Completed",
                        "startedAt": _t(started),
                    }
                }
        init_statuses.append(s)
    initialized = stage.inits[-1][1] if all(f is not None for _, f in stage.inits) else None
    pending = [c["name"] for c, (_, f) in zip(inits, stage.inits, strict=True) if f is None]
    a: JsonDict = {"image": app["image"], "imageID": "", "lastState": {}, "name": app["name"]}
    if stage.app is not None:
        a["containerID"] = _cid(name, app["name"])
        a["imageID"] = (
            app["image"].split(":")[0]
            + "@sha256:"
            + hashlib.sha256(app["image"].encode()).hexdigest()
        )
        ready = stage.ready is not None
        a |= {"ready": ready, "restartCount": 0, "started": True}
        a["state"] = {"running": {"startedAt": _t(stage.app)}}
    else:
        a |= {"ready": False, "restartCount": 0, "started": False}
        reason, message = stage.app_error or ("PodInitializing", "")
        waiting = {"reason": reason} | ({"message": message} if message else {})
        a["state"] = {"waiting": waiting}
    sandbox = created + 2 if stage.at >= created + 2 else None
    unready = f"containers with unready status: [{app['name']}]"
    pod["status"] = {
        "conditions": [
            _pod_condition("PodReadyToStartContainers", sandbox, created, "", "")
            if sandbox is not None
            else {
                "lastProbeTime": None,
                "lastTransitionTime": _t(created),
                "status": "False",
                "type": "PodReadyToStartContainers",
            },
            _pod_condition(
                "Initialized",
                initialized,
                created,
                "ContainersNotInitialized",
                f"containers with incomplete status: [{' '.join(pending)}]",
            ),
            _pod_condition(
                "Ready", stage.ready, initialized or created, "ContainersNotReady", unready
            ),
            _pod_condition(
                "ContainersReady",
                stage.ready,
                initialized or created,
                "ContainersNotReady",
                unready,
            ),
            _pod_condition("PodScheduled", created, created, "", ""),
        ],
        "containerStatuses": [a],
        "hostIP": "10.0.4.21",
        "hostIPs": [{"ip": "10.0.4.21"}],
        "initContainerStatuses": init_statuses,
        "phase": "Running" if stage.app is not None else "Pending",
        "qosClass": "Burstable",
        "startTime": _t(created),
    }
    if sandbox is not None:
        pod["status"] |= {"podIP": "10.244.3.17", "podIPs": [{"ip": "10.244.3.17"}]}
    return pod


def _events(pod: JsonDict, stage: Moment) -> tuple[JsonDict, ...]:
    meta = pod["metadata"]
    out = []
    for i, (at, kind, reason, message) in enumerate(e for e in stage.events if e[0] <= stage.at):
        source = "default-scheduler" if reason == "Scheduled" else "kubelet"
        out.append(
            {
                "apiVersion": "v1",
                "kind": "Event",
                "count": 1,
                "firstTimestamp": _t(at),
                "lastTimestamp": _t(at),
                "involvedObject": {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "name": meta["name"],
                    "namespace": meta["namespace"],
                    "uid": meta["uid"],
                },
                "message": message.replace("{pod}", meta["name"]),
                "metadata": {
                    # kubelet names events <pod>.<hex timestamp>
                    "name": f"{meta['name']}.{_hex(meta['uid'] + str(i))[:16]}",
                    "namespace": meta["namespace"],
                    "uid": str(uuid.uuid5(uuid.NAMESPACE_OID, f"{meta['uid']}/{i}")),
                    "creationTimestamp": _t(at),
                },
                "reason": reason,
                "reportingComponent": source,
                "source": {"component": source},
                "type": kind,
            }
        )
    return tuple(out)


NODE = "ip-10-0-4-21.eu-west-1.compute.internal"
_RESOURCES = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}}


def _template(
    namespace: str, name: str, rs: str, rs_uid: str, app_image: str, env: list[JsonDict]
) -> JsonDict:
    uid = str(uuid.uuid5(uuid.NAMESPACE_OID, f"{namespace}/{name}"))
    mount = [
        {
            "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
            "name": "kube-api-access-7xk2p",
            "readOnly": True,
        }
    ]
    app = rs.rsplit("-", 1)[0]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "creationTimestamp": None,  # filled per pod by its offset
            "generateName": f"{rs}-",
            "labels": {"app.kubernetes.io/name": app, "pod-template-hash": rs.rsplit("-", 1)[1]},
            "name": name,
            "namespace": namespace,
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "blockOwnerDeletion": True,
                    "controller": True,
                    "kind": "ReplicaSet",
                    "name": rs,
                    "uid": rs_uid,
                }
            ],
            "uid": uid,
        },
        "spec": {
            "containers": [
                {
                    "env": env,
                    "image": app_image,
                    "imagePullPolicy": "IfNotPresent",
                    "name": app,
                    "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
                    "readinessProbe": {
                        "failureThreshold": 3,
                        "httpGet": {"path": "/ready", "port": "http", "scheme": "HTTP"},
                        "periodSeconds": 5,
                        "successThreshold": 1,
                        "timeoutSeconds": 1,
                    },
                    "resources": copy.deepcopy(_RESOURCES),
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                    "volumeMounts": mount,
                }
            ],
            "dnsPolicy": "ClusterFirst",
            "enableServiceLinks": True,
            "initContainers": [
                {
                    "command": [
                        "sh",
                        "-c",
                        "until nc -z -w 2 postgres.shop.svc.cluster.local 5432; "
                        "do echo waiting for postgres; sleep 2; done",
                    ],
                    "image": "busybox:1.36",
                    "imagePullPolicy": "IfNotPresent",
                    "name": "wait-for-db",
                    "resources": {},
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                    "volumeMounts": mount,
                },
                {
                    "command": ["/app/server", "migrate", "--to", "latest"],
                    "image": app_image,
                    "imagePullPolicy": "IfNotPresent",
                    "name": "migrate",
                    "resources": copy.deepcopy(_RESOURCES),
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                    "volumeMounts": mount,
                },
            ],
            "nodeName": NODE,
            "preemptionPolicy": "PreemptLowerPriority",
            "priority": 0,
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "securityContext": {},
            "serviceAccount": "default",
            "serviceAccountName": "default",
            "terminationGracePeriodSeconds": 30,
            "volumes": [
                {
                    "name": "kube-api-access-7xk2p",
                    "projected": {
                        "defaultMode": 420,
                        "sources": [
                            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}
                        ],
                    },
                }
            ],
        },
    }


def _container_events(name: str, image: str, at: float) -> list[tuple[float, str, str, str]]:
    return [
        (at - 1, "Normal", "Pulled", f'Container image "{image}" already present on machine'),
        (at - 1, "Normal", "Created", f"Created container: {name}"),
        (at, "Normal", "Started", f"Started container: {name}"),
    ]


def _workload(
    namespace: str, app: str, rs: str, rs_uid: str, replicas: int, image: str
) -> tuple[JsonDict, ...]:
    labels = {"app.kubernetes.io/name": app}
    deploy_uid = str(uuid.uuid5(uuid.NAMESPACE_OID, f"{namespace}/deploy/{app}"))
    deploy = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": app,
            "namespace": namespace,
            "uid": deploy_uid,
            "generation": 2,
            "labels": labels,
            "annotations": {"deployment.kubernetes.io/revision": "2"},
            "creationTimestamp": _t(-86400),
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": app, "image": image}]},
            },
        },
        "status": {"observedGeneration": 2, "replicas": replicas, "updatedReplicas": replicas},
    }
    replicaset = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": rs,
            "namespace": namespace,
            "uid": rs_uid,
            "labels": labels | {"pod-template-hash": rs.rsplit("-", 1)[1]},
            "annotations": {
                "deployment.kubernetes.io/revision": "2",
                "deployment.kubernetes.io/desired-replicas": str(replicas),
            },
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "blockOwnerDeletion": True,
                    "controller": True,
                    "kind": "Deployment",
                    "name": app,
                    "uid": deploy_uid,
                }
            ],
            "creationTimestamp": _t(0),
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels | {"pod-template-hash": rs.rsplit("-", 1)[1]}},
        },
        "status": {"replicas": replicas},
    }
    return deploy, replicaset, *_postgres(namespace)


def _postgres(namespace: str) -> tuple[JsonDict, JsonDict]:
    """The Service the init containers wait for, with a ready endpoint."""
    labels = {"app.kubernetes.io/name": "postgres"}
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "postgres", "namespace": namespace, "labels": labels},
        "spec": {
            "clusterIP": "10.96.41.7",
            "ports": [{"name": "pg", "port": 5432, "protocol": "TCP", "targetPort": 5432}],
            "selector": labels,
            "type": "ClusterIP",
        },
    }
    endpoints = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "addressType": "IPv4",
        "metadata": {
            "name": "postgres-8kq2v",
            "namespace": namespace,
            "labels": {"kubernetes.io/service-name": "postgres"},
        },
        "endpoints": [
            {
                "addresses": ["10.244.2.9"],
                "conditions": {"ready": True, "serving": True, "terminating": False},
                "targetRef": {"kind": "Pod", "name": "postgres-0", "namespace": namespace},
            }
        ],
        "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}],
    }
    return service, endpoints


def _steps(
    pods: list[tuple[JsonDict, float, list[Moment]]], related: tuple[JsonDict, ...]
) -> list[tuple[float, list[Bundle]]]:
    """The cluster at every moment one of the pods changes: each pod (created at its
    offset) at its latest stage by then."""
    moments = sorted({offset + s.at for _, offset, stages in pods for s in stages})
    out = []
    for t in moments:
        bundles: list[Bundle] = []
        for template, offset, stages in pods:
            past = [s for s in stages if offset + s.at <= t]
            if not past:
                continue
            pod = copy.deepcopy(template)
            pod["metadata"]["creationTimestamp"] = _t(offset)
            shifted = _shift(past[-1], offset)
            bundles.append(
                Bundle(
                    pod=pod_at(pod, shifted, offset),
                    events=_events(pod, shifted),
                    related=related if not bundles else (),
                    captured_at=T0 + timedelta(seconds=t),
                )
            )
        out.append((t, bundles))
    return out


_TIME_KEYS = frozenset(
    {
        "creationTimestamp",
        "lastTransitionTime",
        "startedAt",
        "finishedAt",
        "startTime",
        "firstTimestamp",
        "lastTimestamp",
    }
)


def rebase(
    steps: list[tuple[float, list[Bundle]]], origin: datetime
) -> list[tuple[float, list[Bundle]]]:
    """The same incident starting at ``origin`` instead of :data:`T0` (a demo replays it as
    if it were happening now, so that ages read right)."""
    delta = origin - T0

    def moved(key: str, value: Any) -> Any:
        when = parse_time(value) if key in _TIME_KEYS and isinstance(value, str) else None
        return format_time(when + delta) if when is not None else move(value)

    def move(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: moved(k, v) for k, v in value.items()}
        if isinstance(value, list):
            return [move(v) for v in value]
        return value

    return [
        (
            at,
            [
                dataclasses.replace(
                    b,
                    pod=move(b.pod),
                    events=tuple(move(e) for e in b.events),
                    related=tuple(move(r) for r in b.related),
                    captured_at=b.captured_at + delta if b.captured_at else None,
                )
                for b in bundles
            ],
        )
        for at, bundles in steps
    ]


def _shift(stage: Moment, offset: float) -> Moment:
    def sh(v: float | None) -> float | None:
        return None if v is None else v + offset

    return Moment(
        at=stage.at + offset,
        inits=tuple((sh(a), sh(b)) for a, b in stage.inits),
        app=sh(stage.app),
        ready=sh(stage.ready),
        app_error=stage.app_error,
        events=tuple((at + offset, kind, reason, msg) for at, kind, reason, msg in stage.events),
    )


def _happy(image: str, app: str) -> list[Moment]:
    events = [
        (0.0, "Normal", "Scheduled", f"Successfully assigned shop/{{pod}} to {NODE}"),
        *_container_events("wait-for-db", "busybox:1.36", 3),
        *_container_events("migrate", image, 14),
        *_container_events(app, image, 43),
    ]
    ev = tuple(events)
    return [
        Moment(0, ((None, None), (None, None)), events=ev),
        Moment(3, ((3, None), (None, None)), events=ev),
        Moment(14, ((3, 13), (14, None)), events=ev),
        Moment(41, ((3, 13), (14, 40)), events=ev),
        Moment(44, ((3, 13), (14, 40)), app=43, events=ev),
        Moment(52, ((3, 13), (14, 40)), app=43, ready=51, events=ev),
    ]


def rollout() -> list[tuple[float, list[Bundle]]]:
    """``deploy/web`` in ``shop`` rolls out two pods, 5 s apart; each waits for Postgres
    (10 s), runs its migration (26 s), starts and becomes ready: all Ready at 57 s."""
    image = "registry.example.com/shop/web:2.4.0"
    rs, rs_uid = "web-5d8f7c9b6d", "7f1c2a4e-3b5d-4c6e-8f90-a1b2c3d4e5f6"
    env = [
        {"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"key": "url", "name": "web-db"}}}
    ]
    pods = [
        (_template("shop", f"{rs}-{suffix}", rs, rs_uid, image, env), offset, _happy(image, "web"))
        for suffix, offset in (("x7k2p", 0.0), ("q4m9z", 5.0))
    ]
    return _steps(pods, _workload("shop", "web", rs, rs_uid, 2, image))


def missing_secret() -> list[tuple[float, list[Bundle]]]:
    """``pod/orders-api-...`` in ``shop``: its init containers pass, then its app container
    cannot be created, since the Secret its env refers to does not exist."""
    image = "registry.example.com/shop/orders-api:1.9.2"
    rs, rs_uid = "orders-api-6c9d8b7f5", "0b9a8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d"
    env = [
        {
            "name": "PAYMENT_TOKEN",
            "valueFrom": {"secretKeyRef": {"key": "token", "name": "payment-gateway"}},
        }
    ]
    message = 'secret "payment-gateway" not found'
    happy = _happy(image, "orders-api")[:4]
    events = happy[-1].events[:-3] + ((42.0, "Warning", "Failed", f"Error: {message}"),)
    stuck = Moment(
        42, ((3, 13), (14, 40)), app_error=("CreateContainerConfigError", message), events=events
    )
    pods = [(_template("shop", f"{rs}-w2n8r", rs, rs_uid, image, env), 0.0, [*happy, stuck])]
    return _steps(pods, _workload("shop", "orders-api", rs, rs_uid, 1, image))


def demo_incidents(now: datetime, speed: float = 10) -> list[tuple[str, str, ApiServer]]:
    """``--demo --wait``'s incidents as (title, the target to wait for, a server replaying
    it ``speed`` times faster than it happened), dated so that each ends at ``now``: no
    time in it lies in the future."""

    def servers(steps: list[tuple[float, list[Bundle]]]) -> ApiServer:
        moved = rebase(steps, now - timedelta(seconds=steps[-1][0]))
        return ApiServer([], timeline=[Step(at, bundles) for at, bundles in moved], speed=speed)

    failing = missing_secret()
    pod = failing[0][1][0].pod["metadata"]["name"]
    return [
        ("A Deployment rolling out two pods", "deploy/web", servers(rollout())),
        (
            "A pod whose app container needs a Secret that does not exist",
            f"pod/{pod}",
            servers(failing),
        ),
    ]
