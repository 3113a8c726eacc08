"""Scan benchmark: `initdoctor -A -o json` over thousands of pods served on loopback.

Run with `nox -s bench` (installed copy) or `python bench/bench_scan.py [SIZES...]`.
The pods are the fixture pods (a mix of failure modes with their events), renamed and
padded to at least 2 init and 2 app containers, with the managedFields the apiserver
serves (~8 KB of JSON each). In one run, at each size: initdoctor's wall time, memory and
request count; at 10,000 pods also the official client's model path
(`list_pod_for_all_namespaces()` + `list_event_for_all_namespaces()`) and `kubectl get
pods -A -o json` on the same server, as references.

Memory: initdoctor's scan runs in several processes (forked workers), so besides the
largest process's peak RSS the first run samples the whole process tree's PSS (shared
pages split between the processes sharing them) every 20 ms and reports its peak. Times
are from separate runs without the sampling.
"""

from __future__ import annotations

import copy
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Runs a command; prints the largest process's peak RSS (KB), the exit status, the CPU
# seconds of the whole tree, and with --pss the peak PSS of the tree (KB), sampled.
_RSS = """
import glob, resource, subprocess, sys, time
pss = sys.argv[1] == "--pss"
p = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
peak = 0
def tree(root):
    parents = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = open(stat).read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.split("/")[2]))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += parents.get(pid, [])
    return out
def sample():
    total = 0
    for pid in tree(p.pid):
        try:
            for line in open(f"/proc/{pid}/smaps_rollup"):
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total
while pss and p.poll() is None:
    peak = max(peak, sample())
    time.sleep(0.02)
err = p.communicate()[1]
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(u.ru_maxrss, p.returncode, u.ru_utime + u.ru_stime, peak)
sys.stderr.buffer.write(err[-2000:])
"""
_MODEL_PATH = (
    "import sys; from kubernetes import client, config; "
    "config.load_kube_config(sys.argv[1]); api = client.CoreV1Api(); "
    "p = api.list_pod_for_all_namespaces(); e = api.list_event_for_all_namespaces(); "
    "print(len(p.items), len(e.items))"
)


_NOT_STARTED = ("PodInitializing", "ContainerCreating")


def _pad(pod: dict[str, Any]) -> None:
    """At least 2 init and 2 app containers, with statuses as the kubelet writes them: an
    added container is in the same stage as the pod's own (not started if they are not),
    and carries imageID and containerID, which the API always serializes."""
    spec, status = pod.setdefault("spec", {}), pod.get("status") or {}
    inits = spec.setdefault("initContainers", [])
    if len(inits) < 2:
        inits.insert(
            0,
            {
                "name": "wait-for-config",
                "image": "busybox:1.36",
                "command": ["sh", "-c", "until [ -f /config/ready ]; do sleep 1; done"],
                "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
            },
        )
        statuses = status.get("initContainerStatuses") if isinstance(status, dict) else None
        if isinstance(statuses, list):
            done = {
                "terminated": {
                    "exitCode": 0,
                    "reason": "Completed",
                    "containerID": "containerd://" + "7c" * 32,
                    "startedAt": "2024-06-01T10:00:00Z",
                    "finishedAt": "2024-06-01T10:00:02Z",
                }
            }
            statuses.insert(
                0,
                _status(
                    "wait-for-config",
                    "docker.io/library/busybox:1.36",
                    statuses[0] if statuses else None,
                    done,
                ),
            )
    apps = spec.setdefault("containers", [])
    if len(apps) < 2:
        apps.append(
            {
                "name": "metrics-exporter",
                "image": "prom/statsd-exporter:v0.26.1",
                "ports": [{"containerPort": 9102, "name": "metrics"}],
                "resources": {"requests": {"cpu": "20m", "memory": "32Mi"}},
            }
        )
        statuses = status.get("containerStatuses") if isinstance(status, dict) else None
        if isinstance(statuses, list):
            running = {"running": {"startedAt": "2024-06-01T10:00:05Z"}}
            statuses.append(
                _status(
                    "metrics-exporter",
                    "docker.io/prom/statsd-exporter:v0.26.1",
                    statuses[0] if statuses else None,
                    running,
                )
            )


def _managed_fields(pod: dict[str, Any]) -> None:
    """What the apiserver adds to every pod it serves (``kubectl get`` hides it): who
    set which field, as FieldsV1 trees: the controller that created the pod, and the
    kubelet for its status."""
    meta = pod.setdefault("metadata", {})
    created = meta.get("creationTimestamp") or "2024-06-01T10:00:00Z"
    mine = {k: v for k, v in meta.items() if k in ("generateName", "labels", "ownerReferences")}
    meta["managedFields"] = [
        {
            "apiVersion": "v1",
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": _fields(mine),
                "f:spec": _fields(pod.get("spec") or {}),
            },
            "manager": "kube-controller-manager",
            "operation": "Update",
            "time": created,
        },
        {
            "apiVersion": "v1",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:status": _fields(pod.get("status") or {})},
            "manager": "kubelet",
            "operation": "Update",
            "subresource": "status",
            "time": created,
        },
    ]


def _fields(value: Any, top: bool = True) -> dict[str, Any]:
    """A FieldsV1 tree: ``f:`` per map key, ``k:`` per item of a keyed list, ``.`` for a
    nested map or item itself; other lists (the kubelet's container statuses) are atomic."""
    if isinstance(value, dict):
        here: dict[str, Any] = {} if top else {".": {}}
        return here | {
            f"f:{k}": {} if k.endswith("Statuses") else _fields(v, False) for k, v in value.items()
        }
    if isinstance(value, list) and value and all(isinstance(i, dict) for i in value):
        out: dict[str, Any] = {".": {}}
        for item in value:
            field = next((k for k in ("uid", "name", "type") if k in item), None)
            if field is not None:
                key: dict[str, Any] = {field: item[field]}
            elif "containerPort" in item:
                key = {
                    "containerPort": item["containerPort"],
                    "protocol": item.get("protocol", "TCP"),
                }
            else:
                return {}
            out["k:" + json.dumps(key, separators=(",", ":"))] = _fields(item, False)
        return out
    return {}


def _status(
    name: str, image: str, sibling: dict[str, Any] | None, started: dict[str, Any]
) -> dict[str, Any]:
    waiting = ((sibling or {}).get("state") or {}).get("waiting") or {}
    if waiting.get("reason") in _NOT_STARTED:
        return {
            "name": name,
            "image": image,
            "imageID": "",
            "ready": False,
            "restartCount": 0,
            "started": False,
            "state": {"waiting": {"reason": waiting["reason"]}},
        }
    return {
        "name": name,
        "image": image,
        "imageID": image.split(":")[0] + "@sha256:" + "5e" * 32,
        "containerID": "containerd://" + "3a" * 32,
        "ready": True,
        "restartCount": 0,
        "started": "running" in started,
        "state": started,
    }


def bundles(n: int) -> list[Any]:
    from podinit_diag.devserver.apiserver import relocated
    from podinit_diag.sources.files import load_path

    templates = [
        b
        for d in sorted((ROOT / "tests" / "fixtures").iterdir())
        # the odd-* bundles hold data no apiserver serves (nulls where Go writes ""), which
        # the official client's models rightly refuse; neither does it serve PI010's stand-in
        # for a workload without pods (named "deployment/NAME")
        if (d / "pod.json").exists() and not d.name.startswith("odd-")
        for b in load_path(d)
        if "/" not in str(b.pod.get("metadata", {}).get("name", ""))
    ]
    out = []
    for i in range(n):
        t = templates[i % len(templates)]
        pod = copy.deepcopy(dict(t.pod))
        _pad(pod)
        _managed_fields(pod)
        uid = str(uuid.UUID(int=i + 1))
        out.append(relocated(t, f"team-{i % 40:02d}", f"pod-{i:06d}", uid, pod))
    return out


@dataclass(frozen=True)
class Run:
    wall: float  # seconds, process start to exit
    rss: float  # MB, the largest process's peak
    cpu: float  # seconds, all its processes
    pss: float  # MB, the process tree's peak (0 unless sampled)


def run(cmd: list[str], env: dict[str, str], pss: bool = False) -> Run:
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", _RSS, "--pss" if pss else "-", *cmd],
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t
    rss, code, cpu, peak = out.stdout.split()
    # A reference that crashes half-way would look fast: every run must succeed.
    if code != "0":
        raise SystemExit(f"{cmd[0]} failed ({code}): {out.stderr.strip()}")
    return Run(wall, int(rss) / 1024, float(cpu), int(peak) / 1024)


def best(cmd: list[str], env: dict[str, str], times: int) -> Run:
    """The fastest of ``times`` runs: this VM's timings swing by tens of percent."""
    return min((run(cmd, env) for _ in range(times)), key=lambda r: r.wall)


def tool(name: str) -> str:
    return shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name) or name


def main() -> None:
    from podinit_diag.devserver.apiserver import ApiServer
    from podinit_diag.sources.scan import ROUTINE_EVENT_REASONS

    sizes = [int(a) for a in sys.argv[1:]] or [1_000, 10_000, 50_000]
    for n in sizes:
        data = bundles(n)
        size_kb = sum(len(json.dumps(b.pod, separators=(",", ":"))) for b in data[:200]) / 200
        with ApiServer(data) as srv, tempfile.TemporaryDirectory() as tmp:
            # The server stands in for a Go apiserver: its millions of long-lived objects
            # must not make this process's collector stall the responses being measured.
            gc.freeze()
            cfg = os.path.join(tmp, "kubeconfig")
            srv.write_kubeconfig(cfg)
            env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
            env |= {"KUBECONFIG": cfg, "HOME": tmp, "NO_PROXY": "127.0.0.1"}
            scan = [tool("initdoctor"), "-A", "-o", "json", "--fail-on", "never"]
            before = len(srv.request_log)
            memory = run(scan, env, pss=True)  # also the server's first encoding of each object
            requests = len(srv.request_log) - before
            times = 3 if n <= 10_000 else 1
            timed = best(scan, env, times)
            events = sum(len(b.events) for b in data)
            asked = sum(
                1 for b in data for e in b.events if e.get("reason") not in ROUTINE_EVENT_REASONS
            )
            pages = -(-n // 500) + -(-asked // 500)
            print(
                f"{n:>6} pods ({size_kb / 1024:.1f} KB avg, {events} events of which {asked} "
                f"asked for): initdoctor -A -o json {timed.wall:.2f} s (best of {times}; CPU "
                f"{timed.cpu:.2f} s), peak PSS of all processes {memory.pss:.0f} MB (largest "
                f"process {memory.rss:.0f} MB), {requests} requests ({pages} list pages + logs "
                "of <= 20 pods)"
            )
            if n == 10_000:
                one = best([*scan, "--workers", "1"], env, 3)
                print(
                    f"        initdoctor --workers 1:         {one.wall:.2f} s (best of 3; CPU "
                    f"{one.cpu:.2f} s), peak RSS {one.rss:.0f} MB"
                )
                model = best([sys.executable, "-c", _MODEL_PATH, cfg], env, 2)
                print(
                    f"        official client, model objects: {model.wall:.2f} s (best of 2), "
                    f"{model.rss:.0f} MB -> initdoctor {model.wall / timed.wall:.1f}x faster "
                    f"({model.wall / one.wall:.1f}x with --workers 1)"
                )
                kubectl = run(
                    [tool("kubectl"), "get", "pods", "-A", "-o", "json", "--request-timeout=0"], env
                )
                print(
                    f"        kubectl get pods -A -o json:    {kubectl.wall:.2f} s, "
                    f"{kubectl.rss:.0f} MB"
                )


if __name__ == "__main__":
    main()
