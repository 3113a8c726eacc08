"""Decide, once per container, the single most specific trouble and the rule that owns it.

Several rules describe the same container from different angles (an OOM kill is
also a crash loop, a missing Service is also a network failure); reporting all
of them would bury the root cause. The precedence is data: for each kind of
container an ordered list of :class:`Case`, in the kubelet's own order (image pull,
configuration, process start, then what the running process did: OOM kill, missing
command, permission, dependency, network, generic crash; then probes and readiness).
The first case whose test holds decides; a case without a code means "nothing to say
yet". Each rule module then only words the verdicts that carry its code, and
:func:`emitted_codes` lets the catalogue test check that every code here has a rule.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from podinit_diag.core.access import as_dict, as_list
from podinit_diag.core.lazyre import lazy
from podinit_diag.core.memo import once
from podinit_diag.core.model import (
    Config,
    ContainerKind,
    ContainerView,
    EventView,
    LogExcerpt,
    PodSnapshot,
    Termination,
)
from podinit_diag.core.redact import redact
from podinit_diag.rules.agents import never_exits
from podinit_diag.rules.dependency import (
    Dependency,
    find_unavailable_dependency,
    wait_step,
    wait_targets,
)
from podinit_diag.rules.logscan import (
    SCAN_LAST_LINES,
    Category,
    Hit,
    hit_at,
    last_recognised,
    scan_log,
)
from podinit_diag.rules.messages import (
    CONFIG_FALLBACK,
    PULL_FALLBACK,
    config_code,
    config_codes,
    image_pull_code,
    pull_codes,
)

START_FAILURE_REASONS = frozenset(
    {"CreateContainerError", "RunContainerError", "StartError", "ContainerCannotRun"}
)
# Waiting reasons whose image failure is named by the reason itself; the others
# (ErrImagePull, ImagePullBackOff) by the registry's words.
IMAGE_WAITING_CODES = {"InvalidImageName": "PI205", "ErrImageNeverPull": "PI206"}
IMAGE_REASONS = frozenset({"ErrImagePull", "ImagePullBackOff", *IMAGE_WAITING_CODES})
_FAILING_WAITS = START_FAILURE_REASONS | {"CrashLoopBackOff"}
FAILED_TERMINATION_REASONS = frozenset({"Error", "OOMKilled", "StartError", "ContainerCannotRun"})
# Pod-level ends whose container kills are symptoms, reported by the PI0xx rules.
LIFECYCLE_REASONS = frozenset({"Evicted", "Preempted", "DeadlineExceeded", "NodeLost", "Shutdown"})
# How long a pod may wait at a step, or past its deletion deadline, before it is judged
# stuck: longer than a normal image pull, volume attach or graceful shutdown.
GRACE = timedelta(minutes=3)
RECENT_FAILURE = timedelta(minutes=10)  # longer than the kubelet's 5-minute back-off cap
STABLE_RUN = timedelta(minutes=5)  # a ready container up this long has outlived a back-off
PROBE_FAILURES_THRESHOLD = 3
_NOT_STARTED = frozenset({"PodInitializing", "ContainerCreating"})
# Waiting to be started for the first time: also without a reason yet.
SETTING_UP = _NOT_STARTED | {""}


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
    waits_on: tuple[str, ...] = ()  # what it waits on, unproven to be down: hosts, a name
    network: bool = False  # the trouble is (or may be) reaching something over the network


@dataclass(frozen=True)
class Case:
    """One line of a precedence table: when ``test`` holds, the container's trouble is
    ``code`` (None: nothing to report yet), and the verdict carries the facts named in
    ``fields`` (verdict field, fact). A ``failure`` case applies only to a container
    whose last run failed, and its verdict carries that run."""

    code: str | None
    test: Callable[[Facts], bool]
    failure: bool = False
    fields: tuple[tuple[str, str], ...] = ()
    network: bool = False


def _case(code: str | None, test: Callable[[Facts], bool], *fields: str, **kw: Any) -> Case:
    """A case whose ``fields`` are ``"field"`` (the fact of that name) or ``"field=fact"``."""
    pairs = tuple((f.partition("=")[0], f.partition("=")[2] or f) for f in fields)
    return Case(code, test, fields=pairs, **kw)


def _failed(
    code: str, test: Callable[[Facts], bool] = lambda f: True, *fields: str, **kw: Any
) -> Case:
    """A case for a container whose last run failed: the verdict carries that run."""
    return _case(code, test, *fields, failure=True, **kw)


class Facts:
    """What the precedence tables ask about one container, each worked out on first use
    (reading a log or the related objects costs; most containers need neither)."""

    def __init__(self, c: ContainerView, snap: PodSnapshot, config: Config, job_over: bool):
        self.c: ContainerView = c
        self.snap: PodSnapshot = snap
        self.config: Config = config
        self.job_over: bool = job_over

    @once
    def failed(self) -> bool:
        # An init container's failure always matters; a long-running container's only
        # when recent (a restart days ago is history).
        if self.c.kind is ContainerKind.INIT:
            return has_failed(self.c)
        return _recently_failed(self.c, self.snap)

    @once
    def failure(self) -> _Failure:
        return _failure(self.c, self.snap)

    @property
    def running(self) -> bool:
        return self.c.state == "running"

    @property
    def restart_never(self) -> bool:
        return self.snap.restart_policy == "Never"

    @once
    def running_for(self) -> timedelta | None:
        return self.snap.now - self.c.started_at if self.c.started_at else None

    @property
    def stuck(self) -> bool:
        return self.running_for is not None and self.running_for >= self.config.stuck_after

    @once
    def sleep(self) -> Sleep | None:
        return find_sleep(self.c)

    @property
    def sleeps_past_stuck(self) -> bool:
        return (
            self.sleep is not None and self.sleep.seconds >= self.config.stuck_after.total_seconds()
        )

    @once
    def dependency(self) -> Dependency | None:
        return find_unavailable_dependency(self.c, self.snap)

    @once
    def never_exits(self) -> str:
        return never_exits(self.c)

    @once
    def wait_step(self) -> str | None:
        return wait_step(self.c)

    @once
    def polls(self) -> tuple[str, ...]:
        """The hosts (``host:port``) the container's command polls, in the order written."""
        return tuple(f"{h}:{p}" if p else h for h, p in wait_targets(self.c))

    @property
    def waits_on(self) -> tuple[str, ...]:
        """What it waits on: the hosts it polls, else what its name says (``wait-for-x``)."""
        return self.polls or ((self.wait_step,) if self.wait_step else ())

    @once
    def current_hit(self) -> Hit | None:
        return scan_log(self.snap.log(self.c.name, False))

    @property
    def current_category(self) -> Category | None:
        return self.current_hit.category if self.current_hit is not None else None

    @property
    def telling_hit(self) -> Hit | None:
        return self.current_hit or telling_line(self.snap.log(self.c.name, False))

    @once
    def startup(self) -> tuple[EventView, ...]:
        return probe_events(self.snap, self.c, "Startup")

    @once
    def readiness(self) -> tuple[EventView, ...]:
        return probe_events(self.snap, self.c, "Readiness")

    @once
    def liveness(self) -> tuple[EventView, ...]:
        return probe_events(self.snap, self.c, "Liveness")

    @once
    def kills(self) -> tuple[EventView, ...]:
        return probe_kills(self.snap, self.c, "liveness")

    @once
    def startup_kills(self) -> tuple[EventView, ...]:
        return probe_kills(self.snap, self.c, "startup")

    @property
    def exits_cleanly(self) -> bool:
        """Restarted although its runs end with exit code 0: a one-shot program in a
        container the kubelet keeps running (a native sidecar, an app under Always)."""
        last = self.c.last_termination
        return (
            self.c.restart_count > 0
            and last is not None
            and last.exit_code == 0
            and (self.c.kind is ContainerKind.SIDECAR or self.snap.restart_policy == "Always")
        )

    @property
    def killed_by_liveness(self) -> bool:
        return bool(self.kills) or event_count(self.liveness) >= PROBE_FAILURES_THRESHOLD

    @property
    def killed_by_startup(self) -> bool:
        """Restarted because its startup probe never passed (the kubelet kills it after
        failureThreshold failures): the probe, not the program, is the trouble."""
        return bool(self.startup_kills) and not self.c.started

    @property
    def liveness_and_kills(self) -> tuple[EventView, ...]:
        return self.liveness + self.kills

    @property
    def startup_and_kills(self) -> tuple[EventView, ...]:
        return self.startup + self.startup_kills

    @property
    def probes_recent(self) -> bool:
        last = max((e.last_seen for e in self.failing_probes if e.last_seen), default=None)
        return last is not None and self.snap.now - last <= RECENT_FAILURE

    @once
    def failing_probes(self) -> tuple[EventView, ...]:
        """The first probe kind that failed often enough to matter, in the kubelet's order."""
        for events in (self.liveness, self.readiness, self.startup) if self.snap.events else ():
            if event_count(events) >= PROBE_FAILURES_THRESHOLD:
                return events
        return ()


INIT_CASES: tuple[Case, ...] = (
    _failed("PI208", lambda f: f.failure.wrong_arch),
    _failed("PI104", lambda f: f.failure.start_failure and f.failure.not_found),
    _failed("PI105", lambda f: f.failure.start_failure and f.failure.permission),
    _failed("PI103", lambda f: f.failure.oom),  # runc: "container init was OOM-killed"
    _failed("PI109", lambda f: f.failure.start_failure),
    _failed("PI104", lambda f: f.failure.not_found),
    _failed("PI105", lambda f: f.failure.permission),
    _failed(
        "PI107",
        lambda f: f.dependency is not None or f.failure.gave_up_waiting,
        "dependency",
        "waits_on",
        network=True,
    ),
    # A wait step that failed without saying why gave up on what it waits for.
    _failed(
        "PI107",
        lambda f: f.failure.category is None and f.wait_step is not None,
        "waits_on",
        network=True,
    ),
    _failed("PI110", lambda f: f.failure.network, network=True),
    _failed("PI102", lambda f: f.restart_never),
    _failed("PI101"),
    _case(None, lambda f: not f.running),
    _case("PI408", lambda f: bool(f.never_exits), "running_for"),
    _case("PI108", lambda f: f.sleeps_past_stuck, "running_for", "sleep"),
    _case(None, lambda f: not f.stuck),
    _case(
        "PI107",
        lambda f: f.dependency is not None,
        "log_hit=current_hit",
        "running_for",
        "dependency",
        network=True,
    ),
    _case(
        "PI110",
        lambda f: f.current_category is not None and f.current_category.is_network,
        "category=current_category",
        "log_hit=current_hit",
        "running_for",
        network=True,
    ),
    _case(
        "PI107",
        lambda f: bool(f.polls) or f.current_category is Category.WAIT,
        "log_hit=telling_hit",
        "running_for",
        "waits_on",
        network=True,
    ),
    _case("PI106", lambda f: True, "log_hit=telling_hit", "running_for", network=True),
)

SIDECAR_CASES: tuple[Case, ...] = (
    # stopped with the pod at the end of a Job: expected, whatever the exit code
    _case(None, lambda f: f.job_over and f.c.state == "terminated"),
    _failed("PI208", lambda f: f.failure.wrong_arch),
    _failed("PI402", lambda f: f.killed_by_startup, "probes=startup_and_kills"),
    _failed("PI409", lambda f: f.exits_cleanly),
    _failed("PI401"),
    _case(None, lambda f: not f.running),
    _case("PI402", lambda f: not f.c.started and bool(f.startup), "probes=startup", "running_for"),
    _case(None, lambda f: not f.c.started),
    _case(
        "PI403",
        lambda f: not f.c.ready and bool(f.readiness or f.stuck),
        "probes=readiness",
        "running_for",
    ),
)

APP_CASES: tuple[Case, ...] = (
    _failed("PI208", lambda f: f.failure.wrong_arch),
    _failed("PI505", lambda f: f.failure.start_failure and f.failure.not_found),
    _failed("PI502", lambda f: f.failure.start_failure and f.failure.oom),
    _failed("PI506", lambda f: f.failure.start_failure),
    _failed("PI503", lambda f: f.killed_by_liveness, "probes=liveness_and_kills"),
    _failed("PI503", lambda f: f.killed_by_startup, "probes=startup_and_kills"),
    _failed("PI508", lambda f: f.exits_cleanly),
    _failed("PI502", lambda f: f.failure.oom),
    _failed("PI505", lambda f: f.failure.not_found),
    _failed("PI504", lambda f: f.restart_never),
    _failed("PI501"),
    _case(None, lambda f: not f.running),
    # a ready container's probe failures matter only while they go on
    _case(
        "PI503",
        lambda f: bool(f.failing_probes) and (not f.c.ready or f.probes_recent),
        "probes=failing_probes",
        "running_for",
    ),
    _case(
        "PI507",
        lambda f: not f.c.ready and f.snap.condition_true("Initialized") and f.stuck,
        "running_for",
    ),
)

CASES: dict[ContainerKind, tuple[Case, ...]] = {
    ContainerKind.INIT: INIT_CASES,
    ContainerKind.SIDECAR: SIDECAR_CASES,
    ContainerKind.APP: APP_CASES,
}


def emitted_codes() -> frozenset[str]:
    """Every code the classifier can give a container."""
    tables = {c.code for cases in CASES.values() for c in cases if c.code is not None}
    image = {*IMAGE_WAITING_CODES.values(), *pull_codes(), PULL_FALLBACK}
    return frozenset(tables | image | {*config_codes(), CONFIG_FALLBACK})


def classify_containers(snap: PodSnapshot, config: Config) -> tuple[Verdict, ...]:
    if snap.phase == "Succeeded" or deletion_overdue(snap):
        return ()  # finished, or being torn down: what its containers did is history
    killed = snap.reason in LIFECYCLE_REASONS
    apps = snap.app_containers
    job_over = snap.phase == "Failed" or (bool(apps) and all(c.state == "terminated" for c in apps))
    apps_started = any(c.state in ("running", "terminated") for c in apps)
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
        if killed:
            continue
        if c.state == "running" and c.ready and not c.restart_count:
            if c.kind is ContainerKind.APP or (c.kind is ContainerKind.SIDECAR and c.started):
                continue  # healthy: the common case, decided without reading events
        elif (
            c.kind is ContainerKind.INIT
            and c.completed
            and (not _oom_killed(c.terminated) or apps_started)
        ):
            # done with its step: whatever it did before is history, unless an OOM kill
            # reported as exit 0 cut its work short and nothing has started after it
            continue
        v = _decide(Facts(c, snap, config, job_over))
        if v is not None:
            out.append(v)
    return tuple(out)


def deletion_requested(snap: PodSnapshot) -> datetime | None:
    """When the pod was deleted: its deletionTimestamp is that moment plus the grace period
    (``metadata.deletionGracePeriodSeconds``)."""
    if snap.deleted_at is None:
        return None
    seconds = as_dict(snap.pod.get("metadata")).get("deletionGracePeriodSeconds")
    grace = seconds if isinstance(seconds, int) and 0 <= seconds <= 10**7 else 0
    return snap.deleted_at - timedelta(seconds=grace)


def deletion_overdue(snap: PodSnapshot) -> bool:
    """Deleted long enough ago that a pod with well-behaved containers would be gone: its
    containers got SIGTERM a grace period (``GRACE``) ago, or its deadline passed."""
    requested = deletion_requested(snap)
    return requested is not None and snap.now - requested >= GRACE


def _decide(f: Facts) -> Verdict | None:
    for case in CASES[f.c.kind]:
        if case.failure and not f.failed:
            continue
        if not case.test(f):
            continue
        if case.code is None:
            return None
        kw: dict[str, Any] = {field: getattr(f, fact) for field, fact in case.fields}
        if case.failure:
            failure = f.failure
            kw |= {
                "termination": failure.termination,
                "message": failure.message,
                "message_ref": failure.message_ref,
                "category": failure.category,
                "log_hit": failure.hit,
            }
        return Verdict(f.c, case.code, network=case.network, **kw)
    return None


# --- image and configuration: the kubelet never got to run the process -------------------


def _image(c: ContainerView, snap: PodSnapshot) -> Verdict:
    """Call only for a container waiting with one of IMAGE_REASONS."""
    ref = f"{c.status_ref}.state.waiting.message"
    if c.reason in IMAGE_WAITING_CODES:
        return Verdict(c, IMAGE_WAITING_CODES[c.reason], message=redact(c.message), message_ref=ref)
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


def _config(c: ContainerView) -> Verdict:
    """Call only for a container waiting with reason CreateContainerConfigError."""
    code, _ = config_code(c.message)
    ref = f"{c.status_ref}.state.waiting.message"
    return Verdict(c, code, message=redact(c.message), message_ref=ref)


# --- runs that failed --------------------------------------------------------------------


def has_run(c: ContainerView) -> bool:
    """Whether the kubelet has got as far as running the container (or failing to)."""
    return (
        c.state in ("running", "terminated")
        or c.restart_count > 0
        or (c.state == "waiting" and c.reason not in SETTING_UP)
    )


def has_failed(c: ContainerView) -> bool:
    if c.completed and not _oom_killed(c.terminated):
        return False
    if c.state == "waiting" and c.reason in _FAILING_WAITS:
        return True
    if c.terminated is not None:
        return _is_failure(c.terminated)
    return c.restart_count >= 1 and c.last_terminated is not None and _is_failure(c.last_terminated)


def _oom_killed(t: Termination | None) -> bool:
    # containerd has reported OOM kills with exit code 0 (kubernetes#116676): the kubelet
    # then takes an init container for done while its work was cut short.
    return t is not None and t.reason == "OOMKilled"


def _is_failure(t: Termination) -> bool:
    if t.reason == "ContainerStatusUnknown":
        return False  # the kubelet lost track of it (eviction, node trouble): not the program
    if _oom_killed(t):
        return True
    if t.exit_code is None:
        return t.reason in FAILED_TERMINATION_REASONS
    return t.exit_code != 0


def _recently_failed(c: ContainerView, snap: PodSnapshot) -> bool:
    """Has this app or sidecar container failed lately? A restart days ago is history."""
    if not has_failed(c):
        return False
    if c.terminated is not None or (c.state == "waiting" and c.reason in _FAILING_WAITS):
        return True  # failing right now
    if c.ready and c.started_at is not None and snap.now - c.started_at >= STABLE_RUN:
        return False  # ready and up longer than the kubelet's back-off cap: it recovered
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
    return hit_at(log, chosen, None)


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
        reason = self.termination.reason if self.termination is not None else ""
        return reason == "OOMKilled" or self.category is Category.OOM

    @property
    def wrong_arch(self) -> bool:
        return self.category is Category.EXEC_FORMAT

    @property
    def gave_up_waiting(self) -> bool:
        return self.category is Category.WAIT

    @property
    def not_found(self) -> bool:
        return self.category is Category.NOT_FOUND or (
            not self.start_failure and self.exit_code == 127
        )

    @property
    def network(self) -> bool:
        return self.category is not None and self.category.is_network

    @property
    def permission(self) -> bool:
        return self.category in (Category.PERMISSION, Category.FORBIDDEN) or (
            not self.start_failure and self.exit_code == 126
        )


def _failure(c: ContainerView, snap: PodSnapshot) -> _Failure:
    last = c.last_termination
    message, ref = "", None
    start = False
    if c.state == "waiting" and c.reason in START_FAILURE_REASONS:
        message, ref = redact(c.message), f"{c.status_ref}.state.waiting.message"
        start = True
    elif last is not None and last.reason in START_FAILURE_REASONS:
        message, ref = redact(last.message), f"{last.ref}.message"
        start = True
    elif last is not None and last.message.strip():
        # The termination message: what the program wrote to terminationMessagePath, or
        # the tail of its log under FallbackToLogsOnError. Read like a log when the log
        # itself was not captured (or says nothing recognisable).
        message, ref = redact(last.message), f"{last.ref}.message"
    log = crash_log(snap, c)
    hit = scan_log(log)
    found = last_recognised(message.splitlines()) if message else None
    category = found[1] if found else None
    if start or category is None:
        category = category or (hit.category if hit is not None else None)
    elif hit is not None and hit.category is not None:
        category = hit.category  # the full log tells more than its last 2 KiB
    start = start or category is Category.EXEC_FORMAT
    return _Failure(last, message, ref, category, hit or telling_line(log), start)


def probe_events(snap: PodSnapshot, c: ContainerView, kind: str) -> tuple[EventView, ...]:
    """The container's ``Unhealthy`` events for one probe kind (Liveness, Readiness, Startup)."""
    prefixes = (f"{kind} probe failed", f"{kind} probe errored")
    return tuple(
        e
        for e in snap.events_for(c.name)
        if e.reason == "Unhealthy" and e.message.startswith(prefixes)
    )


def probe_kills(snap: PodSnapshot, c: ContainerView, kind: str) -> tuple[EventView, ...]:
    """The kubelet's ``Killing`` events for a probe kind (``liveness``, ``startup``)."""
    words = f"failed {kind} probe"
    return tuple(e for e in snap.events_for(c.name) if e.reason == "Killing" and words in e.message)


def event_count(events: tuple[EventView, ...]) -> int:
    """How many times the events happened (each event counts its repeats)."""
    return sum(e.count for e in events)


# --- sleeps ------------------------------------------------------------------------------

_SLEEP = lazy(
    r"\bsleep\s+(?P<arg>infinity|inf|\d+(?:\.\d+)?[smhd]?)(?![\w.])"
    r"|\btime\.sleep\(\s*(?P<py>\d+(?:\.\d+)?)\s*\)"
)
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def find_sleep(c: ContainerView) -> Sleep | None:
    """The longest sleep in the container's argv (``command`` followed by ``args``)."""
    if "sleep" not in c.argv:
        return None
    lists = {key: as_list(c.spec.get(key)) for key in ("command", "args")}
    candidates: list[tuple[str, tuple[tuple[str, object], ...]]] = [
        (w, ((f"{c.spec_ref}.{key}[{i}]", w),))
        for key, items in lists.items()
        for i, w in enumerate(items)
        if isinstance(w, str)
    ]
    # `command: [sleep]` + `args: ["10m"]`: the call spans elements, even both lists.
    argv = c.argv
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
