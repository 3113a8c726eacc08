"""Big-file benchmark: the offline path on inputs far larger than a real incident's.

Run with `nox -s bench` (or `python bench/bench_files.py [--quick] [--keep DIR]`). Generates:
- a 20 MB YAML pod list (`kubectl get pods -o yaml` of some 3,500 realistic pods);
- a bundle whose events.json holds 1,000,000 Events about its one pod (about 505 MB, just
  under the input cap);
- a PodList of 50,000 pods as JSON (about 260 MB).
For each, prints the CLI end to end (`python -m podinit_diag --from PATH`, table output),
wall and CPU time and the child's peak RSS (from its rusage), then the phases in this process:
`load_path`, `engine.diagnose` of every pod, and `render.render(..., "table")`.
`--quick` divides every size by 20 (a smoke run); `--keep DIR` generates into DIR once
and reuses what is there on later runs.
The pods are the fixture pods, renamed, so the mix of failure modes is the fixtures' mix.
"""

from __future__ import annotations

import copy
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
EXAMPLE = ROOT / "examples" / "init-crashloop"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
# An event's involvedObject as kubectl shows it, less apiVersion and resourceVersion: a
# million events then stay under the 512 MiB input cap.
KEPT = frozenset({"kind", "name", "namespace", "uid", "fieldPath"})


def _templates() -> list[dict[str, object]]:
    sources = sorted((ROOT / "tests" / "fixtures").glob("*/pod.json"))
    return [json.loads(p.read_text()) for p in sources]


def _pods(n: int) -> Iterator[dict[str, object]]:
    templates = _templates()
    for i in range(n):
        pod = copy.deepcopy(templates[i % len(templates)])
        meta = pod.setdefault("metadata", {})
        if isinstance(meta, dict):
            meta["name"] = f"{meta.get('name', 'pod')}-{i:05d}"
            meta["uid"] = str(uuid.UUID(int=i))
        yield pod


def _write_yaml_list(path: Path, target_bytes: int) -> int:
    """Pods as ``kubectl get pods -o yaml`` writes them (a v1 List), until the file is
    ``target_bytes`` long; returns the number of pods."""
    n = 0
    with path.open("w") as out:
        out.write('apiVersion: v1\nkind: List\nmetadata:\n  resourceVersion: ""\nitems:\n')
        for pod in _pods(10**9):
            out.write(yaml.safe_dump([pod], sort_keys=True, default_flow_style=False))
            n += 1
            if out.tell() >= target_bytes:
                break
    return n


def _write_events_bundle(d: Path, n: int) -> None:
    """The example bundle with ``n`` Events about its pod, one per second back from NOW,
    in the reasons and messages of the example's own events (compact JSON, streamed)."""
    d.mkdir()
    (d / "logs").mkdir()
    for f in ("pod.json", "meta.json"):
        (d / f).write_bytes((EXAMPLE / f).read_bytes())
    for f in (EXAMPLE / "logs").iterdir():
        (d / "logs" / f.name).write_bytes(f.read_bytes())
    pod = json.loads((EXAMPLE / "pod.json").read_text())
    samples = json.loads((EXAMPLE / "events.json").read_text())["items"]
    start = NOW - timedelta(seconds=n)
    with (d / "events.json").open("w") as out:
        out.write('{"apiVersion":"v1","kind":"EventList","items":[')
        for i in range(n):
            s = samples[i % len(samples)]
            when = (start + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
            event = {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"name": f"{pod['metadata']['name']}.{i:016x}", "namespace": "shop"},
                "involvedObject": {k: v for k, v in s["involvedObject"].items() if k in KEPT},
                "reason": s.get("reason"),
                "message": s.get("message"),
                "type": s.get("type"),
                "count": 1,
                "firstTimestamp": when,
                "lastTimestamp": when,
                "source": {"component": s.get("source", {}).get("component")},
            }
            out.write(("," if i else "") + json.dumps(event, separators=(",", ":")))
        out.write("]}")


def _write_pod_list(path: Path, n: int) -> None:
    with path.open("w") as out:
        out.write('{"apiVersion":"v1","kind":"PodList","metadata":{},"items":[')
        for i, pod in enumerate(_pods(n)):
            out.write(("," if i else "") + json.dumps(pod, separators=(",", ":")))
        out.write("]}")


def _cli(path: Path) -> tuple[float, float, float, int]:
    """Wall seconds, CPU seconds, peak RSS in MiB and exit status of ``initdoctor --from
    PATH`` (CPU time too: on a shared machine the wall time says little)."""
    cmd = [sys.executable, "-m", "podinit_diag", "--from", str(path), "--fail-on", "never"]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    assert proc.stderr is not None
    err = proc.stderr.read()
    # wait4 gives this child's own rusage; RUSAGE_CHILDREN would be the largest child so far.
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        print(f"  CLI exit {proc.returncode}: {err.decode(errors='replace').strip()[:300]}")
    rss_kib = usage.ru_maxrss if sys.platform != "darwin" else usage.ru_maxrss // 1024
    return wall, usage.ru_utime + usage.ru_stime, rss_kib / 1024, proc.returncode


def _phases(path: Path) -> str:
    from podinit_diag.engine import diagnose
    from podinit_diag.render import render
    from podinit_diag.rules import Config
    from podinit_diag.sources.files import load_path

    gc.collect()
    t = time.perf_counter()
    bundles = load_path(path)
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    config = Config()
    reports = [diagnose(b, config, NOW) for b in bundles]
    diag_s = time.perf_counter() - t
    t = time.perf_counter()
    render(reports, "table")
    render_s = time.perf_counter() - t
    del bundles, reports
    return f"load {load_s:.2f} s, diagnose {diag_s:.2f} s, render {render_s:.2f} s"


def main() -> None:
    args = sys.argv[1:]
    scale = 20 if "--quick" in args else 1
    keep = Path(args[args.index("--keep") + 1]) if "--keep" in args else None
    with tempfile.TemporaryDirectory() as tmp:
        base = keep or Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        cases = [
            ("YAML pod list", base / f"pods-{scale}.yaml"),
            (f"bundle with {1_000_000 // scale:,} events", base / f"events-{scale}"),
            (f"PodList of {50_000 // scale:,} pods", base / f"podlist-{scale}.json"),
        ]
        t = time.perf_counter()
        if not cases[0][1].exists():
            n = _write_yaml_list(cases[0][1], 20_000_000 // scale)
            print(f"generated {cases[0][1].name}: {n} pods")
        if not cases[1][1].exists():
            _write_events_bundle(cases[1][1], 1_000_000 // scale)
        if not cases[2][1].exists():
            _write_pod_list(cases[2][1], 50_000 // scale)
        print(f"inputs ready in {time.perf_counter() - t:.0f} s (sizes scaled by 1/{scale})")
        for title, path in cases:
            size = sum(f.stat().st_size for f in ([path] if path.is_file() else path.rglob("*")))
            wall, cpu, rss, _ = _cli(path)
            print(f"{title} ({size / 1e6:.0f} MB):")
            print(f"  CLI end to end: {wall:.2f} s ({cpu:.2f} s CPU), peak RSS {rss:.0f} MiB")
            print(f"  in process: {_phases(path)}")
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"this process's peak RSS: {own:.0f} MiB")


if __name__ == "__main__":
    main()
