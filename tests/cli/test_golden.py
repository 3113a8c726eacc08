"""The human report at 80 and 200 columns for three pods (an init container crash-looping
with a traceback in its log, a native sidecar declared after the init container that needs
it, a pod unschedulable because of an init container's request), compared byte for byte
with files reviewed by eye when they were made. `UPDATE_GOLDEN=1` rewrites them: read the
diff before committing it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import FIXTURES, ROOT

GOLDEN = Path(__file__).parent / "golden"
PODS = (
    "PI101-init-crashloop-migrate",
    "PI404-init-declared-before-cloud-sql-proxy",
    "PI001-init-request-too-large",
)


@pytest.mark.parametrize("columns", [80, 200])
@pytest.mark.parametrize("pod", PODS)
def test_table_matches_the_reviewed_rendering(pod: str, columns: int) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "PYTHONIOENCODING")}
    out = subprocess.run(
        [sys.executable, "-m", "podinit_diag", "--from", str(FIXTURES / pod)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env | {"COLUMNS": str(columns), "PYTHONIOENCODING": "utf-8"},
        cwd=ROOT,
    )
    assert out.returncode == 1, out.stderr
    path = GOLDEN / f"{pod}.{columns}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(out.stdout, encoding="utf-8")
    assert out.stdout == path.read_text(encoding="utf-8")
    widest = max(len(line) for line in out.stdout.splitlines())
    assert widest <= columns or columns == 80  # at 80 only a whole command may overflow
