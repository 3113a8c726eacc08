"""Text from a hostile pod cannot drive the terminal or restructure a Markdown ticket.

Whoever can create a pod writes its names, the messages of its events and conditions, its
termination message and its logs. Every renderer must show that text escaped (visibly:
``\\x1b]0;`` where an OSC sequence was), on one line, redacted; the only escape sequences
in the output are the renderer's own colours.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from podinit_diag.core.model import Bundle, Report
from podinit_diag.core.progress import Outcome, Transition
from podinit_diag.core.sanitize import escape, escape_markdown
from podinit_diag.core.summary import ScanSummary
from podinit_diag.engine import diagnose
from podinit_diag.render import jsonout, markdown, render, table
from podinit_diag.render.layout import Style
from podinit_diag.render.scanout import ScanOutput
from podinit_diag.render.waitview import WaitView

NOW = datetime(2024, 9, 16, 14, 40, tzinfo=UTC)
FORGED = "No problems found."

# One of each way to take over a terminal line, each followed by a forged verdict.
ATTACKS = {
    "osc title": "\x1b]0;pwned\x07",
    "csi erase": "\x1b[2J\x1b[H",
    "cursor up": "\x1b[1A\x1b[2K",
    "bare cr": "\r",
    "c1 csi": "\x9b2J",
    "c1 osc": "\x9d0;pwned\x9c",
    "nel": "\x85",
    "newline": "\n",
    "crlf": "\r\n",
    "bidi override": "\u202e\u202a\u202b\u202c\u202d",
    "bidi isolate": "\u2066\u2067\u2068\u2069",
    "marks": "\u200e\u200f\u061c",
    "zero width": "\u200b\u200c\u200d\u2060\ufeff",
    "line separator": "\u2028\u2029",
    "lone surrogate": "\ud800\udfff",
    "tab": "\t",
}
HOSTILE = "".join(f"{a}{FORGED}" for a in ATTACKS.values())
INIT = "init\x1b]0;x\x07"  # the init container's name
SECRET = "hunter2hunter2"
NOTE = f"could not read events: \x1b[31mforbidden\x1b[0m password={SECRET}\n{FORGED}"
TARGET = "pod/web\x1b[2J"

_SGR = re.compile(r"\x1b\[[0-9;]*m")


def _ts(minutes_ago: int) -> str:
    return (NOW - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _event(reason: str, message: str, field_path: str | None = None) -> dict[str, Any]:
    involved = {"kind": "Pod", "name": "web-0\x1b[2J", "namespace": "shop\u202e"}
    if field_path:
        involved["fieldPath"] = field_path
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"web-0.{reason.lower()}", "namespace": "shop"},
        "involvedObject": involved,
        "reason": reason,
        "type": "Warning",
        "message": message,
        "count": 7,
        "firstTimestamp": _ts(30),
        "lastTimestamp": _ts(1),
        "source": {"component": "kubelet\x9b1A"},
    }


def hostile_bundle() -> Bundle:
    """An init container in CrashLoopBackOff, as ``kubectl get pod -o json`` shows it,
    with every string an attacker controls set to hostile text."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "web-0\x1b[2J",
            "namespace": "shop\u202e",
            "uid": "0b4e2b5e-0000-4000-8000-00000000beef",
            "creationTimestamp": _ts(40),
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": "web-rs\x85" + FORGED,
                    "controller": True,
                    "uid": "1",
                }
            ],
        },
        "spec": {
            "nodeName": "node-1\x1b]0;owned\x07",
            "restartPolicy": "Always",
            "initContainers": [
                {
                    "name": INIT,
                    "image": "busybox:1.36\x1b[1A",
                    "command": ["sh", "-c", f"echo {HOSTILE}; exit 1"],
                }
            ],
            "containers": [{"name": "app\u202e", "image": "nginx:1.27"}],
        },
        "status": {
            "phase": "Pending",
            "conditions": [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": _ts(40)},
                {
                    "type": "Initialized",
                    "status": "False",
                    "reason": "ContainersNotInitialized\x1b[2K",
                    "message": f"| forged | cell | [link](http://evil) <img src=x> {HOSTILE}",
                    "lastTransitionTime": _ts(40),
                },
                {
                    "type": "Ready",
                    "status": "False",
                    "reason": "ContainersNotReady",
                    "message": HOSTILE,
                    "lastTransitionTime": _ts(40),
                },
            ],
            "initContainerStatuses": [
                {
                    "name": INIT,
                    "image": "busybox:1.36",
                    "imageID": "",
                    "ready": False,
                    "started": False,
                    "restartCount": 5,
                    "state": {
                        "waiting": {
                            "reason": "CrashLoopBackOff",
                            "message": f"back-off 5m0s restarting failed container {HOSTILE}",
                        }
                    },
                    "lastState": {
                        "terminated": {
                            "exitCode": 1,
                            "reason": "Error\x1b]0;t\x07",
                            "message": f"migration failed{HOSTILE}",
                            "startedAt": _ts(3),
                            "finishedAt": _ts(2),
                        }
                    },
                }
            ],
            "containerStatuses": [
                {
                    "name": "app\u202e",
                    "image": "nginx:1.27",
                    "imageID": "",
                    "ready": False,
                    "started": False,
                    "restartCount": 0,
                    "state": {"waiting": {"reason": "PodInitializing"}},
                }
            ],
        },
    }
    init_path = f"spec.initContainers{{{INIT}}}"
    events = tuple(
        _event(f"BackOff{i}", f"Back-off restarting container {name}: {a}{FORGED}", init_path)
        for i, (name, a) in enumerate(ATTACKS.items())
    ) + (_event("BackOff", f"Back-off restarting failed container {HOSTILE}", init_path),)
    log = f"starting\nconnecting {HOSTILE}\nfatal: \x9b2J\x1b]0;log\x07{FORGED}\n"
    return Bundle(
        pod=pod,
        events=events,
        logs={f"{INIT}.previous.log": log.encode("utf-8", "surrogatepass")},
        captured_at=NOW,
        source="hostile.json",
        notes=(NOTE,),
    )


@pytest.fixture(scope="module")
def report() -> Report:
    r = diagnose(hostile_bundle(), now=NOW)
    assert r.findings, "the hostile pod must have findings for the test to show them"
    return r


def assert_safe(out: str, colour: bool = False) -> None:
    """Only printable characters and newlines (and, with colour, our SGR codes); no line
    that reads as the forged verdict."""
    bare = _SGR.sub("", out) if colour else out
    bad = sorted({c for c in bare if c != "\n" and not c.isprintable()})
    assert not bad, f"raw characters in output: {bad!r}"
    for line in out.splitlines():
        assert line.strip().strip("*-").strip() != FORGED, f"forged line: {line!r}"
    assert SECRET not in out


def test_escape_shows_every_attack_visibly() -> None:
    shown = escape(HOSTILE)
    assert shown.isprintable()
    for visible in (
        "\\x1b]0;pwned\\x07",
        "\\x1b[2J",
        "\\r",
        "\\n",
        "\\t",
        "\\x9b2J",
        "\\x85",
        "\\u202e",
        "\\u2066",
        "\\u200b",
        "\\ufeff",
        "\\u2028",
        "\\ud800",
        "\\udfff",
    ):
        assert visible in shown
    assert shown.count(FORGED) == len(ATTACKS)  # nothing dropped


def test_table_shows_hostile_text_escaped(report: Report) -> None:
    out = table.render([report])
    assert_safe(out)
    assert "\x1b" not in out
    assert "init\\x1b]0;x\\x07" in out  # the container name, escaped, where it is named
    assert "web-0\\x1b[2J" in out and "shop\\u202e" in out
    assert "note: could not read events: \\x1b[31mforbidden" in out
    assert out.count(FORGED) >= len(ATTACKS)  # the forged verdicts are there, inline


def test_colour_is_ours_only(report: Report) -> None:
    out = table.render([report], colour=True)
    assert_safe(out, colour=True)
    assert "\x1b[31m" in out  # the severity is still painted
    # every escape character left starts one of our SGR codes
    assert out.count("\x1b") == len(_SGR.findall(out))


def test_markdown_shows_hostile_text_as_text(report: Report) -> None:
    out = markdown.render([report])
    assert_safe(out)
    assert "\\x1b" in out and "\\u202e" in out
    assert "<img" not in out.replace("\\<img", "")  # no raw HTML
    assert "[link](http://evil)" not in out.replace("\\[link\\](http://evil)", "")
    # every table row has its header's cells: no forged "|" splits one
    tables = [line for line in out.splitlines() if line.startswith("|")]
    assert tables
    for line in tables:
        cells = _unescaped_pipes(line) - 1
        header = next(h for h in reversed(tables[: tables.index(line) + 1]) if "---" not in h)
        assert cells == _unescaped_pipes(header) - 1 or "---" in line, line


def test_markdown_keeps_our_code_spans_and_escapes_theirs() -> None:
    # the rules write commands between backticks; a name can only move a span's edge
    assert markdown.prose("Read `kubectl logs web -c init` first") == (
        "Read `kubectl logs web -c init` first"
    )
    assert markdown.prose("Fix *x* [a](b)") == "Fix \\*x\\* \\[a\\](b)"
    odd = markdown.prose("container `a`b` is <b>")
    assert odd == "container `a`b\\` is \\<b\\>"


def _unescaped_pipes(line: str) -> int:
    count, i = 0, 0
    while i < len(line):
        if line[i] == "\\":
            i += 2
            continue
        count += line[i] == "|"
        i += 1
    return count


def test_json_is_ascii_and_keeps_the_data(report: Report) -> None:
    out = jsonout.render([report])
    assert out.isascii()
    assert SECRET not in out
    doc = json.loads(out)
    steps = doc["reports"][0]["init_timeline"]
    assert steps[0]["name"] == INIT  # machines get the data as it was, JSON-escaped
    assert "\\u001b]0;x\\u0007" in out


@pytest.mark.parametrize("output", ["table", "markdown"])
def test_render_entry_point(report: Report, output: str) -> None:
    assert_safe(render([report], output))


@pytest.mark.parametrize("output", ["table", "markdown", "json"])
def test_scan_output(report: Report, output: str) -> None:
    written: list[str] = []
    sink = ScanOutput(output, written.append, Style(colour=output == "table"))
    summary = ScanSummary(sink=sink)
    summary.add(report)
    summary.add(report)  # two pods failing alike: a group
    summary.errors.append(f"namespace shop: \x1b]0;x\x07{FORGED}\n{FORGED}")
    sink.finish(summary)
    out = "".join(written)
    if output == "json":
        assert out.isascii() and json.loads(out)["groups"]
        return
    assert_safe(out, colour=True)
    assert "web-0\\x1b[2J" in out
    assert "init\\x1b]0;x\\x07" in out  # in the group line
    assert "x\\x07No problems found.\\nNo problems found." in out.replace("\\\\", "\\")


@pytest.mark.parametrize("output", ["table", "markdown", "json"])
def test_wait_output(report: Report, output: str) -> None:
    written: list[str] = []
    status: list[str] = []
    view = WaitView(output, NOW - timedelta(seconds=30), written.append, status.append)
    view.transition(
        Transition(
            at=NOW,
            namespace="shop\u202e",
            pod="web-0\x1b[2J",
            before=f"Init:0/1\r{FORGED}",
            after="Init:CrashLoopBackOff\x9b2J",
            init_done=((INIT, 3.0),),
        )
    )
    view.tick(30.0, 0, 1)
    outcome = Outcome(
        state="failed",
        elapsed=30.0,
        met=0,
        wanted=1,
        target=TARGET,
        condition="Initialized",
        reports=(report,),
    )
    out = "".join(written) + view.final(outcome, Style(colour=output == "table"))
    if output == "json":
        assert out.isascii()
        assert [json.loads(line)["pod"] for line in out.splitlines()[:1]] == ["web-0\x1b[2J"]
        return
    assert_safe(out, colour=True)
    assert "pod/web-0\\x1b[2J" in out and "pod/web\\x1b[2J" in out
    assert "init container init\\x1b]0;x\\x07 took 3s" in out
    # the status line is the view's own: its \r and erase are not data
    assert status == ["\r\x1b[Kwaiting 0:30: 0/1 pods"]


# Hypothesis: any text, lone surrogates and every category of character included.
ANY_TEXT = st.text(st.characters(exclude_categories=()))
_MD_SPECIAL = set("\\`*_[]<>|~&$")


@given(ANY_TEXT)
def test_escape_is_printable_and_keeps_printable_text(s: str) -> None:
    out = escape(s)
    assert out.isprintable()
    if s.isprintable():
        assert out == s
    else:  # escaped, not dropped: a backslash at least for each character not printable
        hidden = sum(not c.isprintable() for c in s)
        assert out.count("\\") >= hidden + s.count("\\")
        assert len(out) > len(s)


@given(ANY_TEXT)
def test_escape_markdown_leaves_no_metacharacter_unescaped(s: str) -> None:
    out = escape_markdown(s)
    assert out.isprintable()
    assert not out.startswith("#")
    i = 0
    while i < len(out):
        if out[i] == "\\":
            assert i + 1 < len(out), "a trailing backslash would escape what follows"
            i += 2
            continue
        assert out[i] not in _MD_SPECIAL, (out, i)
        i += 1
