"""Pods on which ``pod_status`` once differed from the real apiserver's ``printPod``.

Each case is a pod as kube-apiserver v1.37.2 returned it in a ``meta.k8s.io/v1`` Table
(``includeObject=Object``), trimmed of the fields printPod does not read (images, IDs,
volume mounts, IPs), and the STATUS, READY and RESTARTS cells that apiserver printed for it,
copied from its answer. ``NOW`` is the instant just before that request (the ages in
RESTARTS were printed at a moment of the same second).

The pods come from ``e2e/test_printing.py`` (the generated pods ``p00004-done``,
``p00034-run`` and ``p00182-chaos``, and the hand-picked ``t-...`` ones).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from podinit_diag import pod_status

NOW = datetime(2026, 12, 3, 20, 50, 11, 461039, tzinfo=UTC)


def _term(exit_code: int, reason: str = "", signal: int = 0, finished: str = "") -> Any:
    body: dict[str, Any] = {"exitCode": exit_code}
    if reason:
        body["reason"] = reason
    if signal:
        body["signal"] = signal
    if finished:
        body["finishedAt"] = finished
    return {"terminated": body}


def _cs(name: str, state: Any, restarts: int = 0, last: Any = None, **extra: Any) -> Any:
    return {
        "name": name,
        "state": state,
        "lastState": last or {},
        "ready": False,
        "restartCount": restarts,
        **extra,
    }


def _cond(kind: str, status: str) -> Any:
    return {"type": kind, "status": status}


def _pod(inits: list[Any], apps: list[str], status: Any) -> Any:
    spec: dict[str, Any] = {
        "nodeName": "printing-node-absent",
        "containers": [{"name": n} for n in apps],
    }
    if inits:
        spec["initContainers"] = inits
    return {"metadata": {"name": "p"}, "spec": spec, "status": status}


CASES: list[tuple[str, Any, tuple[str, str, str]]] = [
    (
        # "Completed" from the first container used to hide the second one's failure
        # (kubernetes/kubernetes#121563; printPod's errorReason).
        "t-completed-beside-failed",
        _pod(
            [],
            ["app-0", "app-1"],
            {
                "phase": "Failed",
                "containerStatuses": [
                    _cs("app-0", _term(0, "Completed", finished="2026-12-03T18:50:02Z")),
                    _cs("app-1", _term(1, "Error", finished="2026-12-03T18:50:02Z")),
                ],
            },
        ),
        ("Error", "0/2", "0"),
    ),
    (
        # The failed termination shown is the one without a reason, while the pod runs.
        "p00034-run",
        _pod(
            [{"name": "init-0"}],
            ["app-0", "app-1"],
            {
                "phase": "Running",
                "conditions": [
                    _cond("PodReadyToStartContainers", "True"),
                    _cond("Initialized", "True"),
                    _cond("Ready", "False"),
                    _cond("ContainersReady", "False"),
                    _cond("PodScheduled", "True"),
                ],
                "initContainerStatuses": [
                    _cs("init-0", _term(0, "Completed", finished="2026-12-02T01:09:11Z"))
                ],
                "containerStatuses": [
                    _cs(
                        "app-0",
                        _term(0, "Completed", finished="2026-12-03T14:51:48Z"),
                        3,
                        _term(137, "OOMKilled", finished="2026-12-03T18:14:32Z"),
                    ),
                    _cs(
                        "app-1",
                        _term(137, signal=9, finished="2026-12-03T03:18:51Z"),
                        1,
                        _term(137, signal=9, finished="2026-12-03T18:51:32Z"),
                    ),
                ],
            },
        ),
        ("Signal:9", "0/2", "4 (118m ago)"),
    ),
    (
        # Of several failures the first container's in spec order wins (ExitCode:255 over
        # app-3's ContainerCannotRun), although the walk is backwards.
        "p00182-chaos",
        _pod(
            [{"name": "init-0"}, {"name": "init-1"}],
            ["app-0", "app-1", "app-2", "app-3"],
            {
                "phase": "Succeeded",
                "conditions": [
                    _cond("ContainersReady", "True"),
                    _cond("Initialized", "True"),
                    _cond("Ready", "True"),
                ],
                "initContainerStatuses": [
                    _cs("init-0", _term(0, signal=15), started=True),
                    _cs("init-1", {"running": {"startedAt": "2026-11-30T04:40:08Z"}}, 3),
                ],
                "containerStatuses": [
                    _cs(
                        "app-1",
                        _term(0, "Completed"),
                        last=_term(143, signal=15, finished="2026-12-03T19:59:32Z"),
                        ready=True,
                        started=True,
                    ),
                    _cs("app-2", _term(255), ready=True, started=True),
                    _cs("app-3", _term(128, "ContainerCannotRun"), started=True),
                ],
            },
        ),
        ("ExitCode:255", "0/4", "0"),
    ),
    (
        # A failed sidecar after Initialized, a negative restart count, and the errorReason.
        "p00004-done",
        _pod(
            [
                {"name": "side-0", "restartPolicy": "Always"},
                {"name": "init-1"},
                {"name": "init-2"},
                {"name": "init-3"},
            ],
            ["app-0", "app-1", "app-2"],
            {
                "phase": "Failed",
                "conditions": [_cond("Initialized", "True"), _cond("Ready", "False")],
                "initContainerStatuses": [
                    _cs(
                        "side-0",
                        _term(1, "Error", finished="2026-12-03T16:43:30Z"),
                        12,
                        _term(1, "Error", finished="2026-12-01T22:20:02Z"),
                        started=False,
                    ),
                    _cs("init-1", _term(0, signal=15), started=False),
                    _cs("init-2", _term(0, signal=15), 12, started=False),
                    _cs("init-3", _term(0), started=False),
                ],
                "containerStatuses": [
                    _cs(
                        "app-0",
                        _term(0, "Completed"),
                        -1,
                        _term(128, "ContainerCannotRun", finished="2026-11-26T15:20:02Z"),
                        started=False,
                    ),
                    _cs(
                        "app-1",
                        _term(0),
                        0,
                        _term(0, signal=15, finished="2026-12-03T17:55:32Z"),
                        started=False,
                    ),
                    _cs(
                        "app-2",
                        _term(2, "Error"),
                        250,
                        _term(0, signal=15, finished="2026-12-03T19:14:32Z"),
                        started=False,
                    ),
                ],
            },
        ),
        ("Error", "0/4", "261 (95m ago)"),
    ),
    (
        # time.Since saturates at Go's largest Duration: a restart in 1700 is "292y" ago.
        "t-restarts-beyond-go-duration",
        _pod(
            [],
            ["app-0"],
            {
                "phase": "Running",
                "containerStatuses": [
                    _cs(
                        "app-0",
                        {"running": {"startedAt": "2026-12-03T18:50:02Z"}},
                        1,
                        _term(1, "Error", finished="1700-01-01T00:00:00Z"),
                        ready=True,
                    )
                ],
            },
        ),
        ("Running", "1/1", "1 (292y ago)"),
    ),
]


@pytest.mark.parametrize(("pod", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_columns_as_the_apiserver_printed_them(pod: Any, expected: tuple[str, str, str]) -> None:
    got = pod_status(pod, NOW)
    assert (got.status, got.ready, got.restarts) == expected
