"""A misbehaving API server, class by class (issue 13): every run ends by itself within a
bound, in bounded memory, with exit 2 and one line or with a report; never a traceback,
never a secret, never a file outside the directory given."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from podinit_diag.devserver.apiserver import ApiServer
from podinit_diag.sources.files import load_path

from ..conftest import FIXTURES
from .harness import (
    Request,
    Run,
    env_for,
    event_list,
    fixture_pod,
    gzip_bomb,
    pod_list,
    run_bounded,
    serving,
)

pytestmark = pytest.mark.live
POD = fixture_pod()["metadata"]["name"]


def _env(
    tmp: Path, server: Any, user: dict[str, Any] | None = None, url: str = ""
) -> dict[str, str]:
    (tmp / "tmp").mkdir(exist_ok=True)
    return env_for(tmp, server.kubeconfig(tmp / "kubeconfig", user, url))


def _one_line_error(run: Run, *words: str) -> None:
    assert run.returncode == 2, (run.returncode, run.stderr[-2000:])
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("initdoctor: error: "), run.stderr[-2000:]
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr
    for w in words:
        assert w in lines[0], lines[0]


# --- unbounded work -------------------------------------------------------------------


def test_a_continue_token_that_never_changes_ends_the_scan(tmp_path: Path) -> None:
    def route(req: Request) -> bool:
        if req.path.endswith("/pods"):
            req.json(pod_list([fixture_pod()], token="same-token-again"))
            return True
        return False

    with serving(route) as server:
        run = run_bounded(_env(tmp_path, server), "-n", "default", timeout=30)
        _one_line_error(run, "same continue token")
        assert len(server.requests) < 10


def test_a_continue_token_loop_does_not_outlast_wait_timeout(tmp_path: Path) -> None:
    def route(req: Request) -> bool:
        if req.path.endswith("/pods") and "watch" not in req.query:
            req.json(pod_list([fixture_pod()], token=f"t{len(req.query)}"))
            return True
        return False

    with serving(route) as server:
        run = run_bounded(_env(tmp_path, server), "--wait", POD, "--timeout", "3s", timeout=30)
        _one_line_error(run, "continue token")
        assert run.seconds < 15 and run.peak_rss_mib < 300


def test_a_trickled_body_is_bounded_by_the_request_timeout(tmp_path: Path) -> None:
    body = json.dumps(fixture_pod()).encode()

    def route(req: Request) -> bool:
        if req.path.endswith(f"/pods/{POD}"):
            req.trickle(body, every=0.05)  # minutes at this pace
            return True
        return False

    with serving(route) as server:
        run = run_bounded(_env(tmp_path, server), POD, "--request-timeout", "1s", timeout=30)
        _one_line_error(run, "within 1s", "--request-timeout")
        assert run.seconds < 8


def test_trickled_headers_are_bounded_too(tmp_path: Path) -> None:
    def route(req: Request) -> bool:
        h = req.handler
        h.wfile.write(b"HTTP/1.1 200 OK\r\n")
        for _ in range(600):  # a header line a byte at a time
            h.wfile.write(b"X")
            h.wfile.flush()
            time.sleep(0.05)
        return True

    with serving(route) as server:
        run = run_bounded(_env(tmp_path, server), POD, "--request-timeout", "1s", timeout=30)
        _one_line_error(run, "--request-timeout")
        assert run.seconds < 8


def test_a_two_gib_body_is_cut_at_the_cap_in_bounded_memory(tmp_path: Path) -> None:
    def route(req: Request) -> bool:
        if req.path.endswith(f"/pods/{POD}"):
            req.endless(b" " * (1 << 20), length=2 << 30)
            return True
        return False

    with serving(route) as server:
        run = run_bounded(_env(tmp_path, server), POD, "--request-timeout", "20s", timeout=60)
        _one_line_error(run, "larger than")
        assert run.peak_rss_mib < 600


def test_a_gzip_bomb_nobody_asked_for_is_refused_not_inflated(tmp_path: Path) -> None:
    bomb = gzip_bomb(64 << 20)

    def route(req: Request) -> bool:
        assert req.handler.headers.get("Accept-Encoding") == "identity"
        if req.path.endswith(f"/pods/{POD}"):
            req.send(200, bomb, {"Content-Encoding": "gzip"})
            return True
        return False

    with serving(route) as server:
        run = run_bounded(_env(tmp_path, server), POD, timeout=30)
        _one_line_error(run, "gzip-encoded")
        assert run.peak_rss_mib < 300


def test_a_log_reply_that_ignores_tail_lines_is_cut(tmp_path: Path) -> None:
    line = b"django.db.utils.ProgrammingError: relation does not exist\n"

    def route(req: Request) -> bool:
        if req.path.endswith("/log"):
            assert req.query.get("tailLines") and req.query.get("limitBytes")
            req.endless(line * 10000, length=2 << 30, content_type="text/plain")
            return True
        return False

    with serving(route) as server:
        run = run_bounded(_env(tmp_path, server), POD, "-o", "json", "--request-timeout", "20s",
                          timeout=60)  # fmt: skip
        assert run.returncode == 1, run.stderr
        report = json.loads(run.stdout)["reports"][0]
        assert report["findings"][0]["code"] == "PI101"
        assert run.peak_rss_mib < 400


def test_a_watch_line_without_end_is_cut(tmp_path: Path) -> None:
    def route(req: Request) -> bool:
        if req.query.get("watch") == "true":
            req.endless(b'{"type":"MODIFIED","object":{"metadata":{"name":"' + b"x" * (1 << 20))
            return True
        return False

    with serving(route) as server:
        run = run_bounded(_env(tmp_path, server), "--wait", POD, "--timeout", "20s", timeout=60)
        _one_line_error(run, "longer than")
        assert run.peak_rss_mib < 400


def test_watches_that_end_at_once_are_not_asked_again_thousands_of_times(tmp_path: Path) -> None:
    def route(req: Request) -> bool:
        if req.query.get("watch") == "true":
            req.send(200, b"")
            return True
        return False

    with serving(route) as server:
        run = run_bounded(_env(tmp_path, server), "--wait", POD, "--timeout", "4s", timeout=60)
        assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
        watches = [r for r in server.requests if "watch=true" in r]
        assert 2 <= len(watches) <= 30, len(watches)
        assert run.seconds < 15


def test_a_hanging_credential_plugin_is_bounded_and_killed(tmp_path: Path) -> None:
    marker = f"initdoctor-test-plugin-{time.time_ns()}"
    plugin = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": sys.executable,
            "args": ["-c", "import time; time.sleep(600)", marker],
            "interactiveMode": "Never",
        }
    }
    with serving() as server:
        env = _env(tmp_path, server, user=plugin)
        run = run_bounded(env, POD, "--request-timeout", "0.5s", timeout=30)
        _one_line_error(run, "credential plugin")
        assert run.seconds < 10
    time.sleep(0.2)
    left = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _cmdline_has(p, marker)]
    assert not left, "the hung plugin was left running"


def _cmdline_has(proc: Path, marker: str) -> bool:
    try:
        return marker.encode() in (proc / "cmdline").read_bytes()
    except OSError:
        return False


def test_a_plugins_stderr_and_url_credentials_are_not_echoed(tmp_path: Path) -> None:
    plugin = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": sys.executable,
            "args": [
                "-c",
                "import sys; sys.stderr.write('token: s3cr3t-plugin-value'); sys.exit(1)",
            ],
            "interactiveMode": "Never",
        }
    }
    with serving() as server:
        run = run_bounded(_env(tmp_path, server, user=plugin), POD, timeout=30)
        _one_line_error(run, "exec: process returned 1")
        assert "s3cr3t-plugin-value" not in run.stderr
    dead = "http://admin:hunter2-url-pass@127.0.0.1:9"  # nothing listens on the discard port
    with serving() as server:
        run = run_bounded(_env(tmp_path, server, url=dead), POD, timeout=30)
        _one_line_error(run, "The connection to the server 127.0.0.1:9 was refused")
        assert "hunter2-url-pass" not in run.stderr


# --- wrong-typed data on the live path -------------------------------------------------


ODD_PODS: list[Any] = [
    {"kind": "Pod", "metadata": "a string", "spec": {}, "status": {}},
    {"kind": "Pod", "metadata": {"name": "odd", "namespace": "default", "uid": 7},
     "status": {"conditions": 5, "initContainerStatuses": {"a": 1}, "phase": ["x"]}},
    {"kind": "Pod", "metadata": {"name": ["x"], "ownerReferences": "me"}, "spec": [], "status": 3},
    "not an object",
    None,
    {"kind": "Pod", "metadata": {"name": "big", "namespace": "default",
     "annotations": {"deployment.kubernetes.io/revision": "9" * 5000}},
     "status": {"containerStatuses": [{"name": "a", "restartCount": 10**40}]}},
]  # fmt: skip
ODD_EVENTS: list[Any] = [
    {"metadata": "x", "involvedObject": 4, "reason": ["BackOff"], "count": "many"},
    {"involvedObject": {"uid": None}, "reason": "BackOff", "lastTimestamp": 12, "message": 3},
    7,
]


@pytest.mark.parametrize("args", [("-n", "default"), ("-A",), ("odd",), ("big",)])
def test_wrong_typed_pods_and_events_get_a_report_or_one_line(tmp_path: Path, args: Any) -> None:
    def route(req: Request) -> bool:
        if req.path.endswith("/events") and "watch" not in req.query:
            req.json(event_list(ODD_EVENTS))
            return True
        return False

    with serving(route, pods=ODD_PODS) as server:
        run = run_bounded(_env(tmp_path, server), *args, timeout=60)
        assert "Traceback" not in run.stderr and "internal error" not in run.stderr, run.stderr
        assert run.returncode in (0, 1, 2)
        if run.returncode == 2:
            _one_line_error(run)


@pytest.mark.parametrize(
    "event",
    [
        {"object": {"kind": "Pod", "metadata": {"name": "x"}}},  # no type
        {"type": "ERROR", "object": {"kind": "Status", "code": "abc", "message": "odd"}},
        {"type": "ERROR", "object": {"kind": "Status", "code": 10**30}},
        {"type": "MODIFIED", "object": "a string"},
        [1, 2],
    ],
)
def test_odd_watch_events_end_the_wait_with_one_line(tmp_path: Path, event: Any) -> None:
    def route(req: Request) -> bool:
        if req.query.get("watch") == "true" and req.path.endswith("/pods"):
            req.send(200, json.dumps(event).encode() + b"\n")
            return True
        return False

    with serving(route) as server:
        run = run_bounded(_env(tmp_path, server), "--wait", POD, "--timeout", "10s", timeout=60)
        _one_line_error(run)


# --- what reaches the terminal and the disk ------------------------------------------------


def test_hostile_names_and_messages_neither_escape_dir_nor_reach_the_terminal_raw(
    tmp_path: Path,
) -> None:
    pod = fixture_pod()
    evil = "../../outside"
    status = pod["status"]["initContainerStatuses"][0]
    pod["spec"]["initContainers"][0]["name"] = evil
    status["name"] = evil
    status["lastState"]["terminated"]["message"] = (
        "\x1b]0;pwned\x07\x1b[2J\rNo problems found.\x9b1A"
    )
    pod["metadata"]["name"] = "web\u202e\x1b[31m"
    name = pod["metadata"]["name"]

    def route(req: Request) -> bool:
        if req.path.endswith("/log"):
            req.send(200, b"\x1b[2Jlog \x9b6n line\n", {"Content-Type": "text/plain"})
            return True
        return False

    with serving(route, pods=[pod]) as server:
        (tmp_path / "home").mkdir()
        env = _env(tmp_path / "home", server)
        save = tmp_path / "a" / "b" / "bundle"
        for output in ("table", "markdown"):
            run = run_bounded(env, f"pod/{name}", "-o", output, timeout=60)
            assert run.returncode == 1, run.stderr
            text = run.stdout
            assert not any((not ch.isprintable() and ch != "\n") for ch in text), [
                ch for ch in text if not ch.isprintable() and ch != "\n"
            ][:5]
            assert "No problems found." not in text.splitlines()
        run = run_bounded(env, f"pod/{name}", "--save", str(save), timeout=60)
        assert run.returncode in (1, 2), run.stderr
    outside = [p for p in tmp_path.rglob("*outside*")]
    assert not outside, outside
    for f in save.rglob("*") if save.exists() else ():
        assert save in f.resolve().parents or f.resolve() == save


def _inline_ca_kubeconfig(server: ApiServer, path: Path) -> Path:
    """The server's kubeconfig with its CA inline (``certificate-authority-data``): the
    client writes such data to a temporary file for the TLS library, removed at exit."""
    import base64

    server.write_kubeconfig(str(path))
    config = json.loads(path.read_text())
    cluster = config["clusters"][0]["cluster"]
    ca = Path(cluster.pop("certificate-authority")).read_bytes()
    cluster["certificate-authority-data"] = base64.b64encode(ca).decode()
    path.write_text(json.dumps(config))
    return path


@pytest.mark.parametrize(
    "sig, code, left", [(signal.SIGTERM, 143, False), (signal.SIGKILL, -9, True)]
)
def test_sigterm_leaves_no_temporary_file(tmp_path: Path, sig: int, code: int, left: bool) -> None:
    """SIGTERM is an exit like Ctrl-C: the client's temporary files go. (SIGKILL, which
    nothing can catch, shows that there were some to remove.)"""
    (tmp_path / "tmp").mkdir()
    with ApiServer(load_path(FIXTURES / "PI101-init-crashloop-migrate"), delay=10.0) as server:
        env = env_for(tmp_path, _inline_ca_kubeconfig(server, tmp_path / "kubeconfig"))
        name = fixture_pod()["metadata"]["name"]
        run = run_bounded(env, name, "-n", "orders", "--request-timeout", "30s", timeout=30,
                          signal_after=(2.5, sig))  # fmt: skip
    assert run.returncode == code, run.stderr
    assert "Traceback" not in run.stderr
    assert bool(list((tmp_path / "tmp").iterdir())) is left


def test_sigterm_during_the_demo_removes_its_key_and_kubeconfig(tmp_path: Path) -> None:
    (tmp_path / "tmp").mkdir()
    env = env_for(tmp_path, tmp_path / "absent-kubeconfig")
    # --wait replays two incidents over about ten seconds: the signal comes mid-way
    run = run_bounded(env, "--demo", "--wait", timeout=60, signal_after=(3.0, signal.SIGTERM))
    assert run.returncode == 143, run.stderr
    assert "Traceback" not in run.stderr
    assert list((tmp_path / "tmp").iterdir()) == []


@pytest.mark.parametrize(
    "content, words",
    [
        ("clusters: [\n  - name: x\n    token: s3cr3t-yaml-line: [\n", ("not valid YAML", "line")),
        (
            json.dumps({
                "apiVersion": "v1", "kind": "Config", "current-context": "c",
                "clusters": [{"name": "k", "cluster": {"server": "https://127.0.0.1:9",
                              "certificate-authority-data": "!!not base64 s3cr3t!!"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
            }),
            ("cannot load kubeconfig",),
        ),
        ('{"apiVersion": "v1", "clusters": 5, "contexts": "x", "current-context": 7}', ()),
        ("\x00\x01\x02 binary", ()),
    ],
)  # fmt: skip
def test_a_broken_kubeconfig_is_one_line_without_its_content(
    tmp_path: Path, content: str, words: tuple[str, ...]
) -> None:
    (tmp_path / "tmp").mkdir()
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(content)
    run = run_bounded(env_for(tmp_path, kubeconfig), POD, timeout=30)
    _one_line_error(run, *words)
    assert "s3cr3t" not in run.stderr


def test_pods_out_of_key_order_cost_one_more_events_list_not_one_per_pod(tmp_path: Path) -> None:
    pods = []
    for i in range(40):
        for ns in ("a", "b"):  # a, b, a, b...: never etcd's key order
            pod = fixture_pod()
            pod["metadata"] |= {"namespace": ns, "name": f"p{i}", "uid": f"{ns}-{i}"}
            pods.append(pod)

    with serving(pods=pods) as server:
        run = run_bounded(_env(tmp_path, server), "-A", "--max-log-pods", "0", timeout=60)
        assert run.returncode == 1, run.stderr
        assert "80 pods scanned" in run.stdout
        events = [r for r in server.requests if "/events" in r]
        assert len(events) <= 2, events
