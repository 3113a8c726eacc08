"""Recognise the failure messages programs and container runtimes print.

The same patterns read log lines and the runtime messages in container states
and events. Patterns are anchored on how real tools word things (busybox, bash,
glibc, Go's net package, psql, curl, kubectl, runc) so that an application line
such as "user not found" does not read as a missing command.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from podinit_diag.core.lazyre import lazy
from podinit_diag.core.model import LogExcerpt


class Category(StrEnum):
    NOT_FOUND = "command not found"
    PERMISSION = "permission denied"
    FORBIDDEN = "forbidden by the API server (RBAC)"
    EXEC_FORMAT = "exec format error (wrong CPU architecture or not a binary)"
    OOM = "killed for running out of memory"
    WAIT = "gave up waiting for a dependency"
    DNS = "name does not resolve"
    REFUSED = "connection refused"
    TIMEOUT = "connection timed out"
    UNREACHABLE = "network unreachable"

    @property
    def is_network(self) -> bool:
        return self in _NETWORK


_NETWORK = frozenset({Category.DNS, Category.REFUSED, Category.TIMEOUT, Category.UNREACHABLE})

# Each category: lower-case needles one of which every match contains (a substring test is
# far cheaper than these case-insensitive alternations), then the pattern itself.
_RULES: tuple[tuple[Category, tuple[str, ...], re.Pattern[str]], ...] = (
    (Category.EXEC_FORMAT, ("exec format",), lazy(r"exec format error", re.I)),
    # runc's words when the cgroup limit kills the container's first process at start
    (Category.OOM, ("oom-kill",), lazy(r"container init was OOM-killed|\bOOM-killed\b", re.I)),
    (
        Category.NOT_FOUND,
        ("not found", "no such file"),
        lazy(
            r"executable file not found"
            r"|\b(?:sh|bash|ash|dash|zsh|env)(?:: line \d+)?: (?:\d+: )?\S+: (?:command )?not found"
            r"|^\S+: (?:command )?not found$"
            # Docker escapes the quotes of runc's message: exec: \"/x\": stat /x: ...
            r"|\bexec(?:: \\?\"[^\"]+?\\?\":)? \S+: no such file or directory"
            r"|\bexec: \\?\"[^\"]+?\\?\": stat \S+: no such file or directory"
            r"|can't execute '[^']+': No such file or directory",
            re.I,
        ),
    ),
    (
        Category.FORBIDDEN,
        ("forbidden",),
        lazy(
            r"Error from server \(Forbidden\)|is forbidden: User \"|\b403 Forbidden\b"
            r"|forbidden: User \"system:serviceaccount:"
            r"|cannot (?:get|list|watch|create|update|patch|delete) resource \"",
        ),
    ),
    (
        Category.PERMISSION,
        (
            "permission denied",
            "not permitted",
            "eacces",
            "eperm",
            "read-only file system",
            "erofs",
            "denied",
            "apparmor",
            "seccomp",
            "selinux",
        ),
        lazy(
            r"permission denied|operation not permitted|\bEACCES\b|\bEPERM\b"
            r"|read-only file system|\bEROFS\b"
            r"|avc:\s+denied|apparmor=\"DENIED\"|seccomp.*denied"
            # the runtime refusing a security profile (a start failure, not the program)
            r"|apparmor profile|seccomp profile|selinux (?:label|relabel|context)",
            re.I,
        ),
    ),
    (
        Category.DNS,
        (
            "no such host",
            "can't resolve",
            "bad address",
            "not known",
            "name resolution",
            "resolve host",
            "translate host",
            "enotfound",
            "nxdomain",
            "can't find",
        ),
        lazy(
            r"no such host|can't resolve|bad address '|name or service not known"
            r"|temporary failure in name resolution|could not resolve host"
            r"|could not translate host name|\bENOTFOUND\b|\bNXDOMAIN\b|server can't find",
            re.I,
        ),
    ),
    (
        Category.WAIT,
        (
            "timed out waiting",
            "timeout waiting",
            "timeouterror",
            "migration",
            "gave up waiting",
            "waited",
            "wait timeout",
            "waiting for",
            "notfound",
        ),
        lazy(
            r"timed? ?out waiting for|timeout waiting for|\bTimeoutError\b.*\bafter \d+"
            r"|still unapplied migrations|have unapplied migrations|gave up waiting for"
            r"|new migrations available|pending migrations|migrations? (?:are )?pending"
            # kubectl (k8s-wait-for, kubectl wait) asked for an object that does not exist
            r"|Error from server \(NotFound\): [\w.]+ \"[^\"]+\" not found"
            r"|waited \d+\S* (?:seconds? )?for|wait timeout"
            r"|\bwaiting for \S+.*\b(?:timed out|timeout|giving up|exceeded)",
            re.I,
        ),
    ),
    (
        Category.REFUSED,
        ("refused",),
        lazy(r"connection refused|\bECONNREFUSED\b", re.I),
    ),
    (
        Category.TIMEOUT,
        ("timed out", "timeout", "deadline exceeded"),
        lazy(
            r"connection timed out|i/o timeout|\btimed out\b|\bETIMEDOUT\b"
            r"|operation timed out|context deadline exceeded",
            re.I,
        ),
    ),
    (
        Category.UNREACHABLE,
        ("unreachable", "no route", "validat"),
        lazy(
            r"network is unreachable|no route to host|\bEHOSTUNREACH\b"
            # mesh validators (linkerd-network-validator, istio-validation): no redirect
            r"|failed to validate networking configuration|iptables validation failed",
            re.I,
        ),
    ),
)

SCAN_LAST_LINES = 40  # the cause of an exit is at the end; earlier noise misleads


@dataclass(frozen=True, slots=True)
class Hit:
    category: Category | None  # None: a plain line quoted for context
    text: str
    line: int  # its 1-based line number in the log (what ``ref`` names)
    ref: str  # ``logs/c.log:12``, or the ``kubectl logs`` command and the line
    before: tuple[str, ...] = ()  # the lines before it (see :func:`hit_at`)
    after: tuple[str, ...] = ()


CONTEXT_BEFORE = 3
CONTEXT_AFTER = 2
# A Python traceback's header this close before the line is shown with it: the frames
# between say where the exception was raised (the exception line itself comes last).
TRACEBACK_REACH = 8
_TRACEBACK = "Traceback (most recent call last):"


def hit_at(log: LogExcerpt, index: int, category: Category | None) -> Hit:
    """The line ``log.lines[index]`` as evidence: where it is, and a few lines around it
    (up to ``CONTEXT_BEFORE`` before, or back to a traceback header within
    ``TRACEBACK_REACH``; up to ``CONTEXT_AFTER`` after), as ``kubectl logs`` shows them."""
    lines = log.lines
    start = max(0, index - CONTEXT_BEFORE)
    for j in range(index - 1, max(-1, index - TRACEBACK_REACH - 1), -1):
        if _TRACEBACK in lines[j]:
            start = min(start, j)
            break
    ref, number = log.locate(index)
    return Hit(
        category,
        lines[index],
        number,
        ref,
        before=lines[start:index],
        after=lines[index + 1 : index + 1 + CONTEXT_AFTER],
    )


def classify(text: str) -> Category | None:
    low = text.lower()
    for category, needles, pattern in _RULES:
        if any(n in low for n in needles) and pattern.search(text):
            return category
    return None


def last_recognised(lines: Sequence[str]) -> tuple[int, Category] | None:
    """(index, category) of the last recognised failure line among the last
    ``SCAN_LAST_LINES`` lines: a log's tail, or a termination message (FallbackToLogsOnError
    puts the log's last lines there)."""
    start = max(0, len(lines) - SCAN_LAST_LINES)
    for i in range(len(lines) - 1, start - 1, -1):
        category = classify(lines[i])
        if category is not None:
            return i, category
    return None


def scan_log(log: LogExcerpt | None) -> Hit | None:
    """The last recognised failure line in the tail of a log, if any."""
    found = last_recognised(log.lines) if log is not None else None
    if log is None or found is None:
        return None
    i, category = found
    return hit_at(log, i, category)


_TARGETS = (
    lazy(r"can't resolve '([^']+)'"),
    lazy(r"bad address '([^']+)'"),
    lazy(r"\blookup ([\w.-]+)(?: on [\d.:\[\]a-f]+)?: no such host"),
    lazy(r"[Cc]ould not resolve host:? ([\w.-]+)"),
    lazy(r"could not translate host name \"([^\"]+)\""),
    lazy(r"connection to server at \"([^\"]+)\"(?: \([^)]*\))?, port (\d+)"),
    lazy(r"\bhttps?://([\w.-]+)(?::(\d+))?"),
    lazy(r"\bdial tcp ([\w.-]+):(\d+)"),
    lazy(r"\bconnect to ([\w.-]+)[: ]port (\d+)"),
    lazy(r"\b(?:getaddrinfo ENOTFOUND|ECONNREFUSED) ([\w.-]+)(?::(\d+))?"),
    lazy(r"\bserver can't find ([\w.-]+?)\.?:"),
)


@dataclass(frozen=True)
class Destination:
    host: str
    port: str | None
    service: str | None  # the Service the host names, when it is a cluster DNS name
    namespace: str | None


def network_target(line: str, pod_namespace: str) -> Destination | None:
    """The host (and port) a network failure line names, read as a Service where it can be."""
    for pattern in _TARGETS:
        m = pattern.search(line)
        if m is None:
            continue
        host = m.group(1)
        port = m.group(2) if pattern.groups >= 2 else None
        if port is None and re.fullmatch(r"[\w.-]+:\d+", host):
            host, port = host.rsplit(":", 1)
        svc = service_of(host, pod_namespace)
        return Destination(host, port, svc[0] if svc else None, svc[1] if svc else None)
    return None


def service_of(host: str, pod_namespace: str) -> tuple[str, str] | None:
    """(Service, namespace) a host name means to cluster DNS from a pod of ``pod_namespace``:
    ``db``, ``db.ns``, ``db.ns.svc``, ``db.ns.svc.<cluster domain>``; None for IPs and
    names outside the cluster."""
    if re.fullmatch(r"[\d.]+|[\da-fA-F:]+", host):
        return None
    parts = host.rstrip(".").split(".")
    if len(parts) == 1:
        return parts[0], pod_namespace
    if len(parts) == 2 or (len(parts) >= 3 and parts[2] == "svc"):
        return parts[0], parts[1]
    return None
