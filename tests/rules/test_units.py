"""Small pieces with sharp edges on the rules' side: log recognition, sleeps in commands,
network targets in log lines."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from podinit_diag.core.model import Bundle, ContainerView
from podinit_diag.core.normalize import normalize
from podinit_diag.rules.classify import find_sleep
from podinit_diag.rules.logscan import Category, classify, network_target
from podinit_diag.rules.messages import image_pull_code


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
        # Docker escapes the quotes of runc's message (kubernetes#77644)
        (
            "OCI runtime create failed: container_linux.go:348: starting container process "
            'caused "exec: \\"/binbash\\": stat /binbash: no such file or directory": unknown',
            Category.NOT_FOUND,
        ),
        (
            "mkdir: can't create directory '/etc/nginx/conf.d': Read-only file system",
            Category.PERMISSION,
        ),
        (
            "OSError: [Errno 30] Read-only file system: '/app/static'",
            Category.PERMISSION,
        ),
        (
            "type=AVC msg=audit(1700000000.123:456): avc:  denied  { write } for  pid=1234 "
            'comm="cp" name="data"',
            Category.PERMISSION,
        ),
        (
            "applying apparmor profile to container 43ed6b: empty localhost AppArmor profile "
            "is forbidden",
            Category.PERMISSION,
        ),
        (
            'pods is forbidden: User "system:serviceaccount:kafka:default" cannot get resource '
            '"pods" in API group "" in the namespace "kafka"',
            Category.FORBIDDEN,
        ),
        (
            "OCI runtime create failed: runc create failed: unable to start container process: "
            "container init was OOM-killed (memory limit too low?): unknown",
            Category.OOM,
        ),
        ("error: timed out waiting for the condition on jobs/db-migrate", Category.WAIT),
        (
            "TimeoutError: Could not connect to the database after 300 seconds",
            Category.WAIT,
        ),
        (
            "You have 3 unapplied migration(s). Your project may not work properly until you "
            "apply the migrations for app(s): orders.",
            None,  # a warning Django prints at every start, not the container giving up
        ),
        ("django: still unapplied migrations after 120s, giving up", Category.WAIT),
        (
            "Error: /usr/local/share/lua/5.1/kong/cmd/utils/migrations.lua:20: New migrations "
            "available; run 'kong migrations up' to proceed",
            Category.WAIT,
        ),
        ('Error from server (NotFound): jobs.batch "release1-migrations" not found', Category.WAIT),
        (
            "ERROR linkerd_network_validator: Failed to validate networking configuration. "
            "Please ensure iptables rules are rewriting traffic as expected.",
            Category.UNREACHABLE,
        ),
        ("User not found in directory", None),
        ("HTTP 404 Not Found", None),
        ("Applying orders.0042_add_shipping_region... OK", None),
    ],
)
def test_log_classification(line: str, category: Category | None) -> None:
    assert classify(line) is category


def _container(command: object, args: object) -> ContainerView:
    """The init container of a pod with that command and args, as normalization sees it."""
    spec = {"name": "c", "command": command, "args": args}
    pod = {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"initContainers": [spec]}}
    (c,) = normalize(Bundle(pod=pod), datetime(2026, 1, 1, tzinfo=UTC)).containers
    return c


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


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (
            'Failed to pull image "ghcr.io/kthena/downloader:latest": Error response from daemon: '
            'Head "https://ghcr.io/v2/kthena/downloader/manifests/latest": denied',
            "PI202",
        ),
        (
            'Failed to pull image "busybox:1.36": rpc error: code = NotFound desc = failed to pull '
            'and unpack image "docker.io/library/busybox:1.36": no match for platform in manifest: '
            "not found",
            "PI208",
        ),
        (
            'Failed to pull image "registry.example.com/app:1.2": rpc error: code = NotFound '
            'desc = failed to pull and unpack image "registry.example.com/app:1.2": failed to '
            'resolve reference "registry.example.com/app:1.2": registry.example.com/app:1.2: '
            "not found",
            "PI201",
        ),
    ],
)
def test_pull_errors_as_registries_word_them(message: str, code: str) -> None:
    assert image_pull_code(message) == code
