"""Start-up benchmark: what a short offline run costs before any pod is diagnosed.

Run with `nox -s bench` (or `python bench/bench_startup.py [N]`). Prints, in one run:
- wall time, median and minimum of N runs (default 20), of the bare interpreter
  (`python -c pass`; also the base interpreter the environment was made from, which loads
  its own site-packages), `import podinit_diag`, `initdoctor version` and `completion
  bash`, the offline CLI on the example bundle as a
  table and as JSON, and, as the reference for what the core no longer imports,
  `import kubernetes.utils.quantity` (which loads the whole client);
- each next to the bare interpreter, as a ratio and as the difference;
- whether the offline CLI runs imported `kubernetes` or `podinit_diag.devserver`, from
  `-X importtime` (it must not).
The package is imported from the installed copy (the commands run outside the checkout).
The commands take turns, one run each per round, so that a slow patch of a noisy machine
weighs on all of them rather than on whichever happened to run then.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = str(ROOT / "examples" / "init-crashloop")
CLI = [sys.executable, "-m", "podinit_diag", "--from", EXAMPLE]

COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    # The interpreter this environment was made from, with its own site-packages (a
    # system or pyenv Python with many packages installed starts slower than a venv).
    "base interpreter -c pass": [getattr(sys, "_base_executable", sys.executable), "-c", "pass"],
    "import podinit_diag": [sys.executable, "-c", "import podinit_diag"],
    # what answers before any pod is read: no rule, no client, no renderer
    "initdoctor version": [sys.executable, "-m", "podinit_diag", "version"],
    "initdoctor completion bash": [sys.executable, "-m", "podinit_diag", "completion", "bash"],
    "initdoctor --from example": CLI,
    "initdoctor --from example -o json": [*CLI, "-o", "json"],
    "import kubernetes.utils.quantity": [
        sys.executable,
        "-c",
        "import kubernetes.utils.quantity",
    ],
}
BARE = "python -c pass"
# 1 means findings at or above --fail-on, which the example bundle has; anything else is a crash.
ALLOWED_EXIT = {0, 1}
# Run away from the checkout, so that the installed package is measured (as users get it,
# bytecode compiled at install) rather than the sources next to this file.
ELSEWHERE = tempfile.gettempdir()


def _wall(cmd: list[str]) -> float:
    t = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ELSEWHERE)
    wall = time.perf_counter() - t
    if done.returncode not in ALLOWED_EXIT:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr.decode()}")
    return wall


def _imported(cmd: list[str]) -> set[str]:
    """The modules a run imported, from the interpreter's own -X importtime report."""
    done = subprocess.run(
        [cmd[0], "-X", "importtime", *cmd[1:]],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ELSEWHERE,
    )
    return {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    for cmd in COMMANDS.values():  # one untimed run each: bytecode caches, page cache
        _wall(cmd)
    walls: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(n):
        for name, cmd in COMMANDS.items():
            walls[name].append(_wall(cmd))

    bare = statistics.median(walls[BARE])
    where = subprocess.run(
        [sys.executable, "-c", "import podinit_diag; print(podinit_diag.__file__)"],
        capture_output=True, text=True, cwd=ELSEWHERE,
    ).stdout.strip()  # fmt: skip
    print(f"{sys.executable}, {n} interleaved runs each; package: {where}")
    print(f"{'command':<36} {'median':>8} {'min':>8} {'x bare':>7} {'- bare':>8}")
    for name, times in walls.items():
        med = statistics.median(times)
        print(
            f"{name:<36} {med * 1000:>6.0f}ms {min(times) * 1000:>6.0f}ms "
            f"{med / bare:>6.1f}x {(med - bare) * 1000:>6.0f}ms"
        )

    for name in ("initdoctor --from example", "initdoctor --from example -o json"):
        mods = _imported(COMMANDS[name])
        kube = any(m == "kubernetes" or m.startswith("kubernetes.") for m in mods)
        server = any(m.startswith("podinit_diag.devserver") for m in mods)
        print(f"{name}: imports kubernetes: {kube}, podinit_diag.devserver: {server}")


if __name__ == "__main__":
    main()
