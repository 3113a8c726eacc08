"""Log evidence a user can act on: the line number is the line of what ``ref`` names (the
bundle's file offline; the ``kubectl logs`` command for a pod read from a cluster, checked
with the real kubectl), with the lines around it, and a command that stays right for odd
names."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from podinit_diag import diagnose, diagnose_path
from podinit_diag.core.commands import logs_command
from podinit_diag.core.model import Evidence
from podinit_diag.devserver.apiserver import ApiServer
from podinit_diag.sources.files import load_path

from ..conftest import FIXTURES, cli_env, fixture_dirs, run_initdoctor

CRASHLOOP = FIXTURES / "PI101-init-crashloop-migrate"  # a 66-line log ending in a traceback
LONG = FIXTURES / "PI107-init-service-missing-other-namespace"  # a 1,340-line log
POD = json.loads((CRASHLOOP / "pod.json").read_text())


def _log_evidence(reports: Any) -> list[Evidence]:
    return [e for r in reports for f in r.findings for e in f.evidence if e.source == "log"]


def _agrees(quoted: str, line: str) -> bool:
    """A quoted log line is the log's line, up to the cut of a long line and a masked
    secret (what stands before the first mask is verbatim)."""
    head = quoted.split("[REDACTED]")[0].rstrip("…")
    return line.rstrip().startswith(head)


def _check_against(e: Evidence, lines: list[str]) -> None:
    assert e.line is not None
    first = e.line - len(e.before)
    for n, quoted in enumerate((*e.before, e.text, *e.after), first):
        assert _agrees(quoted, lines[n - 1]), (e.ref, n, quoted, lines[n - 1])


@pytest.mark.parametrize("bundle", fixture_dirs(), ids=lambda d: d.name)
def test_offline_line_numbers_are_the_files_lines(bundle: Path) -> None:
    for e in _log_evidence(diagnose_path(bundle)):
        path, _, number = e.ref.rpartition(":")
        assert int(number) == e.line
        lines = (bundle / path).read_bytes().decode("utf-8", "replace").split("\n")
        _check_against(e, lines)


def test_a_long_logs_tail_is_numbered_from_where_it_starts() -> None:
    (e,) = _log_evidence(diagnose_path(LONG))
    assert e.line is not None and e.line > 1000  # the tail of 200 lines, numbered in the file


def test_the_context_reaches_back_to_a_traceback_header() -> None:
    frames = [
        "Traceback (most recent call last):",
        '  File "/app/migrate.py", line 12, in <module>',
        "    main()",
        '  File "/app/migrate.py", line 9, in main',
        "    apply(plan)",
        '  File "/app/db.py", line 40, in apply',
        "    cursor.execute(sql)",
    ]
    log = ["Applying orders.0042_discount...", *frames]
    error = 'psycopg2.errors.DuplicateColumn: column "discount_code" already exists'
    report = diagnose(POD, logs={"db-migrate.previous": "\n".join([*log, error, "exit 1", ""])})
    (e,) = _log_evidence([report])
    assert e.text == error and e.line == len(log) + 1
    assert e.before == tuple(frames) and e.after == ("exit 1",)
    # without a header in reach: three lines before
    plain = [f"step {i}" for i in range(20)]
    report = diagnose(POD, logs={"db-migrate.previous": "\n".join([*plain, error])})
    (e,) = _log_evidence([report])
    assert e.before == ("step 17", "step 18", "step 19") and e.after == ()


def test_line_numbers_count_newlines_only() -> None:
    """A progress bar's carriage returns, a form feed or U+2028 do not end a line for
    kubectl or an editor: the line number must not count them."""
    log = "Downloading\r 10%\r 50%\r100%\nPage\x0cbreak\u2028same line\nERROR: permission denied\n"
    report = diagnose(POD, logs={"db-migrate.previous": log})
    (e,) = _log_evidence([report])
    assert e.line == 3 and e.text == "ERROR: permission denied"
    assert e.before[0] == "Downloading\r 10%\r 50%\r100%"


@pytest.mark.parametrize(
    ("pod", "namespace", "container"),
    [
        ("web-0", "shop", "migrate"),
        ("web 0", "shop's", "$(touch /tmp/pwned)"),
        ("-n", "--kubeconfig=/tmp/evil", "-c"),
        ("x;id", "", "a`b`"),
    ],
)
def test_the_logs_command_is_one_argument_per_name(
    pod: str, namespace: str, container: str
) -> None:
    argv = shlex.split(logs_command(pod, namespace, container, previous=True, tail=200))
    want = ["kubectl", "logs"]
    want.append(f"pod/{pod}" if pod.startswith("-") else pod)
    if namespace:
        want += [f"--namespace={namespace}"] if namespace.startswith("-") else ["-n", namespace]
    want += [f"--container={container}"] if container.startswith("-") else ["-c", container]
    assert argv == [*want, "--previous", "--tail=200"]
    assert logs_command("web-0", "shop", "migrate") == "kubectl logs web-0 -n shop -c migrate"


# Live: the command in the evidence, run with the real kubectl against the test API server.


@pytest.fixture(scope="module")
def server() -> Iterator[ApiServer]:
    with ApiServer([b for d in (CRASHLOOP, LONG) for b in load_path(d)]) as srv:
        yield srv


_initdoctor = run_initdoctor


@pytest.mark.live
@pytest.mark.parametrize("case", [CRASHLOOP, LONG], ids=lambda d: d.name)
def test_live_log_evidence_names_the_kubectl_command_that_shows_it(
    case: Path, server: ApiServer, tmp_path: Path
) -> None:
    pod = json.loads((case / "pod.json").read_text())
    name, ns = pod["metadata"]["name"], pod["metadata"]["namespace"]
    env = cli_env(server, tmp_path)
    saved = tmp_path / "saved"
    res = _initdoctor(env, name, "-n", ns, "-o", "json", "--save", str(saved))
    assert res.returncode == 1, res.stderr
    report = json.loads(res.stdout)["reports"][0]
    (e,) = [e for f in report["findings"] for e in f["evidence"] if e["source"] == "log"]
    command, _, line = e["ref"].rpartition(", line ")
    assert int(line) == e["line"]
    assert command.startswith(f"kubectl logs {name} -n {ns} -c ")
    assert ("--tail=200" in command) == (case == LONG)  # the fetch read the last 200 lines
    kubectl = shutil.which("kubectl", path=str(Path(sys.executable).parent))
    assert kubectl
    shown = subprocess.run(
        [kubectl, *shlex.split(command)[1:]],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    ).stdout.split("\n")
    quoted = Evidence(
        source="log", ref=e["ref"], text=e["text"], line=e["line"],
        before=tuple(e["before"]), after=tuple(e["after"]),
    )  # fmt: skip
    _check_against(quoted, shown)
    assert e["before"]  # the lines kubectl shows before it are there too
    # Saved, the same line is cited in the bundle's file, whose line it is.
    again = _initdoctor(env, "--from", str(saved), "-o", "json")
    (s,) = [
        s
        for f in json.loads(again.stdout)["reports"][0]["findings"]
        for s in f["evidence"]
        if s["source"] == "log"
    ]
    path, _, number = s["ref"].rpartition(":")
    assert (saved / path).is_file() and int(number) == s["line"] == e["line"]
    assert (s["text"], s["before"], s["after"]) == (e["text"], e["before"], e["after"])


def test_context_lines_are_cleaned_like_every_other_string() -> None:
    """Lines around the quoted one come from the log: a terminal escape in them is shown
    escaped and a secret masked, in Markdown and JSON as in the line itself."""
    from podinit_diag.render import jsonout, markdown

    log = "\n".join(
        [
            "\x1b]0;pwned\x07retitled",
            "export DB_PASSWORD=s3cr3t-value-123",
            "connecting",
            "ERROR: permission denied",
            "\u202egnp.exe",
        ]
    )
    report = diagnose(POD, logs={"db-migrate.previous": log})
    (e,) = _log_evidence([report])
    assert e.line == 4 and len(e.before) == 3 and len(e.after) == 1
    text = markdown.render([report])
    assert "\x1b" not in text and "\u202e" not in text and "s3cr3t-value-123" not in text
    assert "\\x1b]0;pwned\\x07retitled" in text and "\\u202egnp.exe" in text
    assert "  > 4 | ERROR: permission denied\n" in text  # the quoted line, marked
    doc = jsonout.render([report])
    assert "s3cr3t-value-123" not in doc and "\\u001b]0;pwned" in doc
