"""The typed data model shared by every stage of the pipeline.

Everything here is a frozen dataclass or an enum so that a snapshot, a finding or
a report can be passed around, cached and compared without defensive copies.
Raw API objects stay as the camelCase dicts the API server sent (``Json``); the
snapshot pairs them with the few typed fields the rules read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum, StrEnum
from typing import Any, Literal

from podinit_diag.core.access import Json, as_dict, as_list
from podinit_diag.core.errors import InputError
from podinit_diag.core.kubetime import format_time, human_duration
from podinit_diag.core.memo import once


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Lower is worse, so that sorting puts errors first."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


class ContainerKind(StrEnum):
    INIT = "init"
    SIDECAR = "sidecar"  # an init container with restartPolicy: Always (native sidecar)
    APP = "app"


class Stage(int, Enum):
    """Where in the kubelet's start-up sequence a failure class sits; orders the findings."""

    SCHEDULING = 0
    POD_SETUP = 1
    CONTAINERS = 2  # init containers, sidecars and app containers, in start order
    LIFECYCLE = 3
    FALLBACK = 8  # where a pod waits when no specific cause is known: after every cause
    SPEC = 9


EvidenceSource = Literal["status", "spec", "event", "log", "cluster"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """One fact behind a finding.

    ``source`` is ``status``, ``spec``, ``event``, ``log`` or ``cluster``. For
    ``status`` and ``spec`` the ``ref`` is a JSONPath into the pod object and
    ``text`` is the value found there, rendered as :func:`quote_value` does.

    For ``log`` evidence ``text`` is the decisive line and ``ref`` says where to read it:
    ``logs/C.previous.log:66`` (the file of a bundle read from a directory) or
    ``kubectl logs POD -n NS -c C --previous, line 66`` (a pod read from a cluster: the
    command shows the same lines); ``line`` is that number, and ``before`` and ``after``
    are the lines around it (up to 3 before, back to a ``Traceback`` header within 8
    lines; up to 2 after), so that ``before + (text,) + after`` is the log from line
    ``line - len(before)`` on. The three are None/empty for other sources.
    """

    source: EvidenceSource
    # composed by us (a JSONPath, a file and line, a command): escaped, never redacted
    ref: str = field(metadata={"reference": True})
    text: str
    line: int | None = None
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    code: str
    rule: str
    severity: Severity
    container: str | None
    container_kind: ContainerKind | None
    title: str
    evidence: tuple[Evidence, ...]
    fix: str
    docs: str


@dataclass(frozen=True)
class Bundle:
    """Raw input exactly as the API gives it, from files or (later) from a live cluster."""

    pod: Json
    events: tuple[Json, ...] = ()
    logs: Mapping[str, bytes] = field(default_factory=dict)  # "init-db.previous.log" -> bytes
    related: tuple[Json, ...] = ()
    captured_at: datetime | None = None
    source: str = ""
    notes: tuple[str, ...] = ()  # what could not be fetched or verified, for the report
    # Objects looked up to verify findings: {kind, namespace, name, found, keys?}; a lookup
    # records absence too, which related.json (real objects only) cannot.
    lookups: tuple[Json, ...] = ()
    # Read from a cluster just now (not from files): log evidence then names the
    # ``kubectl logs`` command that shows the log, since no logs/ file exists to point at.
    live: bool = False


@dataclass(frozen=True, slots=True)
class Termination:
    """A container's terminated state (current or last), typed."""

    exit_code: int | None
    signal: int | None
    reason: str
    message: str
    started_at: datetime | None
    finished_at: datetime | None
    ref: str  # JSONPath of the ``terminated`` object in the pod


@dataclass(frozen=True)
class ContainerView:
    """A container's spec paired with its status, tagged with its kind and spec position."""

    name: str
    kind: ContainerKind
    index: int  # index in spec.initContainers or spec.containers
    order: int  # position in start order: init containers first, then app containers
    spec: Json
    status: Json | None
    status_ref: str | None  # JSONPath of the status entry, e.g. $.status.initContainerStatuses[0]
    state: str  # waiting | running | terminated | unknown
    reason: str
    message: str
    restart_count: int
    ready: bool
    started: bool
    started_at: datetime | None
    terminated: Termination | None  # the current state, when terminated
    last_terminated: Termination | None  # lastState.terminated
    # ``command`` then ``args``, their strings joined by spaces: what several rules search
    argv: str = ""

    @property
    def spec_ref(self) -> str:
        group = "containers" if self.kind is ContainerKind.APP else "initContainers"
        return f"$.spec.{group}[{self.index}]"

    @property
    def last_termination(self) -> Termination | None:
        """The termination that describes the container's latest run."""
        return self.terminated or self.last_terminated

    @property
    def completed(self) -> bool:
        return self.terminated is not None and self.terminated.exit_code == 0

    @property
    def past_init_step(self) -> bool:
        exit_code = self.terminated.exit_code if self.terminated is not None else None
        return past_init_step(self.kind is ContainerKind.SIDECAR, self.started, exit_code)


def past_init_step(sidecar: bool, started: bool, exit_code: object) -> bool:
    """The one definition of an init container done with its step, which lets the next
    one start: a regular one exited 0; a native sidecar (restartPolicy: Always) started."""
    return started if sidecar else exit_code == 0


@dataclass(frozen=True, slots=True)
class EventView:
    type: str
    reason: str
    message: str
    count: int
    first_seen: datetime | None
    last_seen: datetime | None
    container: str | None  # from involvedObject.fieldPath
    component: str
    raw: Json
    about: str = ""  # "Kind name" of the related object it is about; "" for the pod itself


@dataclass(frozen=True, slots=True)
class LogExcerpt:
    container: str
    previous: bool
    lines: tuple[str, ...]  # the tail, decoded leniently, secrets redacted
    truncated: bool
    first: int = 1  # the line number of lines[0] in the log (a long file's tail starts later)
    # the command that shows this log when it was read from a cluster; "" for a file
    command: str = ""

    @property
    def ref(self) -> str:
        return f"logs/{self.container}{'.previous' if self.previous else ''}.log"

    def locate(self, index: int) -> tuple[str, int]:
        """(ref, line number) of ``lines[index]``: ``logs/c.log:12`` for a file, the
        ``kubectl logs`` command and the line for a log read from a cluster."""
        number = self.first + index
        if self.command:
            return f"{self.command}, line {number}", number
        return f"{self.ref}:{number}", number


@dataclass(frozen=True, slots=True)
class Owner:
    kind: str
    name: str


@dataclass(frozen=True)
class PodSnapshot:
    """The normalized pod the rules read. ``now`` is when the data was captured."""

    namespace: str
    name: str
    uid: str
    phase: str
    reason: str  # status.reason: Evicted, Preempted, DeadlineExceeded, NodeLost, ...
    restart_policy: str
    node: str
    owner: Owner | None
    created_at: datetime | None
    deleted: bool
    containers: tuple[ContainerView, ...]  # start order
    events: tuple[EventView, ...]  # oldest first by newest timestamp
    event_reasons: frozenset[str]  # lets event-driven rules skip pods without those events
    logs: Mapping[tuple[str, bool], LogExcerpt]
    conditions: Mapping[str, Json]
    related: tuple[Json, ...]
    now: datetime
    pod: Json
    source: str
    notes: tuple[str, ...] = ()
    lookups: tuple[Json, ...] = ()
    deleted_at: datetime | None = None  # deletionTimestamp: deletion time + grace period
    # Events about the objects the pod depends on: its PersistentVolumeClaims, its node, its
    # owner (oldest first, like ``events``).
    related_events: tuple[EventView, ...] = ()

    def related_object(self, kind: str, name: str) -> Json | None:
        """A captured related object (a Node, a PersistentVolumeClaim...) by kind and name."""
        for o in self.related:
            meta = o.get("metadata")
            if o.get("kind") == kind and isinstance(meta, dict) and meta.get("name") == name:
                return o
        return None

    def events_about(self, kind: str, name: str) -> tuple[EventView, ...]:
        return tuple(e for e in self.related_events if e.about == f"{kind} {name}")

    def lookup(self, kind: str, name: str) -> Json | None:
        """The recorded lookup of an object of the pod's namespace, if one was made."""
        for entry in self.lookups:
            same_ns = entry.get("namespace", self.namespace) == self.namespace
            if entry.get("kind") == kind and entry.get("name") == name and same_ns:
                return entry
        return None

    @once
    def init_containers(self) -> tuple[ContainerView, ...]:
        return tuple(c for c in self.containers if c.kind is not ContainerKind.APP)

    @once
    def app_containers(self) -> tuple[ContainerView, ...]:
        return tuple(c for c in self.containers if c.kind is ContainerKind.APP)

    def container(self, name: str) -> ContainerView | None:
        for c in self.containers:
            if c.name == name:
                return c
        return None

    def events_for(self, container: str) -> tuple[EventView, ...]:
        return tuple(e for e in self.events if e.container == container)

    def log(self, container: str, previous: bool) -> LogExcerpt | None:
        return self.logs.get((container, previous))

    def condition_true(self, kind: str) -> bool:
        status = self.conditions.get(kind, {}).get("status")
        return status == "True" or status is True  # no str(): it refuses 5,000-digit ints

    def condition_at(self, kind: str) -> tuple[str, Json] | None:
        """The pod condition of this type with its JSONPath, for evidence."""
        if kind not in self.conditions:
            return None  # the common case, answered from the normalized map
        conditions = as_list(as_dict(self.pod.get("status")).get("conditions"))
        for i, c in enumerate(conditions):  # raw positions: the JSONPath indexes the list
            if isinstance(c, Mapping) and c.get("type") == kind:
                return f"$.status.conditions[{i}]", c
        return None


@dataclass(frozen=True, slots=True)
class TimelineStep:
    """One init container's run, for the init timeline."""

    name: str
    kind: ContainerKind
    state: str
    reason: str
    exit_code: int | None
    restarts: int
    started_at: datetime | None
    finished_at: datetime | None
    duration: timedelta | None
    blocking: bool


@dataclass(frozen=True, slots=True)
class ConditionStep:
    """One pod condition of the readiness chain, for the conditions line of the report.

    ``status`` is ``True``, ``False`` or ``Unknown`` as the API wrote it (any other value
    reads as ``Unknown``), and None when the pod has no such condition. Durations come
    from ``lastTransitionTime``, so they measure up to the condition's *last* change.
    """

    type: str
    status: str | None
    reason: str
    message: str
    transitioned_at: datetime | None  # lastTransitionTime
    age: timedelta | None  # now - transitioned_at
    took: timedelta | None  # True: from when the earlier steps were done (or creation)
    since_created: timedelta | None  # True: from the pod's creation to this one
    current: bool  # the step the pod is waiting at (at most one in a chain)
    waiting: timedelta | None  # current: how long the pod has been at this step


@dataclass(frozen=True, slots=True)
class PodHeader:
    namespace: str
    name: str
    uid: str
    phase: str
    status: str
    ready: str
    restarts: str
    restart_count: int
    node: str
    owner: Owner | None
    age: str


@dataclass(frozen=True)
class Report:
    """One pod's diagnosis. :meth:`to_dict` and :meth:`to_json` give the report object of
    ``initdoctor -o json`` (one element of its ``reports``), secrets redacted as there."""

    pod: PodHeader
    observed_at: datetime
    source: str
    timeline: tuple[TimelineStep, ...]
    conditions: tuple[ConditionStep, ...]  # the readiness chain, in the kubelet's order
    findings: tuple[Finding, ...]
    errors: tuple[str, ...]

    @property
    def worst(self) -> Severity | None:
        return min((f.severity for f in self.findings), key=lambda s: s.rank, default=None)

    @property
    def waiting_at(self) -> ConditionStep | None:
        """The condition the pod is waiting at; None when it is Ready or has finished."""
        for c in self.conditions:
            if c.current:
                return c
        return None

    @property
    def waiting_for_init(self) -> TimelineStep | None:
        """The blocking init container, when the pod is waiting at Initialized."""
        at = self.waiting_at
        if at is None or at.type != "Initialized":
            return None
        return next((s for s in self.timeline if s.blocking), None)

    @property
    def ready_after(self) -> timedelta | None:
        """Time from creation to Ready when every condition of the chain is True."""
        if not self.conditions or any(c.status != "True" for c in self.conditions):
            return None
        return self.conditions[-1].since_created

    def to_dict(self) -> dict[str, Any]:
        """The report as ``-o json`` writes it (``docs/json-report.md``,
        ``docs/report.schema.json``): plain dicts, lists, strings, numbers and None, keys in
        the documented order, secret-looking values redacted, times as RFC 3339 UTC."""
        return report_dict(self)

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON text: indented by ``indent`` (None: one line), ASCII
        only (every control, bidi or non-ASCII character a ``\\u`` escape), no final newline.
        ``json.loads(r.to_json()) == r.to_dict()``."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=True)


def quote_value(value: object) -> str:
    """How a status/spec value is quoted in evidence: strings as is, the rest as JSON.

    What JSON cannot write (an integer over 4,300 digits, nesting deeper than the
    interpreter recurses, keys that are not strings) is written as a description."""
    if isinstance(value, str):
        return value
    if type(value) is int:
        try:
            return str(value)  # what json.dumps gives, without its machinery
        except ValueError:
            return _long_int(value)
    try:
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    except (ValueError, TypeError, RecursionError):
        return json.dumps(_printable(value, 0), sort_keys=True, ensure_ascii=False)


def _long_int(value: int) -> str:
    return f"<an integer of {int(value.bit_length() * 0.30103) + 1} digits>"


_QUOTE_DEPTH = 32  # deeper than any pod field; what lies below is elided


def _printable(value: object, depth: int) -> object:
    if value is None or isinstance(value, (str, bool, float)):
        return value
    if isinstance(value, int):
        try:
            str(value)
        except ValueError:
            return _long_int(value)
        return value
    if depth >= _QUOTE_DEPTH:
        return "…"
    if isinstance(value, Mapping):
        return {str(k): _printable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_printable(v, depth + 1) for v in value]
    return repr(value)


@dataclass(frozen=True)
class Config:
    """The settings of a diagnosis: when a running init container counts as stuck, and
    which rule codes (or code prefixes) run."""

    stuck_after: timedelta = timedelta(minutes=5)
    select: tuple[str, ...] = ()  # codes or prefixes; empty means all
    ignore: tuple[str, ...] = ()
    # Where the rule docs are published: findings then link there (see Rule.docs_link),
    # else they say `initdoctor explain CODE`. The CLI reads INITDOCTOR_DOCS_URL.
    docs_url: str | None = None

    def __post_init__(self) -> None:
        """Refuse settings a diagnosis could not use, with :class:`InputError`; a list of
        codes is taken as a tuple (the engine keys its plans by the config's hash)."""
        if not isinstance(self.stuck_after, timedelta):
            raise InputError(
                f"Config.stuck_after must be a timedelta, not {type(self.stuck_after).__name__}"
            )
        for name in ("select", "ignore"):
            codes = getattr(self, name)
            if type(codes) is tuple and all(type(c) is str for c in codes):
                continue
            if not isinstance(codes, (tuple, list)) or not all(isinstance(c, str) for c in codes):
                raise InputError(
                    f"Config.{name} must be a tuple of strings, rule codes or prefixes such "
                    f"as ('PI1', 'PI203'); got a {type(codes).__name__}"
                    + (" holding other things" if isinstance(codes, (tuple, list)) else "")
                )
            object.__setattr__(self, name, tuple(codes))
        if self.docs_url is not None:
            _check_docs_url(self.docs_url)

    def enabled(self, code: str) -> bool:
        if self.select and not any(code.startswith(s) for s in self.select):
            return False
        return not any(code.startswith(s) for s in self.ignore)


_DOCS_FIELDS = {"code": "PI101", "name": "init-crashloop", "anchor": "pi101-init-crashloop"}


def _check_docs_url(url: object) -> None:
    """An http(s) URL of printable ASCII, whose placeholders are only {code}, {name} and
    {anchor}; :class:`InputError` otherwise. It is printed on terminals and in tickets."""
    if not isinstance(url, str):
        raise InputError(f"Config.docs_url must be a string or None, not {type(url).__name__}")
    scheme, sep, rest = url.partition("://")
    printable = all(" " < ch <= "~" for ch in url)
    if not sep or scheme.lower() not in ("http", "https") or not rest or not printable:
        raise InputError(
            f"Config.docs_url must be an http:// or https:// URL without spaces, not {url!r}"
        )
    try:
        url.format(**_DOCS_FIELDS)
    except (KeyError, IndexError, ValueError) as exc:
        raise InputError(
            f"Config.docs_url {url!r}: only {{code}}, {{name}} and {{anchor}} may be filled "
            f"in ({type(exc).__name__}: {exc})"
        ) from None


# The report as JSON data (``-o json``). Here rather than in render/: Report.to_dict() must
# give exactly what the CLI prints, and the core cannot import the renderers.


def report_dict(r: Report) -> dict[str, Any]:
    """``r.to_dict()``: the report object of ``-o json``."""
    # Imported here: only a report being written needs the redaction tables.
    from podinit_diag.core.cleaning import for_json

    r = for_json(r)
    p = r.pod
    counts = {
        s: sum(1 for f in r.findings if f.severity.value == s) for s in ("error", "warning", "info")
    }
    return {
        "pod": {
            "namespace": p.namespace,
            "name": p.name,
            "uid": p.uid,
            "phase": p.phase,
            "status": p.status,
            "ready": p.ready,
            "restarts": p.restarts,
            "restart_count": p.restart_count,
            "node": p.node or None,
            "owner": {"kind": p.owner.kind, "name": p.owner.name} if p.owner else None,
            "age": p.age,
        },
        "observed_at": format_time(r.observed_at),
        "source": r.source,
        "init_timeline": [_step_dict(s) for s in r.timeline],
        "pod_conditions": [_condition_dict(c) for c in r.conditions],
        "waiting_at": _waiting_at_dict(r),
        "ready_after_seconds": _seconds(r.ready_after),
        "findings": [finding_dict(f) for f in r.findings],
        "summary": {**counts, "worst": r.worst.value if r.worst else None},
        "errors": list(r.errors),
    }


def finding_dict(f: Finding) -> dict[str, Any]:
    """A finding as in ``-o json`` (already redacted: see :func:`report_dict`)."""
    return {
        "code": f.code,
        "rule": f.rule,
        "severity": f.severity.value,
        "container": f.container,
        "container_kind": f.container_kind.value if f.container_kind else None,
        "title": f.title,
        "evidence": [_evidence_dict(e) for e in f.evidence],
        "fix": f.fix,
        "docs": f.docs,
    }


def _evidence_dict(e: Evidence) -> dict[str, Any]:
    out: dict[str, Any] = {"source": e.source, "ref": e.ref, "text": e.text}
    if e.line is not None:  # log evidence: where the line is and the lines around it
        out |= {"line": e.line, "before": list(e.before), "after": list(e.after)}
    return out


def _time(t: datetime | None) -> str | None:
    return format_time(t) if t else None


def _seconds(d: timedelta | None) -> int | None:
    return int(d.total_seconds()) if d is not None else None


def _condition_dict(c: ConditionStep) -> dict[str, Any]:
    return {
        "type": c.type,
        "status": c.status,
        "reason": c.reason or None,
        "message": c.message or None,
        "last_transition_time": _time(c.transitioned_at),
        "age": human_duration(c.age) if c.age is not None else None,
        "took_seconds": _seconds(c.took),
        "current": c.current,
    }


def _waiting_at_dict(r: Report) -> dict[str, Any] | None:
    c = r.waiting_at
    if c is None:
        return None
    init = r.waiting_for_init
    return {
        "condition": c.type,
        "for_seconds": _seconds(c.waiting),
        "init_container": init.name if init else None,
    }


def _step_dict(s: TimelineStep) -> dict[str, Any]:
    return {
        "name": s.name,
        "kind": s.kind.value,
        "state": s.state,
        "reason": s.reason or None,
        "exit_code": s.exit_code,
        "restarts": s.restarts,
        "started_at": _time(s.started_at),
        "finished_at": _time(s.finished_at),
        "duration_seconds": _seconds(s.duration),
        "blocking": s.blocking,
    }
