"""Builders for the evidence and wording that several rules share."""

from __future__ import annotations

from podinit_diag.core.access import as_dict, as_objects, as_str
from podinit_diag.core.commands import logs_command as kubectl_logs
from podinit_diag.core.exitcodes import describe
from podinit_diag.core.kubetime import human_duration
from podinit_diag.core.model import (
    ContainerView,
    EventView,
    Evidence,
    PodSnapshot,
    Termination,
    quote_value,
)
from podinit_diag.core.redact import redact
from podinit_diag.rules.classify import Verdict
from podinit_diag.rules.logscan import Hit

BACKOFF_REASONS = ("BackOff", "Failed")


def status(ref: str, value: object) -> Evidence:
    if isinstance(value, int):  # counts and exit codes: nothing to redact
        return Evidence(source="status", ref=ref, text=quote_value(value))
    return Evidence(source="status", ref=ref, text=redact(quote_value(value)))


def spec(ref: str, value: object) -> Evidence:
    # Commands carry passwords often enough (`mysql -p...`, `--password=`) to always redact.
    return Evidence(source="spec", ref=ref, text=redact(quote_value(value)))


def event(e: EventView, snap: PodSnapshot) -> Evidence:
    age = f", last {human_duration(snap.now - e.last_seen)} ago" if e.last_seen else ""
    about = f"{e.about}: " if e.about else ""
    return Evidence(
        source="event", ref=f"{about}{e.type} {e.reason} (x{e.count}{age})", text=e.message
    )


def log(hit: Hit) -> Evidence:
    """The log line that proves the point, where to read it, and the lines around it."""
    return Evidence(
        source="log",
        ref=hit.ref,
        text=hit.text,
        line=hit.line,
        before=hit.before,
        after=hit.after,
    )


def termination(t: Termination) -> list[Evidence]:
    out = []
    if t.exit_code is not None:
        out.append(status(f"{t.ref}.exitCode", t.exit_code))
    if t.reason:
        out.append(status(f"{t.ref}.reason", t.reason))
    return out


def running_since(c: ContainerView) -> Evidence:
    """When the running container started, quoted from the raw status so that the evidence
    matches the pod byte for byte."""
    raw = as_dict(as_dict(as_dict(c.status).get("state")).get("running")).get("startedAt")
    return status(f"{c.status_ref}.state.running.startedAt", raw)


def waiting(c: ContainerView) -> list[Evidence]:
    if c.state == "waiting" and c.reason and c.status_ref:
        return [status(f"{c.status_ref}.state.waiting.reason", c.reason)]
    return []


def restarts(c: ContainerView) -> list[Evidence]:
    if c.restart_count and c.status_ref:
        return [status(f"{c.status_ref}.restartCount", c.restart_count)]
    return []


def latest_event(c: ContainerView, snap: PodSnapshot, reasons: tuple[str, ...]) -> list[Evidence]:
    """The newest Warning event of the container among ``reasons``."""
    for e in reversed(snap.events_for(c.name)):
        if e.type == "Warning" and e.reason in reasons:
            return [event(e, snap)]
    return []


def failure(v: Verdict, snap: PodSnapshot) -> list[Evidence]:
    """The usual evidence for a failed run: state, restarts, exit, back-off event, the log
    line, and the runtime's own message when it explains the failure."""
    c = v.container
    out = waiting(c) + restarts(c) + (termination(v.termination) if v.termination else [])
    out += latest_event(c, snap, BACKOFF_REASONS)
    if v.log_hit is not None:
        out.append(log(v.log_hit))
    return out + message(v.message_ref, v.message)


def restarts_phrase(c: ContainerView) -> str:
    n = c.restart_count
    if n == 0:
        return "not restarted yet"
    return f"restarted {n} time{'s' if n != 1 else ''}"


def exit_phrase(t: Termination | None) -> str:
    return describe(t) if t is not None else "an unknown exit"


def logs_command(snap: PodSnapshot, c: ContainerView, previous: bool) -> str:
    """The command that shows the container's log, its names quoted for the shell."""
    return kubectl_logs(snap.name, snap.namespace, c.name, previous)


def owner_phrase(snap: PodSnapshot) -> str:
    """What to edit: the controller's template when there is one, else the pod."""
    if snap.owner is None:
        return f"pod {snap.name}"
    top = _controller_of(snap, snap.owner.kind, snap.owner.name)
    if top is not None:
        return f"the pod template of {top[0]} {top[1]} ({snap.owner.kind} {snap.owner.name})"
    if snap.owner.kind == "ReplicaSet":
        # A ReplicaSet named <deployment>-<hash> is almost always owned by that Deployment.
        base, _, suffix = snap.owner.name.rpartition("-")
        if base and suffix.isalnum():
            return f"the pod template of Deployment {base} (ReplicaSet {snap.owner.name})"
    return f"the pod template of {snap.owner.kind} {snap.owner.name}"


def _controller_of(snap: PodSnapshot, kind: str, name: str) -> tuple[str, str] | None:
    """(kind, name) of the controller owning a captured owner object, e.g. its Deployment."""
    for o in snap.related:
        meta = o.get("metadata")
        if o.get("kind") != kind or not isinstance(meta, dict) or meta.get("name") != name:
            continue
        for ref in as_objects(meta.get("ownerReferences")):
            if ref.get("controller") is True and as_str(ref.get("kind")):
                return as_str(ref.get("kind")), as_str(ref.get("name"))
    return None


def who(c: ContainerView) -> str:
    """How a finding names a container: ``init container x``, ``sidecar x``, ``container x``."""
    return {"init": "init container", "sidecar": "sidecar", "app": "container"}[c.kind.value] + (
        f" {c.name}"
    )


def image(c: ContainerView) -> str:
    value = c.spec.get("image")
    return value if isinstance(value, str) else ""


def image_evidence(c: ContainerView) -> Evidence:
    return spec(f"{c.spec_ref}.image", c.spec.get("image"))


def message(v_ref: str | None, text: str) -> list[Evidence]:
    return [status(v_ref, text)] if v_ref and text else []


def short(text: str, limit: int = 160) -> str:
    one = " ".join(text.split())
    return one if len(one) <= limit else one[: limit - 1] + "…"


def lookup(snap: PodSnapshot, kind: str, name: str) -> tuple[bool | None, list[Evidence]]:
    """Whether a looked-up object exists (None: not looked up), with the cluster evidence."""
    entry = snap.lookup(kind, name)
    if entry is None:
        return None, []
    ref = f"{kind} {snap.namespace}/{name}"
    if entry.get("found") is not True:
        return False, [
            Evidence(
                source="cluster", ref=ref, text="not found in the cluster when the pod was read"
            )
        ]
    keys = entry.get("keys")
    text = "exists"
    if isinstance(keys, list):
        text += f"; its keys: {', '.join(map(quote_value, keys))}" if keys else "; it has no keys"
    return True, [Evidence(source="cluster", ref=ref, text=text)]
