"""The pod's readiness chain (PodScheduled → … → Ready) and the step taking the time.

Expected values are worked out by hand from the fixtures' timestamps (creationTimestamp,
each condition's lastTransitionTime, meta.json's captured_at), not read back from the code.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podinit_diag import Bundle, diagnose, load_path
from podinit_diag.core.model import ConditionStep, Report
from podinit_diag.core.normalize import normalize
from podinit_diag.core.timeline import condition_chain, current_step
from podinit_diag.render import jsonout, markdown, table

from ..conftest import DOCS, FIXTURES, ROOT, fixture_dirs

CHAIN = ["PodScheduled", "PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready"]
WITHOUT_SANDBOX = ["PodScheduled", "Initialized", "ContainersReady", "Ready"]
_SCHEMA: dict[str, Any] = json.loads((DOCS / "report.schema.json").read_text())
# Checked against its metaschema once, here: jsonschema.validate() would check it again on
# each of the property test's hundreds of examples, nearly all of that test's time.
_VALIDATOR = jsonschema.validators.validator_for(_SCHEMA)(_SCHEMA)
_VALIDATOR.check_schema(_SCHEMA)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _bundle(name: str) -> Bundle:
    (bundle,) = load_path(FIXTURES / name)
    return bundle


def _report(name: str, now: str | None = None) -> Report:
    return diagnose(_bundle(name), now=_at(now) if now else None)


def _pod(name: str) -> dict[str, Any]:
    pod: dict[str, Any] = json.loads((FIXTURES / name / "pod.json").read_text())
    return pod


def _chain(pod: dict[str, Any], now: str) -> tuple[ConditionStep, ...]:
    return condition_chain(normalize(Bundle(pod=pod), _at(now)))


def _by_type(steps: tuple[ConditionStep, ...]) -> dict[str, ConditionStep]:
    return {s.type: s for s in steps}


def _s(seconds: int) -> timedelta:
    return timedelta(seconds=seconds)


def _set_condition(pod: dict[str, Any], kind: str, **fields: Any) -> None:
    for c in pod["status"]["conditions"]:
        if c["type"] == kind:
            for k, v in fields.items():
                if v is ...:
                    c.pop(k, None)
                else:
                    c[k] = v
            return
    raise AssertionError(f"no {kind} condition")


# --- a pod stuck in Init ---------------------------------------------------------------------

MIGRATE = "PI101-init-crashloop-migrate"  # created 08:41:07, captured 08:50:43


def test_stuck_in_init_waits_at_initialized_since_the_sandbox_was_ready() -> None:
    r = _report(MIGRATE)
    assert [c.type for c in r.conditions] == CHAIN
    c = _by_type(r.conditions)
    # PodScheduled True 08:41:07 (at creation); PodReadyToStartContainers True 08:41:11
    assert (c["PodScheduled"].status, c["PodScheduled"].took) == ("True", _s(0))
    assert c["PodScheduled"].age == _s(9 * 60 + 36)
    assert (c["PodReadyToStartContainers"].took, c["PodReadyToStartContainers"].age) == (
        _s(4),
        _s(9 * 60 + 32),
    )
    init = c["Initialized"]
    assert (init.status, init.reason) == ("False", "ContainersNotInitialized")
    assert init.message == "containers with incomplete status: [db-migrate]"
    assert init.transitioned_at == _at("2024-06-12T08:41:08Z")
    assert init.age == _s(9 * 60 + 35)
    assert init.current and init.took is None
    # From the sandbox being ready (08:41:11), not from creation (08:41:07) nor from the
    # condition's own transition (08:41:08, when the kubelet first wrote it False).
    assert init.waiting == _s(9 * 60 + 32)
    assert [s.type for s in r.conditions if s.current] == ["Initialized"]
    assert not any(s.waiting for s in r.conditions if not s.current)
    assert r.waiting_at is init
    assert r.waiting_for_init is not None and r.waiting_for_init.name == "db-migrate"
    assert r.ready_after is None


def test_waiting_time_follows_now() -> None:
    r = _report(MIGRATE, now="2024-06-12T09:41:11Z")
    assert r.waiting_at is not None and r.waiting_at.waiting == _s(3600)
    assert _by_type(r.conditions)["PodScheduled"].age == _s(3600 + 4)


def test_stuck_in_init_renders_everywhere() -> None:
    r = _report(MIGRATE)
    assert (
        "\nConditions: PodScheduled ✓ 0s · PodReadyToStartContainers ✓ 4s · Initialized … waiting"
        " 9m32s (init container db-migrate) · ContainersReady · Ready\n" in table.render([r])
    )
    assert "\x1b[1mInitialized … waiting 9m32s (init container db-migrate)\x1b[0m" in (
        table.render([r], colour=True)
    )
    md = markdown.render([r])
    assert "### Pod conditions" in md
    assert (  # the message is the kubelet's: Markdown-escaped, "[x](y)" would be a link
        "| **Initialized** | False | ContainersNotInitialized | containers with incomplete status:"
        " \\[db-migrate\\] | 9m35s ago | waiting 9m32s |" in md
    )
    assert "| PodReadyToStartContainers | True | - | - | 9m32s ago | 4s |" in md
    assert "**Waiting at Initialized for 9m32s (init container db-migrate)**" in md
    doc = json.loads(jsonout.render([r]))["reports"][0]
    assert doc["waiting_at"] == {
        "condition": "Initialized",
        "for_seconds": 572,
        "init_container": "db-migrate",
    }
    assert doc["ready_after_seconds"] is None
    assert doc["pod_conditions"][:3] == [
        {
            "type": "PodScheduled",
            "status": "True",
            "reason": None,
            "message": None,
            "last_transition_time": "2024-06-12T08:41:07Z",
            "age": "9m36s",
            "took_seconds": 0,
            "current": False,
        },
        {
            "type": "PodReadyToStartContainers",
            "status": "True",
            "reason": None,
            "message": None,
            "last_transition_time": "2024-06-12T08:41:11Z",
            "age": "9m32s",
            "took_seconds": 4,
            "current": False,
        },
        {
            "type": "Initialized",
            "status": "False",
            "reason": "ContainersNotInitialized",
            "message": "containers with incomplete status: [db-migrate]",
            "last_transition_time": "2024-06-12T08:41:08Z",
            "age": "9m35s",
            "took_seconds": None,
            "current": True,
        },
    ]
    assert list(doc)[3:7] == [
        "init_timeline",
        "pod_conditions",
        "waiting_at",
        "ready_after_seconds",
    ]


def test_blocking_sidecar_is_named_at_initialized() -> None:
    r = _report("PI402-sidecar-istio-proxy-startup-probe-failing")
    assert r.waiting_at is not None and r.waiting_at.type == "Initialized"
    assert r.waiting_for_init is not None and r.waiting_for_init.name == "istio-proxy"


# --- a pod that was never scheduled ------------------------------------------------------------


def test_unschedulable_pod_waits_at_pod_scheduled_since_creation() -> None:
    r = _report("PI001-init-request-too-large")  # created 14:05:31, captured 14:52:43
    assert [c.type for c in r.conditions] == WITHOUT_SANDBOX
    sched, *rest = r.conditions
    assert (sched.status, sched.reason, sched.current) == ("False", "Unschedulable", True)
    assert sched.message.startswith("0/3 nodes are available: 3 Insufficient cpu.")
    assert sched.waiting == _s(47 * 60 + 12)
    assert [(c.status, c.current, c.transitioned_at) for c in rest] == [(None, False, None)] * 3
    assert r.waiting_for_init is None
    assert (
        "Conditions: PodScheduled … waiting 47m (Unschedulable) · Initialized · ContainersReady"
        " · Ready\n" in table.render([r])
    )
    doc = json.loads(jsonout.render([r]))["reports"][0]
    assert doc["waiting_at"] == {
        "condition": "PodScheduled",
        "for_seconds": 2832,
        "init_container": None,
    }
    assert [c["status"] for c in doc["pod_conditions"]] == ["False", None, None, None]


# --- a running, ready pod ----------------------------------------------------------------------


def test_ready_pod_has_no_current_step_and_reports_the_total() -> None:
    # created 13:02:09, scheduled 13:03:54 (after a node scale-up), sandbox 13:03:58,
    # initialized 13:07:25, containers ready and ready 13:08:11; captured 13:16:40
    r = _report("ok-fits-node-big-init-after-scale-up")
    assert [(c.type, c.status, c.took) for c in r.conditions] == [
        ("PodScheduled", "True", _s(105)),
        ("PodReadyToStartContainers", "True", _s(4)),
        ("Initialized", "True", _s(3 * 60 + 27)),
        ("ContainersReady", "True", _s(46)),
        ("Ready", "True", _s(0)),
    ]
    assert not any(c.current or c.waiting for c in r.conditions)
    assert r.waiting_at is None and r.waiting_for_init is None
    assert r.ready_after == _s(6 * 60 + 2)
    assert _by_type(r.conditions)["Ready"].age == _s(8 * 60 + 29)
    assert (
        "Conditions: PodScheduled ✓ 105s · PodReadyToStartContainers ✓ 4s · Initialized ✓ 3m27s"
        " · ContainersReady ✓ 46s · Ready ✓ 0s · ready 6m2s after creation\n" in table.render([r])
    )
    assert "**Ready 6m2s after creation**" in markdown.render([r])
    doc = json.loads(jsonout.render([r]))["reports"][0]
    assert (doc["waiting_at"], doc["ready_after_seconds"]) == (None, 362)
    assert [c["took_seconds"] for c in doc["pod_conditions"]] == [105, 4, 207, 46, 0]


def test_initialized_before_the_sandbox_counts_from_the_latest_step() -> None:
    # No init containers: the kubelet writes Initialized=True (06:30:02) before
    # PodReadyToStartContainers=True (06:30:04). Captured 06:32:45.
    r = _report("PI202-ecr-token-expired-401")
    c = _by_type(r.conditions)
    assert c["Initialized"].took == _s(0)  # not -2s
    assert c["ContainersReady"].current
    assert c["ContainersReady"].waiting == _s(2 * 60 + 41)  # since 06:30:04, not 06:30:02


# --- conditions that fell back -----------------------------------------------------------------


def test_a_condition_that_fell_back_waits_since_its_own_transition() -> None:
    # Initialized True 08:50:13, ContainersReady False since 09:04:21 (the liveness probe
    # restarted the app), captured 09:14:30
    r = _report("PI503-app-liveness-probe-restarts")
    assert r.waiting_at is not None and r.waiting_at.type == "ContainersReady"
    assert r.waiting_at.waiting == _s(10 * 60 + 9)
    # ContainersReady True since 2024-12-07, Ready False since 14:03:15 (node not ready),
    # captured 14:06:56
    r = _report("PI008-node-not-ready")
    assert r.waiting_at is not None and r.waiting_at.type == "Ready"
    assert r.waiting_at.waiting == _s(3 * 60 + 41)
    assert "Ready … waiting 3m41s\n" in table.render([r])


# --- finished pods -----------------------------------------------------------------------------


def test_succeeded_pod_is_not_stuck() -> None:
    # created 06:45:00; Initialized True (PodCompleted) 06:45:22; Ready False PodCompleted
    r = _report("ok-pod-succeeded")
    c = _by_type(r.conditions)
    assert (c["Ready"].status, c["Ready"].reason) == ("False", "PodCompleted")
    assert (c["Initialized"].status, c["Initialized"].reason) == ("True", "PodCompleted")
    assert c["Initialized"].took == _s(22)
    assert not any(s.current for s in r.conditions)
    assert r.waiting_at is None and r.ready_after is None
    text = table.render([r])
    assert (
        "Conditions: PodScheduled ✓ 0s · PodReadyToStartContainers ✗ · Initialized ✓ 22s"
        " · ContainersReady ✗ PodCompleted · Ready ✗ PodCompleted\n" in text
    )
    assert "waiting" not in text.split("Conditions:")[1].splitlines()[0]
    assert json.loads(jsonout.render([r]))["reports"][0]["waiting_at"] is None


@pytest.mark.parametrize(
    "name",
    [
        "PI102-job-init-failed-never",
        "PI009-job-deadline-init-still-running",
        "ok-job-sidecar-exit-143",
    ],
)
def test_finished_pods_wait_nowhere(name: str) -> None:
    r = _report(name)
    assert r.pod.phase in ("Succeeded", "Failed")
    assert r.waiting_at is None and not any(c.current for c in r.conditions)


def test_ready_reason_marks_a_finished_pod_even_without_its_phase() -> None:
    pod = _pod("PI102-job-init-failed-never")
    del pod["status"]["phase"]
    assert not any(c.current for c in _chain(pod, "2024-11-05T09:12:05Z"))


# --- odd data ----------------------------------------------------------------------------------


def test_null_or_absent_transition_times_make_durations_unknown() -> None:
    now = "2024-06-12T08:50:43Z"
    pod = _pod(MIGRATE)
    _set_condition(pod, "PodReadyToStartContainers", lastTransitionTime=None)
    c = _by_type(_chain(pod, now))
    assert c["PodReadyToStartContainers"].status == "True"
    assert (c["PodReadyToStartContainers"].took, c["PodReadyToStartContainers"].age) == (None, None)
    # the latest step before it has no time: how long the pod waits is unknown, not guessed
    assert c["Initialized"].current and c["Initialized"].waiting is None

    pod = _pod(MIGRATE)
    _set_condition(pod, "PodScheduled", lastTransitionTime=...)
    _set_condition(pod, "Initialized", lastTransitionTime="yesterday")
    c = _by_type(_chain(pod, now))
    assert (c["PodScheduled"].took, c["PodScheduled"].transitioned_at) == (None, None)
    assert c["PodReadyToStartContainers"].took is None  # its reference is unknown
    assert c["Initialized"].transitioned_at is None and c["Initialized"].age is None
    assert c["Initialized"].waiting == _s(9 * 60 + 32)  # the sandbox's time is known again

    pod = _pod(MIGRATE)
    _set_condition(pod, "PodReadyToStartContainers", lastTransitionTime=None)
    r = diagnose(Bundle(pod=pod), now=_at(now))
    assert "Initialized … waiting (init container db-migrate)" in table.render([r])
    doc = json.loads(jsonout.render([r]))["reports"][0]
    assert doc["waiting_at"]["for_seconds"] is None
    assert doc["pod_conditions"][1]["last_transition_time"] is None
    assert doc["pod_conditions"][1]["age"] is None


def test_no_conditions_at_all() -> None:
    # status: null; created 10:00:31, captured 10:01:45
    r = _report("odd-null-status")
    assert [(c.type, c.status) for c in r.conditions] == [(t, None) for t in WITHOUT_SANDBOX]
    assert r.waiting_at is not None and r.waiting_at.type == "PodScheduled"
    assert r.waiting_at.waiting == _s(74)
    assert "Conditions: PodScheduled … waiting 74s (not reported yet) · Initialized" in (
        table.render([r])
    )

    pod = _pod(MIGRATE)
    pod["status"]["conditions"] = []
    del pod["metadata"]["creationTimestamp"]
    steps = _chain(pod, "2024-06-12T08:50:43Z")
    assert [s.type for s in steps] == WITHOUT_SANDBOX
    assert steps[0].current and steps[0].waiting is None  # no creation time to count from


def test_an_absent_condition_before_a_true_one_was_passed() -> None:
    pod = _pod(MIGRATE)
    pod["status"]["conditions"] = [
        {"type": "Initialized", "status": "True", "lastTransitionTime": "2024-06-12T08:41:20Z"}
    ]
    c = _by_type(_chain(pod, "2024-06-12T08:50:43Z"))
    assert c["PodScheduled"].status is None and not c["PodScheduled"].current
    assert c["Initialized"].took == _s(13)  # from creation: no earlier True step
    assert c["ContainersReady"].current
    assert c["ContainersReady"].waiting == _s(9 * 60 + 23)


def test_odd_status_values_read_as_unknown() -> None:
    pod = _pod(MIGRATE)
    _set_condition(pod, "PodScheduled", status="yes", reason=["x"], message=7)
    _set_condition(pod, "Ready", reason={"PodCompleted": 1})
    steps = _chain(pod, "2024-06-12T08:50:43Z")
    assert (steps[0].status, steps[0].reason, steps[0].message) == ("Unknown", "", "")
    assert steps[0].current and steps[0].waiting == _s(9 * 60 + 36)


def test_secret_looking_condition_messages_are_redacted() -> None:
    pod = _pod(MIGRATE)
    _set_condition(pod, "Ready", message="gate check failed: token=abcdef0123456789")
    r = diagnose(Bundle(pod=pod), now=_at("2024-06-12T08:50:43Z"))
    for text in (jsonout.render([r]), markdown.render([r]), table.render([r])):
        assert "abcdef0123456789" not in text


# --- every fixture -----------------------------------------------------------------------------


@pytest.mark.parametrize("bundle", fixture_dirs(), ids=[d.name for d in fixture_dirs()])
def test_chain_is_consistent_on_every_fixture(bundle: Path, report_schema: dict[str, Any]) -> None:
    (b,) = load_path(bundle)
    r = diagnose(b)
    types = [c.type for c in r.conditions]
    assert types in (CHAIN, WITHOUT_SANDBOX)
    current = [c for c in r.conditions if c.current]
    assert len(current) <= 1
    if r.pod.phase in ("Succeeded", "Failed"):
        assert not current
    if all(c.status == "True" for c in r.conditions):
        assert not current and r.ready_after is not None
    for c in r.conditions:
        assert c.took is None or c.took >= timedelta(0)
        assert c.waiting is None or c.waiting >= timedelta(0)
        assert (c.took is not None) <= (c.status == "True")
    doc = json.loads(jsonout.render([r]))
    jsonschema.validate(doc, report_schema, format_checker=jsonschema.FormatChecker())
    rep = doc["reports"][0]
    flagged = [c["type"] for c in rep["pod_conditions"] if c["current"]]
    assert flagged == ([rep["waiting_at"]["condition"]] if rep["waiting_at"] else [])
    # byte-identical for the same input
    assert jsonout.render([r]) == jsonout.render([diagnose(copy.deepcopy(b))])


def test_old_output_without_the_chain_still_validates(report_schema: dict[str, Any]) -> None:
    """The fields were added under schema_version 1, so they are optional."""
    doc = json.loads(jsonout.render([_report(MIGRATE)]))
    for key in ("pod_conditions", "waiting_at", "ready_after_seconds"):
        del doc["reports"][0][key]
    jsonschema.validate(doc, report_schema)


def test_now_defaults_to_capture_time() -> None:
    assert _report(MIGRATE).observed_at == datetime(2024, 6, 12, 8, 50, 43, tzinfo=UTC)


_ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.text(max_size=12),
    st.lists(st.text(max_size=3), max_size=2),
    st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
)
_CONDITION = st.fixed_dictionaries(
    {},
    optional={
        "type": st.one_of(st.sampled_from([*CHAIN, "DisruptionTarget"]), _ODD),
        "status": st.one_of(st.sampled_from(["True", "False", "Unknown"]), _ODD),
        "reason": st.one_of(st.sampled_from(["PodCompleted", "PodFailed", "Unschedulable"]), _ODD),
        "message": _ODD,
        "lastTransitionTime": st.one_of(
            st.sampled_from(
                ["2024-06-12T08:41:07Z", "2024-06-12T09:00:00Z", "2030-01-01T00:00:00Z", "x"]
            ),
            _ODD,
        ),
    },
)


@settings(max_examples=300, deadline=None)
@given(
    conditions=st.one_of(st.lists(st.one_of(_CONDITION, _ODD), max_size=7), _ODD),
    phase=st.one_of(st.sampled_from(["Pending", "Running", "Succeeded", "Failed"]), _ODD),
    created=st.sampled_from([None, "2024-06-12T08:41:07Z", "2031-01-01T00:00:00Z", 5]),
)
def test_any_conditions_give_a_consistent_chain(
    conditions: object, phase: object, created: object
) -> None:
    pod = _pod(MIGRATE)
    pod["status"]["conditions"] = conditions
    pod["status"]["phase"] = phase
    pod["metadata"]["creationTimestamp"] = created
    r = diagnose(Bundle(pod=pod), now=_at("2024-06-12T08:50:43Z"))
    assert [c.type for c in r.conditions] in (CHAIN, WITHOUT_SANDBOX)
    assert sum(c.current for c in r.conditions) <= 1
    for c in r.conditions:
        assert c.status in ("True", "False", "Unknown", None)
        assert c.took is None or c.took >= timedelta(0)
        assert c.waiting is None or c.waiting >= timedelta(0)
    again = diagnose(Bundle(pod=copy.deepcopy(pod)), now=_at("2024-06-12T08:50:43Z"))
    for render in (jsonout.render, table.render, markdown.render):
        assert render([r]) == render([again])
    _VALIDATOR.validate(json.loads(jsonout.render([r])))


def test_current_step_is_the_chains_current_step_on_every_fixture_and_incident() -> None:
    dirs = fixture_dirs() + sorted((ROOT / "tests" / "incidents").glob("*/"))
    checked = 0
    for d in dirs:
        if not (d / "pod.json").is_file():
            continue
        for b in load_path(d):
            snap = normalize(b, b.captured_at or datetime(2026, 1, 1, tzinfo=UTC))
            chain = condition_chain(snap)
            assert current_step(snap) == next((s for s in chain if s.current), None), d.name
            checked += 1
    assert checked > 150
