"""A real control plane on 127.0.0.1 for the end-to-end tests: etcd, kube-apiserver,
kube-scheduler and kube-controller-manager, built by ``controlplane/build.py``.

What a kubeadm cluster has and the tests need: TLS with a CA of our own (clients verify
the server), token authentication for an admin and for restricted users, RBAC, service
account keys, the scheduler (as ``system:kube-scheduler``, under the bootstrap RBAC policy)
and the workload controllers. Not there: kubelets, kube-proxy, the node lifecycle
controller (so fake nodes stay Ready without heartbeats); :mod:`e2e.kubelet` plays the
kubelet. Everything lives in one temporary directory and is stopped, then removed, by
:meth:`ControlPlane.stop`.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from e2e.rest import Rest

# The workload controllers the tests drive, and what they depend on: pods' service
# accounts (admission refuses a pod until its namespace's "default" exists), the garbage
# collector (owner references), and namespace deletion.
CONTROLLERS = (
    "deployment-controller",
    "replicaset-controller",
    "statefulset-controller",
    "daemonset-controller",
    "job-controller",
    "cronjob-controller",
    "garbage-collector-controller",
    "serviceaccount-controller",
    "namespace-controller",
    "endpointslice-controller",
)
# Users of the static token file: name -> groups. Restricted users get their roles from
# the tests (RBAC objects), so they start with none beyond being authenticated.
USERS = {
    "admin": ["system:masters"],
    "system:kube-scheduler": [],
    # With per-controller service accounts it would need the token controller's keys and
    # a bootstrap dance; one identity with full rights is what the tests can afford.
    "system:kube-controller-manager": ["system:masters"],
    "e2e-kubelet": ["system:masters"],
    "alice": [],  # a namespaced Role in the tests
    "nobody": [],  # authenticated, no rights at all
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _key_pem(key: Any) -> bytes:
    data: bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return data


@dataclass
class Certs:
    """A CA and the serving certificates it signs (for the apiserver and the kubelet)."""

    directory: Path
    ca_key: Any = None
    ca_cert: Any = None

    def __post_init__(self) -> None:
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "podinit-diag-e2e-ca")])
        now = datetime.datetime.now(datetime.UTC)
        self.ca_cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self.ca_key, hashes.SHA256())
        )
        self.ca_file.write_bytes(self.ca_cert.public_bytes(serialization.Encoding.PEM))

    @property
    def ca_file(self) -> Path:
        return self.directory / "ca.crt"

    def serving(self, name: str, hosts: list[str]) -> tuple[Path, Path]:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        alt: list[x509.GeneralName] = []
        for host in hosts:
            try:
                alt.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                alt.append(x509.DNSName(host))
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(self.ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(
                x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
            .sign(self.ca_key, hashes.SHA256())
        )
        crt, pem = self.directory / f"{name}.crt", self.directory / f"{name}.key"
        crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        pem.write_bytes(_key_pem(key))
        pem.chmod(0o600)
        return crt, pem


@dataclass
class ControlPlane:
    """The running processes and how to reach them; :meth:`start` then :meth:`stop`."""

    binaries: Path
    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="pi-e2e-")))
    tokens: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    server: str = ""
    etcd_url: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    startup_seconds: float = 0.0
    certs: Certs | None = None  # the CA, which signs the test kubelet's certificate too
    _nocache: str = ""

    @property
    def ca_file(self) -> Path:
        return self.directory / "pki" / "ca.crt"

    def rest(self, user: str = "admin") -> Rest:
        return Rest(self.server, self.tokens[user], str(self.ca_file))

    def kubeconfig(
        self, user: str = "admin", namespace: str | None = None, server: str | None = None
    ) -> Path:
        """A kubeconfig for ``user`` (verifying the server with the CA, as kubeadm's do),
        of the first apiserver unless another ``server`` is named."""
        port = (server or self.server).rsplit(":", 1)[1]
        path = self.directory / f"kubeconfig-{user.replace(':', '-')}-{namespace or ''}-{port}"
        context: dict[str, Any] = {"cluster": "e2e", "user": user}
        if namespace:
            context["namespace"] = namespace
        doc = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "e2e",
                    "cluster": {
                        "server": server or self.server,
                        "certificate-authority": str(self.ca_file),
                    },
                }
            ],
            "users": [{"name": user, "user": {"token": self.tokens[user]}}],
            "contexts": [{"name": f"{user}@e2e", "context": context}],
            "current-context": f"{user}@e2e",
        }
        path.write_text(json.dumps(doc))
        path.chmod(0o600)
        return path

    def _spawn(self, name: str, args: list[str], binary: str | None = None) -> None:
        log = (self.directory / f"{name}.log").open("wb")
        self.processes[name] = subprocess.Popen(
            [str(self.binaries / (binary or name)), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def _wait_healthy(self, name: str, check: Any, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            proc = self.processes[name]
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}: {self.tail(name)}")
            with contextlib.suppress(OSError, ValueError):
                if check():
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} not healthy after {timeout:g}s: {self.tail(name)}")
            time.sleep(0.1)

    def tail(self, name: str, lines: int = 8) -> str:
        path = self.directory / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return " | ".join(text.strip().splitlines()[-lines:])

    def start(self) -> ControlPlane:
        started = time.monotonic()
        pki = self.directory / "pki"
        pki.mkdir()
        self.certs = certs = Certs(pki)
        certs.serving("apiserver", ["127.0.0.1", "localhost"])  # read by apiserver()
        sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        (pki / "sa.key").write_bytes(_key_pem(sa_key))
        (pki / "sa.pub").write_bytes(
            sa_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        rows = []
        for i, (user, groups) in enumerate(USERS.items()):
            self.tokens[user] = os.urandom(16).hex()
            rows.append(f'{self.tokens[user]},{user},uid-{i},"{",".join(groups)}"')
        (pki / "tokens.csv").write_text("\n".join(rows) + "\n")

        client, peer = free_port(), free_port()
        self.etcd_url = f"http://127.0.0.1:{client}"
        self._spawn(
            "etcd",
            [
                "--name=e2e",
                f"--data-dir={self.directory / 'etcd'}",
                f"--listen-client-urls={self.etcd_url}",
                f"--advertise-client-urls={self.etcd_url}",
                f"--listen-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-cluster=e2e=http://127.0.0.1:{peer}",
                "--unsafe-no-fsync",  # a test cluster: durability is not what is tested
                "--log-level=warn",
            ],
        )
        self._wait_healthy("etcd", lambda: _http_ok(f"{self.etcd_url}/health"))

        self.server = self.apiserver("kube-apiserver")
        admin = self.rest()
        for name, user in (
            ("kube-controller-manager", "system:kube-controller-manager"),
            ("kube-scheduler", "system:kube-scheduler"),
        ):
            args = [
                f"--kubeconfig={self.kubeconfig(user)}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                f"--secure-port={free_port()}",
            ]
            if name == "kube-controller-manager":
                args += [f"--controllers={','.join(CONTROLLERS)}", "--concurrent-gc-syncs=5"]
            self._spawn(name, args)
        self._wait_healthy(
            "kube-controller-manager",
            lambda: _exists(admin, "/api/v1/namespaces/default/serviceaccounts/default"),
        )
        self.versions = {
            "kube-apiserver": admin.get("/version")["gitVersion"],
            "etcd": json.loads(_http_get(f"{self.etcd_url}/version"))["etcdserver"],
            "kube-scheduler": _binary_version(self.binaries / "kube-scheduler"),
            "kube-controller-manager": _binary_version(self.binaries / "kube-controller-manager"),
        }
        self.startup_seconds = time.monotonic() - started
        return self

    def apiserver(self, name: str, *extra: str) -> str:
        """Start a kube-apiserver on the cluster's etcd (the first one, or another as an
        HA control plane has) and return its URL once it is ready."""
        pki = self.directory / "pki"
        port = free_port()
        server = f"https://127.0.0.1:{port}"
        self._spawn(
            name,
            [
                f"--etcd-servers={self.etcd_url}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                # The reconciler of the "kubernetes" Service's endpoints refuses a loopback
                # address ("may not be in the loopback range"); nothing here needs it.
                "--endpoint-reconciler-type=none",
                f"--secure-port={port}",
                f"--tls-cert-file={pki / 'apiserver.crt'}",
                f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--token-auth-file={pki / 'tokens.csv'}",
                "--authorization-mode=RBAC",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                "--service-cluster-ip-range=10.96.0.0/16",
                "--kubelet-preferred-address-types=InternalIP",
                # Compaction is the tests' to trigger (the expired continue token); the
                # default every five minutes would make that test flaky.
                "--etcd-compaction-interval=0",
                "--profiling=false",
                "--allow-privileged=true",
                f"--cert-dir={self.directory / f'{name}-certs'}",
                *extra,
            ],
            binary="kube-apiserver",
        )
        rest = Rest(server, self.tokens["admin"], str(self.ca_file))
        self._wait_healthy(name, lambda: rest.raw("GET", "/readyz", timeout=2)[0] == 200)
        return server

    def second_apiserver(self) -> str:
        """A second kube-apiserver on the same etcd, without a watch cache: every list and
        every page is read from etcd. Started on first use, stopped with the rest."""
        if "kube-apiserver-nocache" not in self.processes:
            self._nocache = self.apiserver("kube-apiserver-nocache", "--watch-cache=false")
        return self._nocache

    def compact(self) -> int:
        """Compact etcd's history up to its current revision (what the apiserver does every
        five minutes by default), through etcd's JSON gateway; returns the revision."""
        status = json.loads(_http_post(f"{self.etcd_url}/v3/kv/range", {"key": "AA=="}))
        revision = int(status["header"]["revision"])
        _http_post(f"{self.etcd_url}/v3/kv/compaction", {"revision": revision, "physical": True})
        return revision

    def alive(self) -> list[str]:
        """The components that have died (empty while all run)."""
        return [n for n, p in self.processes.items() if p.poll() is not None]

    def stop(self) -> None:
        names = [n for n in self.processes if n != "etcd"][::-1] + ["etcd"]
        for name in names:
            proc = self.processes.get(name)
            if proc is None or proc.poll() is not None:
                continue
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        shutil.rmtree(self.directory, ignore_errors=True)


def _http_get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as resp:
        data: bytes = resp.read()
        return data


def _http_post(url: str, body: Any) -> bytes:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(req, timeout=30) as resp:
        data: bytes = resp.read()
        return data


def _http_ok(url: str) -> bool:
    return json.loads(_http_get(url)).get("health") == "true"


def _exists(rest: Rest, path: str) -> bool:
    return rest.raw("GET", path, timeout=5)[0] == 200


def _binary_version(binary: Path) -> str:
    out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=True)
    return out.stdout.split()[-1]  # "Kubernetes v1.37.2"
