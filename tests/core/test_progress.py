"""Init container progress as ``--wait`` reports it: which init containers are done, and
how long each took, read from one pod (a step of the scripted rollout)."""

from __future__ import annotations

import json

from podinit_diag.devserver.apiserver import Step
from podinit_diag.devserver.replay import rollout

ROLLOUT = [Step(at, bundles) for at, bundles in rollout()]


def test_completed_init_containers_and_their_durations() -> None:
    from podinit_diag.core.progress import completed_inits, init_durations

    pod = json.loads(json.dumps(ROLLOUT[4].bundles[0].pod))  # wait-for-db done, migrate running
    assert completed_inits(pod) == {"wait-for-db"}
    assert init_durations(pod, frozenset({"wait-for-db", "migrate"})) == (("wait-for-db", 10.0),)
    # A native sidecar counts once started, with no duration (it keeps running).
    pod["spec"]["initContainers"][1]["restartPolicy"] = "Always"
    migrate = pod["status"]["initContainerStatuses"][1]
    assert migrate["state"].get("running") and migrate["started"] is True
    assert completed_inits(pod) == {"wait-for-db", "migrate"}
    assert init_durations(pod, frozenset({"migrate"})) == ()
    migrate["started"] = False  # startup probe not passed yet
    assert completed_inits(pod) == {"wait-for-db"}
    # Odd data: no statuses, a failed init container.
    assert completed_inits({"status": None}) == frozenset()
    pod["status"]["initContainerStatuses"][0]["state"]["terminated"]["exitCode"] = 1
    assert "wait-for-db" not in completed_inits(pod)
