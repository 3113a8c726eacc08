"""Fuzzing the live path through the ``initdoctor`` entry point: watch events and
kubeconfigs a hostile server or a broken file could hand over.

Each example runs the CLI in this process against the hostile test server; it must exit
0, 1 or 2, never with a traceback or an internal error, and on 2 say why in one line.
Bounded for CI; ``FUZZ_EXAMPLES=N`` runs N examples per test instead."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podinit_diag.cli import main

from ..conftest import json_paths
from .harness import HostileServer, Request, fixture_pod

# A crash in a watch thread must fail the example, not pass as a wait that timed out.
pytestmark = [
    pytest.mark.live,
    pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning"),
]
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES") or 0)
POD = fixture_pod()["metadata"]["name"]

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    st.sampled_from(["", "\x1b]0;x\x07", "\ud800", "9" * 5000, "ERROR", "ADDED", "BOOKMARK"]),
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def _mutated(draw: st.DrawFn, base: Any) -> Any:
    """``base`` with up to three values replaced by arbitrary JSON (the whole of it too)."""
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(json_paths(doc)))
        value = draw(_JSON)
        if not path:
            return value
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = value
    return doc


def _ready(pod: dict[str, Any]) -> dict[str, Any]:
    ready = copy.deepcopy(pod)
    ready["metadata"]["resourceVersion"] = "200"
    ready["status"]["conditions"] = [
        {"type": t, "status": "True"} for t in ("Initialized", "ContainersReady", "Ready")
    ]
    return ready


def _run(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, err.getvalue()


def _check(code: int, err: str) -> None:
    assert code in (0, 1, 2), (code, err)
    assert "Traceback" not in err and "internal error" not in err, err
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("initdoctor: error: "), err


_EVENT = {"type": "MODIFIED", "object": fixture_pod()}


@pytest.fixture(scope="module")
def server() -> Any:
    with HostileServer() as srv:
        yield srv


@settings(
    max_examples=FUZZ_EXAMPLES or 15,
    deadline=timedelta(seconds=20),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(events=st.lists(_mutated(_EVENT), min_size=1, max_size=3))
def test_fuzzed_watch_events(server: HostileServer, events: list[Any], no_proxy: None) -> None:
    lines = b"".join(json.dumps(e).encode() + b"\n" for e in events)
    lines += json.dumps({"type": "MODIFIED", "object": _ready(fixture_pod())}).encode() + b"\n"

    def route(req: Request) -> bool:
        if req.query.get("watch") == "true" and req.path.endswith("/pods"):
            req.send(200, lines)
            return True
        return False

    server.route = route
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = server.kubeconfig(Path(tmp) / "config")
        _check(*_run("--wait", POD, "--timeout", "3s", "--kubeconfig", str(kubeconfig)))


_KUBECONFIG: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:9"}}],
    "users": [{"name": "u", "user": {"token": "t"}}],
    "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u", "namespace": "default"}}],
    "current-context": "x",
    "preferences": {},
}


@settings(
    max_examples=FUZZ_EXAMPLES or 40,
    deadline=timedelta(seconds=20),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(config=_mutated(_KUBECONFIG), as_yaml=st.booleans())
def test_fuzzed_kubeconfigs(
    server: HostileServer, config: Any, as_yaml: bool, no_proxy: None
) -> None:
    server.route = None
    doc = copy.deepcopy(config)
    with contextlib.suppress(Exception):  # point it at the server when the shape allows
        doc["clusters"][0]["cluster"]["server"] = server.url
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config"
        if as_yaml:
            import yaml

            try:
                text = yaml.safe_dump(doc, allow_unicode=True)
            except yaml.YAMLError:
                text = json.dumps(doc)
        else:
            text = json.dumps(doc)
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        _check(*_run(POD, "--kubeconfig", str(path), "--request-timeout", "2s"))
