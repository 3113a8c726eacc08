"""PI001's arithmetic against the real kube-scheduler's decision and words.

The nodes allocate 2 CPU and 8Gi each. Each case's effective request is driven by an init
container, a native sidecar, or both (Kubernetes' rule, ``PodRequests`` in
``k8s.io/component-helpers/resource``: the largest of each init container's request plus
the sidecars started before it, and the app containers plus every sidecar). Whether the
scheduler binds the pod is the oracle: PI001 must fire exactly for the pods it refuses,
name the same resource as its ``FailedScheduling`` message, and state the effective
request that the case was built with.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest

from e2e.kubelet import IMAGE_PREFIX, TestKubelet
from e2e.rest import Json, Rest
from podinit_diag.core.quantity import parse_quantity
from tests.conftest import run_initdoctor

Env = Callable[..., dict[str, str]]


@dataclass(frozen=True)
class Case:
    name: str
    init: tuple[tuple[str, str, bool], ...]  # (name, cpu or memory request, native sidecar)
    app: str  # the app container's request
    resource: str  # "cpu" or "memory"
    effective: str  # the pod's effective request, by the rule above
    fits: bool  # on an empty 2 CPU / 8Gi node


CASES = (
    Case("init-alone", (("restore", "2500m", False),), "250m", "cpu", "2500m", False),
    Case("init-fits", (("restore", "1500m", False),), "250m", "cpu", "1500m", True),
    Case(
        "sidecar-then-init",
        (("proxy", "1", True), ("restore", "1500m", False)),
        "250m",
        "cpu",
        "2500m",
        False,
    ),
    Case(
        "init-then-sidecar",
        (("restore", "1500m", False), ("proxy", "1", True)),
        "500m",
        "cpu",
        "1500m",
        True,
    ),
    Case("sidecar-and-app", (("proxy", "1", True),), "1250m", "cpu", "2250m", False),
    Case("init-memory", (("load-model", "9Gi", False),), "512Mi", "memory", "9Gi", False),
)


def _container(name: str, request: str, resource: str, sidecar: bool = False) -> Json:
    c: Json = {
        "name": name,
        "image": f"{IMAGE_PREFIX}ok:0.5",
        "resources": {"requests": {resource: request}},
    }
    if sidecar:
        c["restartPolicy"] = "Always"
    return c


def _pod(case: Case) -> Json:
    return {
        "metadata": {"name": case.name, "labels": {"case": case.name}},
        "spec": {
            "initContainers": [_container(n, r, case.resource, s) for n, r, s in case.init],
            "containers": [_container("app", case.app, case.resource)],
            "terminationGracePeriodSeconds": 1,
        },
    }


def _scheduled_or_refused(admin: Rest, namespace: str, name: str) -> tuple[bool, str]:
    def decided() -> tuple[bool, str] | None:
        pod = admin.get(f"/api/v1/namespaces/{namespace}/pods/{name}")
        if pod["spec"].get("nodeName"):
            return True, ""
        events = admin.get(
            f"/api/v1/namespaces/{namespace}/events",
            fieldSelector=f"involvedObject.name={name},reason=FailedScheduling",
        )["items"]
        return (False, events[0]["message"]) if events else None

    result: tuple[bool, str] = admin.wait_for(decided, 30, f"the scheduler's decision on {name}")
    return result


@pytest.fixture(scope="module")
def decided(admin: Rest, kubelet: TestKubelet, env_for: Env) -> dict[str, tuple]:  # type: ignore[type-arg]
    """Every case created at once in one namespace, then its decision and report."""
    namespace = "scheduler-cases"
    admin.create("/api/v1/namespaces", {"metadata": {"name": namespace}})
    admin.wait_for(
        lambda: (
            admin.raw("GET", f"/api/v1/namespaces/{namespace}/serviceaccounts/default")[0] == 200
        ),
        30,
        "the default service account",
    )
    for case in CASES:
        admin.create(f"/api/v1/namespaces/{namespace}/pods", _pod(case))
    out = {}
    env = env_for("admin", namespace)
    for case in CASES:
        scheduled, message = _scheduled_or_refused(admin, namespace, case.name)
        res = run_initdoctor(env, case.name, "-o", "json")
        assert res.returncode in (0, 1), res.stderr
        out[case.name] = (scheduled, message, json.loads(res.stdout)["reports"][0])
    return out


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_pi001_agrees_with_the_real_scheduler(case: Case, decided: dict[str, tuple]) -> None:  # type: ignore[type-arg]
    scheduled, message, report = decided[case.name]
    assert scheduled == case.fits, f"the scheduler disagrees with the case: {message}"
    pi001 = [f for f in report["findings"] if f["code"] == "PI001"]
    if scheduled:
        assert not pi001
        return
    assert f"Insufficient {case.resource}" in message
    assert pi001, report["findings"]
    title = pi001[0]["title"]
    assert f"insufficient {case.resource}" in title
    said = re.search(rf"requests? (\S+) {case.resource}", title)
    assert said, title
    assert parse_quantity(said.group(1)) == parse_quantity(case.effective)
    quoted = [e["text"] for e in pi001[0]["evidence"] if e["source"] == "event"]
    assert quoted == [message]
    assert Decimal(0) < parse_quantity(case.effective)
