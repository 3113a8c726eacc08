"""The real-incident corpus (tests/incidents): pods rebuilt from public bug reports, each
with the first finding its thread's confirmed cause calls for. The figures are printed by
``nox -s accuracy``; here they are held to the bar the project set itself."""

from __future__ import annotations

import json

import pytest

from podinit_diag import all_rules

from ..incidents.score import Outcome, incidents, score, summary

RESULTS: list[Outcome] = score()


def test_the_corpus_is_big_and_varied_enough() -> None:
    failing = [r for r in RESULTS if r.want is not None]
    assert len(RESULTS) >= 60
    assert len({r.klass for r in failing}) >= 15
    assert len(RESULTS) - len(failing) >= 10


def test_every_incident_says_where_it_comes_from_and_what_was_filled_in() -> None:
    codes = {r.code for r in all_rules()}
    for d in incidents():
        meta = json.loads((d / "incident.json").read_text())
        assert meta["source"].startswith("https://github.com/"), d.name
        for key in ("thread_showed", "filled_in", "cause", "class"):
            assert meta.get(key), f"{d.name}: {key}"
        if meta["expected"] is not None:
            assert meta["expected"]["code"] in codes, d.name
    sources = [json.loads((d / "incident.json").read_text())["source"] for d in incidents()]
    assert len(sources) == len(set(sources)), "one incident per thread"


def test_top1_accuracy_on_failing_pods_is_at_least_95_percent() -> None:
    failing = [r for r in RESULTS if r.want is not None]
    right = sum(r.right for r in failing)
    assert right / len(failing) >= 0.95, summary(RESULTS)


def test_no_failing_pod_is_silent() -> None:
    assert [r.name for r in RESULTS if r.want is not None and r.loud == 0] == []


@pytest.mark.parametrize("r", [r for r in RESULTS if r.want is None], ids=lambda r: r.name)
def test_healthy_pods_get_no_error_or_warning(r: Outcome) -> None:
    assert r.loud == 0, r.got


def test_the_summary_shows_the_confusion_table() -> None:
    text = summary(RESULTS)
    assert "top-1 (code and container)" in text and "confusion" in text
    # every expected code has a row
    for r in RESULTS:
        if r.want is not None:
            assert f"  {r.want[0]:8} -> " in text
