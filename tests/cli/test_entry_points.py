"""The ways in: `python -m podinit_diag`, the package root a script imports, one version."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys

import pytest

import podinit_diag
from podinit_diag.render import jsonout, markdown, table

from ..conftest import ROOT

EXAMPLE = str(ROOT / "examples" / "init-crashloop")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=ROOT, timeout=60
    )


def test_python_dash_m_is_the_command() -> None:
    as_module = _run("-m", "podinit_diag", "--from", EXAMPLE, "-o", "json")
    as_cli = _run("-m", "podinit_diag.cli", "--from", EXAMPLE, "-o", "json")
    assert as_module.returncode == as_cli.returncode == 1  # the example has an error
    assert as_module.stdout == as_cli.stdout
    assert json.loads(as_module.stdout)["reports"][0]["findings"][0]["code"] == "PI101"


def test_one_version_string() -> None:
    version = _run("-m", "podinit_diag", "--version")
    assert version.stdout.strip() == f"initdoctor {podinit_diag.__version__}"
    # the installed metadata is read from the same string (pyproject's dynamic version)
    assert importlib.metadata.version("podinit-diag") == podinit_diag.__version__
    (report,) = podinit_diag.diagnose_path(EXAMPLE)
    assert json.loads(jsonout.render([report]))["tool"]["version"] == podinit_diag.__version__


def test_the_root_is_what_a_script_needs() -> None:
    reports = podinit_diag.diagnose_path(EXAMPLE)
    assert podinit_diag.render(reports, "markdown") == markdown.render(reports)
    assert podinit_diag.render(reports, "table") == table.render(reports)
    assert podinit_diag.render(reports, "json") == jsonout.render(reports)
    assert [r.code for r in podinit_diag.all_rules()] == [r.code for r in podinit_diag.RULES]
    (bundle,) = podinit_diag.load_path(EXAMPLE)
    assert podinit_diag.pod_status(bundle.pod).status == reports[0].pod.status
    # the live names come from the sources layer, on first use
    from podinit_diag.sources import cluster, fetch

    assert podinit_diag.Cluster is cluster.Cluster
    assert podinit_diag.Settings is cluster.Settings
    assert podinit_diag.fetch_bundle is fetch.fetch_bundle
    with pytest.raises(AttributeError, match="no attribute 'nosuch'"):
        _ = podinit_diag.nosuch  # type: ignore[attr-defined]


def test_the_root_loads_neither_the_client_nor_yaml_until_asked() -> None:
    probe = (
        "import sys, podinit_diag; "
        "before = {m for m in ('kubernetes', 'yaml', 'urllib3') if m in sys.modules}; "
        "podinit_diag.Cluster; "
        "print(sorted(before), 'podinit_diag.sources.cluster' in sys.modules)"
    )
    out = _run("-c", probe).stdout.split()
    assert out == ["[]", "True"]
