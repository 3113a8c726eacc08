from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
DOCS = ROOT / "docs"


def fixture_dirs() -> list[Path]:
    return sorted(d for d in FIXTURES.iterdir() if d.is_dir() and (d / "pod.json").exists())


def expected(d: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((d / "expected.json").read_text())
    return data


def claim_of(pod: dict[str, Any]) -> str:
    """The first PersistentVolumeClaim a pod mounts."""
    return str(
        next(
            v["persistentVolumeClaim"]["claimName"]
            for v in pod["spec"]["volumes"]
            if "persistentVolumeClaim" in v
        )
    )


def provisioning_failed(ns: str, claim: str, at: str, count: int = 12) -> dict[str, Any]:
    """The PersistentVolume controller's warning about a claim whose StorageClass is gone,
    as `kubectl get events -o json` prints it."""
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{claim}.17f0", "namespace": ns},
        "involvedObject": {"kind": "PersistentVolumeClaim", "name": claim, "namespace": ns},
        "reason": "ProvisioningFailed",
        "type": "Warning",
        "message": 'storageclass.storage.k8s.io "nfs-legacy" not found',
        "source": {"component": "persistentvolume-controller"},
        "count": count,
        "lastTimestamp": at,
    }


PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy")


def cli_env(server: Any, tmp: Path, namespace: str | None = None) -> dict[str, str]:
    """The environment of a CLI run against ``server``: a kubeconfig for it (with the
    context's ``namespace``), a home of its own, and no proxy between them."""
    kubeconfig = tmp / "kubeconfig"
    server.write_kubeconfig(str(kubeconfig), namespace=namespace)
    return kubeconfig_env(kubeconfig, tmp)


def kubeconfig_env(kubeconfig: Path, home: Path) -> dict[str, str]:
    """This process's environment for a CLI run with ``kubeconfig``, a home of its own, and
    no proxy between it and loopback."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    return env | {
        "KUBECONFIG": str(kubeconfig),
        "HOME": str(home),
        "NO_PROXY": "127.0.0.1,localhost",
    }


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process clients only: proxies from the environment must not intercept loopback."""
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture(scope="session")
def report_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((DOCS / "report.schema.json").read_text())
    return schema


def run_initdoctor(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The real CLI in a subprocess, with the given environment (kubeconfig, proxies)."""
    return subprocess.run(
        [sys.executable, "-m", "podinit_diag.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=ROOT,
    )


def run_on_terminal(
    env: dict[str, str], *args: str
) -> tuple[subprocess.CompletedProcess[str], str]:
    """The real CLI with stderr on a pseudo-terminal (stdout a pipe): what a user at a
    terminal sees there, redraws included."""
    import os
    import pty

    leader, follower = pty.openpty()
    try:
        res = subprocess.run(
            [sys.executable, "-m", "podinit_diag.cli", *args],
            stdout=subprocess.PIPE,
            stderr=follower,
            env=env,
            cwd=ROOT,
            timeout=120,
            text=True,
        )
        os.close(follower)
        follower = -1
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: everything was read
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(leader)
        if follower != -1:
            os.close(follower)
    return res, seen.decode()


def json_paths(
    node: Any, prefix: tuple[Any, ...] = (), leaf: type | None = None
) -> list[tuple[Any, ...]]:
    """Every path to a value inside a JSON document (dict keys and list indexes), the
    document's own ``()`` first: where a fuzzer may put another value. Instances of
    ``leaf`` are not entered."""
    out = [prefix]
    if leaf is not None and isinstance(node, leaf):
        return out
    if isinstance(node, dict):
        for k, v in node.items():
            out += json_paths(v, (*prefix, k), leaf)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += json_paths(v, (*prefix, i), leaf)
    return out
