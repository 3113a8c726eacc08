"""Benchmark on a real control plane: initdoctor against kubectl and the official client.

Run with ``nox -s bench`` (the package installed non-editable, as users get it), or from
the repository root with the package and ``kubectl`` installed in the running interpreter's
environment::

    python bench/bench_e2e.py [N] [--pods 10000] [--scan-runs 3] [--no-embedded-scan]

It starts the e2e harness's control plane (kube-apiserver, etcd, kube-scheduler and
kube-controller-manager built from Go modules by ``e2e/controlplane/build.py``, cached
after the first build) and its test kubelet, and measures, in one run:

* **One pod end to end**: the demo scenario ``1-init-crashloop`` recreated in the cluster;
  ``initdoctor POD -n NS`` against the reference unit ``kubectl describe pod`` + ``kubectl
  logs POD -c db-migrate --previous`` + ``kubectl get events --field-selector
  involvedObject.name=POD``, run one after another (medians of N runs, default 15,
  interleaved). The same two against the package's embedded test API server
  (``podinit_diag.devserver.apiserver.ApiServer``) serving the same scenario, first, while
  the control plane is not yet running.
* **A 10,000-pod scan** (``--pods``): pods over 40 namespaces, 1 in 10 failing as the rules
  diagnose them (an init container in CrashLoopBackOff, an app image in ImagePullBackOff,
  Pending pods the real scheduler finds no node for), their events as the kubelet words
  them, and routine events for some healthy pods. Then ``initdoctor -A -o json``, the
  official client's model path (``list_pod_for_all_namespaces`` and
  ``list_event_for_all_namespaces`` paged by 500 into V1Pod/CoreV1Event models, all kept,
  in a subprocess) and ``kubectl get pods -A -o json``, all to /dev/null (medians of
  ``--scan-runs``, default 3). Unless ``--no-embedded-scan``, the same three again against
  the embedded server loaded with exactly the pods and events read back from the cluster,
  once the control plane has stopped.

Every measured command is one subprocess, started and reaped with ``os.wait4`` by a small
Python wrapper (whose own start-up is not timed): **wall** is process start to exit;
**CPU** is user + system of the whole process tree (the child's rusage includes the
descendants it waited for, initdoctor's workers); **peak RSS** is ``ru_maxrss``, the
largest *single* process of the tree, not their sum (a child's figure starts from its
parent's RSS at the fork, hence the small wrapper: about 13 MiB, below any tool's own);
**requests** are what the API server counted (see below); **server CPU** is the API
server's user + system time meanwhile (kube-apiserver + etcd, from /proc; for the
embedded server, this process's own CPU time, as it serves in threads here). Each command
runs once unmeasured first (its output is checked; kubectl's discovery cache is then warm,
as a user's second run finds it), except the official client's, whose every run is
checked instead.

Requests on the real apiserver: ``apiserver_request_total`` has no label for the client
(verb, group, resource, scope, component, code only), so its sum would mix in the
scheduler's, the controllers' and the test kubelet's requests. Instead the measured tools
authenticate as the token user ``admin``, which ``authenticated_user_requests`` keeps as
its own label value (every other user of this cluster counts as ``other``), and the
harness reads ``/metrics`` as another user and sends nothing as ``admin`` while a tool runs;
the difference is exactly the tool's requests. The idle check printed with the table shows
it.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the e2e harness is imported from the source tree

if TYPE_CHECKING:
    from e2e.cluster import ControlPlane
    from e2e.kubelet import TestKubelet
    from e2e.rest import Rest
    from podinit_diag.core.model import Bundle
    from podinit_diag.devserver.apiserver import ApiServer

SCENARIO = "1-init-crashloop"
CRASHING = "db-migrate"  # the scenario's crash-looping init container
NAMESPACES = 40
THREADS = 8
# ImagePullBackOff's reason as containerd words a tag that does not exist (the runtime's
# text, which the kubelet passes on; not in the Kubernetes sources).
_NOT_FOUND = (
    'rpc error: code = NotFound desc = failed to pull and unpack image "{image}": failed to '
    'resolve reference "{image}": {image}: not found'
)
# Runs a command and writes [wall s, CPU s of its tree, peak RSS KiB, exit status] to a file.
# Launched from this small process, not the benchmark's: a child's ru_maxrss starts from the
# RSS of the process it was forked from (exec records the old image's high-water mark), and
# this one holds 10,000 pods (1 GiB by the time the embedded server has them).
_WAIT4 = """
import json, os, subprocess, sys, time
started = time.perf_counter()
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
wall = time.perf_counter() - started
proc.returncode = os.waitstatus_to_exitcode(status)
with open(sys.argv[1], "w") as f:
    json.dump([wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, proc.returncode], f)
"""
# The kubelet's Pulled event for an image on the node (v1.37.2, KubeletEnsureSecretPulledImages
# on by default since 1.35):
# https://github.com/kubernetes/kubernetes/blob/v1.37.2/pkg/kubelet/images/image_manager.go
_PRESENT = 'Container image "{image}" already present on machine and can be accessed by the pod'
_CRASH_LOG = (
    "Operations to perform:\n  Apply all migrations: admin, auth, orders\nRunning migrations:\n"
    "Traceback (most recent call last):\n"
    '  File "/app/manage.py", line 22, in <module>\n'
    'django.db.utils.OperationalError: could not translate host name "db" to address: '
    "Name or service not known\n"
)
_MODEL_PATH = """
import sys
from kubernetes import client, config

config.load_kube_config(sys.argv[1])
api = client.CoreV1Api()


def every(call):
    items, token = [], None
    while True:
        page = call(limit=500, _continue=token)
        items += page.items
        token = page.metadata._continue
        if not token:
            return items


pods = every(api.list_pod_for_all_namespaces)
events = every(api.list_event_for_all_namespaces)
print(len(pods), len(events))
"""

MODEL = "official client, models (pods+events)"

Json = dict[str, Any]


@dataclass(frozen=True)
class Sample:
    """One measured run of a command."""

    wall: float  # seconds
    cpu: float  # seconds, user + system of the process tree
    rss: float  # MiB, the largest single process
    requests: float
    server_cpu: float  # seconds


@dataclass
class Server:
    """How to count requests and server CPU for one API server, and the tools' environment."""

    name: str
    env: dict[str, str]
    requests: Callable[[], float]
    cpu: Callable[[], float]


def tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if not found:
        raise SystemExit(f"{name} not found; run through `nox -s bench`")
    return found


def tool_env(kubeconfig: Path, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    return env | {"KUBECONFIG": str(kubeconfig), "HOME": str(home), "NO_PROXY": "127.0.0.1"}


def run(cmd: list[str], server: Server, stdout: Any = subprocess.DEVNULL) -> Sample:
    """Run ``cmd`` once and measure it; a failed run ends the benchmark (a reference that
    stops half-way would look fast)."""
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r") as result:
        requests, server_cpu = server.requests(), server.cpu()
        subprocess.run(
            [sys.executable, "-c", _WAIT4, result.name, *cmd],
            env=server.env,
            stdout=stdout,
            stderr=err,
        )
        server_cpu = server.cpu() - server_cpu
        requests = server.requests() - requests
        wall, cpu, rss, code = json.load(result)
        if code != 0:
            err.seek(0)
            tail = err.read()[-2000:].decode(errors="replace").strip()
            raise SystemExit(f"{' '.join(cmd[:4])} failed ({code}) on {server.name}: {tail}")
    return Sample(wall, cpu, rss / 1024, requests, server_cpu)


def checked(cmd: list[str], server: Server) -> tuple[Sample, str]:
    """A run whose output is kept, to check that the command did its job."""
    with tempfile.TemporaryFile() as out:
        sample = run(cmd, server, stdout=out)
        out.seek(0)
        return sample, out.read().decode(errors="replace")


def output(cmd: list[str], server: Server) -> str:
    """The unmeasured first run's output."""
    return checked(cmd, server)[1]


def median(samples: list[Sample]) -> Sample:
    return Sample(
        *(statistics.median(getattr(s, f) for s in samples) for f in Sample.__dataclass_fields__)
    )


def total(parts: list[Sample]) -> Sample:
    """Commands run one after another as one unit: times and requests add up, the peak
    is the largest."""
    return Sample(
        sum(p.wall for p in parts),
        sum(p.cpu for p in parts),
        max(p.rss for p in parts),
        sum(p.requests for p in parts),
        sum(p.server_cpu for p in parts),
    )


def row(server: str, what: str, s: Sample) -> list[Any]:
    requests = f"{s.requests:.0f}" if s.requests == int(s.requests) else f"{s.requests:.1f}"
    return [
        server,
        what,
        f"{s.wall:.3f}" if s.wall < 10 else f"{s.wall:.1f}",
        f"{s.cpu:.2f}",
        f"{s.rss:.0f}",
        requests,
        f"{s.server_cpu:.2f}",
    ]


# -- one pod ------------------------------------------------------------------------------


def one_pod(server: Server, namespace: str, pod: str, runs: int) -> list[list[Any]]:
    """initdoctor against the kubectl unit, interleaved, after one checked run of each."""
    ours = [tool("initdoctor"), pod, "-n", namespace, "--fail-on", "never"]
    kubectl = tool("kubectl")
    unit = {
        "kubectl describe pod": [kubectl, "describe", "pod", pod, "-n", namespace],
        "kubectl logs --previous": [
            kubectl, "logs", pod, "-n", namespace, "-c", CRASHING, "--previous",
        ],
        "kubectl get events": [
            kubectl, "get", "events", "-n", namespace,
            "--field-selector", f"involvedObject.name={pod}",
        ],
    }  # fmt: skip
    report = json.loads(output([*ours, "-o", "json"], server))
    first = (report["reports"][0]["findings"] or [{}])[0] if report["reports"] else {}
    if first.get("container") != CRASHING:
        raise SystemExit(f"initdoctor did not blame {CRASHING} on {server.name}: {report}")
    seen = {what: output(cmd, server) for what, cmd in unit.items()}
    if not seen["kubectl logs --previous"].strip():
        raise SystemExit(f"kubectl logs --previous printed nothing on {server.name}")
    if "BackOff" not in seen["kubectl get events"]:
        raise SystemExit(f"kubectl get events found no BackOff on {server.name}")
    mine: list[Sample] = []
    theirs: dict[str, list[Sample]] = {what: [] for what in unit}
    for _ in range(runs):
        mine.append(run(ours, server))
        for what, cmd in unit.items():
            theirs[what].append(run(cmd, server))
    units = [total([theirs[w][i] for w in unit]) for i in range(runs)]
    rows = [
        row(server.name, "initdoctor POD -n NS", median(mine)),
        row(server.name, "kubectl unit (the 3 below, in turn)", median(units)),
    ]
    rows += [row(server.name, f"  {what}", median(theirs[what])) for what in unit]
    return rows


def embedded_one_pod(runs: int, home: Path) -> list[list[Any]]:
    from podinit_diag.devserver.apiserver import ApiServer
    from podinit_diag.devserver.scenarios import DEMO_DIR
    from podinit_diag.sources.files import load_path

    bundles = load_path(DEMO_DIR / SCENARIO)
    meta = bundles[0].pod["metadata"]
    with ApiServer(bundles) as srv:
        return one_pod(embedded(srv, home), meta["namespace"], meta["name"], runs)


def embedded(srv: ApiServer, home: Path) -> Server:
    cfg = home / "kubeconfig-embedded"
    srv.write_kubeconfig(str(cfg))
    return Server(
        "embedded", tool_env(cfg, home), lambda: float(len(srv.request_log)), time.process_time
    )


# -- the real control plane ---------------------------------------------------------------


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _proc_peak_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def real(cp: ControlPlane, home: Path) -> Server:
    scraper = cp.rest("e2e-kubelet")  # not "admin": its own requests must not count
    pattern = re.compile(r'^authenticated_user_requests\{username="admin"\} (\S+)$', re.M)

    def admin_requests() -> float:
        # https://github.com/kubernetes/kubernetes/blob/v1.37.2/staging/src/k8s.io/apiserver/pkg/endpoints/filters/metrics.go
        # (compressUsername keeps "admin", every other name here becomes "other")
        found = pattern.search(scraper.text("/metrics"))
        return float(found.group(1)) if found else 0.0

    pids = [cp.processes[n].pid for n in ("kube-apiserver", "etcd")]
    return Server(
        "kube-apiserver",
        tool_env(cp.kubeconfig("admin"), home),
        admin_requests,
        lambda: sum(_proc_cpu(p) for p in pids),
    )


def new_namespace(admin: Rest, name: str) -> None:
    admin.create("/api/v1/namespaces", {"metadata": {"name": name}})
    admin.wait_for(
        lambda: admin.raw("GET", f"/api/v1/namespaces/{name}/serviceaccounts/default")[0] == 200,
        60,
        f"the default service account of {name}",
    )


def ts(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _pod_body(i: int, kind: str, nodes: list[str]) -> Json:
    """Pod ``i`` of the scan: 2 init and 2 app containers, as a Deployment's would be."""
    app = f"svc-{i % 25:02d}"
    image = f"registry.example.com/shop/{app}:1.{i % 7}.{i % 3}"
    env = [
        {"name": "APP_ENV", "value": "production"},
        {
            "name": "DATABASE_URL",
            "valueFrom": {"secretKeyRef": {"name": f"{app}-db", "key": "url"}},
        },
    ]
    probe = {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10}
    spec: Json = {
        "initContainers": [
            {
                "name": "wait-for-config",
                "image": "docker.io/library/busybox:1.36",
                "command": ["sh", "-c", "until [ -f /config/ready ]; do sleep 1; done"],
                "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                "volumeMounts": [{"name": "config", "mountPath": "/config"}],
            },
            {
                "name": "db-migrate",
                "image": image,
                "command": ["python", "manage.py", "migrate", "--noinput"],
                "env": env,
                "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}},
            },
        ],
        "containers": [
            {
                "name": "app",
                "image": image.rsplit(":", 1)[0] + ":2.0.0-rc1" if kind == "pull" else image,
                "ports": [{"name": "http", "containerPort": 8000}],
                "env": env,
                "readinessProbe": probe,
                "livenessProbe": probe | {"initialDelaySeconds": 15},
                "resources": {
                    "requests": {"cpu": "250m", "memory": "256Mi"},
                    "limits": {"memory": "512Mi"},
                },
            },
            {
                "name": "metrics",
                "image": "docker.io/prom/statsd-exporter:v0.26.1",
                "ports": [{"name": "metrics", "containerPort": 9102}],
                "resources": {"requests": {"cpu": "20m", "memory": "32Mi"}},
            },
        ],
        "volumes": [{"name": "config", "configMap": {"name": f"{app}-config"}}],
    }
    if kind == "unschedulable":
        spec["nodeSelector"] = {"node-pool": "gpu-a100"}  # no node has the label
    else:
        spec["nodeName"] = nodes[i % len(nodes)]
    return {
        "metadata": {
            "name": f"{app}-{i:05d}",
            "labels": {"app.kubernetes.io/name": app, "pod-template-hash": f"{i % 97:x}f45z7"},
        },
        "spec": spec,
    }


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _ended(name: str, code: int, reason: str, began: datetime, ended: datetime) -> Json:
    """A terminated state; its containerID is what the kubelet finds the log by (without it,
    ``logs --previous`` is refused: kubelet_pods.go validateContainerLogStatus)."""
    return {
        "exitCode": code,
        "reason": reason,
        "startedAt": ts(began),
        "finishedAt": ts(ended),
        "containerID": "containerd://" + _digest(f"{name}{reason}"),
    }


def _container(
    c: Json, state: Json, ready: bool = False, restarts: int = 0, last: Json | None = None
) -> Json:
    started = "running" in state
    # A container the runtime has not created yet has no imageID or containerID.
    created = "waiting" not in state or restarts > 0
    entry: Json = {
        "name": c["name"],
        "image": c["image"],
        "imageID": c["image"].split(":")[0] + "@sha256:" + "5e" * 32 if created else "",
        "ready": ready,
        "restartCount": restarts,
        "started": started,
        "state": state,
        "lastState": last or {},
    }
    if created:
        entry["containerID"] = "containerd://" + _digest(f"{c['name']}{restarts}")
    return entry


def _status(pod: Json, kind: str, now: datetime) -> Json:
    """The status the kubelet would write for a pod of ``kind`` (pkg/kubelet/status/generate.go,
    pkg/kubelet/kubelet_pods.go in v1.37.2): healthy, init crash loop, app image pull."""
    spec, meta = pod["spec"], pod["metadata"]
    inits, apps = spec["initContainers"], spec["containers"]

    def done(c: Json) -> Json:
        return {"terminated": _ended(c["name"], 0, "Completed", now, now)}

    running = {"running": {"startedAt": ts(now)}}
    desc = f"{meta['name']}_{meta['namespace']}({meta['uid']})"  # format.Pod
    pending: list[str] = []
    unready: list[str] = []
    if kind == "crash":
        # https://github.com/kubernetes/kubernetes/blob/v1.37.2/pkg/kubelet/kuberuntime/kuberuntime_manager.go
        # ("back-off %s restarting failed container=%s pod=%s")
        waiting = {
            "waiting": {
                "reason": "CrashLoopBackOff",
                "message": f"back-off 5m0s restarting failed container={CRASHING} pod={desc}",
            }
        }
        ended = now - timedelta(seconds=38)
        last = {"terminated": _ended(CRASHING, 1, "Error", ended - timedelta(seconds=2), ended)}
        init_statuses = [
            _container(inits[0], done(inits[0])),
            _container(inits[1], waiting, False, 6, last),
        ]
        # kubelet_pods.go: app containers of a pod with init containers wait as PodInitializing
        statuses = [_container(c, {"waiting": {"reason": "PodInitializing"}}, False) for c in apps]
        pending, unready = [CRASHING], [c["name"] for c in apps]
    elif kind == "pull":
        image = apps[0]["image"]
        # https://github.com/kubernetes/kubernetes/blob/v1.37.2/pkg/kubelet/images/image_manager.go
        # ("Back-off pulling image %q", then ": " and the last pull error, "ErrImagePull: ...")
        message = f'Back-off pulling image "{image}": ErrImagePull: ' + _NOT_FOUND.format(
            image=image
        )
        init_statuses = [_container(c, done(c)) for c in inits]
        statuses = [
            _container(apps[0], {"waiting": {"reason": "ImagePullBackOff", "message": message}}),
            _container(apps[1], running, True),
        ]
        unready = [apps[0]["name"]]
    else:
        init_statuses = [_container(c, done(c)) for c in inits]
        statuses = [_container(c, running, True) for c in apps]

    def condition(kind: str, ok: bool, reason: str = "", message: str = "") -> Json:
        out: Json = {"type": kind, "status": "True" if ok else "False", "lastProbeTime": None}
        out["lastTransitionTime"] = ts(now)
        if not ok:
            out |= {"reason": reason, "message": message}
        return out

    not_ready = f"containers with unready status: [{' '.join(unready)}]"
    digest = bytes.fromhex(_digest(meta["uid"]))
    ip = f"10.244.{digest[0]}.{digest[1] % 250 + 2}"
    return {
        "phase": "Running" if kind == "ok" else "Pending",
        "conditions": [
            condition("PodReadyToStartContainers", True),
            condition(
                "Initialized",
                not pending,
                "ContainersNotInitialized",
                f"containers with incomplete status: [{' '.join(pending)}]",
            ),
            condition("Ready", not unready, "ContainersNotReady", not_ready),
            condition("ContainersReady", not unready, "ContainersNotReady", not_ready),
            condition("PodScheduled", True),
        ],
        "hostIP": "127.0.0.1",
        "hostIPs": [{"ip": "127.0.0.1"}],
        "podIP": ip,
        "podIPs": [{"ip": ip}],
        "startTime": ts(now),
        "initContainerStatuses": init_statuses,
        "containerStatuses": statuses,
    }


def _events(kubelet: TestKubelet, pod: Json, kind: str, i: int, now: datetime) -> int:
    """The kubelet's events for a pod of ``kind``; returns how many."""
    # Wording: https://github.com/kubernetes/kubernetes/blob/v1.37.2/pkg/kubelet/ +
    # images/image_manager.go (Pulling, Pulled, Failed, BackOff of a pull),
    # kuberuntime/kuberuntime_container.go (Created, Started),
    # kuberuntime/kuberuntime_manager.go (BackOff of a restart)
    first = now - timedelta(minutes=8)

    def ev(
        reason: str, message: str, container: str, type_: str = "Normal", count: int = 1
    ) -> None:
        kubelet.event(pod, reason, message, type_, container, count, first, now)

    if kind == "crash":
        image = pod["spec"]["initContainers"][1]["image"]
        ev("Pulled", _PRESENT.format(image=image), CRASHING, count=7)
        ev("Created", "Container created", CRASHING, count=7)
        ev("Started", "Container started", CRASHING, count=7)
        name, ns, uid = (pod["metadata"][k] for k in ("name", "namespace", "uid"))
        backoff = f"Back-off restarting failed container {CRASHING} in pod {name}_{ns}({uid})"
        ev("BackOff", backoff, CRASHING, "Warning", 31)
        return 4
    if kind == "pull":
        image = pod["spec"]["containers"][0]["image"]
        ev("Pulling", f'Pulling image "{image}"', "app", count=5)
        failed = f'Failed to pull image "{image}": ' + _NOT_FOUND.format(image=image)
        ev("Failed", failed, "app", "Warning", 5)
        ev("Failed", "Error: ErrImagePull", "app", "Warning", 5)
        ev("BackOff", f'Back-off pulling image "{image}"', "app", count=28)
        ev("Failed", "Error: ImagePullBackOff", "app", "Warning", 28)
        return 5
    if i % 10 == 5:  # routine events for 1 in 10 healthy pods, which a scan must skip
        image = pod["spec"]["containers"][0]["image"]
        ev("Pulled", _PRESENT.format(image=image), "app")
        ev("Created", "Container created", "app")
        ev("Started", "Container started", "app")
        return 3
    return 0


def kind_of(i: int) -> str:
    if i % 10:
        return "ok"
    return ("crash", "pull", "unschedulable")[i // 10 % 3]


def populate(
    cp: ControlPlane, kubelet: TestKubelet, count: int
) -> tuple[float, dict[str, int], int]:
    """``count`` pods over :data:`NAMESPACES` namespaces with statuses and events, in
    :data:`THREADS` threads; returns the seconds it took, pods by kind, events made."""
    admin = cp.rest("admin")
    started = time.monotonic()
    namespaces = [f"team-{n:02d}" for n in range(NAMESPACES)]
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(lambda ns: new_namespace(admin, ns), namespaces))
    kinds: dict[str, int] = {}
    made = [0]
    lock = threading.Lock()

    def one(i: int) -> None:
        kind, ns = kind_of(i), namespaces[i % NAMESPACES]
        pod = admin.create(f"/api/v1/namespaces/{ns}/pods", _pod_body(i, kind, kubelet.node_names))
        now = datetime.now(UTC)
        events = 0
        if kind == "crash":
            # The last run's log; the kubelet serves it for the waiting container as well
            for previous in (True, False):
                kubelet.logs[(ns, pod["metadata"]["name"], CRASHING, previous)] = _CRASH_LOG
        if kind != "unschedulable":  # the real scheduler writes those pods' status itself
            pod["status"] = _status(pod, kind, now)
            path = f"/api/v1/namespaces/{ns}/pods/{pod['metadata']['name']}/status"
            pod = kubelet.rest.put(path, pod)
            events = _events(kubelet, pod, kind, i, now)
        with lock:
            kinds[kind] = kinds.get(kind, 0) + 1
            made[0] += events

    with ThreadPoolExecutor(THREADS) as pool:
        for future in [pool.submit(one, i) for i in range(count)]:
            future.result()

    def all_unschedulable() -> bool:
        waiting = admin.list_all("/api/v1/pods", fieldSelector="spec.nodeName=")
        return len(waiting) == kinds.get("unschedulable", 0) and all(
            any(
                c.get("type") == "PodScheduled" and c.get("reason") == "Unschedulable"
                for c in p.get("status", {}).get("conditions") or []
            )
            for p in waiting
        )

    admin.wait_for(all_unschedulable, 300, "the scheduler to mark the Pending pods")
    return time.monotonic() - started, kinds, made[0]


def scan(server: Server, runs: int, expect_pods: int, notes: list[str]) -> list[list[Any]]:
    kubeconfig = server.env["KUBECONFIG"]
    commands = {
        "initdoctor -A -o json": [tool("initdoctor"), "-A", "-o", "json", "--fail-on", "never"],
        MODEL: [sys.executable, "-c", _MODEL_PATH, kubeconfig],
        "kubectl get pods -A -o json": [
            tool("kubectl"), "get", "pods", "-A", "-o", "json", "--request-timeout=0",
        ],
    }  # fmt: skip
    checks: dict[str, Callable[[str], int]] = {
        "initdoctor -A -o json": lambda out: _scanned(json.loads(out), server.name, notes),
        MODEL: lambda out: int(out.split()[0]),
        "kubectl get pods -A -o json": lambda out: len(json.loads(out)["items"]),
    }
    rows = []
    for what, cmd in commands.items():
        samples = []
        if what == MODEL:
            # It prints two numbers: every measured run is checked, and the unmeasured
            # first run (its 10,000 models take long) is left out.
            for _ in range(runs):
                sample, out = checked(cmd, server)
                _expect(what, server, checks[what](out), expect_pods)
                samples.append(sample)
        else:
            _expect(what, server, checks[what](output(cmd, server)), expect_pods)
            samples = [run(cmd, server) for _ in range(runs)]
        rows.append(row(server.name, what, median(samples)))
    return rows


def _expect(what: str, server: Server, seen: int, pods: int) -> None:
    if seen != pods:
        raise SystemExit(f"{what} on {server.name} saw {seen} pods, not {pods}")


def _scanned(report: Json, server: str, notes: list[str]) -> int:
    """The pods initdoctor's scan counted; what it found goes to the notes."""
    if report.get("errors"):
        raise SystemExit(f"initdoctor -A on {server} reported errors: {report['errors'][:3]}")
    codes: dict[str, int] = {}
    for r in report["reports"]:
        for f in r["findings"][:1]:
            codes[f["code"]] = codes.get(f["code"], 0) + 1
    summary = report["summary"]
    notes.append(
        f"initdoctor -A on {server}: {summary['pods']} pods, {summary['with_findings']} with "
        "findings, first finding by rule: "
        + ", ".join(f"{c} {n}" for c, n in sorted(codes.items()))
    )
    return int(summary["pods"])


def read_back(cp: ControlPlane, kubelet: TestKubelet) -> list[Bundle]:
    """The cluster's pods, events and logs as bundles, for the embedded server."""
    from podinit_diag.core.model import Bundle

    admin = cp.rest("e2e-kubelet")
    pods = admin.list_all("/api/v1/pods")
    events: dict[str, list[Json]] = {}
    for e in admin.list_all("/api/v1/events"):
        events.setdefault(e["involvedObject"].get("uid", ""), []).append(e)
    logs: dict[tuple[str, str], dict[str, bytes]] = {}
    for (ns, name, container, previous), text in kubelet.logs.items():
        file = f"{container}.previous.log" if previous else f"{container}.log"
        logs.setdefault((ns, name), {})[file] = text.encode()
    return [
        Bundle(
            pod=p,
            events=tuple(events.get(p["metadata"]["uid"], ())),
            logs=logs.get((p["metadata"]["namespace"], p["metadata"]["name"]), {}),
        )
        for p in pods
    ]


@contextlib.contextmanager
def control_plane() -> Iterator[tuple[ControlPlane, TestKubelet]]:
    from e2e.cluster import ControlPlane
    from e2e.controlplane.build import BuildError, build
    from e2e.kubelet import TestKubelet

    print("control plane: building or finding the binaries ...", file=sys.stderr, flush=True)
    try:
        info = build()
    except BuildError as exc:
        raise SystemExit(f"bench_e2e.py needs the control plane: {exc}") from None
    cp = ControlPlane(Path(str(info["dir"])))
    kubelet = None
    try:
        cp.start()
        kubelet = TestKubelet(cp)
        kubelet.start()
        yield cp, kubelet
    finally:
        if kubelet is not None:
            kubelet.stop()
        cp.stop()


def main() -> None:
    from tabulate import tabulate

    from e2e.scenarios import recreate
    from podinit_diag.devserver.scenarios import DEMO_DIR

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="?", type=int, default=15, help="one-pod runs (15)")
    parser.add_argument("--pods", type=int, default=10_000, help="pods in the scan (10000)")
    parser.add_argument("--scan-runs", type=int, default=3, help="runs of each scan (3)")
    parser.add_argument("--no-embedded-scan", action="store_true")
    args = parser.parse_args()

    rows: list[list[Any]] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        began = time.monotonic()
        (home / "embedded").mkdir()
        embedded_rows = embedded_one_pod(args.runs, home / "embedded")
        bundles: list[Bundle] = []
        header = ""
        with control_plane() as (cp, kubelet):
            v = cp.versions
            header = (
                f"control plane: kube-apiserver {v['kube-apiserver']}, etcd v{v['etcd']}, "
                f"kube-scheduler {v['kube-scheduler']}, kube-controller-manager "
                f"{v['kube-controller-manager']} (started in {cp.startup_seconds:.1f} s); "
                f"{args.runs} one-pod runs, {args.scan_runs} scan runs, medians"
            )
            print(header, file=sys.stderr, flush=True)
            (home / "real").mkdir()
            server = real(cp, home / "real")
            admin = cp.rest("admin")
            new_namespace(admin, "bench-one")
            pod, _ = recreate(
                DEMO_DIR / SCENARIO, admin, kubelet, "bench-one", kubelet.node_names[0]
            )
            rows += one_pod(server, "bench-one", pod["metadata"]["name"], args.runs)
            rows += embedded_rows
            idle = server.requests()
            time.sleep(2)
            idle = server.requests() - idle
            seconds, kinds, events = populate(cp, kubelet, args.pods)
            line = (
                f"scan data: created {args.pods} pods in {NAMESPACES} namespaces ("
                + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
                + f") and {events} kubelet events in {seconds:.1f} s with {THREADS} threads"
            )
            print(line, file=sys.stderr, flush=True)
            notes.append(line)
            expect = args.pods + 1  # and the one-pod scenario's
            rows += scan(server, args.scan_runs, expect, notes)
            apiserver = cp.processes["kube-apiserver"].pid
            etcd = cp.processes["etcd"].pid
            notes.append(
                f"peak RSS of the control plane itself: kube-apiserver "
                f"{_proc_peak_mib(apiserver):.0f} MiB, etcd {_proc_peak_mib(etcd):.0f} MiB"
            )
            notes.append(
                f'requests on kube-apiserver: authenticated_user_requests{{username="admin"}} '
                f"before and after each run (the tools are admin, nothing else is); idle 2 s: "
                f"{idle:.0f}"
            )
            if not args.no_embedded_scan:
                bundles = read_back(cp, kubelet)
        if bundles:
            from podinit_diag.devserver.apiserver import ApiServer

            with ApiServer(bundles) as srv:
                rows += scan(embedded(srv, home / "embedded"), args.scan_runs, expect, notes)
        notes.append(f"whole benchmark: {time.monotonic() - began:.0f} s")

    print(header)
    print(
        tabulate(
            rows,
            headers=[
                "server",
                "what",
                "wall s",
                "CPU s",
                "peak RSS MiB",
                "requests",
                "server CPU s",
            ],
            disable_numparse=True,
        )
    )
    print("peak RSS: the largest single process of the tree (initdoctor's workers are several)")
    print("server CPU: kube-apiserver + etcd, or the embedded server's process, during the run")
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
