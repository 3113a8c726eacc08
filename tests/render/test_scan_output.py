"""Scan output: one line per unhealthy pod, groups of pods failing the same way, healthy
counted."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema

from podinit_diag.cli import main

from ..conftest import FIXTURES

CRASH = FIXTURES / "PI101-init-crashloop-migrate"
HEALTHY = FIXTURES / "ok-completed-init-running-app"


def _pod_list(tmp: Path, replicas: int) -> Path:
    crash = json.loads((CRASH / "pod.json").read_text())
    healthy = json.loads((HEALTHY / "pod.json").read_text())
    items = []
    for i in range(replicas):
        pod = copy.deepcopy(crash)
        pod["metadata"]["name"] = f"{crash['metadata']['name'][:-5]}x{i:04d}"
        pod["metadata"]["uid"] = f"00000000-0000-0000-0000-{i:012d}"
        items.append(pod)
    items.append(healthy)
    f = tmp / "pods.json"
    f.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    return f


def test_replicas_failing_the_same_way_form_one_group(
    tmp_path: Path, capsys: Any, report_schema: dict[str, Any]
) -> None:
    f = _pod_list(tmp_path, 7)
    assert main(["--from", str(f), "-o", "json", "--now", "2024-09-16T14:40:00Z"]) == 1
    doc = json.loads(capsys.readouterr().out)
    jsonschema.validate(doc, report_schema, format_checker=jsonschema.FormatChecker())
    assert doc["summary"] == {
        "pods": 8,
        "with_findings": 7,
        "healthy": 1,
        "by_severity": {"error": 7, "warning": 0, "info": 0},
    }
    (group,) = [g for g in doc["groups"] if g["code"] == "PI101"]
    assert group["count"] == 7 and len(group["examples"]) == 5
    assert group["owner"].startswith("ReplicaSet/") and group["container"] == "db-migrate"
    assert len(doc["reports"]) == 7  # healthy pods counted, not listed


def test_all_lists_healthy_pods_and_table_says_so(tmp_path: Path, capsys: Any) -> None:
    f = _pod_list(tmp_path, 2)
    assert main(["--from", str(f), "-o", "json", "--all"]) == 1
    assert len(json.loads(capsys.readouterr().out)["reports"]) == 3
    assert main(["--from", str(f)]) == 1
    out = capsys.readouterr().out
    # one namespace: no NAMESPACE column; the container is a wide column
    assert out.splitlines()[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "FINDING"]
    assert "2 pods" in out and "3 pods scanned: 2 with findings (2 error), 1 healthy" in out
    assert main(["--from", str(f), "-o", "wide", "-A"]) == 1
    wide = capsys.readouterr().out.splitlines()[0].split()
    assert wide == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "FINDING", "CONTAINER"]


def test_scan_of_every_fixture_validates(capsys: Any, report_schema: dict[str, Any]) -> None:
    assert main(["--from", str(FIXTURES), "-o", "json", "--fail-on", "never"]) == 0
    doc = json.loads(capsys.readouterr().out)
    jsonschema.validate(doc, report_schema, format_checker=jsonschema.FormatChecker())
    assert doc["summary"]["pods"] == len(
        [d for d in FIXTURES.iterdir() if (d / "pod.json").exists()]
    )
    # a group is two or more pods of one owner failing alike; one pod is its own row
    assert doc["groups"] and all(g["count"] >= 2 for g in doc["groups"])
