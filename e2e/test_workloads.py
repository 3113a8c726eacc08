"""Workloads made by the real controllers and run by the test kubelet, diagnosed through
every kind of target and scan: the Deployment -> ReplicaSet -> Pods chain, StatefulSets,
DaemonSets, Jobs, CronJobs, namespaces, ``-A`` and ``-l``."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from e2e.kubelet import IMAGE_PREFIX, TestKubelet
from e2e.rest import Json, Rest
from tests.conftest import run_initdoctor

Env = Callable[..., dict[str, str]]


def image(behaviour: str) -> str:
    """The runtime's image for a behaviour, always tagged (an untagged init image is a
    finding of its own, PI905)."""
    return f"{IMAGE_PREFIX}{behaviour}" + ("" if ":" in behaviour else ":1")


def template(app: str, init: list[tuple[str, str]], main: str = "ok", **spec: Any) -> Json:
    """A pod template: init containers ``(name, behaviour)`` and one app container."""
    return {
        "metadata": {"labels": {"app": app}},
        "spec": {
            "initContainers": [
                {"name": n, "image": image(b), "command": ["/bin/run", n]} for n, b in init
            ],
            "containers": [{"name": app, "image": image(main)}],
            "terminationGracePeriodSeconds": 1,
            **spec,
        },
    }


def deployment(name: str, tmpl: Json, replicas: int = 2) -> Json:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": tmpl["metadata"]["labels"]},
            "template": tmpl,
        },
    }


def reports(res: subprocess.CompletedProcess[str]) -> list[Json]:
    assert res.returncode in (0, 1), res.stderr
    doc: Json = json.loads(res.stdout)
    out: list[Json] = doc["reports"]
    return out


def wait_pods(admin: Rest, namespace: str, selector: str, count: int, check: Any) -> list[Json]:
    """The pods matching ``selector`` once ``count`` of them pass ``check(pod)``."""

    def ready() -> list[Json] | None:
        pods = admin.get(f"/api/v1/namespaces/{namespace}/pods", labelSelector=selector)["items"]
        return pods if sum(1 for p in pods if check(p)) >= count else None

    found: list[Json] = admin.wait_for(ready, 60, f"{count} pods {selector} in {namespace}")
    return found


def init_waiting(reason: str) -> Callable[[Json], bool]:
    def check(pod: Json) -> bool:
        return any(
            s.get("state", {}).get("waiting", {}).get("reason") == reason
            for s in pod.get("status", {}).get("initContainerStatuses") or []
        )

    return check


def init_crashed(pod: Json) -> bool:
    return any(
        s.get("restartCount", 0) >= 1 and "waiting" in s.get("state", {})
        for s in pod.get("status", {}).get("initContainerStatuses") or []
    )


def running_ready(pod: Json) -> bool:
    return any(
        c["type"] == "Ready" and c["status"] == "True"
        for c in pod.get("status", {}).get("conditions") or []
    )


def first_findings(found: list[Json]) -> set[tuple[str, str | None]]:
    return {(r["findings"][0]["code"], r["findings"][0].get("container")) for r in found}


def test_deployment_chain_resolved_through_real_controllers(
    admin: Rest, kubelet: TestKubelet, namespace: str, env_for: Env
) -> None:
    tmpl = template("web", [("db-migrate", "crash")])
    admin.create(f"/apis/apps/v1/namespaces/{namespace}/deployments", deployment("web", tmpl))
    pods = wait_pods(admin, namespace, "app=web", 2, init_crashed)
    rs = {o["name"] for p in pods for o in p["metadata"]["ownerReferences"]}
    assert len(rs) == 1 and next(iter(rs)).startswith("web-")
    env = env_for("admin", namespace)
    via_deploy = reports(run_initdoctor(env, "deploy/web", "-o", "json"))
    via_rs = reports(run_initdoctor(env, "rs", next(iter(rs)), "-o", "json"))
    names = {p["metadata"]["name"] for p in pods}
    assert {r["pod"]["name"] for r in via_deploy} == names
    assert {r["pod"]["name"] for r in via_rs} == names
    assert first_findings(via_deploy) == {("PI110", "db-migrate")}
    assert all(r["pod"]["owner"]["kind"] == "ReplicaSet" for r in via_deploy)


def test_statefulset_with_an_init_image_the_registry_refuses(
    admin: Rest, kubelet: TestKubelet, namespace: str, env_for: Env
) -> None:
    tmpl = template("db", [("restore", "denied")])
    admin.create(
        f"/apis/apps/v1/namespaces/{namespace}/statefulsets",
        {
            "metadata": {"name": "db"},
            "spec": {
                "replicas": 1,
                "serviceName": "db",
                "selector": {"matchLabels": {"app": "db"}},
                "template": tmpl,
            },
        },
    )
    wait_pods(admin, namespace, "app=db", 1, init_waiting("ImagePullBackOff"))
    found = reports(run_initdoctor(env_for("admin", namespace), "sts/db", "-o", "json"))
    assert [r["pod"]["name"] for r in found] == ["db-0"]
    assert first_findings(found) == {("PI202", "restore")}


def test_daemonset_pods_on_every_node(
    admin: Rest, kubelet: TestKubelet, namespace: str, env_for: Env
) -> None:
    tmpl = template("agent", [("register", "oom")])
    admin.create(
        f"/apis/apps/v1/namespaces/{namespace}/daemonsets",
        {
            "metadata": {"name": "agent"},
            "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": tmpl},
        },
    )
    pods = wait_pods(admin, namespace, "app=agent", len(kubelet.node_names), init_crashed)
    assert {p["spec"]["nodeName"] for p in pods} == set(kubelet.node_names)
    found = reports(run_initdoctor(env_for("admin", namespace), "ds/agent", "-o", "json"))
    assert len(found) == len(kubelet.node_names)
    assert first_findings(found) == {("PI103", "register")}


def test_job_and_cronjob(admin: Rest, kubelet: TestKubelet, namespace: str, env_for: Env) -> None:
    """A Job's pod, and a CronJob's Job made the way ``kubectl create job --from`` makes it
    (the CronJob its controlling owner), both resolved to their pods."""
    job_spec = {
        "backoffLimit": 6,
        "template": template("report", [("fetch", "crash")], restartPolicy="OnFailure"),
    }
    admin.create(
        f"/apis/batch/v1/namespaces/{namespace}/jobs",
        {"metadata": {"name": "migrate"}, "spec": job_spec},
    )
    admin.create(
        f"/apis/batch/v1/namespaces/{namespace}/cronjobs",
        {
            "metadata": {"name": "nightly"},
            "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": job_spec}},
        },
    )
    env = env_for("admin", namespace)
    kubectl = shutil.which("kubectl")
    assert kubectl
    made = subprocess.run(
        [kubectl, "create", "job", "nightly-manual", "--from=cronjob/nightly"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    pods = wait_pods(admin, namespace, "app=report", 2, init_crashed)
    by_job = {p["metadata"]["labels"]["job-name"]: p["metadata"]["name"] for p in pods}
    job = reports(run_initdoctor(env, "job/migrate", "-o", "json"))
    cron = reports(run_initdoctor(env, "cronjob", "nightly", "-o", "json"))
    assert [r["pod"]["name"] for r in job] == [by_job["migrate"]]
    assert [r["pod"]["name"] for r in cron] == [by_job["nightly-manual"]]
    assert first_findings(job + cron) == {("PI110", "fetch")}


def test_scans_namespace_all_namespaces_and_label_selector(
    admin: Rest, kubelet: TestKubelet, namespace: str, env_for: Env
) -> None:
    ns = admin.get(f"/api/v1/namespaces/{namespace}")["metadata"]["name"]
    other = f"{ns}-b"
    admin.create("/api/v1/namespaces", {"metadata": {"name": other}})
    admin.wait_for(
        lambda: admin.raw("GET", f"/api/v1/namespaces/{other}/serviceaccounts/default")[0] == 200,
        30,
        "the default service account",
    )
    apps = "/apis/apps/v1/namespaces/{}/deployments"
    admin.create(apps.format(ns), deployment("web", template("web", [("migrate", "crash")]), 1))
    admin.create(apps.format(ns), deployment("api", template("api", [("wait", "ok")]), 1))
    admin.create(apps.format(other), deployment("web", template("web", [("seed", "oom")]), 1))
    wait_pods(admin, ns, "app=web", 1, init_crashed)
    wait_pods(admin, ns, "app=api", 1, running_ready)
    wait_pods(admin, other, "app=web", 1, init_crashed)
    env = env_for("admin", ns)

    scan = reports(run_initdoctor(env, "-o", "json"))
    assert {(r["pod"]["namespace"], r["findings"][0]["code"]) for r in scan} == {(ns, "PI110")}
    everywhere = reports(run_initdoctor(env, "-A", "-o", "json"))
    ours = {r["pod"]["namespace"]: r["findings"][0]["code"] for r in everywhere}
    # Logs are read for the 20 worst pods of a scan (most restarts first): with the crash
    # loops of the tests before, this one's may be left out, and then it is a plain one.
    assert ours[ns] in ("PI110", "PI101") and ours[other] == "PI103"
    assert not any(r["pod"]["name"].startswith("api-") for r in everywhere)
    selected = reports(run_initdoctor(env, "-A", "-l", "app=web", "-o", "json"))
    assert {r["pod"]["namespace"] for r in selected} >= {ns, other}
    assert all(r["pod"]["name"].startswith("web-") for r in selected)


@pytest.mark.parametrize("output", ["table", "wide", "markdown", "yaml", "name"])
def test_every_output_format_on_a_live_scan(
    output: str, admin: Rest, kubelet: TestKubelet, namespace: str, env_for: Env
) -> None:
    admin.create(
        f"/apis/apps/v1/namespaces/{namespace}/deployments",
        deployment("web", template("web", [("migrate", "crash")]), 1),
    )
    pods = wait_pods(admin, namespace, "app=web", 1, init_crashed)
    res = run_initdoctor(env_for("admin", namespace), "-o", output)
    assert res.returncode == 1, res.stderr
    assert pods[0]["metadata"]["name"] in res.stdout
