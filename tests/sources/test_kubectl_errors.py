"""Errors in kubectl's words, through the real CLI, next to the real kubectl on the same
kubeconfig and server: the sentence kubectl prints (less its ``error:`` prefix, and less
what our message adds) must be in ours word for word."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from podinit_diag.devserver.apiserver import USER, ApiServer
from podinit_diag.sources.files import load_path

from ..conftest import FIXTURES, kubeconfig_env, run_initdoctor

FORBIDDEN = "secret-ns"
CASES = [FIXTURES / "PI101-init-crashloop-migrate", FIXTURES / "PI201-app-tag-not-found-backoff"]

# Every test runs initdoctor and kubectl against a server on loopback.
pytestmark = pytest.mark.live


def _pod(case: Path) -> tuple[str, str]:
    pod = json.loads((case / "pod.json").read_text())
    return pod["metadata"]["namespace"], pod["metadata"]["name"]


@pytest.fixture(scope="module")
def server() -> Iterator[ApiServer]:
    with ApiServer(
        [b for case in CASES for b in load_path(case)], forbidden_namespaces=[FORBIDDEN]
    ) as srv:
        yield srv


def _kubeconfig(path: Path, server: str, ca: str | None, token: str, **cluster: str) -> Path:
    body = {"server": server} | ({"certificate-authority": ca} if ca else {}) | cluster
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "test",
        "clusters": [{"name": "test", "cluster": body}],
        "users": [{"name": "test", "user": {"token": token}}],
        "contexts": [{"name": "test", "context": {"cluster": "test", "user": "test"}}],
    }
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture
def env(server: ApiServer, tmp_path: Path) -> dict[str, str]:
    return kubeconfig_env(
        _kubeconfig(tmp_path / "config", server.url, server.ca_file, server.token), tmp_path
    )


def ours(env: dict[str, str], *args: str) -> str:
    """initdoctor's one line, less its ``initdoctor: error:`` prefix (exit 2)."""
    res = run_initdoctor(env, *args)
    assert res.returncode == 2, res.stderr
    (line,) = res.stderr.strip().splitlines()
    assert "Traceback" not in line and "Error(" not in line  # no Python class names
    return line.removeprefix("initdoctor: error: ")


def _kubectl() -> str:
    found = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which(
        "kubectl"
    )
    assert found, "kubectl is installed with the test environment"
    return found


def kubectls(env: dict[str, str], *args: str) -> str:
    """kubectl's last line on stderr (before it, its client logs discovery's failures),
    less its ``error:`` prefix."""
    res = subprocess.run(
        [_kubectl(), *args], capture_output=True, text=True, env=env, timeout=60, cwd=env["HOME"]
    )
    assert res.returncode != 0, res.stdout
    return res.stderr.strip().splitlines()[-1].removeprefix("error: ")


def test_unknown_context(env: dict[str, str]) -> None:
    theirs = kubectls(env, "get", "pod", "x", "--context", "nosuch")
    assert theirs == "Error in configuration: context was not found for specified context: nosuch"
    assert ours(env, "x", "--context", "nosuch") == theirs.removeprefix("Error in configuration: ")


def test_refused_port(env: dict[str, str], tmp_path: Path) -> None:
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = env | {
        "KUBECONFIG": str(_kubeconfig(tmp_path / "dead", f"https://127.0.0.1:{port}", None, "t"))
    }
    theirs = kubectls(dead, "get", "pod", "x")
    assert theirs == (
        f"The connection to the server 127.0.0.1:{port} was refused - did you specify the "
        "right host or port?"
    )
    assert ours(dead, "x") == theirs


def test_unknown_certificate_authority(
    server: ApiServer, env: dict[str, str], tmp_path: Path
) -> None:
    with ApiServer([]) as other:  # its CA is not the one that signed the server's certificate
        path = _kubeconfig(tmp_path / "wrong-ca", server.url, other.ca_file, server.token)
        wrong = env | {"KUBECONFIG": str(path)}
        theirs, mine = kubectls(wrong, "get", "pod", "x"), ours(wrong, "x")
    assert mine == (
        "Unable to connect to the server: tls: failed to verify certificate: x509: "
        "certificate signed by unknown authority"
    )
    # Go may add why it suspects the CA: "(possibly because of ... while trying to verify
    # candidate authority certificate ...)", when the two CAs' names are alike.
    assert theirs.startswith(mine)


@contextlib.contextmanager
def _expired_tls(directory: Path) -> Iterator[tuple[str, str]]:
    """A TLS listener on loopback whose certificate (signed by a valid CA) expired yesterday;
    yields its URL and the CA file."""
    import datetime as dt
    import ipaddress
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)

    def certificate(subject: str, key: Any, issuer: str, signer: Any, ca: bool, days: int) -> Any:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=30))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            san = [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = certificate("expiry test CA", ca_key, "expiry test CA", ca_key, True, 30)
    leaf = certificate("expired", key, "expiry test CA", ca_key, False, -1)
    pem = serialization.Encoding.PEM
    (directory / "ca.crt").write_bytes(ca.public_bytes(pem))
    (directory / "leaf.crt").write_bytes(leaf.public_bytes(pem))
    (directory / "leaf.key").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(directory / "leaf.crt", directory / "leaf.key")
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError):
                conn, _ = listener.accept()
                with contextlib.suppress(OSError), conn:
                    conn.settimeout(5)
                    context.wrap_socket(conn, server_side=True).close()  # the client gives up

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"https://127.0.0.1:{listener.getsockname()[1]}", str(directory / "ca.crt")
    finally:
        stop.set()
        listener.close()


def test_expired_certificate(env: dict[str, str], tmp_path: Path) -> None:
    with _expired_tls(tmp_path) as (url, ca):
        expired = env | {"KUBECONFIG": str(_kubeconfig(tmp_path / "expired", url, ca, "t"))}
        theirs, mine = kubectls(expired, "get", "pod", "x"), ours(expired, "x")
    assert mine == (
        "Unable to connect to the server: tls: failed to verify certificate: x509: "
        "certificate has expired or is not yet valid"
    )
    assert theirs.startswith(f"{mine}: current time ")  # Go adds the times compared


def test_certificate_for_another_name(
    server: ApiServer, env: dict[str, str], tmp_path: Path
) -> None:
    path = _kubeconfig(
        tmp_path / "sni",
        server.url,
        server.ca_file,
        server.token,
        **{"tls-server-name": "wrong.example"},
    )
    other = env | {"KUBECONFIG": str(path)}
    theirs, mine = kubectls(other, "get", "pod", "x"), ours(other, "x")
    # Go names the certificate's names too ("is valid for localhost, not ..."); Python's
    # error does not say them.
    common = (
        "Unable to connect to the server: tls: failed to verify certificate: x509: certificate is"
    )
    assert theirs.startswith(common) and theirs.endswith("wrong.example")
    assert mine == f"{common} not valid for wrong.example"


def test_unknown_host(env: dict[str, str], tmp_path: Path) -> None:
    # .invalid never resolves (RFC 6761)
    path = _kubeconfig(tmp_path / "dns", "https://no-such-host.invalid:6443", None, "t")
    nowhere = env | {"KUBECONFIG": str(path), "NO_PROXY": "*"}
    theirs, mine = kubectls(nowhere, "get", "pod", "x"), ours(nowhere, "x")
    common = "Unable to connect to the server: dial tcp: lookup no-such-host.invalid"
    assert theirs.startswith(common) and mine.startswith(common)
    if theirs.endswith("no such host"):  # Go adds the resolver's address; Python cannot
        assert mine == f"{common}: no such host"


@pytest.mark.slow
def test_no_answer_in_time(env: dict[str, str], tmp_path: Path) -> None:
    with socket.socket() as s:  # connections queue up, and are never answered
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        path = _kubeconfig(tmp_path / "mute", f"https://127.0.0.1:{s.getsockname()[1]}", None, "t")
        mute = env | {"KUBECONFIG": str(path)}
        # --raw: one request, not discovery's several, each waiting out the timeout
        raw = ["get", "--raw", "/api/v1/namespaces/default/pods/x", "--request-timeout", "1s"]
        theirs = kubectls(mute, *raw)
        mine = ours(mute, "x", "--request-timeout", "1s")
    assert theirs.startswith("Unable to connect to the server: ")
    assert mine.startswith("Unable to connect to the server: ")
    assert mine.endswith("within 1s (--request-timeout)")


def test_wrong_token(server: ApiServer, env: dict[str, str], tmp_path: Path) -> None:
    path = _kubeconfig(tmp_path / "bad-token", server.url, server.ca_file, "not-the-token")
    bad = env | {"KUBECONFIG": str(path)}
    # kubectl words a 401 met during discovery otherwise; with discovery cached (as it is
    # for anyone who used kubectl on the cluster before), the pod's GET meets it.
    subprocess.run([_kubectl(), "get", "ns"], env=env, capture_output=True, timeout=60, check=True)
    theirs = kubectls(bad, "get", "pod", "x")
    assert theirs == "You must be logged in to the server (Unauthorized)"
    assert ours(bad, "x") == theirs


def test_forbidden_keeps_the_servers_sentence(env: dict[str, str]) -> None:
    theirs = kubectls(env, "get", "pod", "x", "-n", FORBIDDEN)
    assert theirs == (
        f'Error from server (Forbidden): pods "x" is forbidden: User "{USER}" cannot get '
        f'resource "pods" in API group "" in the namespace "{FORBIDDEN}"'
    )
    assert ours(env, "x", "-n", FORBIDDEN) == theirs.removeprefix("Error from server (Forbidden): ")


@pytest.mark.slow
def test_missing_kubeconfig_and_broken_one(env: dict[str, str], tmp_path: Path) -> None:
    absent = str(tmp_path / "absent")
    theirs = kubectls(env, "get", "pod", "x", "--kubeconfig", absent)
    assert theirs == f"stat {absent}: no such file or directory"
    assert ours(env, "x", "--kubeconfig", absent) == theirs
    broken = tmp_path / "broken"
    broken.write_text("clusters: [\n")
    theirs = kubectls(env | {"KUBECONFIG": str(broken)}, "get", "pod", "x")
    mine = ours(env | {"KUBECONFIG": str(broken)}, "x")
    prefix = f'error loading config file "{broken}": '
    assert theirs.startswith(prefix) and mine.startswith(prefix)


def test_a_pod_in_another_namespace_is_pointed_at(env: dict[str, str]) -> None:
    ns, name = _pod(CASES[0])
    elsewhere, _ = _pod(CASES[1])
    assert elsewhere != ns
    theirs = kubectls(env, "get", "pod", name, "-n", elsewhere)
    assert theirs == f'Error from server (NotFound): pods "{name}" not found'
    mine = ours(env, name, "-n", elsewhere)
    assert mine == (
        f'pods "{name}" not found in namespace "{elsewhere}"; it exists in namespace "{ns}" '
        f"(use -n {ns})"
    )
    assert mine.startswith(theirs.removeprefix("Error from server (NotFound): "))


def test_no_hint_when_listing_across_namespaces_is_forbidden(tmp_path: Path) -> None:
    _, name = _pod(CASES[0])
    elsewhere, _ = _pod(CASES[1])
    with ApiServer([b for case in CASES for b in load_path(case)], namespaced_only=True) as srv:
        path = _kubeconfig(tmp_path / "config", srv.url, srv.ca_file, srv.token)
        before = len(srv.request_log)
        mine = ours(kubeconfig_env(path, tmp_path), name, "-n", elsewhere)
        cross = [p for _, p in srv.request_log[before:] if p.startswith("/api/v1/pods")]
    assert mine.startswith(f'pods "{name}" not found in namespace "{elsewhere}"')
    assert "exists in" not in mine
    assert len(cross) == 1  # asked once, refused, and nothing said of it


# --- answers without a Status body: a tiny server of our own --------------------------------


@contextlib.contextmanager
def _blank(code: int) -> Iterator[str]:
    """A plain-HTTP server answering every request with ``code`` and an empty body, as a
    proxy or a broken apiserver might."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_401_without_a_message(env: dict[str, str], tmp_path: Path) -> None:
    with _blank(401) as url:
        blank = env | {"KUBECONFIG": str(_kubeconfig(tmp_path / "blank", url, None, "t"))}
        theirs = kubectls(blank, "get", "pod", "x")
        assert theirs == (
            "You must be logged in to the server (the server has asked for the client to "
            "provide credentials)"
        )
        assert ours(blank, "x") == theirs


@pytest.mark.parametrize(
    "args, path",
    [
        (["web-0", "-n", FORBIDDEN], f"/api/v1/namespaces/{FORBIDDEN}/pods/web-0"),
        (["deploy/web", "-n", FORBIDDEN], f"/apis/apps/v1/namespaces/{FORBIDDEN}/deployments/web"),
        (["-n", FORBIDDEN], f"/api/v1/namespaces/{FORBIDDEN}/pods"),
    ],
)
def test_403_without_a_message_says_what_was_refused(
    server: ApiServer, env: dict[str, str], tmp_path: Path, args: list[str], path: str
) -> None:
    """The sentence the apiserver would have written (here: the test server, which words
    it as the apiserver does), less the user, whom only the server knows."""
    with _blank(403) as url:
        blank = env | {"KUBECONFIG": str(_kubeconfig(tmp_path / "blank", url, None, "t"))}
        mine = ours(blank, *args)
    with ApiServer([], forbidden_namespaces=[FORBIDDEN], namespaced_only=True) as strict:
        status, body = _get(strict, path)
    assert status == 403
    assert mine == json.loads(body)["message"].replace(f'User "{USER}" ', "")


def _get(server: ApiServer, path: str) -> tuple[int, bytes]:
    import ssl
    import urllib.error
    import urllib.request

    context = ssl.create_default_context(cafile=server.ca_file)
    request = urllib.request.Request(
        server.url + path, headers={"Authorization": f"Bearer {server.token}"}
    )
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
    )
    try:
        with opener.open(request, timeout=10) as res:
            return res.status, res.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()
