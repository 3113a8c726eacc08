"""docs/adding-a-rule.md, followed to the letter on a copy of the package: its example rule,
added to the family file it names and listed in that family's RULES, fires offline, in a
live scan and in --wait, with nothing else touched. The same rule without its ``events``
declaration fires offline only: the declaration is what scans are derived from."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from podinit_diag.devserver.apiserver import ApiServer
from podinit_diag.sources.files import load_path

from ..conftest import FIXTURES, ROOT, cli_env

pytestmark = [pytest.mark.live, pytest.mark.slow]

DOC = ROOT / "docs" / "adding-a-rule.md"
CODE = "PI099"  # unused: the catalogue test would fail on a clash
BASE = FIXTURES / "PI006-sandbox-aws-cni-ip-exhausted"  # a pod whose sandbox never came up
# The kubelet's event while the runtime reports NetworkReady=false (kubelet.go; wording as
# in https://github.com/kubernetes/kubernetes/issues/127563's kubelet log).
MESSAGE = (
    "network is not ready: container runtime network not ready: NetworkReady=false "
    "reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not "
    "initialized"
)


def _doc_steps() -> tuple[str, str, str]:
    """(family file, rule source, function name) as the page gives them."""
    text = DOC.read_text()
    family = re.search(r"`(podinit_diag/rules/\w+\.py)` for a node", text)
    assert family is not None, "the page names the family file of its example"
    blocks = [textwrap.dedent(b) for b in re.findall(r"```python\n(.*?)```", text, re.S)]
    source, listing = blocks[0], blocks[1]
    names = [n for n in re.findall(r"^\s+(\w+),$", listing, re.M)]
    assert len(names) == 1 and f"def {names[0]}(" in source
    return family.group(1), source, names[0]


def _package_with_rule(root: Path, declared: bool = True) -> Path:
    """A copy of the package with the page's example rule added as the page says."""
    shutil.copytree(
        ROOT / "podinit_diag", root / "podinit_diag", ignore=shutil.ignore_patterns("__pycache__")
    )
    family, source, name = _doc_steps()
    source = source.replace("PI0xx", CODE)
    if not declared:
        source = re.sub(r"\n\s*events=\([^)]*\),", "", source)
        assert "events=" not in source
    path = root / family
    text = path.read_text()
    assert text.count("\nRULES = (") == 1
    text = text.replace("\nRULES = (", f"\n{source}\n\nRULES = (\n    {name},", 1)
    path.write_text(text)
    return root


def _bundle(tmp: Path) -> Path:
    """The base pod, its events replaced by the kubelet's NetworkNotReady warning."""
    bundle = tmp / "bundle"
    shutil.copytree(BASE, bundle)
    pod = json.loads((bundle / "pod.json").read_text())
    meta, node = pod["metadata"], pod["spec"]["nodeName"]
    events = json.loads((bundle / "events.json").read_text())
    last = events["items"][-1]
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": f"{meta['name']}.17ef94ad0c2e3b41",
            "namespace": meta["namespace"],
            "uid": "5a0f7e0e-8a0c-4a43-a8e4-7d1b9c3f2e11",
            "resourceVersion": "48242311",
            "creationTimestamp": last["firstTimestamp"],
        },
        "involvedObject": last["involvedObject"],
        "reason": "NetworkNotReady",
        "message": MESSAGE,
        "source": {"component": "kubelet", "host": node},
        "firstTimestamp": last["firstTimestamp"],
        "lastTimestamp": last["lastTimestamp"],
        "count": 41,
        "type": "Warning",
        "eventTime": None,
        "reportingComponent": "kubelet",
        "reportingInstance": node,
    }
    events["items"] = [event]
    (bundle / "events.json").write_text(json.dumps(events, indent=2))
    return bundle


def _run(cwd: Path, env: dict[str, str] | None, *args: str) -> subprocess.CompletedProcess[str]:
    # cwd first on sys.path: `python -m podinit_diag` runs the copy under cwd
    return subprocess.run(
        [sys.executable, "-m", "podinit_diag", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def _codes(doc: Any) -> set[str]:
    return {f["code"] for r in doc["reports"] for f in r["findings"]}


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("new-rule")
    return {
        "declared": _package_with_rule(tmp / "declared"),
        "undeclared": _package_with_rule(tmp / "undeclared", declared=False),
        "bundle": _bundle(tmp),
    }


def test_the_new_rule_fires_offline(setup: dict[str, Path]) -> None:
    res = _run(setup["declared"], None, "--from", str(setup["bundle"]), "-o", "json")
    assert res.returncode == 1, res.stderr
    doc = json.loads(res.stdout)
    (finding,) = [f for r in doc["reports"] for f in r["findings"] if f["code"] == CODE]
    assert finding["rule"] == "node-network-not-ready"
    assert "NetworkReady=false" in finding["title"]
    # the unmodified package knows nothing of it
    before = _run(ROOT, None, "--from", str(setup["bundle"]), "-o", "json")
    assert CODE not in _codes(json.loads(before.stdout))
    # and the catalogue lists and explains it
    explained = _run(setup["declared"], None, "--explain", CODE)
    assert explained.returncode == 0 and "NetworkNotReady" in explained.stdout


def test_the_new_rule_fires_in_a_scan_because_it_declares_its_event(
    setup: dict[str, Path], tmp_path: Path
) -> None:
    (bundle,) = load_path(setup["bundle"])
    namespace = bundle.pod["metadata"]["namespace"]
    with ApiServer([bundle]) as server:
        env = cli_env(server, tmp_path)
        scan = _run(setup["declared"], env, "-n", namespace, "-o", "json")
        assert scan.returncode == 1, scan.stderr
        assert CODE in _codes(json.loads(scan.stdout))
        # without the declaration the scan never asks for the event: offline it fires...
        offline = _run(setup["undeclared"], None, "--from", str(setup["bundle"]), "-o", "json")
        assert CODE in _codes(json.loads(offline.stdout))
        # ...in a scan it does not
        blind = _run(setup["undeclared"], env, "-n", namespace, "-o", "json")
        assert CODE not in _codes(json.loads(blind.stdout)), blind.stdout


def test_the_new_rule_is_what_wait_reports(setup: dict[str, Path], tmp_path: Path) -> None:
    (bundle,) = load_path(setup["bundle"])
    meta = bundle.pod["metadata"]
    with ApiServer([bundle]) as server:
        env = cli_env(server, tmp_path)
        args = ("--wait", f"pod/{meta['name']}", "-n", meta["namespace"], "--timeout", "1s")
        res = _run(setup["declared"], env, *args, "-o", "json")
    assert res.returncode == 1, res.stderr
    final = json.loads(res.stdout.splitlines()[-1])
    assert final["wait"]["verdict"] == "timed out"
    assert CODE in _codes(final)
