"""The kubelet the control plane lacks: fake Nodes, a fake container runtime, and the
kubelet's log endpoint.

* **Nodes**: ``e2e-node-1..N`` with capacity, allocatable, Ready/pressure conditions and
  ``daemonEndpoints.kubeletEndpoint`` pointing at :class:`LogServer`, so that the real
  apiserver proxies ``pods/log`` here (``--kubelet-preferred-address-types=InternalIP``,
  every node's InternalIP is 127.0.0.1).
* **Runtime**: pods bound to those nodes whose images are all ``e2e.invalid/BEHAVIOUR`` are
  run by :class:`Runtime`, which writes their status through the status subresource and
  their events as the kubelet words them (checked against kubelet v1.37.2's sources:
  ``pkg/kubelet/kuberuntime/kuberuntime_container.go``, ``kuberuntime_manager.go``,
  ``images/image_manager.go``, ``status/generate.go``). Behaviours (the image's last path
  element; an optional ``:N`` tag is seconds):

  ``ok``      an init container exits 0 after N (default 1) seconds; a native sidecar or app
              container runs and is ready
  ``crash``   exits 1 with a few log lines, restarted with back-off: CrashLoopBackOff
  ``oom``     killed by the kernel's OOM killer (exit 137, OOMKilled), restarted
  ``hang``    runs and never ends, never ready (an init container waiting forever)
  ``denied``  its pull is refused (401): ErrImagePull, then ImagePullBackOff

* **Scripted pods** (any other image) are left alone: tests write their status, events
  and logs themselves with :meth:`TestKubelet.write_status`, :meth:`TestKubelet.event` and
  :attr:`TestKubelet.logs`.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import json
import socketserver
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from e2e.cluster import Certs, ControlPlane, free_port
from e2e.rest import ApiError, Json, Rest

IMAGE_PREFIX = "e2e.invalid/"
NODES = 3
NODE_CPU, NODE_MEMORY = "2", "8Gi"
RESTART_SECONDS = 2.0  # the runtime's back-off between restarts (the kubelet's starts at 10 s)


def now_iso(at: datetime | None = None) -> str:
    return (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


def behaviour(image: str) -> tuple[str, float] | None:
    """``(behaviour, seconds)`` of an image the runtime runs, None for scripted pods."""
    if not image.startswith(IMAGE_PREFIX):
        return None
    name, _, tag = image[len(IMAGE_PREFIX) :].partition(":")
    try:
        seconds = float(tag) if tag else 1.0
    except ValueError:
        seconds = 1.0
    return name, seconds


class LogServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    """The kubelet's ``/containerLogs/{namespace}/{pod}/{container}`` over TLS, from
    :attr:`TestKubelet.logs`, with the kubelet's answers when there is nothing to show."""

    daemon_threads = True

    def __init__(self, kubelet: TestKubelet, certs: Certs) -> None:
        self.kubelet = kubelet
        self.requests_seen: list[str] = []
        super().__init__(("127.0.0.1", free_port()), _LogHandler)
        crt, key = certs.serving("kubelet", ["127.0.0.1", "localhost"])
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(str(crt), str(key))
        self.socket = tls.wrap_socket(self.socket, server_side=True)


class _LogHandler(http.server.BaseHTTPRequestHandler):
    server: LogServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        self.server.requests_seen.append(self.path)
        parts = [unquote(p) for p in url.path.split("/")]
        if len(parts) != 5 or parts[1] != "containerLogs":
            self._answer(404, b"404 page not found\n")
            return
        _, _, namespace, pod, container = parts
        query = parse_qs(url.query)
        previous = query.get("previous", ["false"])[0] == "true"
        status, text = self.server.kubelet.container_log(namespace, pod, container, previous)
        if status != 200:
            self._answer(status, text.encode())
            return
        lines = text.splitlines(keepends=True)
        if "tailLines" in query:
            lines = lines[-int(query["tailLines"][0]) :] if int(query["tailLines"][0]) else []
        body = "".join(lines).encode()
        if "limitBytes" in query:
            body = body[: int(query["limitBytes"][0])]
        self._answer(200, body)

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@dataclass
class _Container:
    name: str
    image: str
    kind: str  # "init", "sidecar" or "app"
    behaviour: str
    seconds: float
    started_at: datetime | None = None
    restarts: int = 0
    last_exit: tuple[int, str, datetime, datetime] | None = None  # code, reason, from, to
    pulled: bool = False
    done: bool = False


@dataclass
class _Pod:
    """What the runtime knows of a pod it runs."""

    doc: Json
    node: str
    containers: list[_Container]
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    last_status: str = ""
    event_counts: dict[tuple[str, str, str], tuple[str, int, str]] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        meta = self.doc["metadata"]
        return meta["namespace"], meta["name"]


class TestKubelet:
    """Fake nodes, the runtime for ``e2e.invalid/`` images and the log endpoint."""

    __test__ = False  # not a pytest test class, despite its name

    def __init__(self, cp: ControlPlane, nodes: int = NODES) -> None:
        self.cp = cp
        self.rest: Rest = cp.rest("e2e-kubelet")
        self.node_names = [f"e2e-node-{i}" for i in range(1, nodes + 1)]
        self.logs: dict[tuple[str, str, str, bool], str] = {}
        self._pods: dict[tuple[str, str], _Pod] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        assert cp.certs is not None, "the control plane is not started"
        self.server = LogServer(self, cp.certs)

    # -- nodes ---------------------------------------------------------------------------

    def node_status(self, name: str, cpu: str = NODE_CPU, memory: str = NODE_MEMORY) -> Json:
        at = now_iso()
        # pkg/kubelet/nodestatus/setters.go
        conditions = [
            ("MemoryPressure", "False", "KubeletHasSufficientMemory",
             "kubelet has sufficient memory available"),
            ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            ("PIDPressure", "False", "KubeletHasSufficientPID",
             "kubelet has sufficient PID available"),
            ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        ]  # fmt: skip
        resources = {"cpu": cpu, "memory": memory, "pods": "110", "ephemeral-storage": "100Gi"}
        return {
            "capacity": resources,
            "allocatable": resources,
            "conditions": [
                {
                    "type": t,
                    "status": s,
                    "reason": r,
                    "message": m,
                    "lastHeartbeatTime": at,
                    "lastTransitionTime": at,
                }
                for t, s, r, m in conditions
            ],
            "addresses": [
                {"type": "InternalIP", "address": "127.0.0.1"},
                {"type": "Hostname", "address": name},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": self.server.server_address[1]}},
            "nodeInfo": {
                "architecture": "amd64",
                "operatingSystem": "linux",
                "kubeletVersion": self.cp.versions.get("kube-apiserver", "v1.37.2"),
                "containerRuntimeVersion": "containerd://2.1.4",
                "kernelVersion": "6.1.0-40-amd64",
                "osImage": "Debian GNU/Linux 12 (bookworm)",
                "machineID": hashlib.md5(name.encode()).hexdigest(),
                "systemUUID": hashlib.md5(name.encode()).hexdigest(),
                "bootID": hashlib.md5(name.encode()).hexdigest(),
                "kubeProxyVersion": "",
            },
        }

    def add_node(self, name: str, cpu: str = NODE_CPU, memory: str = NODE_MEMORY) -> Json:
        labels = {
            "kubernetes.io/hostname": name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
        }
        with contextlib.suppress(ApiError):
            self.rest.create("/api/v1/nodes", {"metadata": {"name": name, "labels": labels}})
        node = self.rest.get(f"/api/v1/nodes/{name}")
        node["status"] = self.node_status(name, cpu, memory)
        node = self.rest.put(f"/api/v1/nodes/{name}/status", node)
        # The TaintNodesByCondition admission plugin taints every new node not-ready; the
        # node lifecycle controller, which is not running, would lift it once Ready.
        node["spec"]["taints"] = [
            t
            for t in node["spec"].get("taints") or []
            if t.get("key") != "node.kubernetes.io/not-ready"
        ]
        return self.rest.put(f"/api/v1/nodes/{name}", node)

    # -- life cycle ----------------------------------------------------------------------

    def start(self) -> None:
        for name in self.node_names:
            self.add_node(name)
        for target in (self.server.serve_forever, self._watch_pods, self._run):
            thread = threading.Thread(target=target, daemon=True, name=f"kubelet-{target.__name__}")
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()

    # -- scripted pods -------------------------------------------------------------------

    def write_status(self, namespace: str, name: str, status: Json) -> Json:
        """Replace a pod's status through the status subresource (as the kubelet's status
        manager does; it patches, the result is the same)."""
        path = f"/api/v1/namespaces/{namespace}/pods/{name}"
        pod = self.rest.get(path)
        pod["status"] = status
        return self.rest.put(f"{path}/status", pod)

    def event(
        self,
        pod: Json,
        reason: str,
        message: str,
        type_: str = "Normal",
        container: str | None = None,
        count: int = 1,
        first: datetime | None = None,
        last: datetime | None = None,
        component: str = "kubelet",
    ) -> Json:
        """A core/v1 Event about ``pod`` as the kubelet's event recorder creates it."""
        meta = pod["metadata"]
        first = first or datetime.now(UTC)
        last = last or first
        involved: Json = {
            "kind": "Pod",
            "namespace": meta["namespace"],
            "name": meta["name"],
            "uid": meta["uid"],
            "apiVersion": "v1",
            "resourceVersion": meta.get("resourceVersion", ""),
        }
        if container is not None:
            involved["fieldPath"] = f"{self._field_path(pod, container)}"
        node = pod.get("spec", {}).get("nodeName") or ""
        body = {
            "metadata": {
                "name": f"{meta['name']}.{time.time_ns():x}",
                "namespace": meta["namespace"],
            },
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "type": type_,
            "source": {"component": component, **({"host": node} if node else {})},
            "firstTimestamp": now_iso(first),
            "lastTimestamp": now_iso(last),
            "count": count,
            "reportingComponent": component,
            "reportingInstance": node,
        }
        return self.rest.create(f"/api/v1/namespaces/{meta['namespace']}/events", body)

    @staticmethod
    def _field_path(pod: Json, container: str) -> str:
        for key in ("initContainers", "containers"):
            if any(c.get("name") == container for c in pod["spec"].get(key) or []):
                return f"spec.{key}{{{container}}}"
        return f"spec.containers{{{container}}}"

    def container_log(
        self, namespace: str, pod: str, container: str, previous: bool
    ) -> tuple[int, str]:
        """What the kubelet answers for one container's log (``pkg/kubelet/kubelet_pods.go``
        validateContainerLogStatus): the text, or 400 with its reason."""
        text = self.logs.get((namespace, pod, container, previous))
        if text is not None:
            return 200, text
        if previous:
            return 400, f'previous terminated container "{container}" in pod "{pod}" not found'
        try:
            status = self.rest.get(f"/api/v1/namespaces/{namespace}/pods/{pod}")["status"]
        except ApiError:
            return 404, f'pod "{pod}" does not exist'
        found = [
            s
            for key in ("initContainerStatuses", "containerStatuses")
            for s in status.get(key) or []
            if s.get("name") == container
        ]
        waiting = found[0].get("state", {}).get("waiting") if found else None
        reason = (waiting or {}).get("reason")
        why = {
            "ErrImagePull": "is waiting to start: image can't be pulled",
            "ImagePullBackOff": "is waiting to start: trying and failing to pull image",
        }.get(reason or "", f"is waiting to start: {reason}" if reason else "")
        if not found:
            return 400, f'container "{container}" in pod "{pod}" is not available'
        return (
            400,
            f'container "{container}" in pod "{pod}" {why or "is waiting to start - no logs yet"}',
        )

    # -- the runtime ---------------------------------------------------------------------

    def _watch_pods(self) -> None:
        version = ""
        while not self._stop.is_set():
            try:
                if not version:
                    listed = self.rest.get("/api/v1/pods", fieldSelector="spec.nodeName!=")
                    for pod in listed.get("items") or []:
                        self._offer(pod)
                    version = listed["metadata"]["resourceVersion"]
                for event in self.rest.watch(
                    "/api/v1/pods", version, 30, fieldSelector="spec.nodeName!="
                ):
                    if event["type"] == "ERROR":
                        version = ""
                        break
                    version = event["object"]["metadata"]["resourceVersion"]
                    if event["type"] in ("ADDED", "MODIFIED"):
                        self._offer(event["object"])
                    elif event["type"] == "DELETED":
                        with self._lock:
                            self._pods.pop(_key(event["object"]), None)
            except (OSError, ApiError, ValueError):
                version = ""
                self._stop.wait(0.5)

    def _offer(self, pod: Json) -> None:
        """Take a bound pod whose images are all ours, the first time it is seen."""
        spec = pod.get("spec", {})
        node = spec.get("nodeName")
        if node not in self.node_names or _key(pod) in self._pods:
            return
        if pod.get("metadata", {}).get("deletionTimestamp"):
            return
        containers = []
        for kind_key in ("initContainers", "containers"):
            for c in spec.get(kind_key) or []:
                found = behaviour(c.get("image", ""))
                if found is None:
                    return  # a scripted pod
                kind = "app"
                if kind_key == "initContainers":
                    kind = "sidecar" if c.get("restartPolicy") == "Always" else "init"
                containers.append(_Container(c["name"], c["image"], kind, *found))
        with self._lock:
            self._pods.setdefault(_key(pod), _Pod(pod, node, containers))

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            with self._lock:
                pods = list(self._pods.values())
            for pod in pods:
                try:
                    self._step(pod)
                except ApiError as exc:
                    if exc.status == 404:
                        with self._lock:
                            self._pods.pop(pod.key, None)
                except (OSError, ValueError):
                    pass

    def _emit(self, pod: _Pod, c: _Container, type_: str, reason: str, message: str) -> None:
        """Record an event; a repeat of the same one raises its count, as the recorder's
        correlator does (a PATCH of count and lastTimestamp)."""
        key = (c.name, reason, message)
        seen = pod.event_counts.get(key)
        if seen is None:
            made = self.event(pod.doc, reason, message, type_, c.name)
            pod.event_counts[key] = (made["metadata"]["name"], 1, made["firstTimestamp"])
            return
        name, count, _ = seen
        namespace = pod.doc["metadata"]["namespace"]
        self.rest.patch(
            f"/api/v1/namespaces/{namespace}/events/{name}",
            {"count": count + 1, "lastTimestamp": now_iso()},
        )
        pod.event_counts[key] = (name, count + 1, seen[2])

    def _pull(self, pod: _Pod, c: _Container) -> bool:
        """Pull ``c``'s image once: events, and False when the pull is refused."""
        if c.pulled:
            return True
        self._emit(pod, c, "Normal", "Pulling", f'Pulling image "{c.image}"')
        if c.behaviour == "denied":
            repo = c.image.split(":")[0]
            why = (
                f'failed to pull and unpack image "{c.image}": failed to resolve reference '
                f'"{c.image}": pull access denied, repository does not exist or may require '
                f"authorization: server message: insufficient_scope: authorization failed: "
                f"failed to authorize: failed to fetch anonymous token: unexpected status from "
                f"GET request to https://{repo.split('/')[0]}/token: 401 Unauthorized"
            )
            self._emit(pod, c, "Warning", "Failed", f'Failed to pull image "{c.image}": {why}')
            self._emit(pod, c, "Warning", "Failed", "Error: ErrImagePull")
            self._emit(pod, c, "Normal", "BackOff", f'Back-off pulling image "{c.image}"')
            self._emit(pod, c, "Warning", "Failed", "Error: ImagePullBackOff")
            return False
        self._emit(
            pod,
            c,
            "Normal",
            "Pulled",
            f'Successfully pulled image "{c.image}" in 812ms (812ms including waiting). '
            "Image size: 3623807 bytes.",
        )
        c.pulled = True
        return True

    def _start(self, pod: _Pod, c: _Container, at: datetime) -> None:
        self._emit(pod, c, "Normal", "Created", "Container created")
        self._emit(pod, c, "Normal", "Started", "Container started")
        c.started_at = at
        ns, name = pod.key
        self.logs[(ns, name, c.name, False)] = _log_text(c, "starting")

    def _step(self, pod: _Pod) -> None:
        """Advance the pod's containers to now and write its status when it changed."""
        now = datetime.now(UTC)
        blocked = False  # an init container still to finish stops everything after it
        for c in pod.containers:
            if blocked or c.done:
                continue
            if not self._pull(pod, c):
                blocked = c.kind != "app"
                continue
            if c.started_at is None:
                self._start(pod, c, now)
            elapsed = (now - c.started_at).total_seconds() if c.started_at else 0.0
            if c.behaviour in ("crash", "oom") and elapsed >= min(c.seconds, 1.0):
                code, reason = (1, "Error") if c.behaviour == "crash" else (137, "OOMKilled")
                ended = c.started_at or now
                if c.last_exit is None or c.last_exit[2] != ended:
                    c.last_exit = (code, reason, ended, ended + timedelta(seconds=1))
                    ns, name = pod.key
                    self.logs[(ns, name, c.name, True)] = _log_text(c, "failed")
                    self._emit(
                        pod,
                        c,
                        "Warning",
                        "BackOff",
                        f"Back-off restarting failed container {c.name} in pod "
                        f"{name}_{ns}({pod.doc['metadata']['uid']})",
                    )
                if elapsed >= min(c.seconds, 1.0) + RESTART_SECONDS:
                    c.restarts += 1
                    self._start(pod, c, now)
            if c.kind == "init":
                if c.behaviour == "ok" and elapsed >= c.seconds:
                    c.done = True
                else:
                    blocked = True
        status = _pod_status(pod, now)
        encoded = json.dumps(status, sort_keys=True)
        if encoded != pod.last_status:
            ns, name = pod.key
            self.write_status(ns, name, status)
            pod.last_status = encoded


def _key(pod: Json) -> tuple[str, str]:
    meta = pod.get("metadata", {})
    return meta.get("namespace", ""), meta.get("name", "")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _log_text(c: _Container, moment: str) -> str:
    if c.behaviour == "crash":
        lines = [
            f"{c.name}: connecting to postgres://db:5432/app",
            "Traceback (most recent call last):",
            '  File "/app/migrate.py", line 12, in <module>',
            "    conn = connect(DSN)",
            "psycopg2.OperationalError: could not translate host name "
            '"db" to address: Name or service not known',
        ]
        return "\n".join(lines) + "\n"
    if c.behaviour == "oom":
        return f"{c.name}: loading model shards 1..8\n{c.name}: shard 5/8 loaded\n"
    if c.behaviour == "hang":
        return f"{c.name}: waiting for db:5432\n" * 3
    return f"{c.name}: {moment}\n{c.name}: done\n"


def _state(
    c: _Container, now: datetime, pod_desc: str, fresh: str
) -> tuple[Json, Json, bool, bool]:
    """(state, lastState, ready, started) of one container; ``pod_desc`` is the kubelet's
    ``name_namespace(uid)``, ``fresh`` the reason of a container not reached yet."""
    last: Json = {}
    if c.last_exit is not None:
        code, reason, began, ended = c.last_exit
        last = {
            "terminated": {
                "exitCode": code,
                "reason": reason,
                "startedAt": now_iso(began),
                "finishedAt": now_iso(ended),
                "containerID": f"containerd://{hashlib.sha256(f'{c.name}{c.restarts}'.encode()).hexdigest()}",
            }
        }
    if not c.pulled:
        # Containers not reached yet wait as PodInitializing when the pod has init
        # containers (kubelet_pods.go, defaultWaitingState), else ContainerCreating.
        reason = "ImagePullBackOff" if c.behaviour == "denied" else fresh
        message = f'Back-off pulling image "{c.image}": ErrImagePull: 401 Unauthorized'
        waiting: Json = {"reason": reason}
        if c.behaviour == "denied":
            waiting["message"] = message
        return {"waiting": waiting}, last, False, False
    if c.started_at is None:
        return {"waiting": {"reason": "PodInitializing"}}, last, False, False
    elapsed = (now - c.started_at).total_seconds()
    if c.behaviour in ("crash", "oom") and elapsed >= min(c.seconds, 1.0):
        return (
            {
                "waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": f"back-off {10 * 2 ** min(c.restarts, 5)}s restarting failed "
                    f"container={c.name} pod={pod_desc}",
                }
            },
            last,
            False,
            False,
        )
    if c.kind == "init" and c.done:
        return (
            {
                "terminated": {
                    "exitCode": 0,
                    "reason": "Completed",
                    "startedAt": now_iso(c.started_at),
                    "finishedAt": now_iso(c.started_at + timedelta(seconds=c.seconds)),
                    "containerID": f"containerd://{hashlib.sha256(c.name.encode()).hexdigest()}",
                }
            },
            last,
            False,
            False,
        )
    ready = c.behaviour == "ok" and c.kind != "init"
    return {"running": {"startedAt": now_iso(c.started_at)}}, last, ready, True


def _pod_status(pod: _Pod, now: datetime) -> Json:
    """The status the kubelet's status manager would write (``status/generate.go``)."""
    init_statuses, statuses = [], []
    meta = pod.doc["metadata"]
    desc = f"{meta['name']}_{meta['namespace']}({meta['uid']})"
    inits = any(c.kind != "app" for c in pod.containers)
    fresh = "PodInitializing" if inits else "ContainerCreating"
    for c in pod.containers:
        state, last, ready, started = _state(c, now, desc, fresh)
        entry: Json = {
            "name": c.name,
            "image": c.image,
            "imageID": f"{c.image.split(':')[0]}@sha256:{_digest(c.image)}" if c.pulled else "",
            "ready": ready,
            "restartCount": c.restarts,
            "started": started,
            "state": state,
            "lastState": last,
        }
        if c.started_at is not None and "running" in state:
            entry["containerID"] = (
                f"containerd://{hashlib.sha256(f'{c.name}{c.restarts}'.encode()).hexdigest()}"
            )
        (statuses if c.kind == "app" else init_statuses).append(entry)
    regular_init = [c for c in pod.containers if c.kind == "init"]
    initialized = all(c.done for c in regular_init) and all(
        c.started_at is not None for c in pod.containers if c.kind == "sidecar"
    )
    unready = [c.name for c in pod.containers if c.kind != "init"]
    ready_names = {s["name"] for s in statuses + init_statuses if s["ready"]}
    not_ready = [n for n in unready if n not in ready_names]
    at = now_iso(pod.started)

    def condition(kind: str, ok: bool, reason: str = "", message: str = "") -> Json:
        entry: Json = {"type": kind, "status": "True" if ok else "False", "lastProbeTime": None}
        entry["lastTransitionTime"] = at
        if not ok and reason:
            entry |= {"reason": reason, "message": message}
        return entry

    pending = [c.name for c in regular_init if not c.done]
    ready = initialized and not not_ready
    conditions = [
        condition("PodReadyToStartContainers", True),
        condition(
            "Initialized",
            initialized,
            "ContainersNotInitialized",
            f"containers with incomplete status: [{' '.join(pending)}]",
        ),
        condition(
            "Ready",
            ready,
            "ContainersNotReady",
            f"containers with unready status: [{' '.join(not_ready)}]",
        ),
        condition(
            "ContainersReady",
            ready,
            "ContainersNotReady",
            f"containers with unready status: [{' '.join(not_ready)}]",
        ),
        condition("PodScheduled", True),
    ]
    running = any("running" in s["state"] for s in statuses)
    digest = hashlib.sha256(meta["uid"].encode()).digest()
    ip = f"10.244.{digest[0]}.{digest[1] % 254 + 1}"
    status: Json = {
        "phase": "Running" if initialized and running else "Pending",
        "conditions": conditions,
        "hostIP": "127.0.0.1",
        "hostIPs": [{"ip": "127.0.0.1"}],
        "podIP": ip,
        "podIPs": [{"ip": ip}],
        "startTime": at,
        "qosClass": pod.doc.get("status", {}).get("qosClass", "BestEffort"),
        "containerStatuses": statuses,
    }
    if init_statuses:
        status["initContainerStatuses"] = init_statuses
    return status
