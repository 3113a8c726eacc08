"""The JSON Schema of ``-o json`` output, published as ``docs/report.schema.json``."""

from __future__ import annotations

from typing import Any

_STR = {"type": "string"}
_NSTR = {"type": ["string", "null"]}
_NINT = {"type": ["integer", "null"]}
_TIME = {"type": ["string", "null"], "format": "date-time"}


def _obj(props: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": list(props),
        "properties": props,
        "additionalProperties": False,
    }


def _with_optional(obj: dict[str, Any], **optional: Any) -> dict[str, Any]:
    """Fields added after a schema version shipped are optional: old output stays valid."""
    return {**obj, "properties": {**obj["properties"], **optional}}


EVIDENCE = _with_optional(
    _obj(
        {
            "source": {"enum": ["status", "spec", "event", "log", "cluster"]},
            "ref": _STR,
            "text": _STR,
        }
    ),
    # log evidence, added under schema_version 1: the line's number in what `ref` names,
    # and the lines before and after it
    line={"type": "integer", "minimum": 1},
    before={"type": "array", "items": _STR},
    after={"type": "array", "items": _STR},
)

# PI and three digits for the built-in rules; a rule pack's own prefix and digits
_CODE = {"type": "string", "pattern": "^[A-Z]{2,10}[0-9]{1,5}$"}

FINDING = _obj(
    {
        "code": _CODE,
        "rule": {"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$"},
        "severity": {"enum": ["error", "warning", "info"]},
        "container": _NSTR,
        "container_kind": {"enum": ["init", "sidecar", "app", None]},
        "title": {"type": "string", "minLength": 1},
        "evidence": {"type": "array", "items": {"$ref": "#/$defs/evidence"}},
        "fix": {"type": "string", "minLength": 1},
        "docs": _STR,
    }
)

STEP = _obj(
    {
        "name": _STR,
        "kind": {"enum": ["init", "sidecar"]},
        "state": {"enum": ["waiting", "running", "terminated", "unknown", "pending"]},
        "reason": _NSTR,
        "exit_code": _NINT,
        "restarts": {"type": "integer", "minimum": 0},
        "started_at": _TIME,
        "finished_at": _TIME,
        "duration_seconds": _NINT,
        "blocking": {"type": "boolean"},
    }
)

_CHAIN = {
    "enum": ["PodScheduled", "PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready"]
}
_NSECONDS = {"type": ["integer", "null"], "minimum": 0}

CONDITION = _obj(
    {
        "type": _CHAIN,
        "status": {"enum": ["True", "False", "Unknown", None]},
        "reason": _NSTR,
        "message": _NSTR,
        "last_transition_time": _TIME,
        "age": _NSTR,
        "took_seconds": _NSECONDS,
        "current": {"type": "boolean"},
    }
)

WAITING = _obj({"condition": _CHAIN, "for_seconds": _NSECONDS, "init_container": _NSTR})

REPORT_V1 = _obj(
    {
        "pod": _obj(
            {
                "namespace": _STR,
                "name": _STR,
                "uid": _STR,
                "phase": _STR,
                "status": _STR,
                "ready": _STR,
                "restarts": _STR,
                "restart_count": {"type": "integer", "minimum": 0},
                "node": _NSTR,
                "owner": {
                    "oneOf": [{"type": "null"}, _obj({"kind": _STR, "name": _STR})],
                },
                "age": _STR,
            }
        ),
        "observed_at": {"type": "string", "format": "date-time"},
        "source": _STR,
        "init_timeline": {"type": "array", "items": {"$ref": "#/$defs/step"}},
        "findings": {"type": "array", "items": {"$ref": "#/$defs/finding"}},
        "summary": _obj(
            {
                "error": {"type": "integer", "minimum": 0},
                "warning": {"type": "integer", "minimum": 0},
                "info": {"type": "integer", "minimum": 0},
                "worst": {"enum": ["error", "warning", "info", None]},
            }
        ),
        "errors": {"type": "array", "items": _STR},
    }
)

REPORT = _with_optional(
    REPORT_V1,
    # the readiness chain, added under schema_version 1: conditions in the kubelet's order,
    # the one the pod is waiting at, the time from creation to Ready
    pod_conditions={"type": "array", "items": {"$ref": "#/$defs/condition"}},
    waiting_at={"oneOf": [{"type": "null"}, {"$ref": "#/$defs/waiting_at"}]},
    ready_after_seconds=_NSECONDS,
)

GROUP = _obj(
    {
        "namespace": _STR,
        "owner": _NSTR,
        "code": _CODE,
        "rule": _STR,
        "severity": {"enum": ["error", "warning", "info"]},
        "container": _NSTR,
        "title": _STR,
        "count": {"type": "integer", "minimum": 1},
        "examples": {"type": "array", "items": _STR},
    }
)

SUMMARY = _obj(
    {
        "pods": {"type": "integer", "minimum": 0},
        "with_findings": {"type": "integer", "minimum": 0},
        "healthy": {"type": "integer", "minimum": 0},
        "by_severity": _obj(
            {k: {"type": "integer", "minimum": 0} for k in ("error", "warning", "info")}
        ),
    }
)

# The verdict of `--wait` (its final line; the transition lines before it are not reports).
WAIT = _obj(
    {
        "target": _STR,
        "condition": {"enum": ["Initialized", "Ready"]},
        "outcome": {"enum": ["met", "failed", "timeout"]},
        "verdict": _STR,
        "elapsed_seconds": {"type": "number", "minimum": 0},
        "pods_met": {"type": "integer", "minimum": 0},
        "pods_wanted": {"type": "integer", "minimum": 0},
    }
)


SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://podinit-diag.dev/schemas/report-v1.json",
    "title": "initdoctor report",
    "description": "Output of `initdoctor -o json`, schema_version 1.",
    **_with_optional(
        _obj(
            {
                "schema_version": {"const": 1},
                "tool": _obj({"name": {"const": "initdoctor"}, "version": _STR}),
                "reports": {"type": "array", "items": {"$ref": "#/$defs/report"}},
                "errors": {"type": "array", "items": _STR},
            }
        ),
        # scans (several pods) add these
        groups={"type": "array", "items": {"$ref": "#/$defs/group"}},
        summary={"$ref": "#/$defs/summary"},
        # --wait adds this
        wait={"$ref": "#/$defs/wait"},
    ),
    "$defs": {
        "report": REPORT,
        "finding": FINDING,
        "evidence": EVIDENCE,
        "step": STEP,
        "condition": CONDITION,
        "waiting_at": WAITING,
        "group": GROUP,
        "summary": SUMMARY,
        "wait": WAIT,
    },
}
