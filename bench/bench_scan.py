"""Scan benchmark: `initdoctor -A -o json` over thousands of pods served on loopback.

Run with `nox -s bench` (installed copy) or `python bench/bench_scan.py [SIZES...]`.
The pods are the fixture pods (a mix of failure modes with their events), renamed and
padded to at least 2 init and 2 app containers (~8 KB of JSON each). In one run, at each
size: initdoctor's wall time, peak RSS and request count; at 10,000 pods also the official
client's model path (`list_pod_for_all_namespaces()` + `list_event_for_all_namespaces()`)
and `kubectl get pods -A -o json` on the same server, as references.
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
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_RSS = (
    "import resource, subprocess, sys; "
    "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE); "
    "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
    "print(u.ru_maxrss, r.returncode, u.ru_utime + u.ru_stime); "
    "sys.stderr.buffer.write(r.stderr[-2000:])"
)
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
    from podinit_diag.apiserver import relocated
    from podinit_diag.load import load_path

    templates = [
        b
        for d in sorted((ROOT / "tests" / "fixtures").iterdir())
        # the odd-* bundles hold data no apiserver serves (nulls where Go writes ""), which
        # the official client's models rightly refuse
        if (d / "pod.json").exists() and not d.name.startswith("odd-")
        for b in load_path(d)
    ]
    out = []
    for i in range(n):
        t = templates[i % len(templates)]
        pod = copy.deepcopy(dict(t.pod))
        _pad(pod)
        uid = str(uuid.UUID(int=i + 1))
        out.append(relocated(t, f"team-{i % 40:02d}", f"pod-{i:06d}", uid, pod))
    return out


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """(wall seconds, peak RSS in MB, CPU seconds) of a command, process start to exit."""
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", _RSS, *cmd], env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - t
    rss, code, cpu = out.stdout.split()
    # A reference that crashes half-way would look fast: every run must succeed.
    if code != "0":
        raise SystemExit(f"{cmd[0]} failed ({code}): {out.stderr.strip()}")
    return wall, int(rss) / 1024, float(cpu)


def tool(name: str) -> str:
    return shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name) or name


def main() -> None:
    from podinit_diag.apiserver import ApiServer

    sizes = [int(a) for a in sys.argv[1:]] or [1_000, 10_000, 50_000]
    for n in sizes:
        data = bundles(n)
        size_kb = sum(len(json.dumps(b.pod)) for b in data[:200]) / 200 / 1024
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
            wall, rss, cpu = run(scan, env)
            requests = len(srv.request_log) - before
            if n <= 10_000:  # this VM's timings swing by tens of percent: best of 3
                runs = [(wall, rss, cpu)] + [run(scan, env) for _ in range(2)]
                wall, cpu = min(r[0] for r in runs), min(r[2] for r in runs)
            events = sum(len(b.events) for b in data)
            pages = -(-n // 500) + -(-events // 500)
            print(
                f"{n:>6} pods ({size_kb:.1f} KB avg, {events} events): initdoctor -A -o json "
                f"{wall:.2f} s (best of {3 if n <= 10_000 else 1}; CPU {cpu:.2f} s), "
                f"peak RSS {rss:.0f} MB, "
                f"{requests} requests ({pages} list pages + logs of <= 20 pods)"
            )
            if n == 10_000:
                model, model_rss, _ = run([sys.executable, "-c", _MODEL_PATH, cfg], env)
                model = min(model, run([sys.executable, "-c", _MODEL_PATH, cfg], env)[0])
                kubectl, kubectl_rss, _ = run(
                    [tool("kubectl"), "get", "pods", "-A", "-o", "json", "--request-timeout=0"], env
                )
                print(
                    f"        official client, model objects: {model:.2f} s (best of 2), "
                    f"{model_rss:.0f} MB "
                    f"-> initdoctor {model / wall:.1f}x faster"
                )
                print(
                    f"        kubectl get pods -A -o json:    {kubectl:.2f} s, {kubectl_rss:.0f} MB"
                )


if __name__ == "__main__":
    main()
