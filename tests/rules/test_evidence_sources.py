"""Every evidence source the API offers is read, offline as live: termination messages,
the runtime's start errors, the events of the pod's claims, its node's conditions, and the
scheduler's messages in the wordings of every release since 1.20.

Each test changes one field of a fixture pod the way a real cluster writes it and checks
which finding that field now decides (expected values from the kubelet's and scheduler's
semantics, not read back from the code)."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from podinit_diag import Bundle, diagnose, load_path

from ..conftest import FIXTURES, ROOT, claim_of, provisioning_failed

EXAMPLE = ROOT / "examples" / "init-crashloop"


def _example(**status: Any) -> Bundle:
    """The shipped crash-looping example without its logs, its init container ``migrate``
    given ``status`` fields (lastState.terminated...)."""
    (b,) = load_path(EXAMPLE)
    pod = copy.deepcopy(b.pod)
    st = next(s for s in pod["status"]["initContainerStatuses"] if s["name"] == "migrate")
    st["lastState"]["terminated"].update(status)
    return replace(b, pod=pod, logs={})


def _codes(b: Bundle) -> list[tuple[str, str | None]]:
    return [(f.code, f.container) for f in diagnose(b).findings]


def test_a_fallback_to_logs_termination_message_is_read_like_a_log() -> None:
    message = (
        "Running migrations...\n"
        'psql: error: connection to server at "orders-db" (10.96.14.2), port 5432 failed: '
        "Connection refused\n\tIs the server running on that host and accepting TCP/IP "
        "connections?\n"
    )
    report = diagnose(_example(message=message))
    first = report.findings[0]
    assert (first.code, first.container) == ("PI110", "migrate")
    refs = [e.ref for e in first.evidence]
    assert "$.status.initContainerStatuses[1].lastState.terminated.message" in refs


def test_without_a_message_or_log_the_same_pod_is_a_plain_crash_loop() -> None:
    assert _codes(_example())[0] == ("PI101", "migrate")


@pytest.mark.parametrize(
    ("reason", "exit_code", "message", "code"),
    [
        (
            "StartError",
            128,
            "failed to create containerd task: failed to create shim task: OCI runtime create "
            'failed: runc create failed: unable to start container process: exec: "migrate": '
            "executable file not found in $PATH: unknown",
            "PI104",
        ),
        (
            "StartError",
            128,
            "failed to create containerd task: failed to create shim task: OCI runtime create "
            "failed: runc create failed: unable to start container process: error during "
            'container init: exec: "/app/migrate": permission denied: unknown',
            "PI105",
        ),
        (
            "StartError",
            128,
            "failed to create containerd task: failed to create shim task: OCI runtime create "
            "failed: runc create failed: unable to start container process: container init was "
            "OOM-killed (memory limit too low?): unknown",
            "PI103",
        ),
        ("Error", 1, "exec /app/migrate: exec format error", "PI208"),
        ("OOMKilled", 0, "", "PI103"),  # containerd reporting an OOM kill as exit 0
        ("Error", 1, "error: timed out waiting for the condition on jobs/orders-migrate", "PI107"),
        ("Error", 1, "mkdir: can't create directory '/data/cache': Read-only file system", "PI105"),
    ],
)
def test_the_runtimes_and_the_programs_words_decide(
    reason: str, exit_code: int, message: str, code: str
) -> None:
    b = _example(reason=reason, exitCode=exit_code, message=message)
    assert _codes(b)[0] == (code, "migrate")


def test_a_claims_provisioning_failure_is_quoted_from_its_own_events() -> None:
    (b,) = load_path(FIXTURES / "PI003-unbound-immediate-pvc")
    claim = claim_of(b.pod)
    event = provisioning_failed(
        b.pod["metadata"]["namespace"], claim, b.pod["metadata"]["creationTimestamp"]
    )
    report = diagnose(replace(b, events=(*b.events, event)))
    (f,) = [f for f in report.findings if f.code == "PI003"]
    assert 'storageclass.storage.k8s.io "nfs-legacy" not found' in f.title
    assert any(
        e.ref.startswith(f"PersistentVolumeClaim {claim}: Warning ProvisioningFailed")
        for e in f.evidence
    )
    # an event about another claim of the namespace is not this pod's
    other = {**event, "involvedObject": {**event["involvedObject"], "name": "someone-else"}}
    report = diagnose(replace(b, events=(*b.events, other)))
    (f,) = [f for f in report.findings if f.code == "PI003"]
    assert "nfs-legacy" not in f.title


def test_the_nodes_conditions_say_it_is_lost() -> None:
    (b,) = load_path(FIXTURES / "ok-completed-init-running-app")
    node = b.pod["spec"]["nodeName"]
    lost = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": node},
        "status": {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "Unknown",
                    "reason": "NodeStatusUnknown",
                    "message": "Kubelet stopped posting node status.",
                }
            ]
        },
    }
    assert "PI008" in [c for c, _ in _codes(replace(b, related=(lost,)))]
    ready = copy.deepcopy(lost)
    ready["status"]["conditions"][0].update(status="True", reason="KubeletReady")
    assert "PI008" not in [c for c, _ in _codes(replace(b, related=(ready,)))]


def _unschedulable(message: str) -> Bundle:
    (b,) = load_path(FIXTURES / "PI002-node-selector-no-match")
    events = [copy.deepcopy(e) for e in b.events]
    for e in events:
        if e.get("reason") == "FailedScheduling":
            e["message"] = message
    pod = copy.deepcopy(b.pod)
    for c in pod["status"]["conditions"]:
        if c["type"] == "PodScheduled":
            c["message"] = message
    return replace(b, pod=pod, events=tuple(events))


@pytest.mark.parametrize(
    ("message", "code"),
    [
        # 1.20-1.21
        ("0/3 nodes are available: 3 node(s) didn't match node selector.", "PI002"),
        (
            "0/3 nodes are available: 1 node(s) had taint {node-role.kubernetes.io/master: }, "
            "that the pod didn't tolerate, 2 node(s) didn't match node selector.",
            "PI002",
        ),
        ("0/4 nodes are available: 4 pod has unbound immediate PersistentVolumeClaims.", "PI003"),
        ("0/2 nodes are available: 2 node(s) had volume node affinity conflict.", "PI003"),
        ("0/3 nodes are available: 3 Insufficient ephemeral-storage.", "PI001"),
        # 1.22+
        (
            "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. "
            "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
            "PI002",
        ),
        (
            "0/6 nodes are available: 1 node(s) had untolerated taint "
            "{node-role.kubernetes.io/control-plane: }, 5 node(s) had volume node affinity "
            "conflict. preemption: 0/6 nodes are available: 6 Preemption is not helpful for "
            "scheduling.",
            "PI003",
        ),
        # a plugin or a future release the rules do not know: never silent
        ("0/3 nodes are available: 3 node(s) were refused by the FancyPlacement plugin.", "PI801"),
    ],
)
def test_scheduler_messages_in_every_wording(message: str, code: str) -> None:
    assert _codes(_unschedulable(message))[0][0] == code


def test_the_example_still_loads_as_shipped() -> None:
    assert json.loads((EXAMPLE / "pod.json").read_text())["kind"] == "Pod"


def test_a_pod_the_kubelet_refused_is_never_silent() -> None:
    """Rejected at admission (the kubelet's OutOfcpu): phase Failed, no container ran."""
    (b,) = load_path(FIXTURES / "ok-completed-init-running-app")
    pod = copy.deepcopy(b.pod)
    pod["status"] = {
        "phase": "Failed",
        "reason": "OutOfcpu",
        "message": "Pod was rejected: Node didn't have enough resource: cpu, requested: 500, "
        "used: 3800, capacity: 4000",
        "startTime": pod["status"]["startTime"],
    }
    report = diagnose(replace(b, pod=pod, events=()))
    assert [(f.code, f.container) for f in report.findings if f.severity.value != "info"] == [
        ("PI806", None)
    ]
    assert "OutOfcpu" in report.findings[0].title


def test_an_app_failing_because_its_sidecar_went_away_ranks_after_the_sidecar() -> None:
    (gone,) = load_path(FIXTURES / "PI501-app-fails-because-cloud-sql-proxy-went-away")
    first, second = diagnose(gone).findings
    assert (first.container, second.container) == ("cloud-sql-proxy", "orders-api")
    assert "localhost:5432, served by container cloud-sql-proxy" in second.title
    (healthy,) = load_path(FIXTURES / "PI501-app-refused-while-cloud-sql-proxy-healthy")
    (only,) = diagnose(healthy).findings
    assert only.container == "orders-api" and "served by" not in only.title


def _event(b: Bundle, reason: str, message: str, container: str | None, count: int, at: str) -> Any:
    meta = b.pod["metadata"]
    involved = {"kind": "Pod", "name": meta["name"], "namespace": meta["namespace"]}
    if container:
        involved["fieldPath"] = f"spec.containers{{{container}}}"
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{meta['name']}.{reason}", "namespace": meta["namespace"]},
        "involvedObject": {**involved, "uid": meta.get("uid")},
        "reason": reason,
        "type": "Warning",
        "message": message,
        "count": count,
        "firstTimestamp": at,
        "lastTimestamp": at,
    }


@pytest.mark.parametrize(
    ("fixture", "reason", "message"),
    [
        (
            "ok-pod-succeeded",
            "FailedMount",
            'MountVolume.SetUp failed for volume "scratch" : mount failed: exit status 32',
        ),
        (
            "ok-pod-succeeded",
            "FailedMount",
            'MountVolume.SetUp failed for volume "config" : configmap "report-config" not found',
        ),
        (
            "ok-completed-init-running-app",
            "FailedCreatePodSandBox",
            "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup "
            'network for sandbox "4f1c": plugin type="aws-cni" name="aws-cni" failed (add): '
            "add cmd: failed to assign an IP address to container",
        ),
    ],
)
def test_warnings_the_pod_has_got_past_are_history(fixture: str, reason: str, message: str) -> None:
    (b,) = load_path(FIXTURES / fixture)
    old = _event(b, reason, message, None, 4, b.pod["metadata"]["creationTimestamp"])
    assert [
        f
        for f in diagnose(replace(b, events=(*b.events, old))).findings
        if f.severity.value != "info"
    ] == []


def test_old_probe_failures_of_a_ready_container_are_history() -> None:
    (b,) = load_path(FIXTURES / "ok-completed-init-running-app")
    pod = copy.deepcopy(b.pod)
    app = pod["status"]["containerStatuses"][0]
    app["restartCount"] = 1
    app["lastState"] = {
        "terminated": {
            "exitCode": 137,
            "reason": "Error",
            "startedAt": pod["metadata"]["creationTimestamp"],
            "finishedAt": pod["metadata"]["creationTimestamp"],
        }
    }
    name = app["name"]
    at = pod["metadata"]["creationTimestamp"]  # days before the capture
    probe = _event(
        b,
        "Unhealthy",
        "Readiness probe failed: HTTP probe failed with statuscode: 503",
        name,
        9,
        at,
    )
    loud = [
        f
        for f in diagnose(replace(b, pod=pod, events=(*b.events, probe))).findings
        if f.severity.value != "info"
    ]
    assert loud == []
    # the same failures a minute ago, on a container that is not ready, still count
    pod["status"]["containerStatuses"][0]["ready"] = False
    recent = {**probe, "lastTimestamp": b.captured_at.strftime("%Y-%m-%dT%H:%M:%SZ")}
    codes = [f.code for f in diagnose(replace(b, pod=pod, events=(*b.events, recent))).findings]
    assert "PI503" in codes


def test_a_node_that_came_back_and_a_hook_that_returned_are_history() -> None:
    (b,) = load_path(FIXTURES / "ok-completed-init-running-app")
    at = b.pod["metadata"]["creationTimestamp"]
    blip = _event(b, "NodeNotReady", "Node is not ready", None, 1, at)
    assert "PI008" not in [f.code for f in diagnose(replace(b, events=(*b.events, blip))).findings]
    (held,) = load_path(FIXTURES / "PI406-linkerd-await-hook-timeout-holds-app")
    (returned,) = load_path(FIXTURES / "ok-linkerd-await-hook-returned")
    assert diagnose(held).findings[0].code == "PI406"
    meta = returned.pod["metadata"]
    hook_failures = tuple(
        {**e, "involvedObject": {**e["involvedObject"], "name": meta["name"], "uid": meta["uid"]}}
        for e in held.events
        if e.get("reason") == "FailedPostStartHook"
    )
    assert hook_failures
    later = replace(returned, events=(*returned.events, *hook_failures))
    assert "PI406" not in [f.code for f in diagnose(later).findings]


@pytest.mark.parametrize(("up_minutes", "reported"), [(9, False), (2, True)])
def test_an_oom_kill_minutes_ago_matters_until_the_container_has_been_up_a_while(
    up_minutes: int, reported: bool
) -> None:
    """The kubelet restarts a crash-looping container at most five minutes apart: one ready
    and up longer than that has recovered (kubernetes#104454-style lastState records)."""
    (b,) = load_path(FIXTURES / "ok-completed-init-running-app")
    captured = b.captured_at
    assert captured is not None

    def ago(minutes: int) -> str:
        return (captured - timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")

    pod = copy.deepcopy(b.pod)
    app = pod["status"]["containerStatuses"][0]
    app["restartCount"] = 2
    app["state"] = {"running": {"startedAt": ago(up_minutes)}}
    app["lastState"] = {
        "terminated": {
            "exitCode": 137,
            "reason": "OOMKilled",
            "startedAt": ago(up_minutes + 8),
            "finishedAt": ago(up_minutes),
        }
    }
    codes = [f.code for f in diagnose(replace(b, pod=pod)).findings]
    assert ("PI502" in codes) is reported


def test_a_node_full_of_pods_does_not_hide_the_cpu_the_pod_asks_for() -> None:
    """kube-scheduler sorts its reasons as strings (FitError.Error in
    pkg/scheduler/framework/types.go), so "1 Too many pods" comes before "2 Insufficient
    cpu"; seen on the e2e control plane (v1.37.2) when one node ran 110 pods. The pod's own
    request refused by more nodes is the first finding, and the full node is said to be
    full, not to be short of the "0 pods" the pod requests."""
    message = (
        "0/3 nodes are available: 1 Too many pods, 2 Insufficient cpu. preemption: 0/3 nodes "
        "are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims "
        "found for incoming pod."
    )
    findings = [f for f in diagnose(_unschedulable(message)).findings if f.code == "PI001"]
    assert [f.title.split(":")[0] for f in findings] == [
        "Pod cannot be scheduled (2/3 nodes",
        "Pod cannot be scheduled (1/3 nodes",
    ]
    assert "insufficient cpu" in findings[0].title
    assert "too many pods" in findings[1].title and "request" not in findings[1].title
