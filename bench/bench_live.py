"""Live benchmark: one-pod diagnosis end to end, process start to exit, over TLS on loopback.

Run with `nox -s bench`, which installs the package the way users do (pip compiles the
bytecode; a source tree run under PYTHONDONTWRITEBYTECODE recompiles every module on
each start and would measure that instead). In one run, against the package's test API
server serving a crash-looping init container: `initdoctor POD -n NS` and, as the
reference, `kubectl describe pod POD -n NS` (both medians of N runs), and the number of
requests each makes.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CASE = ROOT / "tests" / "fixtures" / "PI101-init-crashloop-migrate"
RUNS = 15


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if not found:
        raise SystemExit(f"{name} not found; run through `nox -s bench`")
    return found


def main() -> None:
    from podinit_diag.devserver.apiserver import ApiServer
    from podinit_diag.sources.files import load_path

    runs = int(sys.argv[1]) if len(sys.argv) > 1 else RUNS
    pod = json.loads((CASE / "pod.json").read_text())
    ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
    with ApiServer(load_path(CASE)) as srv, tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, "kubeconfig")
        srv.write_kubeconfig(cfg)
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env |= {"KUBECONFIG": cfg, "HOME": tmp, "NO_PROXY": "127.0.0.1,localhost"}

        def measure(cmd: list[str]) -> tuple[float, float]:
            times = []
            before = len(srv.request_log)
            for _ in range(runs):
                t = time.perf_counter()
                subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                times.append(time.perf_counter() - t)
            return statistics.median(times), (len(srv.request_log) - before) / runs

        ours, our_requests = measure([_tool("initdoctor"), name, "-n", ns])
        ref, ref_requests = measure([_tool("kubectl"), "describe", "pod", name, "-n", ns])
    print(f"initdoctor POD (live, TLS):  median {ours:.3f} s, {our_requests:.0f} requests")
    print(f"kubectl describe pod:        median {ref:.3f} s, {ref_requests:.0f} requests")
    print(f"ratio: {ours / ref:.1f}x (target: <= 0.6 s and <= 4x)")


if __name__ == "__main__":
    main()
