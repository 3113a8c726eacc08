"""Every accepted input shape yields the same diagnosis as the bundle it came from."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from podinit_diag import InputError, diagnose_path, load_path

from ..conftest import ROOT, fixture_dirs

EXAMPLE = ROOT / "examples" / "init-crashloop"
NOW = "2026-11-20T09:42:10Z"


def _codes(path: Path) -> list[tuple[str, str | None]]:
    from podinit_diag.core.kubetime import parse_time

    return [
        (f.code, f.container) for r in diagnose_path(path, now=parse_time(NOW)) for f in r.findings
    ]


def test_yaml_pod_equals_json_pod(tmp_path: Path) -> None:
    pod = json.loads((EXAMPLE / "pod.json").read_text())
    (tmp_path / "pod.yaml").write_text(yaml.safe_dump(pod, sort_keys=False))
    (tmp_path / "pod.json").write_text(json.dumps(pod))
    assert _codes(tmp_path / "pod.yaml") == _codes(tmp_path / "pod.json") == [("PI101", "migrate")]


def test_pod_list_and_multi_document_yaml_give_one_report_per_pod(tmp_path: Path) -> None:
    pods = [json.loads((d / "pod.json").read_text()) for d in fixture_dirs()[:6]]
    for kind in ("List", "PodList"):
        f = tmp_path / f"{kind}.json"
        f.write_text(json.dumps({"apiVersion": "v1", "kind": kind, "items": pods}))
        names = [b.pod["metadata"]["name"] for b in load_path(f)]
        assert names == [p["metadata"]["name"] for p in pods]
    multi = tmp_path / "pods.yaml"
    multi.write_text("---\n".join(yaml.safe_dump(p) for p in pods))
    assert len(load_path(multi)) == 6


def test_list_with_other_kinds_keeps_the_pods(tmp_path: Path) -> None:
    pod = json.loads((EXAMPLE / "pod.json").read_text())
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}}
    f = tmp_path / "all.json"
    f.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [svc, pod]}))
    assert [b.pod["kind"] for b in load_path(f)] == ["Pod"]
    f.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [svc]}))
    with pytest.raises(InputError, match="no Pod in the list \\(found: Service\\)"):
        load_path(f)


def test_bundle_parts_are_optional_and_events_may_be_a_plain_array(tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(EXAMPLE / "pod.json", bare / "pod.json")
    (bundle,) = load_path(bare)
    assert bundle.events == () and bundle.logs == {} and bundle.captured_at is None
    arr = tmp_path / "array"
    shutil.copytree(EXAMPLE, arr)
    items = json.loads((EXAMPLE / "events.json").read_text())["items"]
    (arr / "events.json").write_text(json.dumps(items))
    assert len(load_path(arr)[0].events) == len(items)


def test_directory_of_bundles(tmp_path: Path) -> None:
    for d in fixture_dirs()[:3]:
        shutil.copytree(d, tmp_path / d.name)
    assert [b.source for b in load_path(tmp_path)] == [
        str(tmp_path / d.name) for d in fixture_dirs()[:3]
    ]


def test_events_of_other_objects_and_earlier_pods_are_ignored(tmp_path: Path) -> None:
    b = tmp_path / "b"
    shutil.copytree(EXAMPLE, b)
    events = json.loads((EXAMPLE / "events.json").read_text())
    stray = json.loads(json.dumps(events["items"][-1]))
    stray["involvedObject"]["uid"] = "00000000-0000-0000-0000-000000000000"  # same name, old pod
    other = json.loads(json.dumps(events["items"][-1]))
    other["involvedObject"]["name"] = "another-pod"
    events["items"] += [stray, other]
    (b / "events.json").write_text(json.dumps(events))
    (report,) = diagnose_path(b)
    (finding,) = report.findings
    backoff = [e for e in finding.evidence if e.source == "event"]
    assert backoff and "x27" in backoff[0].ref  # the pod's own event, not the stray copies


def test_console_scripts_are_installed() -> None:
    bindir = Path(sys.executable).parent
    for name in ("initdoctor", "kubectl-initdoctor"):
        exe = shutil.which(name, path=str(bindir)) or shutil.which(name)
        assert exe, f"{name} is not installed"
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True)
        assert out.stdout.startswith("initdoctor ")
