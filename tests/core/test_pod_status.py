# Table-driven tests for podinit_diag.core.kubestatus, a port of kubectl's printPod.
#
# Upstream: kubernetes/kubernetes, pkg/printers/internalversion/printers_test.go and
# printers.go, read from the code index (newest stored version: the one with
# TestPrintPodWithRestartableInitContainer and MutatingAdmissionPolicy printers; index file
# ids 100530230 for printers_test.go and 59882936 for printers.go; the index does not expose
# the commit of that version). Every pod case of these functions is ported below, with the
# STATUS, READY and RESTARTS cells as upstream expects them:
#   TestPrintPod                               21 cases (two are both named "test6")
#   TestPrintPodWithRestartableInitContainer    5 cases
#   TestPrintPodwide                            3 cases (wide-only cells not ported)
#   TestPrintPodConditions                      3 cases (TableRow conditions not ported)
#   TestPrintPodList                            1 case, 2 pods
#   TestPrintNonTerminatedPod                   5 cases
#   TestTableRowDeepCopyShouldNotPanic          1 pod case (the empty pod)
# plus TestPrintPodWithLabels (2 cases), which only exists in an older stored version
# (commit 41f6f9ddbb176816b756734fdfcd000b0b8e1453). Upstream builds times from time.Now();
# here they are relative to a fixed NOW. Ids starting "extra-" are ours: rules printPod
# implements that upstream does not test. Ids starting "odd-" are malformed input, where a
# field of the wrong type must count as absent and nothing may raise.
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podinit_diag.core.kubestatus import PodStatus, pod_status
from podinit_diag.core.kubetime import format_time

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def ago(**delta: float) -> str:
    return format_time(NOW - timedelta(**delta))


# --- builders -------------------------------------------------------------------------

RUNNING: dict[str, Any] = {"running": {}}


def waiting(reason: str | None = None) -> dict[str, Any]:
    return {"waiting": {} if reason is None else {"reason": reason}}


def terminated(
    reason: str | None = None, exit_code: int = 0, signal: int | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"exitCode": exit_code}
    if reason is not None:
        body["reason"] = reason
    if signal is not None:
        body["signal"] = signal
    return {"terminated": body}


def cs(
    state: dict[str, Any] | None = None,
    *,
    ready: bool = False,
    restarts: int = 0,
    finished: str | None = None,
    name: str | None = None,
    started: bool | None = None,
) -> dict[str, Any]:
    """One containerStatuses entry; ``finished`` is lastState.terminated.finishedAt."""
    entry: dict[str, Any] = {"ready": ready, "restartCount": restarts, "state": state or {}}
    if name is not None:
        entry["name"] = name
    if started is not None:
        entry["started"] = started
    if finished is not None:
        entry["lastState"] = {"terminated": {"exitCode": 1, "finishedAt": finished}}
    return entry


def sidecar(name: str) -> dict[str, Any]:
    return {"name": name, "restartPolicy": "Always"}


def cond(type_: str, status: str = "True", reason: str | None = None) -> dict[str, Any]:
    c = {"type": type_, "status": status}
    if reason is not None:
        c["reason"] = reason
    return c


def pod(
    *,
    containers: int | list[dict[str, Any]] = 2,
    init: int | list[dict[str, Any]] = 0,
    phase: str | None = "podPhase",
    reason: str | None = None,
    statuses: list[dict[str, Any]] | None = None,
    init_statuses: list[dict[str, Any]] | None = None,
    conditions: list[dict[str, Any]] | None = None,
    deleted: str | None = None,
) -> dict[str, Any]:
    """A pod as ``kubectl get pod -o json`` prints it; ints mean that many unnamed entries."""
    spec: dict[str, Any] = {
        "containers": [{} for _ in range(containers)] if isinstance(containers, int) else containers
    }
    if init:
        spec["initContainers"] = [{} for _ in range(init)] if isinstance(init, int) else init
    status: dict[str, Any] = {}
    if phase is not None:
        status["phase"] = phase
    if reason is not None:
        status["reason"] = reason
    if statuses is not None:
        status["containerStatuses"] = statuses
    if init_statuses is not None:
        status["initContainerStatuses"] = init_statuses
    if conditions is not None:
        status["conditions"] = conditions
    metadata: dict[str, Any] = {"name": "test"}
    if deleted is not None:
        metadata["deletionTimestamp"] = deleted
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec, "status": status}


def case(case_id: str, the_pod: Any, status: str, ready: str, restarts: str) -> Any:
    return pytest.param(the_pod, (status, ready, restarts), id=case_id)


# A pod that upstream reuses: one ready running container, one with no state, 3+3 restarts.
def basic(phase: str = "podPhase", **kw: Any) -> dict[str, Any]:
    return pod(phase=phase, statuses=[cs(RUNNING, ready=True, restarts=3), cs(restarts=3)], **kw)


DELETED = ago(seconds=10)
SIDECARS = [sidecar("restartable-init-1"), sidecar("restartable-init-2")]

UPSTREAM = [
    # --- TestPrintPod ---------------------------------------------------------------------
    case("TestPrintPod-01-name-containers-restarts-ready", basic(), "podPhase", "1/2", "6"),
    case(
        "TestPrintPod-02-container-error-overwrites-phase",
        pod(
            statuses=[
                cs(RUNNING, ready=True, restarts=3),
                cs(waiting("ContainerWaitingReason"), restarts=3),
            ]
        ),
        "ContainerWaitingReason",
        "1/2",
        "6",
    ),
    case(
        "TestPrintPod-03-terminated-and-first-container-wins",
        pod(
            statuses=[
                cs(waiting("ContainerWaitingReason"), restarts=3),
                cs(terminated("ContainerTerminatedReason"), restarts=3),
            ]
        ),
        "ContainerWaitingReason",
        "0/2",
        "6",
    ),
    case(
        "TestPrintPod-04-ready-is-not-enough-for-running",
        pod(statuses=[cs(RUNNING, ready=True, restarts=3), cs(ready=True, restarts=3)]),
        "podPhase",
        "1/2",
        "6",
    ),
    case(
        "TestPrintPod-05-status-reason-overrides-phase",
        pod(
            reason="podReason",
            statuses=[cs(RUNNING, ready=True, restarts=3), cs(ready=True, restarts=3)],
        ),
        "podReason",
        "1/2",
        "6",
    ),
    case(
        "TestPrintPod-06-running-and-completed-without-ready-condition",
        pod(
            phase="Running",
            statuses=[
                cs(terminated("Completed"), ready=True, restarts=3),
                cs(RUNNING, ready=True, restarts=3),
            ],
        ),
        "NotReady",
        "1/2",
        "6",
    ),
    case(
        "TestPrintPod-07-running-and-completed-with-ready-condition",
        pod(
            phase="Running",
            statuses=[
                cs(terminated("Completed"), ready=True, restarts=3),
                cs(RUNNING, ready=True, restarts=3),
            ],
            conditions=[cond("Ready")],
        ),
        "Running",
        "1/2",
        "6",
    ),
    case(
        "TestPrintPod-08-init-container-restarting",
        pod(
            containers=1,
            init=1,
            init_statuses=[cs(RUNNING, restarts=3, finished=ago(seconds=10))],
            statuses=[cs(waiting())],
        ),
        "Init:0/1",
        "0/1",
        "3 (10s ago)",
    ),
    case(
        "TestPrintPod-09-two-init-first-restarting-second-not-running",
        pod(
            containers=1,
            init=2,
            init_statuses=[cs(RUNNING, restarts=3, finished=ago(seconds=10)), cs(waiting())],
            statuses=[cs(waiting())],
        ),
        "Init:0/2",
        "0/1",
        "3 (10s ago)",
    ),
    case(
        "TestPrintPod-10-two-init-first-done-second-restarting",
        pod(
            containers=1,
            init=2,
            init_statuses=[cs(terminated()), cs(RUNNING, restarts=3, finished=ago(seconds=10))],
            statuses=[cs(waiting())],
        ),
        "Init:1/2",
        "0/1",
        "3 (10s ago)",
    ),
    case(
        "TestPrintPod-11-two-init-first-done-with-restarts-second-restarting",
        pod(
            containers=1,
            init=2,
            init_statuses=[
                cs(terminated(), restarts=2, finished=ago(minutes=2)),
                cs(RUNNING, restarts=3, finished=ago(seconds=10)),
            ],
            statuses=[cs(waiting())],
        ),
        "Init:1/2",
        "0/1",
        "5 (10s ago)",
    ),
    case(
        "TestPrintPod-12-init-done-with-restarts-container-restarting",
        pod(
            containers=1,
            init=1,
            phase="Running",
            init_statuses=[cs(terminated(), restarts=2, finished=ago(minutes=2))],
            statuses=[cs(RUNNING, restarts=4, finished=ago(seconds=20))],
        ),
        "Running",
        "0/1",
        "4 (20s ago)",
    ),
    case(
        "TestPrintPod-13-restarted-5d-ago",
        pod(
            containers=1,
            phase="Running",
            statuses=[cs(RUNNING, ready=True, restarts=3, finished=ago(days=5))],
        ),
        "Running",
        "1/1",
        "3 (5d ago)",
    ),
    case(
        "TestPrintPod-14-one-never-restarted-one-restarted-10d-ago",
        pod(
            phase="Running",
            statuses=[
                cs(RUNNING, ready=True),
                cs(RUNNING, ready=True, restarts=3, finished=ago(days=10)),
            ],
        ),
        "Running",
        "2/2",
        "3 (10d ago)",
    ),
    case(
        "TestPrintPod-15-restarted-5d-and-20d-ago",
        pod(
            phase="Running",
            statuses=[
                cs(RUNNING, ready=True, restarts=6, finished=ago(days=5)),
                cs(RUNNING, ready=True, restarts=3, finished=ago(days=20)),
            ],
        ),
        "Running",
        "2/2",
        "9 (5d ago)",
    ),
    case(
        "TestPrintPod-16-scheduling-gated",
        pod(conditions=[cond("PodScheduled", "False", "SchedulingGated")]),
        "SchedulingGated",
        "0/2",
        "0",
    ),
    case(
        "TestPrintPod-17-succeeded",
        pod(containers=1, phase="Succeeded", statuses=[cs(terminated("Completed"))]),
        "Completed",
        "0/1",
        "0",
    ),
    case(
        "TestPrintPod-18-failed",
        pod(containers=1, phase="Failed", statuses=[cs(terminated("Error", 1))]),
        "Error",
        "0/1",
        "0",
    ),
    case(
        "TestPrintPod-19-succeeded-with-deletion-keeps-completed",
        pod(
            containers=1,
            phase="Succeeded",
            statuses=[cs(terminated("Completed"))],
            deleted=DELETED,
        ),
        "Completed",
        "0/1",
        "0",
    ),
    case(
        "TestPrintPod-20-running-with-deletion-is-terminating",
        pod(containers=1, phase="Running", statuses=[cs(RUNNING)], deleted=DELETED),
        "Terminating",
        "0/1",
        "0",
    ),
    case(
        "TestPrintPod-21-pending-with-deletion-is-terminating",
        pod(containers=1, phase="Pending", deleted=DELETED),
        "Terminating",
        "0/1",
        "0",
    ),
    # --- TestPrintPodWithRestartableInitContainer -----------------------------------------
    case(
        "TestPrintPodWithRestartableInitContainer-1-first-running-not-started",
        pod(
            containers=1,
            init=SIDECARS,
            phase="Pending",
            init_statuses=[
                cs(
                    RUNNING,
                    name="restartable-init-1",
                    restarts=3,
                    started=False,
                    finished=ago(seconds=10),
                ),
                cs(waiting(), name="restartable-init-2", started=False),
            ],
            statuses=[cs(waiting())],
            conditions=[cond("Initialized", "False")],
        ),
        "Init:0/2",
        "0/3",
        "3 (10s ago)",
    ),
    case(
        "TestPrintPodWithRestartableInitContainer-2-first-started-second-not-started",
        pod(
            containers=1,
            init=SIDECARS,
            phase="Pending",
            init_statuses=[
                cs(
                    RUNNING,
                    name="restartable-init-1",
                    restarts=3,
                    started=True,
                    finished=ago(seconds=10),
                ),
                cs(RUNNING, name="restartable-init-2", started=False),
            ],
            statuses=[cs(waiting())],
            conditions=[cond("Initialized", "False")],
        ),
        "Init:1/2",
        "0/3",
        "3 (10s ago)",
    ),
    case(
        "TestPrintPodWithRestartableInitContainer-3-both-started-container-running",
        pod(
            containers=1,
            init=SIDECARS,
            phase="Running",
            init_statuses=[
                cs(
                    RUNNING,
                    name="restartable-init-1",
                    restarts=3,
                    started=True,
                    finished=ago(seconds=10),
                ),
                cs(RUNNING, name="restartable-init-2", started=True),
            ],
            statuses=[cs(RUNNING, ready=True, restarts=4, finished=ago(seconds=20))],
            conditions=[cond("Initialized")],
        ),
        "Running",
        "1/3",
        "7 (10s ago)",
    ),
    case(
        "TestPrintPodWithRestartableInitContainer-4-sidecars-exited-137-container-completed",
        pod(
            containers=1,
            init=SIDECARS,
            phase="Succeeded",
            init_statuses=[
                cs(
                    terminated("Error", 137),
                    name="restartable-init-1",
                    restarts=3,
                    started=False,
                    finished=ago(seconds=10),
                ),
                cs(terminated("Error", 137), name="restartable-init-2", started=False),
            ],
            statuses=[cs(terminated("Completed"), restarts=4, finished=ago(seconds=20))],
            conditions=[cond("Initialized")],
        ),
        "Completed",
        "0/3",
        "7 (10s ago)",
    ),
    case(
        "TestPrintPodWithRestartableInitContainer-5-statuses-for-unknown-containers",
        pod(
            containers=[{"name": "container1", "image": "containerimage"}],
            init=[
                {"name": "init1", "image": "initimage"},
                {"name": "sidecar1", "image": "sidecarimage", "restartPolicy": "Always"},
            ],
            phase="Running",
            init_statuses=[{"name": "initinvalid"}, {"name": "init1"}, {"name": "sidecar1"}],
            statuses=[{"name": "containerinvalid"}, {"name": "container1"}],
        ),
        "Init:0/2",
        "0/2",
        "0",
    ),
    # --- TestPrintPodwide (only the STATUS, READY and RESTARTS cells) ---------------------
    case(
        "TestPrintPodwide-1-node-and-ip-set",
        basic(conditions=[cond("condition1", "False"), cond("condition2")]),
        "podPhase",
        "1/2",
        "6",
    ),
    case(
        "TestPrintPodwide-2-dual-stack-ips",
        basic(conditions=[cond("condition1", "False"), cond("condition2")]),
        "podPhase",
        "1/2",
        "6",
    ),
    case(
        "TestPrintPodwide-3-node-and-ip-unset",
        pod(
            statuses=[
                cs(RUNNING, ready=True, restarts=3),
                cs(waiting("ContainerWaitingReason"), restarts=3),
            ]
        ),
        "ContainerWaitingReason",
        "1/2",
        "6",
    ),
    # --- TestPrintPodConditions -----------------------------------------------------------
    case("TestPrintPodConditions-1-running", basic("Running"), "Running", "1/2", "6"),
    case("TestPrintPodConditions-2-succeeded", basic("Succeeded"), "Succeeded", "1/2", "6"),
    case("TestPrintPodConditions-3-failed", basic("Failed"), "Failed", "1/2", "6"),
    # --- TestPrintPodList (printPodList prints each item with printPod) -------------------
    case(
        "TestPrintPodList-1-item-1",
        pod(statuses=[cs(RUNNING, ready=True, restarts=3), cs(RUNNING, ready=True, restarts=3)]),
        "podPhase",
        "2/2",
        "6",
    ),
    case(
        "TestPrintPodList-1-item-2",
        pod(containers=1, statuses=[cs(RUNNING, ready=True, restarts=1)]),
        "podPhase",
        "1/1",
        "1",
    ),
    # --- TestPrintNonTerminatedPod --------------------------------------------------------
    case("TestPrintNonTerminatedPod-1-running", basic("Running"), "Running", "1/2", "6"),
    case("TestPrintNonTerminatedPod-2-pending", basic("Pending"), "Pending", "1/2", "6"),
    case("TestPrintNonTerminatedPod-3-unknown", basic("Unknown"), "Unknown", "1/2", "6"),
    case("TestPrintNonTerminatedPod-4-succeeded", basic("Succeeded"), "Succeeded", "1/2", "6"),
    case(
        "TestPrintNonTerminatedPod-5-failed",
        pod(
            phase="Failed",
            statuses=[cs(RUNNING, ready=True, restarts=3), cs(ready=True, restarts=3)],
        ),
        "Failed",
        "1/2",
        "6",
    ),
    # --- TestTableRowDeepCopyShouldNotPanic ("Pod": the zero pod) -------------------------
    case("TestTableRowDeepCopyShouldNotPanic-Pod", {}, "", "0/0", "0"),
    # --- TestPrintPodWithLabels (older stored version; label columns not ported) ----------
    case("TestPrintPodWithLabels-1-with-label-columns", basic(), "podPhase", "1/2", "6"),
    case("TestPrintPodWithLabels-2-without-label-columns", basic(), "podPhase", "1/2", "6"),
]

JOB_SIDECAR_SPEC = [sidecar("istio-proxy")]

EXTRA = [
    # --- init containers that failed or wait ----------------------------------------------
    case(
        "extra-Init-Signal",
        pod(
            containers=1,
            init=1,
            phase="Pending",
            init_statuses=[cs(terminated(exit_code=137, signal=9))],
        ),
        "Init:Signal:9",
        "0/1",
        "0",
    ),
    case(
        "extra-Init-ExitCode",
        pod(containers=1, init=1, phase="Pending", init_statuses=[cs(terminated(exit_code=3))]),
        "Init:ExitCode:3",
        "0/1",
        "0",
    ),
    case(
        "extra-Init-terminated-reason",
        pod(
            containers=1,
            init=2,
            phase="Pending",
            init_statuses=[cs(terminated("Completed")), cs(terminated("Error", 1), restarts=1)],
        ),
        "Init:Error",
        "0/1",
        "1",
    ),
    case(
        "extra-Init-CrashLoopBackOff-with-age",
        pod(
            containers=2,
            init=3,
            phase="Pending",
            init_statuses=[
                cs(terminated("Completed")),
                cs(waiting("CrashLoopBackOff"), restarts=5, finished=ago(minutes=5)),
                cs(waiting("PodInitializing")),
            ],
            statuses=[cs(waiting("PodInitializing")), cs(waiting("PodInitializing"))],
            conditions=[cond("Initialized", "False")],
        ),
        "Init:CrashLoopBackOff",
        "0/2",
        "5 (5m ago)",
    ),
    case(
        "extra-Init-ImagePullBackOff",
        pod(containers=1, init=1, phase="Pending", init_statuses=[cs(waiting("ImagePullBackOff"))]),
        "Init:ImagePullBackOff",
        "0/1",
        "0",
    ),
    case(
        "extra-Init-waiting-PodInitializing-shows-progress",
        pod(
            containers=1,
            init=3,
            phase="Pending",
            init_statuses=[
                cs(terminated("Completed")),
                cs(waiting("PodInitializing")),
                cs(waiting()),
            ],
        ),
        "Init:1/3",
        "0/1",
        "0",
    ),
    case(
        "extra-Init-later-init-restarts-not-counted",
        pod(
            containers=1,
            init=2,
            phase="Pending",
            init_statuses=[
                cs(waiting("ErrImagePull")),
                cs(waiting(), restarts=7, finished=ago(hours=1)),
            ],
        ),
        "Init:ErrImagePull",
        "0/1",
        "0",
    ),
    case(
        "extra-PodInitializing-after-init-done",
        pod(
            containers=1,
            init=1,
            phase="Pending",
            init_statuses=[cs(terminated("Completed"))],
            statuses=[cs(waiting("PodInitializing"))],
            conditions=[cond("Initialized")],
        ),
        "PodInitializing",
        "0/1",
        "0",
    ),
    # --- app containers that terminated without a reason ----------------------------------
    case(
        "extra-Signal",
        pod(
            containers=1,
            phase="Running",
            statuses=[cs(terminated(exit_code=143, signal=15), restarts=2)],
        ),
        "Signal:15",
        "0/1",
        "2",
    ),
    case(
        "extra-ExitCode",
        pod(containers=1, phase="Failed", statuses=[cs(terminated(exit_code=2))]),
        "ExitCode:2",
        "0/1",
        "0",
    ),
    # --- deletion and lost nodes ----------------------------------------------------------
    case(
        "extra-NodeLost-deleted-is-Unknown",
        pod(
            containers=1,
            phase="Running",
            reason="NodeLost",
            statuses=[cs(RUNNING, ready=True)],
            deleted=DELETED,
        ),
        "Unknown",
        "1/1",
        "0",
    ),
    case(
        "extra-NodeLost-not-deleted-shows-reason",
        pod(containers=1, phase="Running", reason="NodeLost", statuses=[cs(RUNNING, ready=True)]),
        "NodeLost",
        "1/1",
        "0",
    ),
    case(
        "extra-NodeLost-deleted-terminal-phase-is-Unknown",
        pod(containers=1, phase="Succeeded", reason="NodeLost", deleted=DELETED),
        "Unknown",
        "0/1",
        "0",
    ),
    case(
        "extra-Terminating-while-initializing",
        pod(
            containers=1,
            init=1,
            phase="Pending",
            init_statuses=[cs(waiting("CrashLoopBackOff"))],
            deleted=DELETED,
        ),
        "Terminating",
        "0/1",
        "0",
    ),
    case(
        "extra-Failed-with-deletion-keeps-reason",
        pod(
            containers=1,
            phase="Failed",
            statuses=[cs(terminated("OOMKilled", 137))],
            deleted=DELETED,
        ),
        "OOMKilled",
        "0/1",
        "0",
    ),
    # --- scheduling -----------------------------------------------------------------------
    case(
        "extra-SchedulingGated-overrides-status-reason",
        pod(
            phase="Pending",
            reason="SomeReason",
            conditions=[cond("PodScheduled", "False", "SchedulingGated")],
        ),
        "SchedulingGated",
        "0/2",
        "0",
    ),
    case(
        "extra-Unschedulable-stays-Pending",
        pod(phase="Pending", conditions=[cond("PodScheduled", "False", "Unschedulable")]),
        "Pending",
        "0/2",
        "0",
    ),
    # --- native sidecars ------------------------------------------------------------------
    case(
        "extra-Job-sidecar-exited-143-app-Completed",
        pod(
            containers=[{"name": "app"}],
            init=JOB_SIDECAR_SPEC,
            phase="Succeeded",
            init_statuses=[cs(terminated("Error", 143), name="istio-proxy", started=False)],
            statuses=[cs(terminated("Completed"), name="app")],
            conditions=[cond("Initialized"), cond("Ready", "False"), cond("PodScheduled")],
        ),
        "Completed",
        "0/2",
        "0",
    ),
    case(
        "extra-Job-sidecar-exited-143-without-Initialized-condition",
        pod(
            containers=[{"name": "app"}],
            init=JOB_SIDECAR_SPEC,
            phase="Succeeded",
            init_statuses=[cs(terminated("Error", 143), name="istio-proxy", started=False)],
            statuses=[cs(terminated("Completed"), name="app")],
        ),
        "Init:Error",
        "0/2",
        "0",
    ),
    case(
        "extra-Job-sidecar-signalled-app-Completed",
        pod(
            containers=[{"name": "app"}],
            init=JOB_SIDECAR_SPEC,
            phase="Succeeded",
            init_statuses=[cs(terminated(exit_code=143, signal=15), name="istio-proxy")],
            statuses=[cs(terminated("Completed"), name="app")],
            conditions=[cond("Initialized")],
        ),
        "Completed",
        "0/2",
        "0",
    ),
    case(
        "extra-sidecar-restarts-count-after-init",
        pod(
            containers=[{"name": "app"}],
            init=[{"name": "setup"}, sidecar("proxy")],
            phase="Running",
            init_statuses=[
                cs(terminated("Completed"), name="setup", restarts=4, finished=ago(hours=2)),
                cs(
                    RUNNING,
                    name="proxy",
                    ready=True,
                    started=True,
                    restarts=2,
                    finished=ago(minutes=5),
                ),
            ],
            statuses=[cs(RUNNING, name="app", ready=True)],
            conditions=[cond("Initialized"), cond("Ready")],
        ),
        "Running",
        "2/2",
        "2 (5m ago)",
    ),
    case(
        "extra-sidecar-crashing-after-init-keeps-Init-reason",
        pod(
            containers=[{"name": "app"}],
            init=[sidecar("proxy")],
            phase="Running",
            init_statuses=[
                cs(
                    waiting("CrashLoopBackOff"),
                    name="proxy",
                    started=False,
                    restarts=4,
                    finished=ago(minutes=3),
                ),
            ],
            statuses=[cs(RUNNING, name="app", ready=True, restarts=1, finished=ago(hours=3))],
            conditions=[cond("Initialized"), cond("Ready", "False")],
        ),
        # The init loop's reason survives: no app container is waiting or terminated.
        "Init:CrashLoopBackOff",
        "1/2",
        "5 (3m ago)",
    ),
    case(
        "extra-sidecar-crashing-before-init",
        pod(
            containers=[{"name": "app"}],
            init=[sidecar("proxy")],
            phase="Pending",
            init_statuses=[
                cs(
                    waiting("CrashLoopBackOff"),
                    name="proxy",
                    started=False,
                    restarts=4,
                    finished=ago(minutes=3),
                ),
            ],
            statuses=[cs(waiting("PodInitializing"), name="app")],
            conditions=[cond("Initialized", "False")],
        ),
        "Init:CrashLoopBackOff",
        "0/2",
        "4 (3m ago)",
    ),
    case(
        "extra-only-first-Initialized-condition-counts",
        pod(
            containers=1,
            init=1,
            phase="Pending",
            init_statuses=[cs(waiting("CrashLoopBackOff"))],
            statuses=[cs(RUNNING, ready=True)],
            conditions=[cond("Initialized", "False"), cond("Initialized")],
        ),
        "Init:CrashLoopBackOff",
        "0/1",
        "0",
    ),
    # --- the RESTARTS age -----------------------------------------------------------------
    case(
        "extra-restarts-zero-ignores-finishedAt",
        pod(
            containers=1,
            phase="Running",
            statuses=[cs(RUNNING, ready=True, finished=ago(minutes=5))],
        ),
        "Running",
        "1/1",
        "0",
    ),
    case(
        "extra-restarts-without-finishedAt-have-no-age",
        pod(containers=1, phase="Running", statuses=[cs(RUNNING, ready=True, restarts=3)]),
        "Running",
        "1/1",
        "3",
    ),
    case(
        "extra-restart-age-minutes-and-seconds",
        pod(
            containers=1,
            phase="Running",
            statuses=[cs(RUNNING, ready=True, restarts=1, finished=ago(seconds=200))],
        ),
        "Running",
        "1/1",
        "1 (3m20s ago)",
    ),
    case(
        "extra-restart-in-the-future-is-invalid",
        pod(
            containers=1,
            phase="Running",
            statuses=[cs(RUNNING, ready=True, restarts=1, finished=ago(seconds=-30))],
        ),
        "Running",
        "1/1",
        "1 (<invalid> ago)",
    ),
    case(
        "extra-restart-zero-time-is-never",
        pod(
            containers=1,
            phase="Running",
            statuses=[cs(RUNNING, ready=True, restarts=1, finished="0001-01-01T00:00:00Z")],
        ),
        "Running",
        "1/1",
        "1",
    ),
]


@pytest.mark.parametrize(("the_pod", "expected"), UPSTREAM + EXTRA)
def test_pod_status(the_pod: Any, expected: tuple[str, str, str]) -> None:
    result = pod_status(the_pod, now=NOW)
    assert (result.status, result.ready, result.restarts) == expected


def test_result_type_and_restart_count() -> None:
    result = pod_status(
        pod(
            containers=1,
            phase="Running",
            statuses=[cs(RUNNING, ready=True, restarts=3, finished=ago(minutes=5))],
        ),
        now=NOW,
    )
    assert result == PodStatus(
        status="Running", ready="1/1", restarts="3 (5m ago)", restart_count=3
    )
    with pytest.raises(AttributeError):
        result.status = "x"  # type: ignore[misc]


def test_default_now_is_current_time() -> None:
    recent = format_time(datetime.now(UTC) - timedelta(minutes=5))
    the_pod = pod(
        containers=1, phase="Running", statuses=[cs(RUNNING, restarts=1, finished=recent)]
    )
    assert pod_status(the_pod).restarts in {"1 (5m ago)", "1 (5m1s ago)"}


def test_naive_now_is_utc() -> None:
    the_pod = pod(
        containers=1, phase="Running", statuses=[cs(RUNNING, restarts=1, finished=ago(minutes=5))]
    )
    assert pod_status(the_pod, now=NOW.replace(tzinfo=None)).restarts == "1 (5m ago)"


# --- odd but parseable input: wrong types count as absent, nothing raises --------------


def with_status(**status: Any) -> dict[str, Any]:
    return {"metadata": {"name": "odd"}, "spec": {"containers": [{}]}, "status": status}


ODD = [
    case(
        "odd-status-null",
        {"metadata": {}, "spec": {"containers": [{}]}, "status": None},
        "",
        "0/1",
        "0",
    ),
    case("odd-everything-null", {"metadata": None, "spec": None, "status": None}, "", "0/0", "0"),
    case("odd-not-even-a-mapping", [], "", "0/0", "0"),
    case("odd-sections-wrong-type", {"metadata": [], "spec": "x", "status": 3}, "", "0/0", "0"),
    case(
        "odd-containers-string",
        {"spec": {"containers": "abc"}, "status": {"phase": "Pending"}},
        "Pending",
        "0/0",
        "0",
    ),
    case("odd-containers-dict", {"spec": {"containers": {"a": {}}}}, "", "0/0", "0"),
    case(
        "odd-containers-with-non-objects",
        {"spec": {"containers": [{}, None, 3, "x", []]}},
        "",
        "0/1",
        "0",
    ),
    case("odd-phase-number", with_status(phase=3, reason=["x"]), "", "0/1", "0"),
    case(
        "odd-containerStatuses-string",
        with_status(phase="Running", containerStatuses="nope"),
        "Running",
        "0/1",
        "0",
    ),
    case(
        "odd-containerStatuses-non-objects",
        with_status(phase="Running", containerStatuses=[None, 1, "x", [], cs(RUNNING, ready=True)]),
        "Running",
        "1/1",
        "0",
    ),
    case(
        "odd-state-list",
        with_status(phase="Running", containerStatuses=[{"ready": True, "state": []}]),
        "Running",
        "0/1",
        "0",
    ),
    case(
        "odd-state-running-string",
        with_status(
            phase="Running", containerStatuses=[{"ready": True, "state": {"running": "yes"}}]
        ),
        "Running",
        "0/1",
        "0",
    ),
    case(
        "odd-state-null-entries",
        with_status(
            phase="Running",
            containerStatuses=[{"state": {"waiting": None, "terminated": None, "running": None}}],
        ),
        "Running",
        "0/1",
        "0",
    ),
    case(
        "odd-waiting-reason-number",
        with_status(phase="Pending", containerStatuses=[{"state": {"waiting": {"reason": 42}}}]),
        "Pending",
        "0/1",
        "0",
    ),
    case(
        "odd-ready-string",
        with_status(phase="Running", containerStatuses=[{"ready": "true", "state": RUNNING}]),
        "Running",
        "0/1",
        "0",
    ),
    case(
        "odd-exitCode-string-counts-as-zero",
        {
            "spec": {"initContainers": [{}], "containers": [{}]},
            "status": {
                "phase": "Pending",
                "initContainerStatuses": [{"state": {"terminated": {"exitCode": "1"}}}],
            },
        },
        "Pending",
        "0/1",
        "0",
    ),
    case(
        "odd-signal-string-falls-back-to-exitCode",
        with_status(
            phase="Failed",
            containerStatuses=[{"state": {"terminated": {"exitCode": 1, "signal": "9"}}}],
        ),
        "ExitCode:1",
        "0/1",
        "0",
    ),
    case(
        "odd-exitCode-float",
        with_status(
            phase="Failed", containerStatuses=[{"state": {"terminated": {"exitCode": 1.0}}}]
        ),
        "ExitCode:0",
        "0/1",
        "0",
    ),
    case(
        "odd-restartCount-negative",
        with_status(
            phase="Running", containerStatuses=[cs(RUNNING, restarts=-3, finished=ago(minutes=5))]
        ),
        "Running",
        "0/1",
        "-3 (5m ago)",
    ),
    case(
        "odd-restartCount-huge",
        with_status(
            phase="Running",
            containerStatuses=[cs(RUNNING, restarts=10**5000, finished=ago(minutes=5))],
        ),
        "Running",
        "0/1",
        "0",
    ),
    case(
        "odd-restartCount-int32-max",
        with_status(phase="Running", containerStatuses=[cs(RUNNING, restarts=2**31 - 1)]),
        "Running",
        "0/1",
        "2147483647",
    ),
    case(
        "odd-restartCount-string-and-bool",
        with_status(
            phase="Running", containerStatuses=[{"restartCount": "5"}, {"restartCount": True}]
        ),
        "Running",
        "0/1",
        "0",
    ),
    case(
        "odd-finishedAt-garbage",
        with_status(
            phase="Running", containerStatuses=[cs(RUNNING, restarts=2, finished="yesterday")]
        ),
        "Running",
        "0/1",
        "2",
    ),
    case(
        "odd-finishedAt-offset-out-of-range",
        with_status(
            phase="Running",
            containerStatuses=[cs(RUNNING, restarts=2, finished="2024-01-01T00:00:00+25:00")],
        ),
        "Running",
        "0/1",
        "2",
    ),
    case(
        "odd-finishedAt-before-year-one-in-utc",
        with_status(
            phase="Running",
            containerStatuses=[cs(RUNNING, restarts=2, finished="0001-01-01T00:00:00+01:00")],
        ),
        "Running",
        "0/1",
        "2",
    ),
    case(
        "odd-lastState-wrong-types",
        with_status(
            phase="Running",
            containerStatuses=[
                {"restartCount": 1, "lastState": []},
                {"restartCount": 1, "lastState": {"terminated": 5}},
            ],
        ),
        "Running",
        "0/1",
        "2",
    ),
    case(
        "odd-deletionTimestamp-garbage-is-not-deletion",
        {
            "metadata": {"deletionTimestamp": "soon"},
            "spec": {"containers": [{}]},
            "status": {"phase": "Running"},
        },
        "Running",
        "0/1",
        "0",
    ),
    case(
        "odd-deletionTimestamp-number",
        {
            "metadata": {"deletionTimestamp": 1700000000},
            "spec": {"containers": [{}]},
            "status": {"phase": "Running"},
        },
        "Running",
        "0/1",
        "0",
    ),
    case(
        "odd-conditions-dict",
        with_status(phase="Pending", conditions={"type": "PodScheduled"}),
        "Pending",
        "0/1",
        "0",
    ),
    case(
        "odd-conditions-non-objects",
        with_status(
            phase="Pending",
            conditions=[None, "SchedulingGated", cond("PodScheduled", "False", "SchedulingGated")],
        ),
        "SchedulingGated",
        "0/1",
        "0",
    ),
    case(
        "odd-names-wrong-types",
        {
            "spec": {
                "initContainers": [{"name": 1, "restartPolicy": "Always"}],
                "containers": [{}],
            },
            "status": {
                "initContainerStatuses": [
                    {"name": None, "started": True, "ready": True, "state": RUNNING}
                ]
            },
        },
        "",
        "1/2",
        "0",
    ),
    case(
        "odd-restartPolicy-wrong-type",
        {
            "spec": {
                "initContainers": [{"name": "p", "restartPolicy": ["Always"]}],
                "containers": [{}],
            }
        },
        "",
        "0/1",
        "0",
    ),
    case(
        "odd-started-string-is-not-started",
        {
            "spec": {"initContainers": [sidecar("p")], "containers": [{}]},
            "status": {
                "initContainerStatuses": [
                    {"name": "p", "started": "true", "ready": True, "state": RUNNING}
                ]
            },
        },
        "Init:0/1",
        "0/2",
        "0",
    ),
    case(
        "odd-duplicate-init-names-last-wins",
        {
            "spec": {"initContainers": [sidecar("p"), {"name": "p"}], "containers": [{}]},
            "status": {
                "initContainerStatuses": [
                    {"name": "p", "started": True, "ready": True, "state": RUNNING}
                ]
            },
        },
        "Init:0/2",
        "0/2",
        "0",
    ),
    case(
        "odd-statuses-without-spec-containers",
        {"spec": {}, "status": {"containerStatuses": [{"ready": True, "state": RUNNING}]}},
        "",
        "1/0",
        "0",
    ),
    case(
        "odd-unknown-status-names",
        {
            "spec": {"initContainers": [sidecar("proxy")], "containers": [{"name": "app"}]},
            "status": {
                "phase": "Running",
                "initContainerStatuses": [
                    {"name": "ghost", "state": {"terminated": {"exitCode": 0}}}
                ],
                "containerStatuses": [{"name": "ghost2", "ready": True, "state": RUNNING}],
            },
        },
        "Running",
        "1/2",
        "0",
    ),
]


@pytest.mark.parametrize(("the_pod", "expected"), ODD)
def test_odd_input(the_pod: Any, expected: tuple[str, str, str]) -> None:
    result = pod_status(the_pod, now=NOW)
    assert (result.status, result.ready, result.restarts) == expected


# --- property: arbitrary JSON in every field the printer reads never raises ------------

_words = st.sampled_from(
    [
        "",
        "Always",
        "True",
        "False",
        "Ready",
        "Initialized",
        "PodScheduled",
        "SchedulingGated",
        "NodeLost",
        "Completed",
        "PodInitializing",
        "Running",
        "Succeeded",
        "Failed",
        "a",
        "b",
        "2024-05-01T11:55:00Z",
        "2099-01-01T00:00:00Z",
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "2024-01-01T00:00:00+25:00",
    ]
)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=4)
    | _words
)
_json = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)


def _maybe(strategy: Any) -> Any:
    """Mostly ``strategy``, sometimes any JSON value at all (the wrong type)."""
    return st.one_of(*[strategy] * 7, _json)


def _obj(**fields: Any) -> Any:
    # Objects with every field are favoured so that the deep paths (restart ages, sidecars)
    # are reached often; objects missing fields and wrong types are tried at every level.
    full = st.fixed_dictionaries(fields)
    return _maybe(st.one_of(full, full, st.fixed_dictionaries({}, optional=fields)))


def _list(element: Any) -> Any:
    return _maybe(st.lists(element, max_size=4))


_times = st.sampled_from(
    [
        "2024-05-01T11:55:00Z",
        "2024-04-20T08:00:00.123456789+02:00",
        "2099-01-01T00:00:00Z",
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "2024-01-01T00:00:00+25:00",
        "2024-13-01T00:00:00Z",
    ]
)
_names = _maybe(st.sampled_from(["a", "b", ""]))
_text = _maybe(_words)
_flag = _maybe(st.booleans())
_code = _maybe(st.sampled_from([0, 1, 2, 9, 15, 137, 143, -1, 2**31, 2**40]))
_terminated = _obj(exitCode=_code, signal=_code, reason=_text, finishedAt=_maybe(_times))
_state = _obj(
    waiting=_obj(reason=_text), running=_obj(startedAt=_maybe(_times)), terminated=_terminated
)
_container_status = _obj(
    name=_names,
    ready=_flag,
    started=_flag,
    restartCount=_maybe(st.integers(min_value=-2, max_value=5) | st.just(2**31)),
    state=_state,
    lastState=_state,
)
_container = _obj(name=_names, restartPolicy=_maybe(st.sampled_from(["Always", "Never", ""])))
_condition = _obj(type=_text, status=_text, reason=_text)
_pods = _obj(
    metadata=_obj(deletionTimestamp=_maybe(_times)),
    spec=_obj(containers=_list(_container), initContainers=_list(_container)),
    status=_obj(
        phase=_text,
        reason=_text,
        conditions=_list(_condition),
        initContainerStatuses=_list(_container_status),
        containerStatuses=_list(_container_status),
    ),
)


@pytest.mark.slow
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_pods)
def test_never_raises(the_pod: Any) -> None:
    result = pod_status(the_pod, now=NOW)
    assert isinstance(result.status, str)
    assert isinstance(result.restarts, str)
    assert result.restarts.startswith(str(result.restart_count))
    # READY counts statuses, not spec entries, so "1/0" is possible (as in kubectl).
    ready, total = result.ready.split("/")
    assert int(ready) >= 0
    assert int(total) >= 0
