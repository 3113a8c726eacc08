"""Odd but parseable pods produce a report, never an exception, and the same one twice."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podinit_diag import Bundle, diagnose, pod_status
from podinit_diag.render import jsonout, markdown, table

from .conftest import ROOT, fixture_dirs

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
EXAMPLE_POD: dict[str, Any] = json.loads((ROOT / "examples/init-crashloop/pod.json").read_text())


def _render_all(bundle: Bundle) -> tuple[str, str, str]:
    report = diagnose(bundle, now=NOW)
    assert not any("failed on this pod" in e for e in report.errors), report.errors
    return jsonout.render([report]), table.render([report]), markdown.render([report])


def _pod(**overrides: Any) -> dict[str, Any]:
    pod = copy.deepcopy(EXAMPLE_POD)
    pod.update(overrides)
    return pod


def test_null_status_and_spec() -> None:
    for pod in (_pod(status=None), _pod(spec=None), _pod(metadata=None), {"kind": "Pod"}):
        _render_all(Bundle(pod=pod))


def test_wrong_types_everywhere() -> None:
    pod = _pod()
    st_ = pod["status"]
    st_["initContainerStatuses"][1]["restartCount"] = "five"
    st_["initContainerStatuses"][1]["lastState"] = {"terminated": {"exitCode": "1", "reason": 7}}
    st_["initContainerStatuses"][0]["state"] = ["terminated"]
    st_["conditions"] = "Initialized"
    pod["spec"]["initContainers"][0]["command"] = "sleep 3600"
    pod["spec"]["initContainers"].append("not-a-container")
    pod["metadata"]["ownerReferences"] = [{"kind": 3}]
    _render_all(Bundle(pod=pod, events=({"involvedObject": "x"}, {"series": 5})))


def test_unknown_container_names_and_absurd_numbers() -> None:
    pod = _pod()
    pod["status"]["initContainerStatuses"][1]["name"] = "ghost"
    pod["status"]["containerStatuses"][0]["restartCount"] = 10**30
    pod["status"]["containerStatuses"][0]["lastState"] = {
        "terminated": {"exitCode": -(10**20), "finishedAt": "9999-12-31T23:59:59Z"}
    }
    report = diagnose(Bundle(pod=pod), now=NOW)
    assert report.findings == ()  # the failing init container has no status any more
    _render_all(Bundle(pod=pod))


def test_non_utf8_logs() -> None:
    logs = {"migrate.previous.log": b"\xff\xfe\x00bad \xc3\x28 bytes\nsh: migrate: not found\n"}
    report = diagnose(Bundle(pod=_pod(), logs=logs), now=NOW)
    assert [f.code for f in report.findings] == ["PI104"]
    assert all("\x00" not in e.text for f in report.findings for e in f.evidence)


def test_pod_status_never_raises_on_odd_pods() -> None:
    for pod in ({}, {"status": None}, {"spec": 3}, {"status": {"containerStatuses": [None, 1]}}):
        assert isinstance(pod_status(pod, NOW).status, str)


# Property: mutate real fixture pods at random places; the pipeline must hold.
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.text(max_size=20),
    st.sampled_from(["Always", "Never", "OOMKilled", "CrashLoopBackOff", "2024-01-01T00:00:00Z"]),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
_PODS = [EXAMPLE_POD] + [json.loads((d / "pod.json").read_text()) for d in fixture_dirs()]


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_pods_never_crash_and_are_deterministic(data: st.DataObject) -> None:
    pod = copy.deepcopy(data.draw(st.sampled_from(_PODS)))
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        paths = [p for p in _paths(pod) if p]
        if not paths:
            break
        path = data.draw(st.sampled_from(paths))
        parent = pod
        for key in path[:-1]:
            parent = parent[key]
        if data.draw(st.booleans()):
            parent[path[-1]] = data.draw(_VALUES)
        elif isinstance(parent, dict):
            del parent[path[-1]]
    bundle = Bundle(pod=pod)
    assert _render_all(bundle) == _render_all(Bundle(pod=copy.deepcopy(pod)))
