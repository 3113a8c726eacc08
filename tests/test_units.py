"""Small pieces with sharp edges: time, durations, log recognition, exit codes, redaction."""

from __future__ import annotations

import math
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone

import pytest

from podinit_diag.core.exitcodes import describe
from podinit_diag.core.kubetime import format_time, human_duration, parse_duration, parse_time
from podinit_diag.core.model import ContainerKind, ContainerView, Termination
from podinit_diag.core.redact import MASK, redact
from podinit_diag.rules.classify import find_sleep
from podinit_diag.rules.logscan import Category, classify, network_target


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


@pytest.mark.parametrize(
    ("line", "category"),
    [
        ("sh: migrate: not found", Category.NOT_FOUND),
        ("/bin/sh: 1: flyway: not found", Category.NOT_FOUND),
        ('exec: "pg_isready": executable file not found in $PATH: unknown', Category.NOT_FOUND),
        ("exec /usr/local/bin/app: no such file or directory", Category.NOT_FOUND),
        (
            'runc create failed: unable to start container process: exec: "/bin/bash": '
            "stat /bin/bash: no such file or directory: unknown",
            Category.NOT_FOUND,
        ),
        ("/bin/sh: 1: /scripts/init.sh: Permission denied", Category.PERMISSION),
        ("chown: /data: Operation not permitted", Category.PERMISSION),
        (
            'Error from server (Forbidden): configmaps is forbidden: User "system:serviceaccount:'
            'shop:default" cannot list resource "configmaps"',
            Category.FORBIDDEN,
        ),
        ("exec /usr/local/bin/migrate: exec format error", Category.EXEC_FORMAT),
        ("nslookup: can't resolve 'mydb'", Category.DNS),
        ("wget: bad address 'config-svc'", Category.DNS),
        ("dial tcp: lookup postgres on 10.96.0.10:53: no such host", Category.DNS),
        (
            'psql: error: connection to server at "postgres" (10.96.12.7), port 5432 failed: '
            "Connection refused",
            Category.REFUSED,
        ),
        ("dial tcp 10.96.3.4:6379: i/o timeout", Category.TIMEOUT),
        ("connect: Network is unreachable", Category.UNREACHABLE),
        ("User not found in directory", None),
        ("HTTP 404 Not Found", None),
        ("Applying orders.0042_add_shipping_region... OK", None),
    ],
)
def test_log_classification(line: str, category: Category | None) -> None:
    assert classify(line) is category


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


def _container(command: object, args: object) -> ContainerView:
    spec = {"name": "c", "command": command, "args": args}
    return ContainerView(
        "c",
        ContainerKind.INIT,
        0,
        0,
        spec,
        None,
        None,
        "running",
        "",
        "",
        0,
        False,
        True,
        None,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("command", "args", "seconds"),
    [
        (["sleep"], ["10m"], 600),
        (["sh", "-c", "sleep 3600"], None, 3600),
        (["sleep", "infinity"], None, math.inf),
        (["sh", "-c"], ["until nslookup db; do sleep 2; done"], 2),
        (["python", "-c", "import time; time.sleep(900)"], None, 900),
        (["sh", "-c", "echo sleep"], None, None),
        ("sleep 3600", None, None),  # not a list: ignored, not misread
    ],
)
def test_find_sleep(command: object, args: object, seconds: float | None) -> None:
    found = find_sleep(_container(command, args))
    assert (found.seconds if found else None) == seconds


@pytest.mark.parametrize(
    ("line", "host", "port", "service", "namespace"),
    [
        (
            "nslookup: can't resolve 'mydb.inventory.svc.cluster.local'",
            "mydb.inventory.svc.cluster.local",
            None,
            "mydb",
            "inventory",
        ),
        ("wget: bad address 'config-svc:8080'", "config-svc", "8080", "config-svc", "shop"),
        (
            'psql: error: connection to server at "postgres" (10.96.12.7), port 5432 failed: '
            "Connection refused",
            "postgres",
            "5432",
            "postgres",
            "shop",
        ),
        (
            "dial tcp: lookup redis.cache on 10.96.0.10:53: no such host",
            "redis.cache",
            None,
            "redis",
            "cache",
        ),
        (
            'Put "https://vault.example.com:8200/v1/auth": dial tcp 10.2.4.15:8200: i/o timeout',
            "vault.example.com",
            "8200",
            None,
            None,
        ),
        ("dial tcp 10.2.4.15:6379: connect: connection refused", "10.2.4.15", "6379", None, None),
        ("something timed out", None, None, None, None),
    ],
)
def test_network_target(
    line: str, host: str | None, port: str | None, service: str | None, namespace: str | None
) -> None:
    t = network_target(line, "shop")
    got = (t.host, t.port, t.service, t.namespace) if t else (None, None, None, None)
    assert got == (host, port, service, namespace)
