"""What the code under test assumes of the API, asked of the real apiserver: RBAC's answers
to a namespaced user scanning the cluster, the events field selector the scan sends, list
order and paging, and a continue token that expired in a real etcd compaction."""

from __future__ import annotations

import json
from collections.abc import Callable

from e2e.cluster import ControlPlane
from e2e.kubelet import TestKubelet
from e2e.rest import Json, Rest
from podinit_diag.sources.cluster import Cluster, Settings
from podinit_diag.sources.scan import EVENT_SELECTOR, ROUTINE_EVENT_REASONS
from tests.conftest import run_initdoctor

Env = Callable[..., dict[str, str]]


# Pods bound to a node that does not exist: the scheduler and the test kubelet leave them
# alone, and they take no room on the nodes other tests schedule to.
PARKING = "e2e-parking"


def _pod(name: str, node: str, image: str = "registry.example/app:1.0") -> Json:
    return {
        "metadata": {"name": name, "labels": {"app": "bulk"}},
        "spec": {"nodeName": node, "containers": [{"name": "app", "image": image}]},
    }


def _grant(admin: Rest, namespace: str, user: str, resources: list[str]) -> None:
    admin.create(
        f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/roles",
        {
            "metadata": {"name": f"{user}-read"},
            "rules": [
                {"apiGroups": [""], "resources": resources, "verbs": ["get", "list", "watch"]}
            ],
        },
    )
    admin.create(
        f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/rolebindings",
        {
            "metadata": {"name": f"{user}-read"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": f"{user}-read",
            },
            "subjects": [{"kind": "User", "name": user, "apiGroup": "rbac.authorization.k8s.io"}],
        },
    )


def _crashing_pod(admin: Rest, kubelet: TestKubelet, namespace: str) -> str:
    admin.create(
        f"/api/v1/namespaces/{namespace}/pods",
        {
            "metadata": {"name": "web"},
            "spec": {
                "nodeName": kubelet.node_names[0],
                "initContainers": [{"name": "migrate", "image": "e2e.invalid/crash"}],
                "containers": [{"name": "web", "image": "e2e.invalid/ok"}],
            },
        },
    )
    admin.wait_for(
        lambda: any(
            s.get("restartCount", 0) >= 1
            for s in admin.get(f"/api/v1/namespaces/{namespace}/pods/web")["status"].get(
                "initContainerStatuses", []
            )
        ),
        60,
        "the init container to crash",
    )
    return "web"


def test_namespaced_role_scanning_all_namespaces(
    control_plane: ControlPlane, admin: Rest, kubelet: TestKubelet, namespace: str, env_for: Env
) -> None:
    """alice may list namespaces but read pods and events in one namespace only: ``-A`` is
    refused at the cluster scope, so each namespace is tried and the refusals are named,
    while her namespace's failing pod is diagnosed."""
    _crashing_pod(admin, kubelet, namespace)
    _grant(admin, namespace, "alice", ["pods", "events", "pods/log"])
    admin.create(
        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        {
            "metadata": {"name": f"{namespace}-list-namespaces"},
            "rules": [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["list"]}],
        },
    )
    admin.create(
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        {
            "metadata": {"name": f"{namespace}-alice-namespaces"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": f"{namespace}-list-namespaces",
            },
            "subjects": [
                {"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"}
            ],
        },
    )
    alice = control_plane.rest("alice")
    status, body, _ = alice.raw("GET", "/api/v1/pods")
    refusal = json.loads(body)
    assert status == 403 and refusal["reason"] == "Forbidden"
    assert refusal["message"] == (
        'pods is forbidden: User "alice" cannot list resource "pods" in API group "" '
        "at the cluster scope"
    )
    res = run_initdoctor(env_for("alice"), "-A", "-o", "json")
    assert res.returncode == 1, res.stderr
    doc = json.loads(res.stdout)
    assert {(r["pod"]["namespace"], r["pod"]["name"]) for r in doc["reports"]} == {
        (namespace, "web")
    }
    text = run_initdoctor(env_for("alice"), "-A")
    assert "kube-system" in text.stdout + text.stderr  # refused namespaces are named


def test_a_user_without_rights_gets_rbac_words(
    admin: Rest, kubelet: TestKubelet, namespace: str, env_for: Env
) -> None:
    _crashing_pod(admin, kubelet, namespace)
    res = run_initdoctor(env_for("nobody", namespace), "web")
    assert res.returncode == 2
    line = res.stderr.strip().splitlines()[-1]
    assert 'User "nobody" cannot get resource "pods"' in line, line
    assert len(res.stderr.strip().splitlines()) == 1
    everywhere = run_initdoctor(env_for("nobody"), "-A")
    assert everywhere.returncode == 2
    assert "cannot list" in everywhere.stderr and "Traceback" not in everywhere.stderr


def test_the_scan_event_selector_is_accepted_and_filters(
    admin: Rest, kubelet: TestKubelet, namespace: str
) -> None:
    pod = admin.create(f"/api/v1/namespaces/{namespace}/pods", _pod("p", PARKING))
    for reason in (*ROUTINE_EVENT_REASONS, "BackOff", "FailedMount", "Unhealthy"):
        kubelet.event(pod, reason, f"{reason} happened", "Normal", "app")
    node_event = dict(kubelet.event(pod, "Rebooted", "node rebooted", "Warning")["involvedObject"])
    assert node_event["kind"] == "Pod"
    admin.create(
        f"/api/v1/namespaces/{namespace}/events",
        {
            "metadata": {"name": "claim.1"},
            "involvedObject": {
                "kind": "PersistentVolumeClaim",
                "name": "data",
                "namespace": namespace,
            },
            "reason": "ProvisioningFailed",
            "message": 'storageclass.storage.k8s.io "gone" not found',
            "type": "Warning",
            "source": {"component": "persistentvolume-controller"},
        },
    )
    got = admin.get(f"/api/v1/namespaces/{namespace}/events", fieldSelector=EVENT_SELECTOR)
    reasons = sorted(e["reason"] for e in got["items"])
    assert reasons == ["BackOff", "FailedMount", "Rebooted", "Unhealthy"]


def test_lists_come_in_key_order_and_an_expired_continue_restarts(
    control_plane: ControlPlane, admin: Rest, namespace: str
) -> None:
    """The scan's join relies on lists in ``namespace/name`` order; its paging restarts a
    list whose continue token a compaction expired, skipping what it already read.

    With its watch cache (the default) the apiserver serves the next page from a snapshot
    of its own and the token outlives the compaction; a token is refused when the page is
    asked of an apiserver without that snapshot: here a second one, without a watch cache,
    as a request may land on another member of an HA control plane."""
    names = [f"pod-{i:03d}" for i in range(120)]
    for name in reversed(names):
        admin.create(f"/api/v1/namespaces/{namespace}/pods", _pod(name, PARKING))
    path = f"/api/v1/namespaces/{namespace}/pods"
    first = admin.get(path, limit=50)
    assert [p["metadata"]["name"] for p in first["items"]] == names[:50]
    token = first["metadata"]["continue"]
    assert first["metadata"]["remainingItemCount"] == 70
    # A write moves etcd past the token's revision, then the history before it goes.
    admin.create(path, _pod("pod-zzz", PARKING))
    control_plane.compact()
    cached = admin.get(path, limit=50, **{"continue": token})
    assert [p["metadata"]["name"] for p in cached["items"]] == names[50:100]

    direct = control_plane.second_apiserver()
    nocache = Rest(direct, control_plane.tokens["admin"], str(control_plane.ca_file))
    status, body, _ = nocache.raw("GET", path, query={"limit": 50, "continue": token})
    expired = json.loads(body)
    assert status == 410, expired
    assert expired["reason"] == "Expired"
    assert expired["metadata"].get("continue"), "the 410 offers an inconsistent continue token"
    assert "continue parameter is too old" in expired["message"]

    cluster = Cluster(Settings(kubeconfig=str(control_plane.kubeconfig("admin", server=direct))))
    seen: list[str] = []
    restarted = compacted = False
    for page in cluster.pages(path, 50):
        seen += [p["metadata"]["name"] for p in page.items()]
        restarted = restarted or bool(page.skip_through)
        if not compacted:
            admin.create(path, _pod("pod-zzzz", PARKING))
            control_plane.compact()
            compacted = True
    assert restarted, "the list was not restarted: the token did not expire"
    assert seen == [*names, "pod-zzz", "pod-zzzz"]
