"""Build the real Kubernetes control plane the end-to-end tests run against, from Go modules.

``kube-apiserver``, ``kube-scheduler`` and ``kube-controller-manager`` come from the module
``k8s.io/kubernetes`` and ``etcd`` from ``go.etcd.io/etcd/server/v3``, each consumed as a
dependency of a tiny module of ours (``kubernetes/`` and ``etcd/`` beside this file, whose
``go.mod`` and ``go.sum`` pin every version: ``k8s.io/kubernetes`` names its staging modules
``v0.0.0`` with ``replace`` lines into its own tree, so ours pins each to the matching
``v0.X.Y``). Needs Go 1.26 or newer and the Go module proxy (or a filled module cache).

The binaries are cached under ``$PODINIT_DIAG_CACHE`` (default ``~/.cache/podinit-diag``) in a
directory named after the versions and the platform, so that a machine builds them once;
``build.json`` there records how long the build took and how big each binary is.

    python e2e/controlplane/build.py          # build if not cached; print the directory
    python e2e/controlplane/build.py --json   # the same, as {"dir", "versions", ...}
    python e2e/controlplane/build.py --force  # build again
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
KUBERNETES = "v1.37.2"
ETCD = "v3.6.16"
# The version the binaries report (/version, --version): what `make` sets from git, which a
# module build has not got; without it kube-apiserver calls itself v0.0.0-master.
_MAJOR, _MINOR = KUBERNETES[1:].split(".")[:2]
_K8S_LDFLAGS = " ".join(
    [
        "-s",
        f"-X k8s.io/component-base/version.gitVersion={KUBERNETES}",
        f"-X k8s.io/component-base/version.gitMajor={_MAJOR}",
        f"-X k8s.io/component-base/version.gitMinor={_MINOR}",
        "-X k8s.io/component-base/version.gitTreeState=clean",
    ]
)
# (binary, module directory, package, linker flags)
BINARIES = (
    ("kube-apiserver", "kubernetes", "k8s.io/kubernetes/cmd/kube-apiserver", _K8S_LDFLAGS),
    ("kube-scheduler", "kubernetes", "k8s.io/kubernetes/cmd/kube-scheduler", _K8S_LDFLAGS),
    (
        "kube-controller-manager",
        "kubernetes",
        "k8s.io/kubernetes/cmd/kube-controller-manager",
        _K8S_LDFLAGS,
    ),
    ("etcd", "etcd", "go.etcd.io/etcd/server/v3", "-s"),
)


class BuildError(Exception):
    """The toolchain is missing or a build failed: one line that says which."""


def cache_dir() -> Path:
    base = os.environ.get("PODINIT_DIAG_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "podinit-diag"
    )
    machine = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    key = f"kubernetes-{KUBERNETES}-etcd-{ETCD}-{sys.platform}-{machine}"
    return Path(base) / "controlplane" / key


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        raise BuildError(
            "the end-to-end tests need Go 1.26 or newer (`go` on PATH) and the Go module "
            "proxy, to build kube-apiserver, kube-scheduler, kube-controller-manager and etcd"
        )
    return go


def build(force: bool = False, log: Path | None = None) -> dict[str, object]:
    """The cached binaries' directory and what ``build.json`` says of them; builds them
    first when they are missing (or ``force``). The build goes to a temporary directory
    beside the cache's, renamed into place when complete: two builds at once waste time
    but never leave half a set."""
    target = cache_dir()
    record = target / "build.json"
    if record.is_file() and not force:
        info: dict[str, object] = json.loads(record.read_text())
        if all((target / name).is_file() for name, *_ in BINARIES):
            return info | {"dir": str(target), "cached": True}
    go = _go()
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".build-", dir=target.parent))
    env = dict(os.environ, CGO_ENABLED="0")
    seconds: dict[str, float] = {}
    try:
        for name, module, package, ldflags in BINARIES:
            started = time.monotonic()
            cmd = [go, "build", "-trimpath", f"-ldflags={ldflags}", "-o", str(work / name), package]
            out = subprocess.run(
                cmd, cwd=HERE / module, env=env, capture_output=True, text=True, check=False
            )
            if log is not None:
                with log.open("a") as f:
                    f.write(f"$ {' '.join(cmd)}\n{out.stdout}{out.stderr}")
            if out.returncode != 0:
                last = (out.stderr.strip().splitlines() or ["(no output)"])[-1]
                raise BuildError(f"go build {package} failed: {last}")
            seconds[name] = round(time.monotonic() - started, 1)
        go_version = subprocess.run(
            [go, "version"], capture_output=True, text=True, check=True
        ).stdout.split()[2]
        info = {
            "versions": {"kubernetes": KUBERNETES, "etcd": ETCD, "go": go_version},
            "build_seconds": seconds,
            "sizes": {name: (work / name).stat().st_size for name, *_ in BINARIES},
        }
        (work / "build.json").write_text(json.dumps(info, indent=2) + "\n")
        if target.exists():
            shutil.rmtree(target)
        work.rename(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return info | {"dir": str(target), "cached": False}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print what was built, as JSON")
    parser.add_argument("--force", action="store_true", help="build even when cached")
    args = parser.parse_args()
    try:
        info = build(force=args.force)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(info, indent=2) if args.json else info["dir"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
