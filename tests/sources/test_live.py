"""The live path end to end: the real kubernetes client (inside initdoctor) and the real
kubectl binary against the package's read-only test API server over TLS on loopback."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from podinit_diag.devserver.apiserver import ApiServer
from podinit_diag.sources.files import load_path

from ..conftest import (
    FIXTURES,
    ROOT,
    claim_of,
    cli_env,
    expected,
    provisioning_failed,
    run_initdoctor,
)

CASES = [
    "PI101-init-crashloop-migrate",
    "PI107-init-service-missing-other-namespace",
    "PI201-app-tag-not-found-backoff",
    "PI503-app-liveness-probe-restarts",
    "ok-completed-init-running-app",
]
FORBIDDEN = "secret-ns"

# Every test runs initdoctor or kubectl against the test API server.
pytestmark = pytest.mark.live


def _meta(case: str) -> tuple[str, str, str]:
    pod = json.loads((FIXTURES / case / "pod.json").read_text())
    captured = json.loads((FIXTURES / case / "meta.json").read_text())["captured_at"]
    return pod["metadata"]["namespace"], pod["metadata"]["name"], captured


@pytest.fixture(scope="module")
def server() -> Iterator[ApiServer]:
    bundles = [b for case in CASES for b in load_path(FIXTURES / case)]
    with ApiServer(bundles, forbidden_namespaces=[FORBIDDEN]) as srv:
        yield srv


@pytest.fixture
def env(tmp_path: Path, server: ApiServer) -> dict[str, str]:
    return cli_env(server, tmp_path)


initdoctor = run_initdoctor


@pytest.mark.parametrize("case", CASES)
def test_live_report_equals_offline_report(case: str, env: dict[str, str], tmp_path: Path) -> None:
    ns, name, captured = _meta(case)
    saved = tmp_path / "saved"
    live = initdoctor(env, name, "-n", ns, "-o", "json", "--now", captured, "--save", str(saved))
    assert live.returncode in (0, 1), live.stderr
    again = initdoctor(env, "--from", str(saved), "-o", "json", "--now", captured)
    offline = initdoctor(env, "--from", str(FIXTURES / case), "-o", "json")
    live_r, again_r, offline_r = (
        json.loads(r.stdout)["reports"][0] for r in (live, again, offline)
    )
    for r in (live_r, again_r, offline_r):
        r.pop("source")
    # --save round-trips exactly, but for where log evidence says to read the line: the
    # kubectl command live, the bundle's file once saved (same line number and context)
    commands = [e for f in live_r["findings"] for e in f["evidence"] if e["source"] == "log"]
    files = [e for f in again_r["findings"] for e in f["evidence"] if e["source"] == "log"]
    assert all(e["ref"].startswith("kubectl logs ") for e in commands)
    assert all(e["ref"].startswith("logs/") for e in files)
    for e in commands + files:
        e.pop("ref")
    assert live_r == again_r
    want = sorted((f["code"], f["container"]) for f in expected(FIXTURES / case)["findings"])
    assert sorted((f["code"], f["container"]) for f in live_r["findings"]) == want
    # Same findings, titles and fixes as diagnosing the original capture offline.
    strip = lambda r: [(f["code"], f["container"], f["title"], f["fix"]) for f in r["findings"]]  # noqa: E731
    assert strip(live_r) == strip(offline_r)
    assert live_r["pod"] == offline_r["pod"] | {"age": live_r["pod"]["age"]}


def test_typical_pod_needs_few_requests(env: dict[str, str], server: ApiServer) -> None:
    ns, name, _ = _meta("PI101-init-crashloop-migrate")
    before = len(server.request_log)
    assert initdoctor(env, name, "-n", ns).returncode == 1
    made = server.request_log[before:]
    assert all(method == "GET" for method, _ in made)
    assert len(made) <= 6, made


def test_missing_pod_suggests_close_names(env: dict[str, str]) -> None:
    ns, name, _ = _meta("PI101-init-crashloop-migrate")
    res = initdoctor(env, name[:-2], "-n", ns)
    assert res.returncode == 2 and res.stdout == ""
    (line,) = res.stderr.strip().splitlines()
    assert "not found" in line and name in line


def test_missing_namespace(env: dict[str, str]) -> None:
    res = initdoctor(env, "web", "-n", "no-such-namespace")
    assert res.returncode == 2
    assert 'namespace "no-such-namespace" not found' in res.stderr


def test_forbidden_namespace_is_one_line_exit_2(env: dict[str, str]) -> None:
    res = initdoctor(env, "anything", "-n", FORBIDDEN)
    assert res.returncode == 2
    (line,) = res.stderr.strip().splitlines()
    assert "forbidden" in line


def _edited_kubeconfig(env: dict[str, str], path: Path, **changes: str) -> Path:
    """A copy of the test kubeconfig (YAML or JSON) with the user's token or the server changed."""
    doc = yaml.safe_load(Path(env["KUBECONFIG"]).read_text())
    if "token" in changes:
        doc["users"][0]["user"]["token"] = changes["token"]
    if "server" in changes:
        doc["clusters"][0]["cluster"]["server"] = changes["server"]
    path.write_text(yaml.safe_dump(doc))
    return path


def test_wrong_token(env: dict[str, str], tmp_path: Path) -> None:
    bad = _edited_kubeconfig(env, tmp_path / "bad", token="not-the-token")
    res = initdoctor(env, "web", "--kubeconfig", str(bad))
    assert res.returncode == 2
    assert "You must be logged in to the server (Unauthorized)" in res.stderr


@pytest.mark.slow
def test_dead_port_and_slow_server(env: dict[str, str], tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = _edited_kubeconfig(env, tmp_path / "dead", server=f"https://127.0.0.1:{port}")
    res = initdoctor(env, "web", "--kubeconfig", str(dead))
    assert res.returncode == 2
    assert f"The connection to the server 127.0.0.1:{port} was refused" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1

    bundles = load_path(FIXTURES / CASES[0])
    with ApiServer(bundles, delay=3.0) as slow:
        slow_cfg = tmp_path / "slow"
        slow.write_kubeconfig(str(slow_cfg))
        ns, name, _ = _meta(CASES[0])
        res = initdoctor(
            env, name, "-n", ns, "--kubeconfig", str(slow_cfg), "--request-timeout", "1s"
        )
    assert res.returncode == 2 and "within 1s (--request-timeout)" in res.stderr


def test_saved_bundle_has_no_secrets(env: dict[str, str], tmp_path: Path) -> None:
    case = tmp_path / "case"
    shutil.copytree(FIXTURES / CASES[0], case)
    pod = json.loads((case / "pod.json").read_text())
    pod["spec"]["initContainers"][-1].setdefault("env", []).append(
        {"name": "DB_PASSWORD", "value": "hunter2hunter2"}
    )
    (case / "pod.json").write_text(json.dumps(pod))
    for log in (case / "logs").glob("*.previous.log"):
        log.write_text(log.read_text() + "connecting with password=hunter2hunter2\n")
    with ApiServer(load_path(case)) as srv:
        cfg = tmp_path / "cfg"
        srv.write_kubeconfig(str(cfg))
        saved = tmp_path / "saved"
        name, ns = pod["metadata"]["name"], pod["metadata"]["namespace"]
        res = initdoctor(
            env, name, "-n", ns, "--kubeconfig", str(cfg), "--save", str(saved), "-o", "json"
        )
    assert res.returncode == 1, res.stderr
    assert "hunter2" not in res.stdout
    for f in saved.rglob("*"):
        if f.is_file():
            assert "hunter2" not in f.read_text(errors="replace"), f


def test_kubectl_plugin(env: dict[str, str]) -> None:
    plugin = shutil.which(
        "kubectl-initdoctor", path=str(Path(sys.executable).parent)
    ) or shutil.which("kubectl-initdoctor")
    kubectl = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which(
        "kubectl"
    )
    assert plugin and kubectl
    ns, name, captured = _meta(CASES[0])
    path = os.pathsep.join([str(Path(plugin).parent), env.get("PATH", "")])
    res = subprocess.run(
        [
            kubectl,
            "initdoctor",
            name,
            "-n",
            ns,
            "--kubeconfig",
            env["KUBECONFIG"],
            "--now",
            captured,
        ],
        capture_output=True,
        text=True,
        env=env | {"PATH": path},
        timeout=60,
    )
    assert res.returncode == 1, res.stderr
    assert "PI101 init-crashloop" in res.stdout


def test_demo_diagnoses_every_scenario_through_the_live_path(env: dict[str, str]) -> None:
    res = initdoctor(env, "--demo", "-o", "json")
    assert res.returncode == 1, res.stderr  # six scenarios have errors: a real run's code
    reports = json.loads(res.stdout)["reports"]
    firsts = [r["findings"][0]["code"] if r["findings"] else None for r in reports]
    assert firsts == ["PI101", "PI107", "PI202", "PI303", "PI103", "PI001", None]
    assert "requests in all" in res.stderr
    table = initdoctor(env, "--demo")
    assert table.returncode == 1 and table.stdout.count("=== ") == 7


def test_serve_lets_kubectl_browse_a_saved_incident(env: dict[str, str], tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "podinit_diag.cli", "--serve", str(FIXTURES / CASES[0])],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        assert proc.stderr is not None
        lines = [proc.stderr.readline(), proc.stderr.readline()]
        kubeconfig = lines[1].split("KUBECONFIG=", 1)[1].split()[0]
        kubectl = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or "kubectl"
        _, name, _ = _meta(CASES[0])
        got = subprocess.run(
            [kubectl, "--kubeconfig", kubeconfig, "get", "pods", "-A", "--request-timeout=10s"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert got.returncode == 0, got.stderr
        assert name in got.stdout and "Init:CrashLoopBackOff" in got.stdout
    finally:
        proc.terminate()
        assert proc.wait(timeout=20) == 0


def _with_related(case: str, tmp: Path, *objects: dict[str, object]) -> Path:
    copy = tmp / case
    shutil.copytree(FIXTURES / case, copy)
    (copy / "related.json").write_text(json.dumps({"kind": "List", "items": list(objects)}))
    return copy


@pytest.mark.slow
def test_live_verifies_the_objects_findings_name(env: dict[str, str], tmp_path: Path) -> None:
    secret_case = "PI303-init-secret-key-missing"
    ns303 = _meta(secret_case)[0]
    pod303 = json.loads((FIXTURES / secret_case / "pod.json").read_text())
    secret_name = next(
        e["valueFrom"]["secretKeyRef"]["name"]
        for c in pod303["spec"]["initContainers"]
        for e in c.get("env", [])
        if "secretKeyRef" in e.get("valueFrom", {})
    )
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": secret_name, "namespace": ns303},
        "type": "Opaque",
        "data": {"username": "c3VwZXItc2VjcmV0LXZhbHVl"},
    }
    cases = [
        _with_related(secret_case, tmp_path, secret),
        FIXTURES / "PI301-init-configmapkeyref-missing-configmap",
        FIXTURES / "PI202-ecr-token-expired-401",
    ]
    with ApiServer([b for c in cases for b in load_path(c)]) as srv:
        cfg = tmp_path / "cfg"
        srv.write_kubeconfig(str(cfg))
        found: dict[str, list[dict[str, str]]] = {}
        for case in cases:
            pod = json.loads((case / "pod.json").read_text())
            ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
            saved = tmp_path / f"saved-{case.name}"
            res = initdoctor(
                env, name, "-n", ns, "--kubeconfig", str(cfg), "-o", "json", "--save", str(saved)
            )
            assert res.returncode == 1, res.stderr
            assert "c3VwZXItc2VjcmV0LXZhbHVl" not in res.stdout
            (finding,) = json.loads(res.stdout)["reports"][0]["findings"][:1]
            found[case.name] = [e for e in finding["evidence"] if e["source"] == "cluster"]
            again = initdoctor(env, "--from", str(saved), "-o", "json")
            assert json.loads(again.stdout)["reports"][0]["findings"][0] == finding
    (secret_ev,) = found[secret_case]
    assert secret_ev["ref"] == f"Secret {ns303}/{secret_name}" and secret_ev["text"] == "exists"
    (cm_ev,) = found["PI301-init-configmapkeyref-missing-configmap"]
    assert cm_ev["text"].startswith("not found in the cluster")
    (pull_ev,) = found["PI202-ecr-token-expired-401"]
    assert pull_ev["ref"].endswith("/ecr-registry") and pull_ev["text"].startswith("not found")
    # Secrets were only ever asked for as metadata.
    secret_gets = [p for m, p in srv.request_log if "/secrets/" in p]
    assert secret_gets


def test_tls_failure_is_one_line(env: dict[str, str], tmp_path: Path) -> None:
    other = ApiServer(load_path(FIXTURES / CASES[0]))  # another CA than the one served
    other.start()
    try:
        doc = yaml.safe_load(Path(env["KUBECONFIG"]).read_text())
        doc["clusters"][0]["cluster"]["certificate-authority"] = other.ca_file
        bad = tmp_path / "wrong-ca"
        bad.write_text(yaml.safe_dump(doc))
        res = initdoctor(env, "web", "--kubeconfig", str(bad))
    finally:
        other.stop()
    assert res.returncode == 2
    (line,) = res.stderr.strip().splitlines()
    assert line.endswith(
        "Unable to connect to the server: tls: failed to verify certificate: x509: "
        "certificate signed by unknown authority"
    )


def test_several_kubeconfig_files_and_contexts(env: dict[str, str], tmp_path: Path) -> None:
    """KUBECONFIG=a:b merges files; --context picks one; its namespace is the default."""
    ns, name, captured = _meta(CASES[0])
    doc = yaml.safe_load(Path(env["KUBECONFIG"]).read_text())
    live_ctx = doc["contexts"][0]
    live_ctx["name"] = "incident"
    live_ctx["context"]["namespace"] = ns
    first = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": doc["clusters"],
        "users": doc["users"],
    }
    second = {
        "apiVersion": "v1",
        "kind": "Config",
        "contexts": [live_ctx, {"name": "other", "context": {"cluster": "nowhere", "user": "x"}}],
        "clusters": [{"name": "nowhere", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "x", "user": {"token": "x"}}],
        "current-context": "other",
    }
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text(yaml.safe_dump(first))
    b.write_text(yaml.safe_dump(second))
    merged = env | {"KUBECONFIG": os.pathsep.join([str(a), str(b)])}
    res = initdoctor(merged, name, "--context", "incident", "--now", captured, "-o", "json")
    assert res.returncode == 1, res.stderr
    assert json.loads(res.stdout)["reports"][0]["pod"]["namespace"] == ns  # no -n given
    res = initdoctor(merged, name)  # current context points nowhere
    assert res.returncode == 2 and "The connection to the server 127.0.0.1:1 was" in res.stderr


class _ConnectProxy:
    """A minimal HTTP CONNECT proxy on loopback that counts the tunnels it opens."""

    def __init__(self) -> None:
        import socketserver
        import threading

        proxy = self
        self.tunnels = 0

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                line = self.rfile.readline().decode()
                while self.rfile.readline() not in (b"\r\n", b""):
                    pass
                host, port = line.split()[1].rsplit(":", 1)
                with socket.create_connection((host, int(port)), timeout=10) as upstream:
                    proxy.tunnels += 1
                    self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    pipe = threading.Thread(target=_relay, args=(upstream, self.connection))
                    pipe.start()
                    _relay(self.connection, upstream)
                    pipe.join(timeout=10)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _relay(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


def test_proxy_from_the_environment_is_used(env: dict[str, str]) -> None:
    proxy = _ConnectProxy()
    try:
        ns, name, captured = _meta(CASES[0])
        via_proxy = {k: v for k, v in env.items() if k != "NO_PROXY"} | {"HTTPS_PROXY": proxy.url}
        res = initdoctor(via_proxy, name, "-n", ns, "--now", captured)
        assert res.returncode == 1, res.stderr
        assert proxy.tunnels >= 1
        before = proxy.tunnels
        bypass = via_proxy | {"NO_PROXY": "127.0.0.1"}
        assert initdoctor(bypass, name, "-n", ns, "--now", captured).returncode == 1
        assert proxy.tunnels == before  # NO_PROXY honoured too
    finally:
        proxy.close()


def test_owner_chain_names_the_workload_to_edit(env: dict[str, str], tmp_path: Path) -> None:
    def owned(kind: str, name: str, ns: str, owner_kind: str, owner: str) -> dict[str, object]:
        group = "apps/v1" if kind == "ReplicaSet" else "batch/v1"
        ref = {"apiVersion": group, "kind": owner_kind, "name": owner, "controller": True}
        meta = {"name": name, "namespace": ns, "ownerReferences": [ref]}
        return {"apiVersion": group, "kind": kind, "metadata": meta}

    cases = []
    for case, owner_kind in (
        ("PI101-init-crashloop-migrate", "Deployment"),
        ("PI102-job-init-failed-never", "CronJob"),
    ):
        pod = json.loads((FIXTURES / case / "pod.json").read_text())
        ref = pod["metadata"]["ownerReferences"][0]
        ns = pod["metadata"]["namespace"]
        controller = owned(ref["kind"], ref["name"], ns, owner_kind, "the-real-owner")
        cases.append((_with_related(case, tmp_path, controller), pod, owner_kind))
    with ApiServer([b for c, _, _ in cases for b in load_path(c)]) as srv:
        cfg = tmp_path / "cfg"
        srv.write_kubeconfig(str(cfg))
        for _, pod, owner_kind in cases:
            meta = pod["metadata"]
            before = len(srv.request_log)
            res = initdoctor(env, meta["name"], "-n", meta["namespace"], "--kubeconfig", str(cfg))
            assert res.returncode == 1, res.stderr
            assert f"{owner_kind} the-real-owner" in res.stdout
            assert len(srv.request_log) - before <= 6


def test_exec_credential_plugin(env: dict[str, str], server: ApiServer, tmp_path: Path) -> None:
    """Auth through an exec plugin (as EKS, GKE and OIDC helpers do), via the client's loader."""
    plugin = tmp_path / "credential-helper.py"
    credential = {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "kind": "ExecCredential",
        "status": {"token": server.token},
    }
    plugin.write_text(f"import json\nprint(json.dumps({credential!r}))\n")
    doc = yaml.safe_load(Path(env["KUBECONFIG"]).read_text())
    doc["users"][0]["user"] = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": sys.executable,
            "args": [str(plugin)],
            "interactiveMode": "Never",
        }
    }
    cfg = tmp_path / "exec-kubeconfig"
    cfg.write_text(yaml.safe_dump(doc))
    ns, name, captured = _meta(CASES[0])
    res = initdoctor(env, name, "-n", ns, "--kubeconfig", str(cfg), "--now", captured)
    assert res.returncode == 1, res.stderr
    assert "PI101" in res.stdout


def test_in_cluster_service_account(
    server: ApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No kubeconfig: the client's in-cluster loader reads the mounted service account."""
    from podinit_diag.rules import Config
    from podinit_diag.sources.cluster import Cluster, Settings
    from podinit_diag.sources.fetch import fetch_bundle

    ns, name, _ = _meta(CASES[0])
    sa = tmp_path / "serviceaccount"
    sa.mkdir()
    (sa / "token").write_text(server.token)
    shutil.copy(server.ca_file, sa / "ca.crt")
    (sa / "namespace").write_text(ns)
    for var in ("KUBECONFIG", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.kube/config either
    port = server.url.rsplit(":", 1)[1]
    cluster = Cluster(
        Settings(
            service_account_dir=str(sa),
            environ={"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": port},
        )
    )
    assert cluster.namespace == ns  # the service account's namespace is the default
    bundle = fetch_bundle(cluster, cluster.namespace, name, Config())
    assert bundle.pod["metadata"]["name"] == name


def test_forbidden_optional_object_becomes_a_note(env: dict[str, str], tmp_path: Path) -> None:
    case = tmp_path / "waits-on-db"
    shutil.copytree(FIXTURES / "PI107-init-service-missing-other-namespace", case)
    pod = json.loads((case / "pod.json").read_text())
    init = pod["spec"]["initContainers"][0]
    init["command"] = ["sh", "-c", "until nslookup postgres.db; do sleep 2; done"]
    init.pop("args", None)
    (case / "pod.json").write_text(json.dumps(pod))
    with ApiServer(load_path(case), forbidden_namespaces=["db"]) as srv:
        cfg = tmp_path / "cfg"
        srv.write_kubeconfig(str(cfg))
        meta = pod["metadata"]
        res = initdoctor(
            env, meta["name"], "-n", meta["namespace"], "--kubeconfig", str(cfg), "-o", "json"
        )
    assert res.returncode in (0, 1), res.stderr  # a report, not a failure of the run
    errors = json.loads(res.stdout)["reports"][0]["errors"]
    assert any(
        e.startswith("could not verify Service db/postgres:") and "forbidden" in e for e in errors
    )


def test_live_reads_the_claim_and_the_node_only_when_a_finding_needs_them(
    env: dict[str, str], tmp_path: Path
) -> None:
    """An unschedulable pod's claim is read with its events (and carried in the saved
    bundle); a pod whose kubelet went silent gets its node read; a healthy pod neither."""
    pvc_case = FIXTURES / "PI003-unbound-immediate-pvc"
    (b,) = load_path(pvc_case)
    ns = b.pod["metadata"]["namespace"]
    pvc_event = provisioning_failed(ns, claim_of(b.pod), "2024-10-21T20:20:00Z", count=31)
    lost_case = FIXTURES / "PI008-node-not-ready"
    healthy = FIXTURES / "ok-completed-init-running-app"
    served = [
        *load_path(pvc_case),
        *load_path(lost_case),
        *load_path(healthy),
    ]
    served[0] = dataclasses.replace(served[0], events=(*served[0].events, pvc_event))
    with ApiServer(served) as srv:
        cfg = tmp_path / "cfg"
        srv.write_kubeconfig(str(cfg))
        saved = tmp_path / "pvc"
        res = initdoctor(
            env, b.pod["metadata"]["name"], "-n", ns, "--kubeconfig", str(cfg), "-o", "json",
            "--save", str(saved),
        )  # fmt: skip
        assert res.returncode == 1, res.stderr
        (f,) = [f for f in json.loads(res.stdout)["reports"][0]["findings"] if f["code"] == "PI003"]
        assert 'storageclass.storage.k8s.io "nfs-legacy" not found' in f["title"]
        related = json.loads((saved / "related.json").read_text())["items"]
        assert any(o["kind"] == "PersistentVolumeClaim" for o in related)
        events = json.loads((saved / "events.json").read_text())["items"]
        assert any(e["involvedObject"]["kind"] == "PersistentVolumeClaim" for e in events)
        again = initdoctor(env, "--from", str(saved), "-o", "json")
        assert json.loads(again.stdout)["reports"][0]["findings"][0]["title"] == f["title"]
        pvc_reads = [p for _, p in srv.request_log if "/persistentvolumeclaims/" in p]
        assert pvc_reads
        lost = json.loads((lost_case / "pod.json").read_text())
        before = len(srv.request_log)
        res = initdoctor(
            env, lost["metadata"]["name"], "-n", lost["metadata"]["namespace"],
            "--kubeconfig", str(cfg), "-o", "json",
        )  # fmt: skip
        assert json.loads(res.stdout)["reports"][0]["findings"][0]["code"] == "PI008"
        node = lost["spec"]["nodeName"]
        assert any(p.endswith(f"/api/v1/nodes/{node}") for _, p in srv.request_log[before:])
        for case in (healthy,):
            pod = json.loads((case / "pod.json").read_text())
            before = len(srv.request_log)
            res = initdoctor(
                env, pod["metadata"]["name"], "-n", pod["metadata"]["namespace"],
                "--kubeconfig", str(cfg), "-o", "json",
            )  # fmt: skip
            assert res.returncode == 0, res.stderr
            asked = [p for _, p in srv.request_log[before:]]
            assert not any("/nodes/" in p or "/persistentvolumeclaims/" in p for p in asked)
