"""The demo's scenarios are fixtures too: each is mirrored, file for file, by a fixture
directory whose expected findings the fixture tests check. Copies, not symbolic links
(bundles never follow links, see docs/security.md), kept identical here."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..conftest import FIXTURES, ROOT

SCENARIOS = sorted(
    d for d in (ROOT / "podinit_diag" / "devserver" / "scenarios").iterdir() if d.is_dir()
)


def _files(d: Path) -> dict[str, bytes]:
    return {
        str(f.relative_to(d)): f.read_bytes()
        for f in sorted(d.rglob("*"))
        if f.is_file() and f.name != "expected.json" and "__pycache__" not in f.parts
    }


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda d: d.name)
def test_every_scenario_has_an_identical_fixture(scenario: Path) -> None:
    mine = _files(scenario)
    assert "pod.json" in mine
    twins = [
        d.name
        for d in FIXTURES.iterdir()
        if (d / "pod.json").is_file() and (d / "pod.json").read_bytes() == mine["pod.json"]
    ]
    assert twins, f"no fixture mirrors scenario {scenario.name}"
    for twin in twins:  # a fixture may add to the scenario (related objects), not change it
        fixture = _files(FIXTURES / twin)
        assert {k: fixture.get(k) for k in mine} == mine, f"{twin} differs from {scenario.name}"
