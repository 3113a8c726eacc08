"""The CLI behaves like the kubectl tools its users live in: output fitted to the terminal,
kubectl's flags and TYPE NAME forms, subcommands, one-line refusals of combinations that
would be ignored, shell completion. Through the real command (a subprocess) wherever the
terminal or the environment matters."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from podinit_diag.cli.args import KINDS, UsageError, parse, targets

from ..conftest import FIXTURES, ROOT

EXAMPLE = ROOT / "examples" / "init-crashloop"
MIGRATE = FIXTURES / "PI101-init-crashloop-migrate"


def cli(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "NO_COLOR")}
    return subprocess.run(
        [sys.executable, "-m", "podinit_diag", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**base, **(env or {})},
        cwd=ROOT,
        input=stdin,
    )


def one_line_error(p: subprocess.CompletedProcess[str]) -> str:
    assert p.returncode == 2, p.stderr
    assert p.stdout == "" and p.stderr.count("\n") == 1 and "Traceback" not in p.stderr
    return p.stderr


# -- width -----------------------------------------------------------------------------


def _commands(text: str) -> list[str]:
    return re.findall(r"`([^`]+)`", text)


@pytest.mark.parametrize("columns", [80, 100, 200])
def test_lines_fit_the_terminal_and_commands_are_never_split(columns: int) -> None:
    doc = json.loads(cli("--from", str(EXAMPLE), "-o", "json").stdout)
    commands = [c for f in doc["reports"][0]["findings"] for c in _commands(f["fix"])]
    assert commands
    out = cli("--from", str(EXAMPLE), env={"COLUMNS": str(columns)}).stdout
    lines = out.splitlines()
    for line in lines:
        # only a command the user copies may be longer, and then it is alone on its line
        if len(line) > columns:
            assert line.strip() in commands, line
    for command in commands:
        # whole on one line: copy-paste works at any width
        assert any(command in line for line in lines), command
    if columns == 80:
        assert any(line.strip() == commands[0] for line in lines)  # a line of its own


def test_wide_shows_every_column_and_compact_fewer() -> None:
    compact = cli("--from", str(EXAMPLE), env={"COLUMNS": "80"}).stdout.splitlines()
    wide = cli("--from", str(EXAMPLE), "-o", "wide", env={"COLUMNS": "80"}).stdout.splitlines()
    assert compact[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert wide[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "NODE"]
    step = next(line for line in wide if line.startswith("#"))
    assert step.split() == ["#", "NAME", "KIND", "STATE", "REASON", "EXIT", "RESTARTS",
                            "STARTED", "FINISHED", "DURATION"]  # fmt: skip
    # the node is not lost in the compact form: the context line names it
    assert any("node ip-10-0-3-17" in line for line in compact)


def test_no_width_when_piped_and_no_columns() -> None:
    """A pipe read by a script gets every line whole, as kubectl prints to a pipe."""
    out = cli("--from", str(EXAMPLE)).stdout
    fix = next(line for line in out.splitlines() if line.startswith("   Fix:"))
    assert "`kubectl logs" in fix and len(fix) > 200


def test_ascii_terminal_gets_ascii_layout() -> None:
    out = cli("--from", str(EXAMPLE), env={"PYTHONIOENCODING": "ascii", "COLUMNS": "80"}).stdout
    assert out.isascii()
    assert "migrate < blocking" in out and "PodScheduled + 0s" in out
    assert "\\u" not in out and "\\x" not in out  # translated, not escaped


def test_no_headers() -> None:
    out = cli("--from", str(EXAMPLE), "--no-headers").stdout.splitlines()
    assert out[0].split()[0] == "web-6d9f7c8b5-x2kqp"
    assert not any(line.startswith("NAME ") for line in out)
    scan = cli("--from", str(FIXTURES), "--no-headers", "--fail-on", "never").stdout
    assert not scan.startswith("NAME") and not scan.startswith("NAMESPACE")
    assert "--no-headers goes with" in one_line_error(
        cli("--from", str(EXAMPLE), "--no-headers", "-o", "json")
    )


# -- outputs ----------------------------------------------------------------------------


def test_output_name_is_kubectls() -> None:
    assert cli("--from", str(EXAMPLE), "-o", "name").stdout == "pod/web-6d9f7c8b5-x2kqp\n"
    scan = cli("--from", str(FIXTURES), "-o", "name", "--fail-on", "never").stdout.splitlines()
    assert scan and all(line.startswith("pod/") for line in scan)


def test_unknown_output_is_refused_in_kubectls_words() -> None:
    err = one_line_error(cli("--from", str(EXAMPLE), "-o", "xml"))
    assert 'unable to match a printer suitable for the output format "xml"' in err
    assert "jsonpath" in err and "wide" in err


# -- targets ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["pod", "web"], ["pod/web"]),
        (["po", "a", "b"], ["po/a", "po/b"]),
        (["deploy", "web"], ["deploy/web"]),
        (["deployments.apps", "web"], ["deployments.apps/web"]),
        (["statefulset", "db"], ["statefulset/db"]),
        (["cj", "nightly"], ["cj/nightly"]),
        (["pods"], []),
        (["web"], ["web"]),
        (["deploy/web"], ["deploy/web"]),
    ],
)
def test_type_name_forms(argv: list[str], expected: list[str]) -> None:
    assert targets(argv) == expected


def test_type_name_refusals() -> None:
    with pytest.raises(UsageError, match="name the Deployment"):
        targets(["deploy"])
    with pytest.raises(UsageError, match="resource/name form"):
        targets(["pod", "deploy/web"])


def test_type_name_diagnoses_the_pod(tmp_path: Path) -> None:
    by_type = cli("--from", str(EXAMPLE), "pod", "web-6d9f7c8b5-x2kqp", "-o", "json")
    by_name = cli("--from", str(EXAMPLE), "web-6d9f7c8b5-x2kqp", "-o", "json")
    assert by_type.returncode == by_name.returncode == 1
    assert json.loads(by_type.stdout) == json.loads(by_name.stdout)


def test_help_lists_every_target_kind_with_an_example() -> None:
    out = cli("--help").stdout
    for kind, names, example in KINDS:
        assert kind in out and names[0] in out and example in out
    for sub in ("explain", "completion", "version"):
        assert f"initdoctor {sub}" in out


# -- flags ------------------------------------------------------------------------------


def test_misspelt_flag_gets_did_you_mean() -> None:
    err = one_line_error(cli("--selctor", "app=web"))
    assert "unknown flag: --selctor" in err and "did you mean --selector?" in err
    err = one_line_error(cli("--namepsace=shop"))
    assert "did you mean --namespace?" in err


def test_abbreviations_are_not_flags() -> None:
    """argparse would read --sel as --select or --selector; kubectl takes no abbreviations."""
    assert "unknown flag: --sel" in one_line_error(cli("--sel", "app=web"))


def test_select_with_a_label_selector_points_to_selector() -> None:
    err = one_line_error(cli("--select", "app=web"))
    assert "--select takes rule codes" in err and "-l/--selector app=web" in err


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--from", str(EXAMPLE), "--demo"], "--demo and --from cannot be used together"),
        (["--serve", str(EXAMPLE), "--from", str(EXAMPLE)], "cannot be used together"),
        (["--from", str(EXAMPLE), "--timeout", "1m"], "--timeout goes with -w/--wait"),
        (["web", "--for", "ready"], "--for goes with -w/--wait"),
        (["-w", "--from", str(EXAMPLE), "web"], "does not go with --from"),
        (["--from", str(EXAMPLE), "-l", "app=web"], "selects pods of a live cluster"),
        (["--demo", "web"], "--demo takes no TARGET"),
        (["--list-rules", "--explain", "PI101"], "cannot be used together"),
    ],
)
def test_conflicting_modes_are_refused(argv: list[str], words: str) -> None:
    assert words in one_line_error(cli(*argv))


def test_watch_is_waits_kubectl_spelling() -> None:
    for flag in ("-w", "--watch", "--wait"):
        assert parse([flag, "web"]).wait is True


# -- subcommands ------------------------------------------------------------------------


def test_explain_by_code_or_name_without_rst_backticks() -> None:
    by_code = cli("explain", "PI101")
    by_name = cli("explain", "init-crashloop")
    assert by_code.returncode == by_name.returncode == 0
    assert by_code.stdout == by_name.stdout
    assert by_code.stdout.startswith("PI101 init-crashloop (error)")
    assert "``" not in by_code.stdout
    assert cli("--explain", "init-crashloop").stdout == by_code.stdout
    doc = json.loads(cli("explain", "pi101", "-o", "json").stdout)
    assert doc["code"] == "PI101" and doc["rule"] == "init-crashloop"


def test_explain_unknown_suggests() -> None:
    err = one_line_error(cli("explain", "init-crashlop"))
    assert "did you mean init-crashloop" in err


def test_explain_without_a_rule_lists_them() -> None:
    out = cli("explain").stdout
    assert out.split()[:4] == ["CODE", "RULE", "SEVERITY", "SUMMARY"] and "PI101" in out


def test_version_forms() -> None:
    from podinit_diag.core.version import VERSION

    assert cli("version").stdout == cli("--version").stdout == f"initdoctor {VERSION}\n"
    assert json.loads(cli("version", "-o", "json").stdout) == {"initdoctor": {"version": VERSION}}


# -- completion -------------------------------------------------------------------------


def _complete(script: str, words: list[str], tmp: Path) -> list[str]:
    """COMPREPLY of the bash function for the command line ``words`` (the last is being
    typed), with a kubectl stub on PATH that answers like a cluster would."""
    stub = tmp / "bin"
    stub.mkdir(exist_ok=True)
    kubectl = stub / "kubectl"
    kubectl.write_text(
        "#!/bin/sh\n"
        'case "$*" in\n'
        '  *"get pods"*) echo "web-0 web-1 db-0" ;;\n'
        '  *"get namespaces"*) echo "default shop kube-system" ;;\n'
        '  *"get deploy"*) echo "web api" ;;\n'
        '  *"get-contexts"*) printf "prod\\nstaging\\n" ;;\n'
        "esac\n"
    )
    kubectl.chmod(0o755)
    (tmp / "completion.bash").write_text(script)
    line = " ".join(words)
    quoted = " ".join(shlex.quote(w) for w in words)
    program = (
        f"source {tmp / 'completion.bash'}\n"
        f"COMP_WORDS=({quoted})\n"
        f"COMP_CWORD={len(words) - 1}\nCOMP_LINE={line!r}\nCOMP_POINT={len(line)}\n"
        "_initdoctor\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
    )
    out = subprocess.run(
        ["bash", "-c", program],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": f"{stub}:/usr/bin:/bin", "HOME": str(tmp)},
    )
    assert out.returncode == 0, out.stderr
    return [w for w in out.stdout.splitlines() if w]


def test_bash_completion(tmp_path: Path) -> None:
    script = cli("completion", "bash").stdout
    assert "complete -F _initdoctor initdoctor kubectl-initdoctor" in script
    assert set(_complete(script, ["initdoctor", "--sel"], tmp_path)) == {"--select", "--selector"}
    assert "jsonpath=" in _complete(script, ["initdoctor", "-o", ""], tmp_path)
    assert _complete(script, ["initdoctor", "-o", "ya"], tmp_path) == ["yaml"]
    assert _complete(script, ["initdoctor", "explain", "init-cr"], tmp_path) == ["init-crashloop"]
    assert _complete(script, ["initdoctor", "completion", "z"], tmp_path) == ["zsh"]
    assert _complete(script, ["initdoctor", "we"], tmp_path) == ["web-0", "web-1"]
    assert "explain" in _complete(script, ["initdoctor", "ex"], tmp_path)
    assert _complete(script, ["initdoctor", "-n", "sh"], tmp_path) == ["shop"]
    assert _complete(script, ["initdoctor", "--context", "p"], tmp_path) == ["prod"]
    assert _complete(script, ["initdoctor", "deploy", "a"], tmp_path) == ["api"]
    assert _complete(script, ["initdoctor", "deploy/w"], tmp_path) == ["deploy/web"]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_other_shells_scripts_parse(shell: str, tmp_path: Path) -> None:
    script = cli("completion", shell).stdout
    assert "initdoctor" in script
    assert ("-l selector" if shell == "fish" else "--selector") in script
    binary = shutil.which(shell)
    if binary is None:
        pytest.skip(f"{shell} is not installed")
    path = tmp_path / f"completion.{shell}"
    path.write_text(script)
    check = subprocess.run([binary, "-n", str(path)], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr


def test_completion_needs_a_known_shell() -> None:
    assert "invalid choice" in one_line_error(cli("completion", "tcsh"))


def test_yaml_is_the_json_as_data(tmp_path: Path) -> None:
    import yaml

    for args in (["--from", str(EXAMPLE)], ["--from", str(FIXTURES), "--fail-on", "never"]):
        as_json = json.loads(cli(*args, "-o", "json").stdout)
        assert yaml.safe_load(cli(*args, "-o", "yaml").stdout) == as_json


def test_jsonpath_on_a_pod_and_on_a_scan(tmp_path: Path) -> None:
    template = "{range .reports[*]}{.pod.name}{'\\t'}{.findings[0].code}{'\\n'}{end}"
    one = cli("--from", str(EXAMPLE), "-o", f"jsonpath={template}")
    assert one.returncode == 1 and one.stdout == "web-6d9f7c8b5-x2kqp\tPI101\n"
    scan = cli("--from", str(FIXTURES), "-o", "jsonpath={.summary.pods}", "--fail-on", "never")
    assert scan.stdout == str(len([d for d in FIXTURES.iterdir() if (d / "pod.json").exists()]))
    path = tmp_path / "t.jsonpath"
    path.write_text("{.reports[0].findings[*].code}\n")
    from_file = cli("--from", str(EXAMPLE), "-o", f"jsonpath-file={path}")
    assert from_file.stdout == "PI101\n"


def test_bad_templates_are_refused_before_any_work() -> None:
    assert "no template given" in one_line_error(cli("--from", str(EXAMPLE), "-o", "jsonpath="))
    assert "error parsing jsonpath" in one_line_error(
        cli("--from", str(EXAMPLE), "-o", "jsonpath={.a[")
    )
    missing = one_line_error(cli("--from", str(EXAMPLE), "-o", "jsonpath-file=/nonexistent/t"))
    assert "jsonpath-file=/nonexistent/t" in missing


def test_fish_completion(tmp_path: Path) -> None:
    fish = shutil.which("fish")
    if fish is None:
        pytest.skip("fish is not installed")
    path = tmp_path / "completion.fish"
    path.write_text(cli("completion", "fish").stdout)

    def complete(line: str) -> list[str]:
        out = subprocess.run(
            [fish, "--no-config", "-c", f"source {path}; complete -C {shlex.quote(line)}"],
            capture_output=True,
            text=True,
            timeout=30,
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        )
        return [w.split("\t")[0] for w in out.stdout.splitlines()]

    assert set(complete("initdoctor --sel")) == {"--select", "--selector"}
    assert complete("initdoctor -o ya") == ["yaml"]
    assert complete("initdoctor explain init-cr") == ["init-crashloop"]
    assert complete("initdoctor --fail-on w") == ["warning"]
