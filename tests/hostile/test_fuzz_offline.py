"""Fuzzing the offline path with hostile input, through the ``initdoctor`` entry point and the
library: the rule fixtures' and the incident corpus's bundles (pod, events, logs, meta.json,
related objects) with fields replaced by values of another JSON type, integers too long to
print, lone surrogates, control and bidi characters, deep nesting and nulls, and hostile
``--now``/``--stuck-after`` values.

The command must exit 0, 1 or 2, never with a traceback, and on 2 say why in exactly one line;
``diagnose`` may raise only :class:`InputError`, and no rule may fail on the pod. Bounded for
CI (well under a minute on two cores); ``FUZZ_EXAMPLES=N`` runs N examples per test instead.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any, Generic, TextIO, TypeVar
from unittest import mock

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from podinit_diag import Bundle, Config, InputError, diagnose, pod_status
from podinit_diag.cli import main
from podinit_diag.render import OUTPUTS, render

from ..conftest import FIXTURES, fixture_dirs, json_paths

# -o values: every output, JSONPath with a template
CLI_OUTPUTS = [o if o != "jsonpath" else "jsonpath={.schema_version}" for o in OUTPUTS]

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES") or 0)
T = TypeVar("T")


def _settings(examples: int) -> Callable[[Any], Any]:
    # The deadline catches a pathological case (a regex gone quadratic on a long line), not
    # a slow machine: a normal example takes a few hundredths of a second.
    return settings(
        max_examples=FUZZ_EXAMPLES or examples,
        deadline=timedelta(seconds=10),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# Values JSON can carry that no API server would send.
class _Deep(list[Any]):
    """Lists nested ``depth`` deep; written to files without recursing, and never mutated
    inside (walking it would be the test's own recursion)."""

    def __init__(self, depth: int) -> None:
        inner: list[Any] = []
        for _ in range(depth - 1):
            inner = [inner]
        super().__init__([inner])
        self.depth = depth

    def __repr__(self) -> str:
        return f"_Deep({self.depth})"


class _Shown(Generic[T]):
    """A drawn case Hypothesis can print: repr() refuses integers over 4,300 digits, and
    the limit is lifted only here, never around the code under test."""

    def __init__(self, value: T) -> None:
        self.value = value

    def __repr__(self) -> str:
        limit = sys.get_int_max_str_digits()
        sys.set_int_max_str_digits(0)
        try:
            text = repr(self.value)
        finally:
            sys.set_int_max_str_digits(limit)
        return text if len(text) < 4000 else text[:4000] + "..."


# Over 4,300 digits: str() and json.dumps refuse them, so files get the digits written out.
_HUGE = {10**5000: "1" + "0" * 5000, -(10**5000): "-1" + "0" * 5000, 10**4301: "1" + "0" * 4301}
_INT_VALUES = [0, 1, -1, 137, 2**31, -(2**31) - 1, 2**63, 2**80, -(2**80), *_HUGE]


def _int_at(i: int) -> int:
    return _INT_VALUES[i]


# By index: Hypothesis describes a sampled_from strategy with repr() of its elements.
_INTS = st.integers(min_value=0, max_value=len(_INT_VALUES) - 1).map(_int_at)
_FLOATS = st.sampled_from([0.5, -0.0, 1e308, -1e308, float("nan"), float("inf"), 1e-300])
_TEXT_VALUES = [
    "",
    "\ud800",
    "a\udfffb",
    "\x00\x1b]0;pwned\x07\x1b[2J\rNo problems found.",
    "\x9b31m\x85\u202eevil\u2066",
    "line one\nline two\r\n\t\x7f",
    "2024-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
    "2024-01-01T00:00:00+23:59",
    "2024-02-30T25:61:61Z",
    "1e999999",
    "9" * 5000,
    "-1e-999999",
    "NaN",
    "Infinity",
    "Always",
    "Never",
    "True",
    "CrashLoopBackOff",
    "OOMKilled",
    "ErrImagePull",
    "Initialized",
    "PodScheduled",
    "Pod",
    "spec.initContainers{\ud800}",
    "x" * 20000,
    "password=hunter2 Authorization: Bearer abcdefghijklmnop",
]


def _text_at(i: int) -> str:
    return _TEXT_VALUES[i]


# By index too: the statistics would print every one of those 20,000 characters.
_TEXTS = st.integers(min_value=0, max_value=len(_TEXT_VALUES) - 1).map(_text_at)
_ANY_TEXT = st.one_of(_TEXTS, st.text(st.characters(exclude_categories=()), max_size=12))
_SCALARS = st.one_of(st.none(), st.booleans(), _INTS, _FLOATS, _ANY_TEXT)
_VALUES = st.one_of(
    _SCALARS,
    st.recursive(
        _SCALARS,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(_ANY_TEXT, inner, max_size=3)
        ),
        max_leaves=5,
    ),
    st.builds(_Deep, st.sampled_from([2, 50, 400, 900])),
)


def _mutate(draw: st.DrawFn, doc: Any, most: int) -> Any:
    """``doc`` (a fresh copy) with up to ``most`` fields replaced, deleted or wrapped."""
    for _ in range(draw(st.integers(min_value=0, max_value=most))):
        path = draw(st.sampled_from(json_paths(doc, leaf=_Deep)))
        if not path:
            return draw(_VALUES)  # the whole document
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "replace", "delete", "wrap", "null"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "wrap":  # an object where a list belongs, a list where an object does
            parent[path[-1]] = [parent[path[-1]]]
        elif action == "null":
            parent[path[-1]] = None
        else:
            parent[path[-1]] = draw(_VALUES)
    return doc


_LOG_VALUES = [
    b"",
    b"\x1b]0;pwned\x07\x1b[2J\rok\n",
    "\x9b31m C1 \u202e bidi\n".encode(),
    b"\xff\xfe\x00 not utf-8 \xc3\x28\n",
    b"\r\r\n\n\n",
    b"x" * 300_000,  # over the 256 KiB tail a bundle keeps
    b"sh: migrate: not found\n" * 5000,
    b"password=hunter2\n-----BEGIN PRIVATE KEY-----\nMIIB\n",
    b"dial tcp: lookup db on 10.0.0.10:53: no such host\n" + b"y" * 10_000,
]


def _log_at(i: int) -> bytes:
    return _LOG_VALUES[i]


_LOG_BYTES = st.one_of(
    st.binary(max_size=64),
    st.integers(min_value=0, max_value=len(_LOG_VALUES) - 1).map(_log_at),
)


# The rule fixtures and the incident corpus: every shape of pod the rules were written for.
_CORPUS = fixture_dirs() + sorted(
    d for d in (FIXTURES.parent / "incidents").iterdir() if (d / "pod.json").is_file()
)


@cache
def _fixture(d: Path) -> tuple[Any, Any, Any, Any, dict[str, bytes]]:
    def read(name: str) -> Any:
        f = d / name
        return json.loads(f.read_text()) if f.exists() else None

    logs = {f.name: f.read_bytes() for f in sorted((d / "logs").glob("*.log"))}
    return read("pod.json"), read("events.json"), read("meta.json"), read("related.json"), logs


def _container_names(pod: Any) -> list[str]:
    spec = pod.get("spec") if isinstance(pod, dict) else None
    names = []
    for group in ("initContainers", "containers"):
        items = spec.get(group) if isinstance(spec, dict) else None
        for c in items if isinstance(items, list) else ():
            if isinstance(c, dict) and isinstance(c.get("name"), str):
                names.append(c["name"])
    return names


@st.composite
def _bundles(draw: st.DrawFn) -> dict[str, Any]:
    """A fixture bundle's parts, mutated: {pod, events, meta, related, logs}."""
    pod, events, meta, related, logs = copy.deepcopy(_fixture(draw(st.sampled_from(_CORPUS))))
    pod = _mutate(draw, pod, 5)
    if draw(st.booleans()):
        events = _mutate(draw, events, 3)
    if draw(st.integers(min_value=0, max_value=3)) == 0:
        meta = _mutate(draw, meta, 2)
    if related is not None and draw(st.booleans()):
        related = _mutate(draw, related, 2)
    for name in draw(st.lists(st.sampled_from(_container_names(pod) or ["x"]), max_size=2)):
        logs[f"{name}{draw(st.sampled_from(['', '.previous']))}.log"] = draw(_LOG_BYTES)
    return {"pod": pod, "events": events, "meta": meta, "related": related, "logs": logs}


def _dump(value: Any) -> str:
    """JSON as a file would hold it, including what json.dumps refuses to write."""
    if isinstance(value, _Deep):
        return "[" * value.depth + "]" * value.depth
    if isinstance(value, dict):
        items = (json.dumps(str(k)) + ":" + _dump(v) for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(map(_dump, value)) + "]"
    if type(value) is int and value in _HUGE:
        return _HUGE[value]
    return json.dumps(value)  # surrogates as \ud800 escapes, which json.loads reads back


def _filename_ok(name: str) -> bool:
    try:
        name.encode()
    except UnicodeEncodeError:
        return False
    return "/" not in name and "\x00" not in name and len(name.encode()) < 200


def _write_bundle(d: Path, parts: dict[str, Any]) -> None:
    d.mkdir(parents=True)
    for name in ("pod", "events", "meta", "related"):
        if parts[name] is not None:
            (d / f"{name}.json").write_text(_dump(parts[name]))
    logs = {n: b for n, b in parts["logs"].items() if _filename_ok(n)}
    if logs:
        (d / "logs").mkdir()
        for n, data in logs.items():
            (d / "logs" / n).write_bytes(data)


# Mostly absent: a flag the CLI refuses ends the run before the bundle is read.
_NOW = st.sampled_from(
    [
        *[None] * 8,
        "2026-11-20T10:00:00Z",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "99999-01-01T00:00:00Z",
        "2024-01-01T00:00:00+23:59",
        "\ud800",
    ]
)
_STUCK_AFTER = st.sampled_from(
    [*[None] * 8, "0", "1ms", "99999999999999999999", "9" * 400, "999999999h", "1.5e3", "\ud800"]
)


def _run_cli(argv: list[str], stdout: TextIO) -> int:
    err = io.StringIO()
    # INITDOCTOR_DEBUG: an exception the CLI would turn into "internal error" is raised
    # instead, so that Hypothesis shows where it came from.
    with (
        mock.patch.dict(os.environ, {"INITDOCTOR_DEBUG": "1"}),
        contextlib.redirect_stdout(stdout),
        contextlib.redirect_stderr(err),
    ):
        code = main(argv)
        stdout.flush()
    stderr = err.getvalue()
    assert code in (0, 1, 2), (code, stderr)
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    if code == 2:
        lines = stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("initdoctor: error: "), stderr
    else:
        assert stderr == "", stderr  # offline, nothing but a failure goes to stderr
    return code


_Invocation = tuple[list[dict[str, Any]], str, list[str]]


@st.composite
def _invocations(draw: st.DrawFn) -> _Shown[_Invocation]:
    """Bundles to write, how ``--from`` names them (bundle dir, pod file, dir of bundles),
    and the other flags."""
    bundles = [draw(_bundles()) for _ in range(draw(st.integers(min_value=1, max_value=2)))]
    layout = draw(st.sampled_from(["dir", "file", "parent"] if len(bundles) == 1 else ["parent"]))
    flags = []
    now, stuck_after = draw(_NOW), draw(_STUCK_AFTER)
    if now is not None:
        flags += ["--now", now]
    if stuck_after is not None:
        flags += ["--stuck-after", stuck_after]
    if draw(st.booleans()):
        flags += ["--fail-on", draw(st.sampled_from(["warning", "info", "never"]))]
    return _Shown((bundles, layout, flags))


def _source(root: Path, bundles: list[dict[str, Any]], layout: str) -> str:
    for i, parts in enumerate(bundles):
        _write_bundle(root / "in" / f"b{i}", parts)
    if layout == "dir":
        return str(root / "in" / "b0")
    if layout == "file":
        return str(root / "in" / "b0" / "pod.json")
    return str(root / "in")


@_settings(400)
@given(case=_invocations())
def test_cli_on_hostile_bundles_exits_0_1_or_2_without_a_traceback(
    case: _Shown[_Invocation],
) -> None:
    bundles, layout, flags = case.value
    with tempfile.TemporaryDirectory() as tmp:
        source = _source(Path(tmp), bundles, layout)
        codes = set()
        for output in CLI_OUTPUTS:
            out = io.StringIO()
            codes.add(_run_cli(["--from", source, "-o", output, *flags], out))
            if codes != {2} and output != "name":  # -o name: none when none is listed
                assert out.getvalue().strip(), output
                if output == "json":
                    json.loads(out.getvalue())  # JSON, whatever strings the pod held
        # exit codes follow the findings, not the format (2 is the same failure in each)
        assert len(codes) == 1, codes
        event(f"exit {codes.pop()}")


# The terminal encoding case: a latin-1 stdout (PYTHONIOENCODING=latin-1) with
# errors="strict", as Python opens it, and pods full of what latin-1 cannot encode.
@_settings(100)
@given(case=_invocations(), output=st.sampled_from(CLI_OUTPUTS))
def test_cli_on_a_latin1_terminal(case: _Shown[_Invocation], output: str) -> None:
    bundles, layout, flags = case.value
    with tempfile.TemporaryDirectory() as tmp:
        source = _source(Path(tmp), bundles, layout)
        out = io.TextIOWrapper(io.BytesIO(), encoding="latin-1", write_through=True)
        _run_cli(["--from", source, "-o", output, *flags], out)


# The library: what a script can hand diagnose() directly, which files never produce (a None
# event, logs that are not bytes, notes that are not a tuple of strings, odd datetimes).
_ODD = st.one_of(st.none(), st.integers(), st.text(max_size=3), st.just([None]), st.just(b"x"))
_WHEN = st.one_of(
    st.none(),
    st.sampled_from(
        [
            datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
            datetime(2026, 11, 20, 10, 0),  # naive
            datetime.min.replace(tzinfo=UTC),
            datetime.max.replace(tzinfo=UTC),
            datetime(2026, 11, 20, 10, 0, tzinfo=timezone(timedelta(hours=-23, minutes=-59))),
            "2026-11-20T10:00:00Z",
            0,
        ]
    ),
)
_CONFIGS = st.one_of(
    st.none(),
    st.builds(
        Config,
        stuck_after=st.sampled_from([timedelta(0), timedelta(minutes=5), timedelta.max]),
        select=st.sampled_from([(), ("PI1",), ("",)]),
        ignore=st.sampled_from([(), ("PI8",)]),
    ),
)


@st.composite
def _library_bundles(draw: st.DrawFn) -> _Shown[Bundle]:
    parts = draw(_bundles())
    events = parts["events"]
    if isinstance(events, dict) and isinstance(events.get("items"), list):
        events = events["items"]
    events = tuple(events) if isinstance(events, list) else ()
    if draw(st.booleans()):
        events += tuple(draw(st.lists(_ODD, max_size=2)))
    logs: Any = parts["logs"]
    if draw(st.booleans()):
        odd_log = draw(st.sampled_from([42, "text", None, ["x"], bytearray(b"\x1b[2Jba")]))
        logs = {**logs, draw(st.sampled_from([*logs, "x.log", "x"])): odd_log}
    if draw(st.integers(min_value=0, max_value=5)) == 0:
        logs = draw(_ODD)
    related = parts["related"]
    related = related.get("items") if isinstance(related, dict) else related
    related = tuple(related) if isinstance(related, list) else ()
    meta = parts["meta"]
    lookups = meta.get("lookups") if isinstance(meta, dict) else None
    lookups = tuple(lookups) if isinstance(lookups, list) else ()
    return _Shown(
        Bundle(
            pod=parts["pod"],
            events=draw(st.sampled_from([events, events, list(events), None])),
            logs=logs,
            related=related + tuple(draw(st.lists(_ODD, max_size=2))),
            captured_at=draw(_WHEN),
            source=draw(st.sampled_from(["", "x", None])),
            notes=draw(st.sampled_from([(), ("a note",), "a string", (None, 3), None])),
            lookups=draw(st.sampled_from([lookups, (None, *lookups), ({"kind": 1}, 1), None])),
        )
    )


def _aware(when: object) -> bool:
    return when is None or (isinstance(when, datetime) and when.utcoffset() is not None)


@_settings(600)
@given(shown=_library_bundles(), config=_CONFIGS, now=_WHEN)
def test_diagnose_raises_only_input_error(
    shown: _Shown[Bundle], config: Config | None, now: datetime | None
) -> None:
    bundle = shown.value
    # What cannot be judged: a time that is not a timezone-aware datetime (the capture time
    # is read only without a now).
    refused = not _aware(now) if now is not None else not _aware(bundle.captured_at)
    try:
        report = diagnose(bundle, config, now)
    except InputError as exc:
        message = str(exc)
        assert refused and message and "\n" not in message, message
        return
    assert not refused
    assert not [e for e in report.errors if "failed on this pod" in e], report.errors
    for output in OUTPUTS:
        assert render([report], output, template="{.schema_version}")
    pod_status(bundle.pod, now if isinstance(now, datetime) else None)
