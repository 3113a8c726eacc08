"""A test API server that misbehaves on purpose, and a way to run the CLI under limits.

The server speaks plain HTTP on loopback and answers like a tiny apiserver (one namespace,
the pods given) until a test's ``route`` takes a request over to misbehave: a body trickled
a byte at a time, a continue token that never changes, gigabytes, a gzip bomb nobody asked
for, a watch line without an end. Each CLI run is a subprocess with an address-space limit
and a wall-clock bound, and reports its peak RSS."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from ..conftest import FIXTURES, ROOT, kubeconfig_env

# The CLI's virtual address space in these runs: far above what a diagnosis needs
# (the client and its threads reserve ~0.5 GiB of address space), far below a 2 GiB body.
ADDRESS_SPACE = 1536 << 20


@dataclass
class Request:
    handler: BaseHTTPRequestHandler
    path: str
    query: dict[str, str]

    def send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        h = self.handler
        h.send_response(status)
        for k, v in {"Content-Type": "application/json", **(headers or {})}.items():
            h.send_header(k, v)
        if "Content-Length" not in (headers or {}):
            h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def json(self, obj: Any, status: int = 200) -> None:
        self.send(status, json.dumps(obj).encode())

    def trickle(self, body: bytes, every: float = 0.2) -> None:
        """The whole body, announced, then one byte per ``every`` seconds."""
        h = self.handler
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        with contextlib.suppress(OSError):
            for i in range(len(body)):
                h.wfile.write(body[i : i + 1])
                h.wfile.flush()
                time.sleep(every)

    def endless(self, chunk: bytes, length: int | None = None, content_type: str = "") -> None:
        """``chunk`` again and again until the client goes (``length``: the size announced,
        else the body ends with the connection)."""
        h = self.handler
        h.send_response(200)
        h.send_header("Content-Type", content_type or "application/json")
        if length is not None:
            h.send_header("Content-Length", str(length))
        h.send_header("Connection", "close")
        h.end_headers()
        with contextlib.suppress(OSError):
            sent = 0
            while length is None or sent < length:
                h.wfile.write(chunk)
                sent += len(chunk)


Route = Callable[[Request], bool]  # True: the request was answered


def not_found(path: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": f'the server could not find the requested resource ("{path}")',
        "reason": "NotFound",
        "code": 404,
    }


def event_list(items: list[Any], rv: str = "100") -> dict[str, Any]:
    return {"kind": "EventList", "apiVersion": "v1", "metadata": {"resourceVersion": rv},
            "items": items}  # fmt: skip


def pod_list(items: list[Any], rv: str = "100", token: str = "") -> dict[str, Any]:
    meta = {"resourceVersion": rv} | ({"continue": token} if token else {})
    return {"kind": "PodList", "apiVersion": "v1", "metadata": meta, "items": items}


def fixture_pod(case: str = "PI101-init-crashloop-migrate") -> dict[str, Any]:
    """A real-looking pod (a fixture's), moved to namespace ``default``."""
    pod: dict[str, Any] = json.loads((FIXTURES / case / "pod.json").read_text())
    pod["metadata"]["namespace"] = "default"
    pod["metadata"].pop("ownerReferences", None)
    return pod


class HostileServer:
    """See the module docstring. ``route`` is tried first; the normal answers follow."""

    def __init__(self, pods: list[Any] | None = None, route: Route | None = None) -> None:
        self.pods = pods if pods is not None else [fixture_pod()]
        self.route = route
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                outer.requests.append(self.path)
                req = Request(self, unquote(parts.path), dict(parse_qsl(parts.query)))
                with contextlib.suppress(OSError):
                    if outer.route is None or not outer.route(req):
                        outer.answer(req)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def answer(self, req: Request) -> None:
        path = req.path.rstrip("/")
        parts = path.split("/")
        if path.endswith("/log"):
            req.send(
                200, b'Error: relation "users" does not exist\n', {"Content-Type": "text/plain"}
            )
        elif path.endswith("/events"):
            req.json(event_list([]))
        elif path.endswith("/pods"):
            req.json(pod_list(self.pods))
        elif len(parts) == 7 and parts[5] == "pods":
            found = [p for p in self.pods if _name(p) == parts[6]]
            req.json(found[0] if found else not_found(path), 200 if found else 404)
        elif len(parts) == 5 and parts[3] == "namespaces":
            req.json({"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": parts[4]}})
        else:
            req.json(not_found(path), 404)

    def __enter__(self) -> HostileServer:
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def kubeconfig(self, path: Path, user: dict[str, Any] | None = None, server: str = "") -> Path:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "hostile", "cluster": {"server": server or self.url}}],
            "users": [{"name": "u", "user": user or {"token": "hostile-test-token"}}],
            "contexts": [{"name": "hostile", "context": {"cluster": "hostile", "user": "u",
                                                        "namespace": "default"}}],
            "current-context": "hostile",
        }  # fmt: skip
        path.write_text(json.dumps(config))  # JSON is YAML: the client reads it
        return path


def _name(obj: Any) -> str:
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    return str(meta.get("name")) if isinstance(meta, dict) else ""


def gzip_bomb(expanded: int = 256 << 20) -> bytes:
    """``expanded`` bytes of JSON whitespace, gzip-compressed to about a thousandth."""
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9) as gz:
        block = b" " * (1 << 20)
        for _ in range(expanded >> 20):
            gz.write(block)
    return buf.getvalue()


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss_mib: float


def run_bounded(
    env: dict[str, str], *args: str, timeout: float = 60, stdin: bytes | None = None,
    address_space: int = ADDRESS_SPACE, signal_after: tuple[float, int] | None = None,
) -> Run:  # fmt: skip
    """The CLI in a subprocess limited to ``address_space`` bytes, killed after ``timeout``
    seconds (a test failure: the tool must end by itself); ``signal_after=(s, sig)`` sends
    ``sig`` after ``s`` seconds. The peak RSS is the child's own (wait4's rusage)."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))

    start = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "podinit_diag.cli", *args],
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=ROOT,
        preexec_fn=limit,
    )
    outputs: dict[str, bytes] = {}

    def drain(name: str, stream: Any) -> None:
        outputs[name] = stream.read()

    readers = [
        threading.Thread(target=drain, args=(n, s), daemon=True)
        for n, s in (("out", proc.stdout), ("err", proc.stderr))
    ]
    for r in readers:
        r.start()
    if stdin is not None:
        assert proc.stdin is not None
        with contextlib.suppress(OSError):
            proc.stdin.write(stdin)
        proc.stdin.close()
    if signal_after is not None:
        threading.Timer(signal_after[0], lambda: _signal(proc, signal_after[1])).start()
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() - start > timeout:
            proc.kill()
            os.wait4(proc.pid, 0)
            raise AssertionError(f"initdoctor {' '.join(args)} still running after {timeout}s")
        time.sleep(0.02)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - start
    for r in readers:
        r.join(10)
    return Run(
        proc.returncode,
        outputs.get("out", b"").decode("utf-8", "backslashreplace"),
        outputs.get("err", b"").decode("utf-8", "backslashreplace"),
        seconds,
        usage.ru_maxrss / 1024,
    )


def _signal(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(OSError):
        proc.send_signal(sig)


def env_for(tmp: Path, kubeconfig: Path) -> dict[str, str]:
    """:func:`kubeconfig_env`, with temporary files kept in ``tmp/tmp`` to be looked at."""
    return kubeconfig_env(kubeconfig, tmp) | {"TMPDIR": str(tmp / "tmp")}


@contextlib.contextmanager
def serving(route: Route | None = None, pods: list[Any] | None = None) -> Iterator[HostileServer]:
    with HostileServer(pods, route) as server:
        yield server
