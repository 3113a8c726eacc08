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

from ..conftest import ROOT, fixture_dirs, json_paths

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
    pod["spec"]["volumes"] = [{"name": ["scratch"], "emptyDir": {}}, {"name": "s", "emptyDir": {}}]
    pod["spec"]["initContainers"][1]["volumeMounts"] = [{"name": ["s"], "mountPath": "/x"}]
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
    # the failing init container has no status any more: only where the pod waits is known
    assert [(f.code, f.container) for f in report.findings] == [("PI806", "migrate")]
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


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_pods_never_crash_and_are_deterministic(data: st.DataObject) -> None:
    pod = copy.deepcopy(data.draw(st.sampled_from(_PODS)))
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        paths = [p for p in json_paths(pod) if p]
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


# Property: pods generated from scratch, with the states, reasons and events the rules read.
_REASONS = st.sampled_from(
    [
        "CrashLoopBackOff",
        "PodInitializing",
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
        "StartError",
        "OOMKilled",
        "Error",
        "Completed",
        "ContainerStatusUnknown",
        "",
    ]
)
_MESSAGES = st.sampled_from(
    [
        "",
        'secret "db" not found',
        "couldn't find key password in Secret shop/db",
        'configmap "cfg" not found',
        'Failed to pull image "x": toomanyrequests',
        'exec: "migrate": executable file not found in $PATH',
        "container has runAsNonRoot and image will run as root",
        "password=hunter2 Authorization: Bearer abcdefghijklmnop",
    ]
)
_TIMES = st.one_of(
    st.none(), st.sampled_from(["2026-11-20T09:00:00Z", "2026-11-20T09:59:30Z", "garbage"])
)


@st.composite
def _container(draw: st.DrawFn, name: str, kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
    spec: dict[str, Any] = {"name": name, "image": draw(st.sampled_from(["busybox", "a/b:1"]))}
    if kind == "sidecar":
        spec["restartPolicy"] = "Always"
    if draw(st.booleans()):
        spec["command"] = draw(
            st.sampled_from(
                [["sleep", "3600"], ["sh", "-c", "until nslookup db; do sleep 2; done"], ["x"]]
            )
        )
    if draw(st.booleans()):
        spec["resources"] = {"requests": {"cpu": draw(st.sampled_from(["100m", "3", "x"]))}}
    state_kind = draw(st.sampled_from(["waiting", "running", "terminated", None]))
    state: dict[str, Any] = {}
    if state_kind == "waiting":
        state = {"waiting": {"reason": draw(_REASONS), "message": draw(_MESSAGES)}}
    elif state_kind == "running":
        state = {"running": {"startedAt": draw(_TIMES)}}
    elif state_kind == "terminated":
        state = {
            "terminated": {
                "exitCode": draw(st.sampled_from([0, 1, 2, 126, 127, 128, 137, 139, 143])),
                "reason": draw(_REASONS),
                "message": draw(_MESSAGES),
                "finishedAt": draw(_TIMES),
            }
        }
    status = {
        "name": name,
        "state": state,
        "ready": draw(st.booleans()),
        "started": draw(st.booleans()),
        "restartCount": draw(st.integers(min_value=0, max_value=50)),
        "lastState": draw(
            st.sampled_from(
                [{}, {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}, {"terminated": {}}]
            )
        ),
    }
    return spec, status


@st.composite
def _generated_bundle(draw: st.DrawFn) -> Bundle:
    inits, init_statuses, apps, app_statuses = [], [], [], []
    for i in range(draw(st.integers(min_value=0, max_value=3))):
        kind = draw(st.sampled_from(["init", "sidecar"]))
        spec, status = draw(_container(f"i{i}", kind))
        inits.append(spec)
        init_statuses.append(status)
    for i in range(draw(st.integers(min_value=0, max_value=2))):
        spec, status = draw(_container(f"a{i}", "app"))
        apps.append(spec)
        app_statuses.append(status)
    names = [c["name"] for c in inits + apps] or ["x"]
    events = [
        {
            "involvedObject": {
                "kind": "Pod",
                "name": "p",
                "fieldPath": f"spec.containers{{{draw(st.sampled_from(names))}}}",
            },
            "reason": draw(
                st.sampled_from(
                    ["Unhealthy", "Failed", "BackOff", "FailedMount", "FailedScheduling"]
                )
            ),
            "message": draw(
                st.sampled_from(
                    [
                        "Liveness probe failed: HTTP probe failed with statuscode: 500",
                        'Failed to pull image "x": not found',
                        'MountVolume.SetUp failed for volume "v" : configmap "c" not found',
                        "0/3 nodes are available: 3 Insufficient cpu.",
                    ]
                )
            ),
            "type": "Warning",
            "count": draw(st.integers(min_value=1, max_value=5)),
            "lastTimestamp": draw(_TIMES),
        }
        for _ in range(draw(st.integers(min_value=0, max_value=4)))
    ]
    pod = {
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "ns", "uid": "u"},
        "spec": {
            "initContainers": inits,
            "containers": apps,
            "restartPolicy": draw(st.sampled_from(["Always", "Never", "OnFailure"])),
        },
        "status": {
            "phase": draw(st.sampled_from(["Pending", "Running", "Failed", "Succeeded"])),
            "reason": draw(st.sampled_from([None, "Evicted", "DeadlineExceeded", "NodeLost"])),
            "conditions": draw(
                st.sampled_from(
                    [
                        [],
                        [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}],
                        [{"type": "Initialized", "status": "True"}],
                    ]
                )
            ),
            "initContainerStatuses": init_statuses,
            "containerStatuses": app_statuses,
        },
    }
    return Bundle(pod=pod, events=tuple(events))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bundle=_generated_bundle())
def test_generated_pods_never_crash_and_are_deterministic(bundle: Bundle) -> None:
    first = _render_all(bundle)
    assert first == _render_all(copy.deepcopy(bundle))
    for text in first:
        assert "hunter2" not in text and "abcdefghijklmnop" not in text  # always redacted
