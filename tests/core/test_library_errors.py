"""The library's contract for bad input: InputError (one line) for what cannot be judged at
all, a report for odd data inside a pod, and never another exception."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import io
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import podinit_diag
from podinit_diag import Bundle, Config, InputError, diagnose, pod_status
from podinit_diag.cli import main
from podinit_diag.core.kubetime import parse_duration, parse_time
from podinit_diag.core.model import quote_value
from podinit_diag.core.normalize import normalize
from podinit_diag.core.resources import effective_request, quantity
from podinit_diag.render import OUTPUTS, render

from ..conftest import FIXTURES, ROOT

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
EXAMPLE = json.loads((ROOT / "examples/init-crashloop/pod.json").read_text())
# Each needs what it varies: events (a missing ConfigMap is only in a FailedMount event), or
# a log (only the log says the init container could not chown).
EVENTS_FIXTURE = FIXTURES / "PI301-volume-configmap-missing"
LOGS_FIXTURE = FIXTURES / "PI105-init-chown-operation-not-permitted"


def _bundle(d: Path) -> Bundle:
    """A fixture's bundle, read here: what is under test is diagnose, not the loader."""
    events = json.loads((d / "events.json").read_text())
    return Bundle(
        pod=json.loads((d / "pod.json").read_text()),
        events=tuple(events["items"] if isinstance(events, dict) else events),
        logs={f.name: f.read_bytes() for f in sorted((d / "logs").glob("*.log"))},
        captured_at=parse_time(json.loads((d / "meta.json").read_text())["captured_at"]),
    )


def _codes(bundle: Bundle, now: datetime | None = NOW) -> list[str]:
    report = diagnose(bundle, now=now)
    assert not [e for e in report.errors if "failed on this pod" in e], report.errors
    for output in OUTPUTS:
        assert render([report], output, template="{.schema_version}")
    return [f.code for f in report.findings]


def _one_line_input_error(call: Any) -> str:
    with pytest.raises(InputError) as info:
        call()
    message = str(info.value)
    assert message and "\n" not in message
    return message


# What cannot be judged: InputError.


@pytest.mark.parametrize(
    "now",
    [datetime(2026, 11, 20, 10, 0), datetime.now()],  # naive: the point
)
def test_a_naive_now_is_refused_not_guessed(now: datetime) -> None:
    message = _one_line_input_error(lambda: diagnose(Bundle(pod=EXAMPLE), now=now))
    assert "time zone" in message


def test_a_naive_capture_time_is_refused() -> None:
    bundle = Bundle(pod=EXAMPLE, captured_at=datetime(2026, 11, 20, 10, 0))
    assert "captured_at" in _one_line_input_error(lambda: diagnose(bundle))
    # an explicit now is what the pod is judged at: the capture time is not read
    assert _codes(bundle, NOW) == _codes(Bundle(pod=EXAMPLE), NOW)


def test_any_time_zone_is_as_good_as_utc() -> None:
    east = NOW.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert diagnose(Bundle(pod=EXAMPLE), now=east) == diagnose(Bundle(pod=EXAMPLE), now=NOW)


@pytest.mark.parametrize(
    "call",
    [
        lambda: diagnose(Bundle(pod=EXAMPLE), now="2026-11-20T10:00:00Z"),  # type: ignore[arg-type]
        lambda: diagnose(Bundle(pod=EXAMPLE), now=NOW.date()),  # type: ignore[arg-type]
        lambda: diagnose(Bundle(pod=EXAMPLE, captured_at="2026"), None),  # type: ignore[arg-type]
        lambda: diagnose([EXAMPLE], now=NOW),  # type: ignore[arg-type]
        lambda: diagnose(Bundle(pod=EXAMPLE), "PI1", NOW),  # type: ignore[arg-type]
        lambda: Config(stuck_after="5m"),  # type: ignore[arg-type]
        lambda: Config(select="PI1"),  # type: ignore[arg-type]
        lambda: Config(ignore=("PI1", 2)),  # type: ignore[arg-type]
        lambda: pod_status(EXAMPLE, "now"),  # type: ignore[arg-type]
    ],
)
def test_arguments_of_the_wrong_kind_raise_input_error(call: Any) -> None:
    _one_line_input_error(call)


def test_a_list_of_codes_is_a_tuple_of_codes() -> None:
    listed = Config(select=["PI1"], ignore=["PI106"])  # type: ignore[arg-type]
    assert listed == Config(select=("PI1",), ignore=("PI106",))
    hash(listed)  # the engine keys its plans by config


def test_pod_status_still_reads_a_naive_now_as_utc() -> None:
    naive = NOW.replace(tzinfo=None)
    assert pod_status(EXAMPLE, naive) == pod_status(EXAMPLE, NOW)


# Odd data inside a bundle: a report, with what is usable still read.


def test_entries_that_are_not_events_are_skipped_and_the_rest_read() -> None:
    bundle = _bundle(EVENTS_FIXTURE)
    expected = _codes(bundle)
    assert expected == ["PI301"]
    odd: tuple[Any, ...] = (None, "FailedMount", 42, [bundle.events[0]])
    assert _codes(dataclasses.replace(bundle, events=odd + bundle.events)) == expected
    assert _codes(dataclasses.replace(bundle, events=list(bundle.events))) == expected  # type: ignore[arg-type]
    without = _codes(dataclasses.replace(bundle, events=()))
    assert without != expected
    for events in (None, "events", 3):
        assert _codes(dataclasses.replace(bundle, events=events)) == without  # type: ignore[arg-type]


def test_logs_that_are_not_bytes_are_skipped_and_text_is_read() -> None:
    bundle = _bundle(LOGS_FIXTURE)
    expected = _codes(bundle)
    assert expected == ["PI105"]
    without = _codes(dataclasses.replace(bundle, logs={}))
    assert without != expected
    as_text = {name: data.decode() for name, data in bundle.logs.items()}
    assert _codes(dataclasses.replace(bundle, logs=as_text)) == expected
    as_bytearray = {name: bytearray(data) for name, data in bundle.logs.items()}
    assert _codes(dataclasses.replace(bundle, logs=as_bytearray)) == expected
    odd = {**bundle.logs, 7: b"x", "x.log": 42, "init-chown-data": None}
    assert _codes(dataclasses.replace(bundle, logs=odd)) == expected  # type: ignore[arg-type]
    for name in bundle.logs:  # the log itself replaced by something unreadable
        broken = {**bundle.logs, name: 42}
        assert _codes(dataclasses.replace(bundle, logs=broken)) in (expected, without)  # type: ignore[arg-type]
    for logs in ("text", 42, None, [b"x"]):
        assert _codes(dataclasses.replace(bundle, logs=logs)) == without  # type: ignore[arg-type]


def test_notes_related_and_lookups_of_the_wrong_type() -> None:
    bundle = Bundle(
        pod=EXAMPLE,
        notes=("events: forbidden", None, 3),  # type: ignore[arg-type]
        related=(None, "Node", {"kind": "Node", "metadata": "n1"}),  # type: ignore[arg-type]
        lookups=(None, {"kind": 3, "name": ["x"]}),  # type: ignore[arg-type]
        source=None,  # type: ignore[arg-type]
    )
    report = diagnose(bundle, now=NOW)
    assert report.errors == ("events: forbidden",)
    assert report.source == ""
    assert [f.code for f in report.findings] == _codes(Bundle(pod=EXAMPLE))
    for notes in ("a string", None, 5):
        assert diagnose(dataclasses.replace(bundle, notes=notes), now=NOW).errors == ()  # type: ignore[arg-type]


def _example(**changes: Any) -> dict[str, Any]:
    pod = copy.deepcopy(EXAMPLE)
    for path, value in changes.items():
        *parents, last = path.split(".")
        node: Any = pod
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[int(last) if isinstance(node, list) else last] = value
    return pod


@pytest.mark.parametrize(
    "path",
    [
        "status.initContainerStatuses.1.restartCount",
        "status.initContainerStatuses.1.lastState.terminated.exitCode",
        "status.conditions.0.status",
        "spec.initContainers.1.image",
        "spec.containers.0.ports.0.containerPort",
        "spec.containers.0.env.0.name",
        "spec.activeDeadlineSeconds",
        "metadata.ownerReferences.0.name",
    ],
)
@pytest.mark.parametrize("value", [10**5000, -(10**5000), 2**80], ids=["1e5000", "-1e5000", "2^80"])
def test_numbers_too_large_for_their_field_read_as_absent(path: str, value: int) -> None:
    pod = _example(**{path: value})
    report = diagnose(Bundle(pod=pod), now=NOW)
    assert not [e for e in report.errors if "failed on this pod" in e], report.errors
    for output in OUTPUTS:
        assert "0" * 4301 not in render([report], output, template="{..restart_count}")


@pytest.mark.parametrize(
    "fixture, path",
    [
        ("PI009-job-deadline-init-still-running", ("spec", "activeDeadlineSeconds")),
        (
            "PI904-init-memory-limit-from-limitrange",
            ("spec", "initContainers", 0, "resources", "limits", "memory"),
        ),
        ("PI406-linkerd-await-hook-timeout-holds-app", ("spec", "containers", 1, "env", 0, "name")),
    ],
)
def test_a_5000_digit_value_a_finding_quotes_is_described(
    fixture: str, path: tuple[str | int, ...]
) -> None:
    bundle = _bundle(FIXTURES / fixture)
    expected = _codes(bundle)
    pod = copy.deepcopy(dict(bundle.pod))
    node: Any = pod
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = 10**5000
    report = diagnose(dataclasses.replace(bundle, pod=pod), now=NOW)
    assert not [e for e in report.errors if "failed on this pod" in e], report.errors
    assert [f.code for f in report.findings][:1] == expected[:1]
    text = render([report], "json")
    assert "0" * 4301 not in text


def test_a_lookup_with_odd_keys_is_quoted() -> None:
    incident = ROOT / "tests/incidents/c-sentry-cron-postgres-secret-key-missing"
    lookups = json.loads((incident / "meta.json").read_text())["lookups"]
    bundle = dataclasses.replace(_bundle(incident), lookups=tuple(lookups))
    expected = _codes(bundle)
    odd = [{**lookups[0], "keys": ["password", 10**5000, None]}]
    report = diagnose(dataclasses.replace(bundle, lookups=tuple(odd)), now=NOW)
    assert [f.code for f in report.findings] == expected
    proof = [e.text for f in report.findings for e in f.evidence if e.source == "cluster"]
    assert "exists; its keys: password, <an integer of 5001 digits>, null" in proof


def test_an_exit_code_past_int32_is_no_exit_code() -> None:
    pod = _example(**{"status.initContainerStatuses.1.lastState.terminated.exitCode": 2**80})
    step = diagnose(Bundle(pod=pod), now=NOW).timeline[1]
    assert step.name == "migrate" and step.exit_code is None


def test_a_restart_count_of_5000_digits_counts_as_none() -> None:
    pod = _example(**{"status.initContainerStatuses.1.restartCount": 10**5000})
    assert diagnose(Bundle(pod=pod), now=NOW).timeline[1].restarts == 0


@pytest.mark.parametrize(
    "raw",
    ["1e999999", "9" * 5000, "Infinity", "NaN", 10**5000, 1e308 * 10],
    ids=["1e999999", "5000 nines", "Infinity", "NaN", "int 1e5000", "float inf"],
)
def test_quantities_no_node_could_hold_are_invalid(raw: object) -> None:
    assert quantity(raw) is None
    assert quantity("250m") == 0.25 and quantity(2) == 2.0 and quantity(True) is None
    pod = _example(**{"spec.initContainers.1.resources": {"requests": {"cpu": raw}}})
    unset = _example(**{"spec.initContainers.1.resources": {}})
    assert _codes(Bundle(pod=pod)) == _codes(Bundle(pod=unset))
    # an invalid request adds nothing, as if it were absent
    total = [
        effective_request(normalize(Bundle(pod=p), NOW).containers, p["spec"], "cpu").total
        for p in (pod, unset)
    ]
    assert total[0] == total[1] == 0.25


@pytest.mark.parametrize(
    "metadata, conditions, spec",
    [("web-0", 5, ["not", "an", "object"]), (None, {"type": "Ready"}, "spec"), ([], None, 3)],
)
def test_objects_of_the_wrong_type_read_as_absent(
    metadata: object, conditions: object, spec: object
) -> None:
    pod = _example(metadata=metadata, **{"status.conditions": conditions})
    _codes(Bundle(pod=pod))
    _codes(Bundle(pod=_example(spec=spec)))
    for pod_value in (None, [EXAMPLE], "pod", 42):
        _codes(Bundle(pod=pod_value))  # type: ignore[arg-type]


def test_lone_surrogates_and_control_characters_reach_no_exception() -> None:
    hostile = "\ud800\x1b]0;x\x07\u202e\x9b2J\r"
    pod = _example(
        **{
            "metadata.name": "web" + hostile,
            "status.initContainerStatuses.1.lastState.terminated.message": hostile,
            "status.conditions.0.message": hostile,
            "spec.initContainers.1.name": "migrate" + hostile,
        }
    )
    logs = {f"migrate{hostile}.previous.log": hostile.encode("utf-8", "surrogatepass")}
    event = {"involvedObject": {"kind": "Pod", "name": "web" + hostile}, "message": hostile}
    report = diagnose(Bundle(pod=pod, logs=logs, events=(event,)), now=NOW)
    assert not [e for e in report.errors if "failed on this pod" in e]
    text = podinit_diag.render([report], "json")
    assert json.loads(text)  # JSON text, whatever the terminal can show of it


def test_values_json_cannot_write_are_quoted_as_descriptions() -> None:
    assert quote_value(10**5000) == "<an integer of 5001 digits>"
    assert "5001 digits" in quote_value({"a": [10**5000]})
    assert quote_value({1: "x", "b": 2}) == '{"1": "x", "b": 2}'  # keys that are not strings
    deep: list[Any] = []
    for _ in range(5000):
        deep = [deep]
    assert quote_value(deep).startswith("[[[") and "…" in quote_value(deep)
    assert quote_value(7) == "7" and quote_value({"b": 1, "a": None}) == '{"a": null, "b": 1}'


# Durations and times from the command line: exit 2 with one line.


@pytest.mark.parametrize("text", ["99999999999999999999", "9" * 400, "9" * 400 + "h"])
def test_a_duration_too_large_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError, match="duration too large"):
        parse_duration(text)
    assert parse_duration("999999999h") == timedelta(hours=999999999)  # large, but it fits


@pytest.mark.parametrize(
    "flags",
    [
        ["--stuck-after", "99999999999999999999"],
        ["--now", "99999-01-01T00:00:00Z"],
        ["--now", "2024-01-01T00:00:00+24:00"],
    ],
)
def test_cli_refuses_out_of_range_flags_in_one_line(flags: list[str]) -> None:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--from", str(ROOT / "examples/init-crashloop"), *flags])
    assert code == 2 and out.getvalue() == ""
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"initdoctor: error: {flags[0]}: ")


def test_cli_judges_at_the_edges_of_time() -> None:
    for now in ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["--from", str(ROOT / "examples/init-crashloop"), "--now", now])
        assert code in (0, 1) and out.getvalue() and err.getvalue() == ""
