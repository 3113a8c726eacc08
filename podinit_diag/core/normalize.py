"""Turn a raw :class:`Bundle` into the typed :class:`PodSnapshot` the rules read.

The API's JSON is trusted for nothing: every field is read through the small
type-checking accessors below, so a pod with ``status: null``, strings where
lists belong or absurd numbers still becomes a snapshot (with the odd parts
treated as absent) instead of an exception.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from podinit_diag.core.access import Json, as_dict, as_list, as_objects, as_str
from podinit_diag.core.commands import logs_command
from podinit_diag.core.kubetime import parse_time
from podinit_diag.core.lazyre import lazy
from podinit_diag.core.model import (
    Bundle,
    ContainerKind,
    ContainerView,
    EventView,
    LogExcerpt,
    Owner,
    PodSnapshot,
    Termination,
)
from podinit_diag.core.redact import redact, redact_lines

LOG_TAIL_LINES = 200  # what the rules read of a log, and what a live fetch asks for
MAX_LINE_CHARS = 400
_FIELD_PATH = lazy(r"^spec\.(?:initContainers|containers|ephemeralContainers)\{(.+)\}$")
# Colour codes are how programs format their logs, not what they say: dropped. Any other
# control character stays, for the renderers to show escaped (never raw, never dropped).
_COLOUR = lazy(r"\x1b\[[0-9;]*m")
INT32 = range(-(2**31), 2**31)


def as_int(value: Any) -> int | None:
    """An int32 API field (exit code, count); anything else, as kubectl would fail to decode
    it, counts as absent. bool is an int in Python but never a count in the API."""
    if isinstance(value, int) and not isinstance(value, bool) and value in INT32:
        return value
    return None


def normalize(bundle: Bundle, now: datetime) -> PodSnapshot:
    pod = as_dict(bundle.pod)
    meta, spec, status = (
        as_dict(pod.get("metadata")),
        as_dict(pod.get("spec")),
        as_dict(pod.get("status")),
    )
    name, namespace, uid = (
        as_str(meta.get("name")),
        as_str(meta.get("namespace")),
        as_str(meta.get("uid")),
    )
    containers = _containers(spec, status)
    owner = _owner(meta)
    raw_events = bundle.events if isinstance(bundle.events, (tuple, list)) else ()
    events, related_events = _events(raw_events, name, uid, _related_names(spec, owner))
    conditions = {as_str(c.get("type")): c for c in map(as_dict, as_list(status.get("conditions")))}
    conditions.pop("", None)
    return PodSnapshot(
        namespace=namespace,
        name=name,
        uid=uid,
        phase=as_str(status.get("phase")),
        reason=as_str(status.get("reason")),
        restart_policy=as_str(spec.get("restartPolicy")) or "Always",
        node=as_str(spec.get("nodeName")),
        owner=owner,
        created_at=parse_time(meta.get("creationTimestamp")),
        deleted=meta.get("deletionTimestamp") is not None,
        containers=containers,
        events=events,
        event_reasons=frozenset(e.reason for e in events),
        logs=_logs(
            bundle.logs,
            {c.name for c in containers},
            (name, namespace) if getattr(bundle, "live", False) is True else None,
        ),
        conditions=conditions,
        related=_objects(bundle.related),
        now=now,
        pod=pod,
        source=as_str(bundle.source),
        notes=_strings(bundle.notes),
        lookups=_objects(bundle.lookups),
        deleted_at=parse_time(meta.get("deletionTimestamp")),
        related_events=related_events,
    )


def _containers(spec: Json, status: Json) -> tuple[ContainerView, ...]:
    views: list[ContainerView] = []
    groups = (
        ("initContainers", "initContainerStatuses", True),
        ("containers", "containerStatuses", False),
    )
    for spec_key, status_key, is_init in groups:
        statuses: dict[str, tuple[int, Json]] = {}
        for i, st in enumerate(as_list(status.get(status_key))):
            if isinstance(st, dict) and isinstance(st.get("name"), str):
                statuses.setdefault(st["name"], (i, st))
        for index, c in enumerate(as_list(spec.get(spec_key))):
            if not isinstance(c, dict):
                continue
            name = as_str(c.get("name"))
            if is_init:
                sidecar = c.get("restartPolicy") == "Always"
                kind = ContainerKind.SIDECAR if sidecar else ContainerKind.INIT
            else:
                kind = ContainerKind.APP
            st_index, st = statuses.get(name, (None, None))
            ref = f"$.status.{status_key}[{st_index}]" if st_index is not None else None
            views.append(_container(name, kind, index, len(views), c, st, ref))
    return tuple(views)


def _container(
    name: str,
    kind: ContainerKind,
    index: int,
    order: int,
    spec: Json,
    status: Json | None,
    ref: str | None,
) -> ContainerView:
    st = as_dict(status)
    state_obj = as_dict(st.get("state"))
    state, detail = "unknown", as_dict(None)
    for key in ("terminated", "running", "waiting"):
        if isinstance(state_obj.get(key), dict):
            state, detail = key, state_obj[key]
            break
    terminated = _termination(detail, f"{ref}.state.terminated") if state == "terminated" else None
    last = as_dict(as_dict(st.get("lastState")).get("terminated"))
    restarts = as_int(st.get("restartCount"))
    return ContainerView(
        name=name,
        kind=kind,
        index=index,
        order=order,
        spec=spec,
        status=status,
        status_ref=ref,
        state=state,
        reason=as_str(detail.get("reason")),
        message=as_str(detail.get("message")),
        restart_count=max(restarts, 0) if restarts is not None else 0,
        ready=st.get("ready") is True,
        started=st.get("started") is True,
        started_at=parse_time(detail.get("startedAt")),
        terminated=terminated,
        last_terminated=_termination(last, f"{ref}.lastState.terminated") if last else None,
        argv=" ".join(
            w for key in ("command", "args") for w in as_list(spec.get(key)) if isinstance(w, str)
        ),
    )


def _termination(t: Json, ref: str) -> Termination:
    return Termination(
        exit_code=as_int(t.get("exitCode")),
        signal=as_int(t.get("signal")) or None,
        reason=as_str(t.get("reason")),
        message=as_str(t.get("message")),
        started_at=parse_time(t.get("startedAt")),
        finished_at=parse_time(t.get("finishedAt")),
        ref=ref,
    )


def _owner(meta: Json) -> Owner | None:
    refs = [as_dict(r) for r in as_list(meta.get("ownerReferences"))]
    chosen = next((r for r in refs if r.get("controller") is True), refs[0] if refs else None)
    if not chosen or not as_str(chosen.get("kind")):
        return None
    return Owner(kind=as_str(chosen.get("kind")), name=as_str(chosen.get("name")))


def _related_names(spec: Json, owner: Owner | None) -> frozenset[tuple[str, str]]:
    """(kind, name) of the objects whose events tell about the pod: its claims, node, owner."""
    names = {("Node", as_str(spec.get("nodeName")))}
    for vol in map(as_dict, as_list(spec.get("volumes"))):
        claim = as_str(as_dict(vol.get("persistentVolumeClaim")).get("claimName"))
        names.add(("PersistentVolumeClaim", claim))
    if owner is not None:
        names.add((owner.kind, owner.name))
    return frozenset(n for n in names if n[1])


def event_subject(pod: Json) -> Callable[[Json], str | None]:
    """What a raw event is about for ``pod``: "" for the pod itself, "Kind name" for one of
    the objects whose events tell about it (node, claims, owner), None for an event
    :func:`normalize` leaves out (another object, an earlier pod of the same name). The
    files loader keeps only these of a huge events.json."""
    meta = as_dict(pod.get("metadata"))
    related = _related_names(as_dict(pod.get("spec")), _owner(meta))
    return _subject(as_str(meta.get("name")), as_str(meta.get("uid")), related)


def _subject(
    pod_name: str, pod_uid: str, related: frozenset[tuple[str, str]]
) -> Callable[[Json], str | None]:
    def subject(e: Json) -> str | None:
        involved = as_dict(e.get("involvedObject"))
        kind, name = as_str(involved.get("kind")), involved.get("name")
        if kind not in ("Pod", "") or name != pod_name:
            if not isinstance(name, str) or (kind, name) not in related:
                return None
            return f"{kind} {name}"
        uid = as_str(involved.get("uid"))
        return None if uid and pod_uid and uid != pod_uid else ""  # or an earlier pod's

    return subject


def event_span(e: Json) -> tuple[datetime | None, datetime | None, int]:
    """An event's first and last time and its count (at least 1), from whichever of the
    core/v1 and events.k8s.io fields it has."""
    series = as_dict(e.get("series"))
    event_time = parse_time(e.get("eventTime"))
    times = (
        parse_time(e.get("lastTimestamp")),
        event_time,
        parse_time(series.get("lastObservedTime")),
    )
    last = max(filter(None, times), default=None)
    first = parse_time(e.get("firstTimestamp")) or event_time or last
    count = as_int(series.get("count")) or as_int(e.get("count")) or 1
    return first, last, max(count, 1)


def _events(
    raw: tuple[Json, ...], pod_name: str, pod_uid: str, related: frozenset[tuple[str, str]]
) -> tuple[tuple[EventView, ...], tuple[EventView, ...]]:
    """The pod's own events and those about its related objects, each oldest first."""
    views: list[tuple[datetime | None, int, EventView]] = []
    others: list[tuple[datetime | None, int, EventView]] = []
    subject = _subject(pod_name, pod_uid, related)
    messages: dict[str, str] = {}  # repeated events repeat their message: redact it once
    for i, e in enumerate(raw):
        if type(e) is not dict and not isinstance(e, Mapping):
            continue  # a None or a string where an Event belongs (a library caller's bundle)
        about = subject(e)
        if about is None:
            continue
        first, last, count = event_span(e)
        involved = as_dict(e.get("involvedObject"))
        m = _FIELD_PATH.match(as_str(involved.get("fieldPath"))) if not about else None
        source = as_dict(e.get("source"))
        text = as_str(e.get("note")) or as_str(e.get("message"))
        message = messages.get(text)
        if message is None:
            message = messages[text] = redact(text)
        view = EventView(
            type=as_str(e.get("type")) or "Normal",
            reason=as_str(e.get("reason")),
            message=message,
            count=count,
            first_seen=first,
            last_seen=last,
            container=m.group(1) if m else None,
            component=as_str(e.get("reportingComponent")) or as_str(source.get("component")),
            raw=e,
            about=about,
        )
        (others if about else views).append((last, i, view))
    return _oldest_first(views), _oldest_first(others)


def _oldest_first(
    views: list[tuple[datetime | None, int, EventView]],
) -> tuple[EventView, ...]:
    # Events without any time sort first: they cannot be newer than a dated one we know of.
    views.sort(key=lambda t: (t[0] is not None, t[0] or datetime.min, t[1]))
    return tuple(v for _, _, v in views)


def _objects(raw: object) -> tuple[Json, ...]:
    """A bundle's tuple of objects; from anything else, its entries that are objects."""
    if type(raw) is tuple and all(type(o) is dict for o in raw):
        return raw
    return tuple(as_objects(raw))


def _strings(raw: object) -> tuple[str, ...]:
    if not isinstance(raw, (tuple, list)):
        return ()
    return tuple(n for n in raw if isinstance(n, str))


def _logs(
    raw: object, names: set[str], live: tuple[str, str] | None
) -> dict[tuple[str, bool], LogExcerpt]:
    """The logs by (container, previous), each its last ``LOG_TAIL_LINES`` lines. ``live``
    is (pod, namespace) when they were just read from a cluster: each excerpt then carries
    the ``kubectl logs`` command showing the same lines, with ``--tail`` when the log may
    be longer than what the fetch asked for (the line numbers count from the tail)."""
    out: dict[tuple[str, bool], LogExcerpt] = {}
    files = {k: v for k, v in as_dict(raw).items() if isinstance(k, str) and k.endswith(".log")}
    for filename, data in sorted(files.items()):
        base = filename[: -len(".log")]
        previous = base.endswith(".previous")
        container = base[: -len(".previous")] if previous else base
        if container not in names:
            continue
        if isinstance(data, (bytes, bytearray, memoryview)):
            text = bytes(data).decode("utf-8", errors="replace")
        elif isinstance(data, str):
            text = data
        else:
            continue  # a library caller's log that is neither bytes nor text
        # Lines end at "\n" only, as kubectl and the API's tailLines count them (and as
        # an editor numbers a file): splitlines() would also break at the lone "\r" of a
        # progress bar, "\f" or U+2028, and every line number after it would be off.
        raw_lines = text.split("\n")
        lines = redact_lines(_clean(line) for line in raw_lines)
        while lines and not lines[-1]:
            lines.pop()
        kept = lines[-LOG_TAIL_LINES:]
        command = ""
        if live is not None:
            cut = len(raw_lines) - (raw_lines[-1] == "") >= LOG_TAIL_LINES
            tail = LOG_TAIL_LINES if cut else None
            command = logs_command(live[0], live[1], container, previous, tail)
        out[(container, previous)] = LogExcerpt(
            container=container,
            previous=previous,
            lines=tuple(kept),
            truncated=len(lines) > LOG_TAIL_LINES,
            first=len(lines) - len(kept) + 1,
            command=command,
        )
    return out


def _clean(line: str) -> str:
    line = _COLOUR.sub("", line).rstrip()
    if len(line) > MAX_LINE_CHARS:
        line = line[:MAX_LINE_CHARS] + "…"
    return line
