"""Classify each regular init container's trouble into exactly one cause.

Several rules describe the same container from different angles (an OOM kill is
also a crash loop); reporting all of them would bury the root cause. This module
decides, once per container, which single cause is the most specific, in the
order documented on the rules: start failure, OOM kill, command not found,
permission denied, network failure, then a generic crash (or failure for
``restartPolicy: Never``); for a running container, a long sleep, a network
failure in its log, or plain slowness.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from .logscan import SCAN_LAST_LINES, Category, Hit, classify, scan_log
from .model import (
    ContainerKind,
    ContainerView,
    LogExcerpt,
    PodSnapshot,
    Termination,
)
from .normalize import as_list
from .redact import redact

if TYPE_CHECKING:
    from .rules.base import Config

START_FAILURE_REASONS = frozenset(
    {"CreateContainerError", "RunContainerError", "StartError", "ContainerCannotRun"}
)
FAILED_TERMINATION_REASONS = frozenset({"Error", "OOMKilled", "StartError", "ContainerCannotRun"})


class Cause(StrEnum):
    START_FAILED = "start-failed"
    OOM = "oomkilled"
    NOT_FOUND = "command-not-found"
    PERMISSION = "permission-denied"
    NETWORK = "network-failure"
    CRASH = "crashloop"
    FAILED = "failed"
    SLEEPS = "sleeps"
    STUCK = "stuck"


@dataclass(frozen=True)
class Sleep:
    seconds: float  # math.inf for `sleep infinity`
    text: str
    where: tuple[tuple[str, object], ...]  # (JSONPath, value) of the command/args holding it


@dataclass(frozen=True)
class InitVerdict:
    container: ContainerView
    cause: Cause
    termination: Termination | None  # the run that failed
    runtime_message: str  # the runtime's own words, for start failures
    runtime_ref: str | None
    category: Category | None  # what the message or log says, when recognised
    log_hit: Hit | None
    running_for: timedelta | None
    sleep: Sleep | None


def classify_init_containers(snap: PodSnapshot, config: Config) -> tuple[InitVerdict, ...]:
    if snap.phase == "Succeeded":
        return ()
    verdicts = (_classify(c, snap, config) for c in snap.containers if c.kind is ContainerKind.INIT)
    return tuple(v for v in verdicts if v is not None)


def has_failed(c: ContainerView) -> bool:
    if c.completed:
        return False
    if c.state == "waiting" and c.reason in (START_FAILURE_REASONS | {"CrashLoopBackOff"}):
        return True
    if c.terminated is not None:
        return _is_failure(c.terminated)
    return c.restart_count >= 1 and c.last_terminated is not None and _is_failure(c.last_terminated)


def _is_failure(t: Termination) -> bool:
    if t.exit_code is None:
        return t.reason in FAILED_TERMINATION_REASONS
    return t.exit_code != 0


def crash_log(snap: PodSnapshot, c: ContainerView) -> LogExcerpt | None:
    """The log of the run that died: the current log while the container is terminated,
    otherwise the previous instance's (what ``kubectl logs --previous`` shows)."""
    current, previous = snap.log(c.name, False), snap.log(c.name, True)
    first, second = (current, previous) if c.state == "terminated" else (previous, current)
    return first if first is not None else second


_ERRORISH = re.compile(r"error|fatal|exception|failed|failure|panic|denied|invalid", re.I)


def telling_line(log: LogExcerpt | None) -> Hit | None:
    """The line to quote when no known failure is recognised: the last error-looking line
    near the end (tools print hints after the error), else the last non-empty line."""
    if log is None:
        return None
    lines = log.lines
    start = max(0, len(lines) - SCAN_LAST_LINES)
    nonempty = [i for i in range(len(lines) - 1, start - 1, -1) if lines[i].strip()]
    chosen = next((i for i in nonempty if _ERRORISH.search(lines[i])), None)
    if chosen is None and nonempty:
        chosen = nonempty[0]
    return (
        None if chosen is None else Hit(None, lines[chosen], chosen + 1, f"{log.ref}:{chosen + 1}")
    )


def _classify(c: ContainerView, snap: PodSnapshot, config: Config) -> InitVerdict | None:
    if has_failed(c):
        return _classify_failure(c, snap)
    if c.state != "running":
        return None
    running_for = snap.now - c.started_at if c.started_at else None
    sleep = find_sleep(c)
    if sleep is not None and sleep.seconds >= config.stuck_after.total_seconds():
        return InitVerdict(c, Cause.SLEEPS, None, "", None, None, None, running_for, sleep)
    if running_for is None or running_for < config.stuck_after:
        return None
    log = snap.log(c.name, False)
    hit = scan_log(log)
    if hit is not None and hit.category is not None and hit.category.is_network:
        return InitVerdict(c, Cause.NETWORK, None, "", None, hit.category, hit, running_for, None)
    return InitVerdict(
        c, Cause.STUCK, None, "", None, None, hit or telling_line(log), running_for, None
    )


def _classify_failure(c: ContainerView, snap: PodSnapshot) -> InitVerdict:
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
    exit_code = last.exit_code if last else None
    if ref is not None or category is Category.EXEC_FORMAT:
        if category is Category.NOT_FOUND:
            cause = Cause.NOT_FOUND
        elif category in (Category.PERMISSION, Category.FORBIDDEN):
            cause = Cause.PERMISSION
        else:
            cause = Cause.START_FAILED
    elif last is not None and last.reason == "OOMKilled":
        cause = Cause.OOM
    elif exit_code == 127 or category is Category.NOT_FOUND:
        cause = Cause.NOT_FOUND
    elif exit_code == 126 or category in (Category.PERMISSION, Category.FORBIDDEN):
        cause = Cause.PERMISSION
    elif category is not None and category.is_network:
        cause = Cause.NETWORK
    elif snap.restart_policy == "Never":
        cause = Cause.FAILED
    else:
        cause = Cause.CRASH
    return InitVerdict(c, cause, last, message, ref, category, hit or telling_line(log), None, None)


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
