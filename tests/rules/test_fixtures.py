"""All rules on every fixture bundle: the exact sequence of (code, container) must match,
in order, root cause first.

The expected.json files were written by hand from the rule semantics and the
kubectl printer, not generated from this code. Each lists its findings in the order a
user should read them: the finding that explains the others first (a pod that cannot be
scheduled before anything about its containers; an init container declared before the
proxy it needs before the connection refused that follows from it), symptoms and spec
advice after.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from jsonpath_ng import parse as jsonpath

from podinit_diag import Config, all_rules, diagnose_path
from podinit_diag.core.model import quote_value
from podinit_diag.core.redact import redact
from podinit_diag.render import jsonout, markdown, table

from ..conftest import DOCS, expected, fixture_dirs

DIRS = fixture_dirs()
IDS = [d.name for d in DIRS]


@pytest.mark.parametrize("bundle", DIRS, ids=IDS)
def test_findings_match_expected(bundle: Path) -> None:
    (report,) = diagnose_path(bundle)
    want = expected(bundle)
    got = [(f.code, f.container) for f in report.findings]
    assert got == [(f["code"], f["container"]) for f in want["findings"]]
    assert report.errors == ()
    if "status" in want:
        assert report.pod.status == want["status"]
    if "ready" in want:
        assert report.pod.ready == want["ready"]


@pytest.mark.parametrize("bundle", DIRS, ids=IDS)
def test_status_and_spec_evidence_refs_resolve(bundle: Path) -> None:
    (report,) = diagnose_path(bundle)
    pod = json.loads((bundle / "pod.json").read_text())
    for f in report.findings:
        assert f.evidence, f"{f.code} has no evidence"
        for e in f.evidence:
            if e.source not in ("status", "spec"):
                continue
            matches = jsonpath(e.ref).find(pod)
            assert len(matches) == 1, f"{e.ref} resolves to {len(matches)} values"
            # the quoted value, with secret-looking parts masked
            assert redact(quote_value(matches[0].value)) == e.text, e.ref


@pytest.mark.parametrize("bundle", DIRS, ids=IDS)
def test_log_evidence_quotes_the_log(bundle: Path) -> None:
    (report,) = diagnose_path(bundle)
    for f in report.findings:
        for e in f.evidence:
            if e.source == "log":
                path, _, line = e.ref.rpartition(":")
                assert (bundle / path).is_file(), e.ref
                assert int(line) >= 1
                raw = (bundle / path).read_bytes().decode("utf-8", "replace")
                assert e.text.rstrip("…")[:60] in raw.replace("\x00", "")


@pytest.mark.parametrize("bundle", DIRS, ids=IDS)
def test_json_output_validates_against_published_schema(
    bundle: Path, report_schema: dict[str, Any]
) -> None:
    reports = diagnose_path(bundle)
    doc = json.loads(jsonout.render(reports))
    jsonschema.validate(doc, report_schema, format_checker=jsonschema.FormatChecker())


@pytest.mark.parametrize("bundle", DIRS, ids=IDS)
def test_every_renderer_names_every_finding(bundle: Path) -> None:
    reports = diagnose_path(bundle)
    for text in (table.render(reports), markdown.render(reports)):
        for f in reports[0].findings:
            assert f.code in text and f.fix.split()[0] in text
        assert reports[0].pod.status in text


def test_every_rule_has_a_positive_fixture() -> None:
    covered = {f["code"] for d in DIRS for f in expected(d)["findings"]}
    named = {d.name.split("-", 1)[0] for d in DIRS}
    for r in all_rules():
        assert r.code in covered, f"no fixture expects {r.code}"
        assert r.code in named, f"no fixture directory is named after {r.code}"


def test_near_miss_negatives_exist_and_are_clean() -> None:
    negatives = [d for d in DIRS if d.name.startswith("ok-")]
    assert len(negatives) >= 4
    for d in negatives:
        assert expected(d)["findings"] == []


def test_every_rule_is_documented_in_rules_md() -> None:
    text = (DOCS / "rules.md").read_text()
    for r in all_rules():
        assert f"## {r.code} {r.name}" in text
        for section, _ in r.sections:
            assert section in text


def test_stuck_threshold_is_configurable() -> None:
    stuck = [d for d in DIRS if d.name.startswith("PI106")]
    assert stuck
    (report,) = diagnose_path(stuck[0], Config(stuck_after=timedelta(days=1)))
    assert "PI106" not in {f.code for f in report.findings}
    (ok,) = diagnose_path(
        next(d for d in DIRS if d.name == "ok-init-running-2-minutes"),
        Config(stuck_after=timedelta(seconds=60)),
    )
    # its command polls a host: past the threshold it waits on that dependency
    assert [f.code for f in ok.findings] == ["PI107"]
