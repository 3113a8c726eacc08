"""Offline diagnosis runs on the standard library alone.

The third-party packages are installed in the test environment, so their absence is
simulated: a fresh interpreter gets a ``sys.meta_path`` finder that refuses them before any
other finder is asked, then loads, diagnoses and renders every fixture. The finder also
records every attempt, with the package module that made it: an import wrapped in ``try``
would survive the refusal yet still cost start-up time wherever the package is installed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from podinit_diag import diagnose_path

from ..conftest import ROOT, fixture_dirs

BLOCKED = ("kubernetes", "yaml", "tabulate", "cryptography", "urllib3")
BUNDLES = [*fixture_dirs(), ROOT / "examples" / "init-crashloop"]

BLOCKER = textwrap.dedent(
    """
    import sys, traceback

    BLOCKED = {blocked!r}
    attempts = []

    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] not in BLOCKED:
                return None
            frames = traceback.extract_stack()
            ours = [f for f in frames if "podinit_diag" in f.filename]
            where = f"{{ours[-1].filename}}:{{ours[-1].lineno}}" if ours else "?"
            attempts.append(f"{{name}} from {{where}}")
            raise ImportError(f"{{name}} is blocked in this test")

    sys.meta_path.insert(0, Blocker())
    """
).format(blocked=set(BLOCKED))

DIAGNOSE_ALL = textwrap.dedent(
    """
    import json

    import podinit_diag
    from podinit_diag.render import jsonout, markdown

    codes = {}
    for path in sys.argv[1:]:
        reports = podinit_diag.diagnose_path(path)
        assert json.loads(jsonout.render(reports))["reports"], path
        assert markdown.render(reports).strip(), path
        codes[path] = [[f.code for f in r.findings] for r in reports]
    loaded = sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED)
    print(json.dumps({"codes": codes, "attempts": attempts, "loaded": loaded}))
    """
)


def _run(script: str, *args: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def blocked_run() -> dict[str, Any]:
    result: dict[str, Any] = _run(BLOCKER + DIAGNOSE_ALL, *(str(b) for b in BUNDLES))
    return result


def test_diagnosis_and_rendering_never_import_the_blocked_packages(
    blocked_run: dict[str, Any],
) -> None:
    assert blocked_run["attempts"] == []
    assert blocked_run["loaded"] == []
    assert sorted(blocked_run["codes"]) == sorted(str(b) for b in BUNDLES)


@pytest.mark.parametrize("bundle", BUNDLES, ids=[b.name for b in BUNDLES])
def test_findings_without_the_packages_equal_findings_with_them(
    blocked_run: dict[str, Any], bundle: Path
) -> None:
    with_packages = [[f.code for f in r.findings] for r in diagnose_path(bundle)]
    assert blocked_run["codes"][str(bundle)] == with_packages


def test_import_podinit_diag_loads_no_client_server_or_third_party_module() -> None:
    # No blocker: what matters is what gets imported where all of it is installed.
    # the offline names are loaded when first used: use them
    loaded = _run(
        "import json, sys; import podinit_diag; "
        "podinit_diag.diagnose, podinit_diag.load_path, podinit_diag.render, podinit_diag.RULES; "
        "print(json.dumps(sorted(sys.modules)))"
    )
    assert "podinit_diag.core.model" in loaded  # the probe saw the package's own imports
    assert "podinit_diag.engine" in loaded
    ours = ("podinit_diag.devserver", "podinit_diag.sources.cluster")
    unwanted = [
        m
        for m in loaded
        if m.partition(".")[0] in BLOCKED or m in ours or m.startswith(tuple(f"{o}." for o in ours))
    ]
    assert unwanted == []
