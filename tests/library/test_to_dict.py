"""``Report.to_dict()`` is one element of ``initdoctor -o json``'s ``reports`` (the CLI's own
output, for every fixture), redaction included; ``to_json()`` is the same as JSON text."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import jsonschema
import pytest

from podinit_diag import diagnose, diagnose_path

from ..conftest import FIXTURES, ROOT, fixture_dirs

PEM_LINE = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7"


@pytest.mark.live
def test_to_dict_is_the_cli_json_report_of_every_fixture() -> None:
    """One CLI run over the fixtures directory (each bundle judged at its capture time,
    as diagnose_path does): its reports, by pod, are the library's dicts."""
    res = subprocess.run(
        [sys.executable, "-m", "podinit_diag", "--from", str(FIXTURES), "-o", "json", "--all"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert res.returncode in (0, 1), res.stderr
    printed = json.loads(res.stdout)["reports"]
    by_source = {r["source"]: r for r in printed}  # each bundle's directory
    dirs = fixture_dirs()
    assert len(by_source) == len(printed) == len(dirs)
    for d in dirs:
        (report,) = diagnose_path(d)
        assert report.to_dict() == by_source[str(d)], d.name


def test_to_json_is_to_dict_as_ascii_json(report_schema: dict[str, Any]) -> None:
    for d in fixture_dirs()[::10]:
        (report,) = diagnose_path(d)
        text = report.to_json()
        assert text.isascii() and not text.endswith("\n")
        assert json.loads(text) == report.to_dict()
        assert "\n" not in report.to_json(indent=None)
        envelope = {
            "schema_version": 1,
            "tool": {"name": "initdoctor", "version": "0"},
            "reports": [report.to_dict()],
            "errors": [],
        }
        jsonschema.validate(envelope, report_schema, format_checker=jsonschema.FormatChecker())


def test_to_dict_redacts_what_the_cli_would_not_print() -> None:
    """A password in a log line and a key in a message: masked in to_dict as in -o json,
    with the reference (a log file and line) kept whole."""
    d = FIXTURES / "PI101-init-crashloop-migrate"
    pod = json.loads((d / "pod.json").read_text())
    log = "\n".join(
        [
            "Connecting to postgres://migrator:hunter2hunter2@db:5432/orders",
            "-----BEGIN PRIVATE KEY-----",
            PEM_LINE,
            "-----END PRIVATE KEY-----",
            "Error: password authentication failed for user migrator PGPASSWORD=hunter2hunter2",
        ]
    )
    report = diagnose(pod, logs={"db-migrate.previous": log})
    text = report.to_json()
    assert "hunter2hunter2" not in text and PEM_LINE not in text
    logs = [e for f in report.to_dict()["findings"] for e in f["evidence"] if e["source"] == "log"]
    (quoted,) = logs
    assert quoted["ref"] == "logs/db-migrate.previous.log:5" and quoted["line"] == 5
    # the context is the key's lines, masked line for line
    assert quoted["before"][0].startswith("-----BEGIN") and len(quoted["before"]) == 3
    assert "[REDACTED]" in quoted["text"]


def test_log_evidence_fields_appear_only_on_log_evidence() -> None:
    (report,) = diagnose_path(FIXTURES / "PI101-init-crashloop-migrate")
    for f in report.to_dict()["findings"]:
        for e in f["evidence"]:
            if e["source"] == "log":
                assert list(e) == ["source", "ref", "text", "line", "before", "after"]
            else:
                assert list(e) == ["source", "ref", "text"]
