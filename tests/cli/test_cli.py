"""The CLI contract: formats, exit codes, rule selection, and bad input -> one line, exit 2.

Bad-input cases run the real console entry point in a subprocess with a memory
cap and a timeout, so "no traceback, bounded memory and time" is what is tested.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from podinit_diag import all_rules
from podinit_diag.cli import main

from ..conftest import ROOT

EXAMPLE = ROOT / "examples" / "init-crashloop"
MEMORY_CAP = 1024 * 1024 * 1024


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "podinit_diag.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_limit,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
    )


def test_example_exits_1_with_the_root_cause_first(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--from", str(EXAMPLE)]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:4] == ["NAME", "READY", "STATUS", "RESTARTS"]
    assert "Init:CrashLoopBackOff" in out and "PI101 init-crashloop" in out
    assert "migrate ◀ blocking" in out
    assert "--previous" in out  # the fix names the command that shows the crash


@pytest.mark.parametrize(
    ("fail_on", "code"), [("error", 1), ("warning", 1), ("info", 1), ("never", 0)]
)
def test_fail_on_thresholds(fail_on: str, code: int) -> None:
    assert main(["--from", str(EXAMPLE), "--fail-on", fail_on, "-o", "json"]) == code


def test_warning_only_pod_passes_default_gate(tmp_path: Path) -> None:
    stuck = next(d for d in (ROOT / "tests" / "fixtures").iterdir() if d.name.startswith("PI106"))
    assert main(["--from", str(stuck), "-o", "json"]) == 0
    assert main(["--from", str(stuck), "-o", "json", "--fail-on", "warning"]) == 1


def test_select_and_ignore(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--from", str(EXAMPLE), "-o", "json", "--ignore", "PI101"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["reports"][0]["findings"] == []
    assert main(["--from", str(EXAMPLE), "-o", "json", "--select", "PI1"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert [f["code"] for f in doc["reports"][0]["findings"]] == ["PI101"]


def test_output_is_byte_identical_across_runs() -> None:
    for fmt in ("table", "json", "markdown"):
        first = run_cli("--from", str(EXAMPLE), "-o", fmt)
        second = run_cli("--from", str(EXAMPLE), "-o", fmt, env={"PYTHONHASHSEED": "12345"})
        assert first.returncode == second.returncode == 1
        assert first.stdout == second.stdout and first.stdout


def test_no_colour_when_not_a_terminal_or_no_color() -> None:
    assert "\x1b[" not in run_cli("--from", str(EXAMPLE)).stdout
    assert "\x1b[" not in run_cli("--from", str(EXAMPLE), env={"NO_COLOR": "1"}).stdout


def test_list_rules_formats(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list-rules"]) == 0
    out = capsys.readouterr().out
    for r in all_rules():
        assert r.code in out and r.name in out
    assert main(["--list-rules", "-o", "json"]) == 0
    assert [r["code"] for r in json.loads(capsys.readouterr().out)] == [r.code for r in all_rules()]
    assert main(["--list-rules", "-o", "markdown"]) == 0
    assert capsys.readouterr().out == (ROOT / "docs" / "rules.md").read_text()


@pytest.mark.parametrize("code", [r.code for r in all_rules()])
def test_explain_every_code(code: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--explain", code.lower()]) == 0
    out = capsys.readouterr().out
    assert out.startswith(code)
    for section in ("What it detects:", "Why it happens:", "How to fix:"):
        assert section in out


def test_target_and_namespace_filter_a_pod_list(tmp_path: Path) -> None:
    pods = [
        json.loads((d / "pod.json").read_text())
        for d in sorted((ROOT / "tests" / "fixtures").iterdir())[:5]
    ]
    f = tmp_path / "pods.json"
    f.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": pods}))
    name, ns = pods[2]["metadata"]["name"], pods[2]["metadata"]["namespace"]
    res = run_cli("--from", str(f), "-o", "json", "--fail-on", "never", f"pod/{name}", "-n", ns)
    assert res.returncode == 0, res.stderr
    assert [r["pod"]["name"] for r in json.loads(res.stdout)["reports"]] == [name]
    res = run_cli("--from", str(f), "-o", "json", "--fail-on", "never", "--all")
    assert len(json.loads(res.stdout)["reports"]) == 5


def _bad_inputs(tmp: Path) -> dict[str, Path]:
    cases: dict[str, bytes] = {
        "empty": b"",
        "whitespace": b"  \n\t\n",
        "binary": bytes(range(256)) * 64,
        "truncated": (EXAMPLE / "pod.json").read_bytes()[:700],
        "utf16": (EXAMPLE / "pod.json").read_text().encode("utf-16"),
        "wrong-kind": b'{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}}',
        "no-kind": b'{"metadata": {"name": "x"}}',
        "scalar": b"42",
        "string": b'"a pod"',
        "yaml-scalar": b"just some words\n",
        "empty-list": b'{"apiVersion": "v1", "kind": "List", "items": []}',
        "deeply-nested-json": b"[" * 200_000 + b"]" * 200_000,
        "deeply-nested-yaml": b"a: " + b"[" * 50_000 + b"]" * 50_000,
        "yaml-alias-bomb": b"\n".join(
            [b'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
            + [
                f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]".encode()
                for i in range(9)
            ]
        ),
        "bad-yaml": b"kind: Pod\nmetadata: {name: [unclosed\n",
    }
    paths = {}
    for name, data in cases.items():
        p = tmp / f"{name}.json"
        p.write_bytes(data)
        paths[name] = p
    broken = tmp / "broken-events"
    shutil.copytree(EXAMPLE, broken)
    (broken / "events.json").write_text('{"kind": "List", "items": [')
    paths["broken-events-json"] = broken
    wrong_events = tmp / "wrong-events"
    shutil.copytree(EXAMPLE, wrong_events)
    (wrong_events / "events.json").write_text("17")
    paths["events-json-scalar"] = wrong_events
    bad_meta = tmp / "bad-meta"
    shutil.copytree(EXAMPLE, bad_meta)
    (bad_meta / "meta.json").write_text('{"captured_at": "yesterday"}')
    paths["bad-captured-at"] = bad_meta
    paths["missing"] = tmp / "does-not-exist.json"
    paths["empty-dir"] = tmp / "empty-dir"
    paths["empty-dir"].mkdir()
    return paths


@pytest.mark.slow
def test_bad_inputs_give_one_line_and_exit_2(tmp_path: Path) -> None:
    for name, path in _bad_inputs(tmp_path).items():
        res = run_cli("--from", str(path))
        assert res.returncode == 2, (name, res.returncode, res.stderr[-500:])
        assert res.stdout == "", name
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1, (name, res.stderr[-2000:])
        assert lines[0].startswith("initdoctor: error: "), (name, lines[0])
        assert "Traceback" not in res.stderr
        assert str(path.name) in lines[0] or name == "missing", (name, lines[0])


@pytest.mark.parametrize(
    "args",
    [
        ["--from", str(EXAMPLE), "-o", "xml"],
        ["--from", str(EXAMPLE), "--stuck-after", "soon"],
        ["--from", str(EXAMPLE), "--select", "PI999"],
        ["--from", str(EXAMPLE), "--now", "tomorrow"],
        ["--explain", "PI000"],
        ["--bogus"],
        ["web-7f9c", "--kubeconfig", "/nonexistent/kubeconfig"],
        ["deploy/web", "--kubeconfig", "/nonexistent/kubeconfig"],  # workloads: a later version
        ["--from", str(EXAMPLE), "--save", "/tmp/x"],
        ["--from", str(EXAMPLE), "-n", "nope"],
    ],
)
def test_usage_errors_exit_2_with_one_line(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("initdoctor: error: ")


def test_from_stdin_reads_what_kubectl_pipes_in() -> None:
    """``kubectl get pod x -o json | initdoctor --from -`` (and YAML): the same report as
    the file, for the same time."""
    pod = ROOT / "tests" / "fixtures" / "PI101-init-crashloop-migrate" / "pod.json"
    when = ("--now", "2024-06-12T09:00:00Z", "-o", "json")
    piped = subprocess.run(
        [sys.executable, "-m", "podinit_diag", "--from", "-", *when],
        input=pod.read_bytes(), capture_output=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    direct = subprocess.run(
        [sys.executable, "-m", "podinit_diag", "--from", str(pod), *when],
        capture_output=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert piped.returncode == direct.returncode == 1, piped.stderr
    first = json.loads(piped.stdout)["reports"][0]
    assert first["source"] == "<stdin>"
    assert first["findings"] == json.loads(direct.stdout)["reports"][0]["findings"]
    twice = subprocess.run(
        [sys.executable, "-m", "podinit_diag", "--from", "-", "--from", "-"],
        input=b"{}", capture_output=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert twice.returncode == 2 and b"read once" in twice.stderr
