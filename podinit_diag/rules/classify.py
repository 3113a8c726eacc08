"""Decide, once per container, the single most specific trouble and the rule that owns it.

Several rules describe the same container from different angles (an OOM kill is
also a crash loop, a missing Service is also a network failure); reporting all
of them would bury the root cause. This module is the precedence table, in the
kubelet's own order: image pull, configuration, process start, then what the
running process did (OOM kill, missing command, permission, dependency,
network, generic crash), then probes and readiness. Each rule module then only
words the verdicts that carry its code.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from podinit_diag.core.model import (
    ContainerKind,
    ContainerView,
    EventView,
    LogExcerpt,
    PodSnapshot,
    Termination,
)
from podinit_diag.core.normalize import as_list
from podinit_diag.core.redact import redact
from podinit_diag.rules.dependency import Dependency, find_unavailable_dependency
from podinit_diag.rules.logscan import SCAN_LAST_LINES, Category, Hit, classify, scan_log

if TYPE_CHECKING:
    from podinit_diag.rules.base import Config

START_FAILURE_REASONS = frozenset(
    {"CreateContainerError", "RunContainerError", "StartError", "ContainerCannotRun"}
)
IMAGE_REASONS = frozenset(
    {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"}
)
_FAILING_WAITS = START_FAILURE_REASONS | {"CrashLoopBackOff"}
FAILED_TERMINATION_REASONS = frozenset({"Error", "OOMKilled", "StartError", "ContainerCannotRun"})
# Pod-level ends whose container kills are symptoms, reported by the PI0xx rules.
LIFECYCLE_REASONS = frozenset({"Evicted", "Preempted", "DeadlineExceeded", "NodeLost", "Shutdown"})
RECENT_FAILURE = timedelta(minutes=10)  # longer than the kubelet's 5-minute back-off cap
PROBE_FAILURES_THRESHOLD = 3


@dataclass(frozen=True, slots=True)
class Sleep:
    seconds: float  # math.inf for `sleep infinity`
    text: str
    where: tuple[tuple[str, object], ...]  # (JSONPath, value) of the command/args holding it


@dataclass(frozen=True, slots=True)
class Verdict:
    """One container's trouble, owned by the rule whose code it carries."""

    container: ContainerView
    code: str
    termination: Termination | None = None  # the run that failed
    message: str = ""  # the kubelet's or runtime's words (redacted), when they explain it
    message_ref: str | None = None  # JSONPath of ``message`` in the pod status
    event: EventView | None = None  # the event that carries the explanation
    category: Category | None = None  # what the message or the log says, when recognised
    log_hit: Hit | None = None
    running_for: timedelta | None = None
    sleep: Sleep | None = None
    probes: tuple[EventView, ...] = ()
    dependency: Dependency | None = None


def classify_containers(snap: PodSnapshot, config: Config) -> tuple[Verdict, ...]:
    if snap.phase == "Succeeded":
        return ()
    killed = snap.reason in LIFECYCLE_REASONS
    apps = snap.app_containers
    job_over = snap.phase == "Failed" or (bool(apps) and all(c.state == "terminated" for c in apps))
    out = []
    for c in snap.containers:
        if c.state == "waiting":
            if c.reason in IMAGE_REASONS:
                out.append(_image(c, snap))
                continue
            if c.reason == "CreateContainerConfigError":
                out.append(_config(c))
                continue
            if c.reason in _NOT_STARTED and not c.restart_count:
                continue  # waiting its turn behind earlier containers: nothing of its own
        v = None
        if not killed:
            if c.kind is ContainerKind.INIT:
                v = _init(c, snap, config)
            elif c.kind is ContainerKind.SIDECAR:
                v = _sidecar(c, snap, config, job_over)
            else:
                v = _app(c, snap, config)
        if v is not None:
            out.append(v)
    return tuple(out)


# --- image and configuration: the kubelet never got to run the process -------------------


_NOT_STARTED = frozenset({"PodInitializing", "ContainerCreating"})


def _image(c: ContainerView, snap: PodSnapshot) -> Verdict:
    """Call only for a container waiting with one of IMAGE_REASONS."""
    ref = f"{c.status_ref}.state.waiting.message"
    if c.reason == "InvalidImageName":
        return Verdict(c, "PI205", message=redact(c.message), message_ref=ref)
    if c.reason == "ErrImageNeverPull":
        return Verdict(c, "PI206", message=redact(c.message), message_ref=ref)
    # ImagePullBackOff only says "Back-off pulling image"; the reason is in the last failure.
    event = next(
        (
            e
            for e in reversed(snap.events_for(c.name))
            if e.reason == "Failed" and e.message.startswith("Failed to pull image")
        ),
        None,
    )
    text = c.message if c.reason == "ErrImagePull" and c.message else ""
    if not text and event is not None:
        text = event.message
    code = image_pull_code(text)
    if text and text == c.message:
        return Verdict(c, code, message=redact(text), message_ref=ref, event=event)
    return Verdict(c, code, message=text, event=event)


# (code, lower-case needles one of which any match contains, pattern), checked in order.
_PULL_CODES: tuple[tuple[str, tuple[str, ...], re.Pattern[str]], ...] = (
    (
        "PI203",
        ("toomanyrequests", "429"),
        re.compile(r"toomanyrequests|429 Too Many Requests", re.I),
    ),
    (
        "PI202",
        ("denied", "unauthorized", "401", "403", "authorization", "credentials", "authentication"),
        re.compile(
            r"pull access denied|unauthorized|\b401\b|403 Forbidden|authorization failed"
            r"|no basic auth credentials|\bdenied:|authentication required",
            re.I,
        ),
    ),
    (
        "PI204",
        (
            "no such host",
            "timeout",
            "refused",
            "x509",
            "unreachable",
            "reset by peer",
            "dial tcp",
            "deadline",
        ),
        re.compile(
            r"no such host|i/o timeout|connection refused|TLS handshake timeout|x509:"
            r"|network is unreachable|connection reset by peer|dial tcp|context deadline exceeded",
            re.I,
        ),
    ),
    (
        "PI201",
        ("not found", "manifest unknown", "name unknown", "notfound"),
        re.compile(r"not found|manifest unknown|name unknown|NotFound", re.I),
    ),
)


def image_pull_code(text: str) -> str:
    """PI201-PI204 by the registry's wording; PI207 when it says nothing we recognise."""
    low = text.lower()
    for code, needles, pattern in _PULL_CODES:
        if any(n in low for n in needles) and pattern.search(text):
            return code
    return "PI207"


_CONFIG_CODES = (
    ("PI303", re.compile(r"couldn't find key (\S+) in (ConfigMap|Secret) ([\w.-]+)/([\w.-]+)")),
    ("PI301", re.compile(r"configmaps? \"([^\"]+)\" not found")),
    ("PI302", re.compile(r"secrets? \"([^\"]+)\" not found")),
)


def config_code(text: str) -> tuple[str, re.Match[str] | None]:
    for code, pattern in _CONFIG_CODES:
        m = pattern.search(text)
        if m:
            return code, m
    return "PI304", None


def _config(c: ContainerView) -> Verdict:
    """Call only for a container waiting with reason CreateContainerConfigError."""
    code, _ = config_code(c.message)
    ref = f"{c.status_ref}.state.waiting.message"
    return Verdict(c, code, message=redact(c.message), message_ref=ref)


# --- runs that failed --------------------------------------------------------------------


def has_failed(c: ContainerView) -> bool:
    if c.completed:
        return False
    if c.state == "waiting" and c.reason in _FAILING_WAITS:
        return True
    if c.terminated is not None:
        return _is_failure(c.terminated)
    return c.restart_count >= 1 and c.last_terminated is not None and _is_failure(c.last_terminated)


def _is_failure(t: Termination) -> bool:
    if t.reason == "ContainerStatusUnknown":
        return False  # the kubelet lost track of it (eviction, node trouble): not the program
    if t.exit_code is None:
        return t.reason in FAILED_TERMINATION_REASONS
    return t.exit_code != 0


def _recently_failed(c: ContainerView, snap: PodSnapshot) -> bool:
    """Has this app or sidecar container failed lately? A restart days ago is history."""
    if not has_failed(c):
        return False
    if c.terminated is not None or (c.state == "waiting" and c.reason in _FAILING_WAITS):
        return True  # failing right now
    last = c.last_terminated  # has_failed found it failed; only its age is left to judge
    return last is None or last.finished_at is None or snap.now - last.finished_at <= RECENT_FAILURE


def crash_log(snap: PodSnapshot, c: ContainerView) -> LogExcerpt | None:
    """The log of the run that died: the current log while the container is terminated,
    otherwise the previous instance's (what ``kubectl logs --previous`` shows)."""
    current, previous = snap.log(c.name, False), snap.log(c.name, True)
    first, second = (current, previous) if c.state == "terminated" else (previous, current)
    return first if first is not None else second


_ERRORISH = ("error", "fatal", "exception", "fail", "panic", "denied", "invalid")


def telling_line(log: LogExcerpt | None) -> Hit | None:
    """The line to quote when no known failure is recognised: the last error-looking line
    near the end (tools print hints after the error), else the last non-empty line."""
    if log is None:
        return None
    lines = log.lines
    start = max(0, len(lines) - SCAN_LAST_LINES)
    nonempty = [i for i in range(len(lines) - 1, start - 1, -1) if lines[i].strip()]
    chosen = next((i for i in nonempty if any(w in lines[i].lower() for w in _ERRORISH)), None)
    if chosen is None and nonempty:
        chosen = nonempty[0]
    if chosen is None:
        return None
    return Hit(None, lines[chosen], chosen + 1, f"{log.ref}:{chosen + 1}")


@dataclass(frozen=True)
class _Failure:
    """What is known about a failed run before deciding whose rule it is."""

    termination: Termination | None
    message: str
    message_ref: str | None
    category: Category | None
    hit: Hit | None
    start_failure: bool

    @property
    def exit_code(self) -> int | None:
        return self.termination.exit_code if self.termination else None

    @property
    def oom(self) -> bool:
        return self.termination is not None and self.termination.reason == "OOMKilled"

    @property
    def not_found(self) -> bool:
        return self.category is Category.NOT_FOUND or (
            not self.start_failure and self.exit_code == 127
        )

    @property
    def permission(self) -> bool:
        return self.category in (Category.PERMISSION, Category.FORBIDDEN) or (
            not self.start_failure and self.exit_code == 126
        )


def _failure(c: ContainerView, snap: PodSnapshot) -> _Failure:
    last = c.last_termination
    message, ref = "", None
    if c.state == "waiting" and c.reason in START_FAILURE_REASONS:
        message, ref = redact(c.message), f"{c.status_ref}.state.waiting.message"
    elif last is not None and last.reason in START_FAILURE_REASONS:
        message, ref = redact(last.message), f"{last.ref}.message"
    log = crash_log(snap, c)
    hit = scan_log(log)
    category = classify(message) if message else None
    if category is None and hit is not None:
        category = hit.category
    start = ref is not None or category is Category.EXEC_FORMAT
    return _Failure(last, message, ref, category, hit or telling_line(log), start)


def _verdict(c: ContainerView, code: str, f: _Failure, **extra: object) -> Verdict:
    return Verdict(
        c,
        code,
        termination=f.termination,
        message=f.message,
        message_ref=f.message_ref,
        category=f.category,
        log_hit=f.hit,
        **extra,  # type: ignore[arg-type]
    )


# --- regular init containers -------------------------------------------------------------


def _init(c: ContainerView, snap: PodSnapshot, config: Config) -> Verdict | None:
    if has_failed(c):
        f = _failure(c, snap)
        if f.start_failure:
            code = "PI104" if f.not_found else "PI105" if f.permission else "PI109"
            return _verdict(c, code, f)
        if f.oom:
            return _verdict(c, "PI103", f)
        if f.not_found:
            return _verdict(c, "PI104", f)
        if f.permission:
            return _verdict(c, "PI105", f)
        dep = find_unavailable_dependency(c, snap)
        if dep is not None:
            return _verdict(c, "PI107", f, dependency=dep)
        if f.category is not None and f.category.is_network:
            return _verdict(c, "PI110", f)
        return _verdict(c, "PI102" if snap.restart_policy == "Never" else "PI101", f)
    if c.state != "running":
        return None
    running_for = snap.now - c.started_at if c.started_at else None
    sleep = find_sleep(c)
    if sleep is not None and sleep.seconds >= config.stuck_after.total_seconds():
        return Verdict(c, "PI108", running_for=running_for, sleep=sleep)
    if running_for is None or running_for < config.stuck_after:
        return None
    log = snap.log(c.name, False)
    hit = scan_log(log)
    dep = find_unavailable_dependency(c, snap)
    if dep is not None:
        return Verdict(c, "PI107", log_hit=hit, running_for=running_for, dependency=dep)
    if hit is not None and hit.category is not None and hit.category.is_network:
        return Verdict(c, "PI110", category=hit.category, log_hit=hit, running_for=running_for)
    return Verdict(c, "PI106", log_hit=hit or telling_line(log), running_for=running_for)


# --- native sidecars ---------------------------------------------------------------------


def _sidecar(c: ContainerView, snap: PodSnapshot, config: Config, job_over: bool) -> Verdict | None:
    if job_over and c.state == "terminated":
        return None  # stopped with the pod at the end of a Job: expected, whatever the code
    if _recently_failed(c, snap):
        return _verdict(c, "PI401", _failure(c, snap))
    if c.state != "running":
        return None
    running_for = snap.now - c.started_at if c.started_at else None
    if not c.started:
        startup = probe_events(snap, c, "Startup")
        if startup:
            return Verdict(c, "PI402", probes=startup, running_for=running_for)
        return None
    if not c.ready:
        readiness = probe_events(snap, c, "Readiness")
        if readiness or (running_for is not None and running_for >= config.stuck_after):
            return Verdict(c, "PI403", probes=readiness, running_for=running_for)
    return None


# --- app containers ----------------------------------------------------------------------


def _app(c: ContainerView, snap: PodSnapshot, config: Config) -> Verdict | None:
    if c.state == "running" and c.ready and not c.restart_count:
        return None  # healthy: the common case, decided without reading events
    liveness = probe_events(snap, c, "Liveness")
    killed = liveness_kills(snap, c)
    if _recently_failed(c, snap):
        f = _failure(c, snap)
        if f.start_failure:
            return _verdict(c, "PI505" if f.not_found else "PI506", f)
        if killed or _count(liveness) >= PROBE_FAILURES_THRESHOLD:
            return _verdict(c, "PI503", f, probes=liveness + killed)
        if f.oom:
            return _verdict(c, "PI502", f)
        if f.not_found:
            return _verdict(c, "PI505", f)
        if snap.restart_policy == "Never":
            return _verdict(c, "PI504", f)
        return _verdict(c, "PI501", f)
    if c.state != "running":
        return None
    running_for = snap.now - c.started_at if c.started_at else None
    for kind in ("Liveness", "Readiness", "Startup") if snap.events else ():
        events = probe_events(snap, c, kind)
        if _count(events) >= PROBE_FAILURES_THRESHOLD:
            return Verdict(c, "PI503", probes=events, running_for=running_for)
    if (
        not c.ready
        and snap.condition_true("Initialized")
        and running_for is not None
        and running_for >= config.stuck_after
    ):
        return Verdict(c, "PI507", running_for=running_for)
    return None


def probe_events(snap: PodSnapshot, c: ContainerView, kind: str) -> tuple[EventView, ...]:
    """The container's ``Unhealthy`` events for one probe kind (Liveness, Readiness, Startup)."""
    prefixes = (f"{kind} probe failed", f"{kind} probe errored")
    return tuple(
        e
        for e in snap.events_for(c.name)
        if e.reason == "Unhealthy" and e.message.startswith(prefixes)
    )


def liveness_kills(snap: PodSnapshot, c: ContainerView) -> tuple[EventView, ...]:
    return tuple(
        e
        for e in snap.events_for(c.name)
        if e.reason == "Killing" and "failed liveness probe" in e.message
    )


def _count(events: tuple[EventView, ...]) -> int:
    return sum(e.count for e in events)


# --- sleeps ------------------------------------------------------------------------------

_SLEEP = re.compile(
    r"\bsleep\s+(?P<arg>infinity|inf|\d+(?:\.\d+)?[smhd]?)(?![\w.])"
    r"|\btime\.sleep\(\s*(?P<py>\d+(?:\.\d+)?)\s*\)"
)
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def find_sleep(c: ContainerView) -> Sleep | None:
    """The longest sleep in the container's argv (``command`` followed by ``args``)."""
    lists = {key: as_list(c.spec.get(key)) for key in ("command", "args")}
    candidates: list[tuple[str, tuple[tuple[str, object], ...]]] = [
        (w, ((f"{c.spec_ref}.{key}[{i}]", w),))
        for key, items in lists.items()
        for i, w in enumerate(items)
        if isinstance(w, str)
    ]
    # `command: [sleep]` + `args: ["10m"]`: the call spans elements, even both lists.
    argv = " ".join(w for items in lists.values() for w in items if isinstance(w, str))
    whole = tuple((f"{c.spec_ref}.{key}", items) for key, items in lists.items() if items)
    candidates.append((argv, whole))
    best: Sleep | None = None
    for text, where in candidates:
        if "sleep" not in text:
            continue
        for m in _SLEEP.finditer(text):
            seconds = _sleep_seconds(m)
            if best is None or seconds > best.seconds:
                best = Sleep(seconds, m.group(0), where)
    return best


def _sleep_seconds(m: re.Match[str]) -> float:
    if m.group("py"):
        return float(m.group("py"))
    arg = m.group("arg")
    if arg in ("infinity", "inf"):
        return math.inf
    unit = arg[-1] if arg[-1] in "smhd" else ""
    return float(arg[:-1] if unit else arg) * _UNIT[unit]
