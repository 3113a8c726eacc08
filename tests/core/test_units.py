"""Small pieces with sharp edges: time, durations, exit codes, redaction, and an import
of the package that leaves the kubernetes client alone."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone

import pytest

from podinit_diag.core.exitcodes import describe
from podinit_diag.core.kubetime import format_time, human_duration, parse_duration, parse_time
from podinit_diag.core.model import Termination
from podinit_diag.core.redact import MASK, redact


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "<invalid>"),
        (-1, "0s"),
        (0, "0s"),
        (119, "119s"),
        (120, "2m"),
        (125, "2m5s"),
        (600, "10m"),
        (3 * 3600 - 1, "179m"),
        (3 * 3600, "3h"),
        (7 * 3600 + 60, "7h1m"),
        (8 * 3600, "8h"),
        (47 * 3600, "47h"),
        (48 * 3600, "2d"),
        (50 * 3600, "2d2h"),
        (8 * 86400, "8d"),
        (730 * 86400, "2y"),
        (731 * 86400, "2y1d"),
        (8 * 365 * 86400, "8y"),
    ],
)
def test_human_duration_matches_apimachinery(seconds: int, text: str) -> None:
    assert human_duration(timedelta(seconds=seconds)) == text


def test_parse_time() -> None:
    assert parse_time("2024-03-01T10:00:00Z") == datetime(2024, 3, 1, 10, tzinfo=UTC)
    assert parse_time("2024-03-01T12:00:00.123456789+02:00") == datetime(
        2024, 3, 1, 10, 0, 0, 123456, tzinfo=UTC
    )
    for bad in (None, 5, "", "yesterday", "2024-13-01T00:00:00Z"):
        assert parse_time(bad) is None


def test_format_time() -> None:
    assert format_time(datetime(2024, 3, 1, 10, 0, 5, 999999, tzinfo=UTC)) == "2024-03-01T10:00:05Z"
    east = timezone(timedelta(hours=2))
    assert format_time(datetime(2024, 3, 1, 0, 30, tzinfo=east)) == "2024-02-29T22:30:00Z"
    assert format_time(datetime(1, 1, 1, tzinfo=UTC)) == "0001-01-01T00:00:00Z"  # Go's zero time


def test_parse_duration() -> None:
    assert parse_duration("5m") == timedelta(minutes=5)
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("90") == timedelta(seconds=90)
    for bad in ("", "5 minutes", "m5", "1x"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def _t(code: int | None, reason: str = "Error") -> Termination:
    return Termination(code, None, reason, "", None, None, "$")


def test_exit_codes_read_with_reason() -> None:
    assert "OOMKilled" in describe(_t(137, "OOMKilled"))
    assert "not an OOM kill" in describe(_t(137))
    assert "SIGSEGV" in describe(_t(139))
    assert "SIGTERM" in describe(_t(143))
    assert "command not found" in describe(_t(127))
    assert "not executable" in describe(_t(126))
    assert describe(_t(None, "Completed")) == "Completed"


@pytest.mark.parametrize(
    "line",
    [
        "connecting with password=hunter2secret",
        "DATABASE_URL=postgres://app:s3cr3tpass@db:5432/shop",
        "Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJlLXZhbHVl",
        "aws key AKIAIOSFODNN7EXAMPLE used",
        'api_key: "abcd1234efgh"',
        "password=hunter2secret Authorization: Bearer c2lnbmF0dXJlLXZhbHVl",
    ],
)
def test_redaction(line: str) -> None:
    out = redact(line)
    assert MASK in out
    for secret in (
        "hunter2secret",
        "s3cr3tpass",
        "c2lnbmF0dXJlLXZhbHVl",
        "AKIAIOSFODNN7EXAMPLE",
        "abcd1234efgh",
    ):
        assert secret not in out


def test_importing_the_package_does_not_import_the_kubernetes_client() -> None:
    code = (
        "import sys, podinit_diag; from podinit_diag import cli; "
        "bad = [m for m in ('kubernetes', 'urllib3', 'tabulate') if m in sys.modules]; "
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['tabulate']" or out.stdout.strip() == "[]"
    core = "import sys, podinit_diag; print('kubernetes' in sys.modules, 'tabulate' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", core], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"
