"""``--wait`` on real rollouts, and on watches the real apiserver ends or refuses."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from e2e.cluster import ControlPlane
from e2e.kubelet import TestKubelet
from e2e.rest import Rest
from e2e.test_workloads import deployment, template
from podinit_diag.core.progress import Transition
from podinit_diag.rules import Config
from podinit_diag.sources.cluster import Cluster, Expired, Settings
from podinit_diag.sources.wait import Waiter, resolve
from tests.conftest import run_initdoctor

Env = Callable[..., dict[str, str]]


def test_wait_follows_a_real_rollout_to_ready(
    admin: Rest, kubelet: TestKubelet, namespace: str, env_for: Env
) -> None:
    tmpl = template("web", [("migrate", "ok:3"), ("warm-cache", "ok:2")])
    admin.create(f"/apis/apps/v1/namespaces/{namespace}/deployments", deployment("web", tmpl))
    started = time.monotonic()
    res = run_initdoctor(env_for("admin", namespace), "-w", "deploy/web", "--timeout", "90s")
    took = time.monotonic() - started
    assert res.returncode == 0, res.stdout + res.stderr
    assert took > 4, "ready before both init containers could have finished"
    out = res.stdout + res.stderr
    assert "Init:0/2" in out and "Init:1/2" in out, out


def test_wait_stops_early_on_a_hopeless_rollout(
    admin: Rest, kubelet: TestKubelet, namespace: str, env_for: Env
) -> None:
    """An init image the registry refuses (PI202) cannot come right by waiting; a crash loop
    whose logs show a name that does not resolve (PI110) could, so that one is waited on."""
    tmpl = template("web", [("migrate", "denied")])
    admin.create(f"/apis/apps/v1/namespaces/{namespace}/deployments", deployment("web", tmpl, 1))
    started = time.monotonic()
    res = run_initdoctor(env_for("admin", namespace), "-w", "deploy/web", "--timeout", "100s")
    took = time.monotonic() - started
    assert res.returncode == 1, res.stdout + res.stderr
    assert took < 60, f"waited {took:.0f}s on a refused pull"
    assert "PI202" in res.stdout


def test_wait_resumes_when_the_apiserver_ends_its_watches(
    control_plane: ControlPlane, admin: Rest, kubelet: TestKubelet, namespace: str
) -> None:
    """Each watch asks the server to end it after 2 s: the apiserver does, and the waiter
    resumes from the last resourceVersion until the rollout is ready (in-process, as the
    library runs it)."""
    tmpl = template("web", [("migrate", "ok:6")])
    admin.create(f"/apis/apps/v1/namespaces/{namespace}/deployments", deployment("web", tmpl, 1))
    cluster = Cluster(Settings(kubeconfig=str(control_plane.kubeconfig("admin"))))
    seen: list[Transition] = []
    target = resolve(cluster, namespace, "Deployment", "web", 60)
    before = cluster.requests
    waiter = Waiter(cluster, target, "ready", 60, Config(), 0, seen.append, watch_seconds=2)
    started = time.monotonic()
    outcome = waiter.run()
    took = time.monotonic() - started
    assert outcome.state == "met", outcome
    assert took > 5
    # Two streams (pods, events), each renewed every ~2 s by the server's closing it.
    assert cluster.requests - before >= 2 + 2 * int(took // 2) - 2
    assert seen[-1].after == "Running"
    took_init = dict(d for t in seen for d in t.init_done)
    assert took_init["migrate"] >= 5.0, took_init


def test_a_watch_from_a_compacted_version_is_expired(
    control_plane: ControlPlane, admin: Rest, namespace: str
) -> None:
    """What a real apiserver answers a watch from a revision etcd no longer has. From its
    watch cache (the default): no error at all, only bookmarks at the cache's oldest
    version. From etcd (an apiserver without the cache): an ERROR event with a 410 Status
    inside a 200 stream, which :meth:`Cluster.watch` turns into
    :class:`Expired` so that the wait lists again."""
    path = f"/api/v1/namespaces/{namespace}/pods"
    for _ in range(3):
        admin.create(
            f"/api/v1/namespaces/{namespace}/configmaps", {"metadata": {"generateName": "c-"}}
        )
    control_plane.compact()
    cached = list(admin.watch(path, "1", 3))
    assert all(e["type"] == "BOOKMARK" for e in cached), cached

    direct = control_plane.second_apiserver()
    nocache = Rest(direct, control_plane.tokens["admin"], str(control_plane.ca_file))
    first = next(nocache.watch(path, "1", 5))
    assert first["type"] == "ERROR"
    assert first["object"] == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "The resourceVersion for the provided watch is too old.",
        "reason": "Expired",
        "code": 410,
    }
    cluster = Cluster(Settings(kubeconfig=str(control_plane.kubeconfig("admin", server=direct))))
    with pytest.raises(Expired):
        list(cluster.watch(path, "1", 5))
