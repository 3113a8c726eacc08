"""Hostile and huge files: links and FIFOs in bundles, endless inputs, YAML and JSON bombs.

Bundles travel in tickets: whatever is in one must give a report or one line and exit 2,
in bounded time and memory, and must never make the tool read (or print, or serve) a file
outside the bundle. Each case here failed before: a symlinked log printed /etc/shadow as
evidence, ``--from /dev/zero`` died of MemoryError, a YAML bomb under the alias limit took
``--serve`` to gigabytes, a 5,000-digit integer gave a traceback.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from podinit_diag import InputError, diagnose
from podinit_diag.cli import main
from podinit_diag.core.kubetime import parse_time
from podinit_diag.sources import files
from podinit_diag.sources.files import load_path, load_stream, parse_document, select

from ..conftest import ROOT

EXAMPLE = ROOT / "examples" / "init-crashloop"
SECRET = "hunter2-shadow-0d5f3c"  # what a linked /etc/shadow would hold
NOW = parse_time("2026-11-20T09:42:10Z")
MEMORY_CAP = 1024 * 1024 * 1024


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def _python(code: str, *args: str, stdin: Any = None) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter with 1 GiB of address space and 30 s to run."""
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=30,
        preexec_fn=_limit,
        stdin=stdin,
        cwd=ROOT,
    )


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return _python("import sys; from podinit_diag.cli import main; sys.exit(main())", *args)


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    b = tmp_path / "bundle"
    shutil.copytree(EXAMPLE, b)
    return b


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    f = tmp_path / "shadow"
    f.write_text(f"root:{SECRET}:19000:0:99999:7:::\n")
    return f


def _outputs(path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    text = ""
    for fmt in ("table", "json", "markdown"):
        main(["--from", str(path), "-o", fmt, "--fail-on", "never"])
        captured = capsys.readouterr()
        text += captured.out + captured.err
    return text


# Links and special files inside a bundle.


def test_a_symlinked_log_is_not_read_and_the_bundle_says_so(
    bundle: Path, secret: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (bundle / "logs" / "migrate.log").symlink_to(secret)
    (b,) = load_path(bundle)
    assert "migrate.log" not in b.logs  # so --serve cannot hand it to kubectl either
    assert b.logs["migrate.previous.log"] == (EXAMPLE / "logs/migrate.previous.log").read_bytes()
    assert "logs/migrate.log is a symbolic link; it was not read" in b.notes
    out = _outputs(bundle, capsys)
    assert SECRET not in out
    assert "PI101" in out and "logs/migrate.log is a symbolic link" in out


def test_a_symlinked_logs_directory_is_not_read(bundle: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "var-log"
    (bundle / "logs").rename(elsewhere)
    (bundle / "logs").symlink_to(elsewhere, target_is_directory=True)
    (b,) = load_path(bundle)
    assert b.logs == {}
    assert any("logs/ is a symbolic link" in n for n in b.notes)


@pytest.mark.parametrize("name", ["pod.json", "events.json", "related.json", "meta.json"])
def test_a_symlinked_document_is_refused(bundle: Path, tmp_path: Path, name: str) -> None:
    real = tmp_path / f"real-{name}"
    source = bundle / name if (bundle / name).exists() else None
    real.write_bytes(source.read_bytes() if source else b"[]")
    (bundle / name).unlink(missing_ok=True)
    (bundle / name).symlink_to(real)
    with pytest.raises(InputError, match=f"{name}: is a symbolic link; refusing to follow it"):
        load_path(bundle)


def test_a_dangling_symlinked_pod_is_refused_not_missed(bundle: Path) -> None:
    (bundle / "pod.json").unlink()
    (bundle / "pod.json").symlink_to("/nonexistent/pod.json")
    with pytest.raises(InputError, match=re.escape("pod.json: is a symbolic link")):
        load_path(bundle)


def test_a_symlinked_bundle_in_a_directory_of_bundles_is_refused(
    tmp_path: Path, bundle: Path
) -> None:
    top = tmp_path / "bundles"
    top.mkdir()
    shutil.copytree(EXAMPLE, top / "a")
    (top / "README").symlink_to(tmp_path / "anything")  # a link to no directory: ignored
    assert [b.source for b in load_path(top)] == [str(top / "a")]
    (top / "b").symlink_to(bundle, target_is_directory=True)
    with pytest.raises(InputError, match=r"bundles/b: is a symbolic link; refusing to follow"):
        load_path(top)


def test_the_users_own_path_may_be_a_symlink(bundle: Path, tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(bundle, target_is_directory=True)
    pod = tmp_path / "pod-link.json"
    pod.symlink_to(bundle / "pod.json")
    assert (
        load_path(link)[0].pod
        == load_path(pod)[0].pod
        == json.loads((EXAMPLE / "pod.json").read_bytes())
    )


LOAD_NOTES = (
    "import json, sys; from podinit_diag.sources.files import load_path\n"
    "try:\n"
    "    print(json.dumps([list(b.notes) + sorted(b.logs) for b in load_path(sys.argv[1])]))\n"
    "except Exception as exc:\n"
    "    print(json.dumps({'error': str(exc)}))"
)


def test_a_fifo_in_a_bundle_does_not_hang_the_tool(bundle: Path) -> None:
    (bundle / "logs" / "wait-for-db.log").unlink()
    os.mkfifo(bundle / "logs" / "wait-for-db.log")  # nobody will ever write to it
    os.mkfifo(bundle / "logs" / "migrate.log")
    done = _python(LOAD_NOTES, str(bundle))  # a subprocess: a hang fails by the timeout
    (entries,) = json.loads(done.stdout)
    assert "logs/wait-for-db.log is a FIFO; it was not read" in entries
    assert "logs/migrate.log is a FIFO; it was not read" in entries
    assert "migrate.previous.log" in entries
    (bundle / "events.json").unlink()
    os.mkfifo(bundle / "events.json")
    done = _python(LOAD_NOTES, str(bundle))
    assert json.loads(done.stdout)["error"].endswith("events.json: is a FIFO; not a regular file")


def test_a_log_name_that_is_not_text_is_escaped_in_the_note(bundle: Path) -> None:
    os.symlink("/etc/passwd", os.fsencode(bundle / "logs") + b"/\x1b]0;pwned\x07\xff.log")
    (b,) = load_path(bundle)
    (note,) = b.notes
    assert "\x1b" not in note and "\\x1b" in note


# Inputs without an end: devices, pipes, standard input.


def test_dev_zero_is_refused_at_once_within_a_memory_limit() -> None:
    started = time.monotonic()
    done = _cli("--from", "/dev/zero")
    assert time.monotonic() - started < 10
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.strip() == (
        "initdoctor: error: /dev/zero: not a text file (a NUL byte at offset 0); is it binary?"
    )


@contextlib.contextmanager
def _pipe(data: bytes) -> Iterator[io.BufferedReader]:
    """The read end of a real pipe that a thread fills with ``data``."""
    r, w = os.pipe()

    def feed() -> None:
        with os.fdopen(w, "wb") as out, contextlib.suppress(BrokenPipeError):
            for at in range(0, len(data), 65536):
                out.write(data[at : at + 65536])

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    with os.fdopen(r, "rb") as stream:
        yield stream
    writer.join(timeout=10)


def test_a_pipe_over_the_cap_is_refused_as_it_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files, "MAX_DOCUMENT_BYTES", 256 * 1024)
    endless = b'{"kind": "List", "items": [' + b'{"kind": "Pod"}, ' * 100_000
    with (
        _pipe(endless) as stream,
        pytest.raises(InputError, match=r"^<stdin>: input is larger than 262144 bytes$"),
    ):
        load_stream(stream)
    # the same document within the cap loads from a pipe, named as the caller says
    small = json.dumps({"kind": "List", "items": [{"kind": "Pod"}] * 100}).encode()
    with _pipe(small) as stream:
        assert len(load_stream(stream, name="-")) == 100


def test_a_file_over_the_cap_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files, "MAX_DOCUMENT_BYTES", 1024 * 1024)
    big = tmp_path / "big.json"
    with big.open("wb") as f:
        f.truncate(4 * 1024 * 1024 * 1024)  # sparse: 4 GiB that take no room on disk
    with pytest.raises(InputError, match=re.escape("big.json: input is larger than 1 MiB")):
        load_path(big)


def test_standard_input_loads_like_a_file(tmp_path: Path) -> None:
    data = (EXAMPLE / "pod.json").read_bytes()
    (from_stream,) = load_stream(io.BytesIO(data))
    assert from_stream.pod == json.loads(data) and from_stream.source == "<stdin>"
    with (EXAMPLE / "pod.json").open("rb") as f:  # `--from - < pod.json`: a regular file
        assert load_stream(f)[0].pod == from_stream.pod
    code = "import sys; from podinit_diag.sources.files import load_stream\n"
    code += "print(load_stream(sys.stdin.buffer)[0].pod['metadata']['name'])"
    done = subprocess.run(
        [sys.executable, "-c", code], input=data, capture_output=True, timeout=30, cwd=ROOT
    )
    assert done.stdout.decode().strip() == json.loads(data)["metadata"]["name"]
    with pytest.raises(InputError, match=r"^<stdin>: file is empty$"):
        load_stream(io.BytesIO(b""))


def test_utf16_is_named_and_nul_bytes_are_refused() -> None:
    with pytest.raises(InputError, match=re.escape("x.json: file is UTF-16 encoded")):
        parse_document('{"kind": "Pod"}'.encode("utf-16-le"), "x.json")
    with pytest.raises(InputError, match=r"a NUL byte at offset 14"):
        parse_document(b'{"kind": "Pod"\x00}', "x.json")


# YAML.

BOMB = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]" for i in range(9)]
)  # 90 aliases, under any alias count one would allow; 10**10 nodes walked


def test_a_yaml_alias_bomb_is_refused_quickly_in_little_memory() -> None:
    tracemalloc.start()
    started = time.monotonic()
    with pytest.raises(InputError, match=r"^x.yaml: YAML aliases expand the document beyond"):
        parse_document(BOMB.encode(), "x.yaml")
    elapsed = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 0.5
    assert peak < 20 * 1024 * 1024


def test_a_yaml_alias_bomb_through_the_cli_and_serve(tmp_path: Path) -> None:
    f = tmp_path / "bomb.yaml"
    f.write_text(
        "kind: List\nitems:\n- kind: Pod\n  metadata: {name: x}\n  spec:\n"
        + "\n".join("    " + line for line in BOMB.splitlines())
    )
    for args in (["--from", str(f)], ["--serve", str(f)]):
        done = _cli(*args)
        assert done.returncode == 2, done.stderr[-500:]
        assert "YAML aliases expand the document" in done.stderr
        assert len(done.stderr.splitlines()) == 1


@pytest.mark.parametrize("text", ["a: &a [1, *a]\n", "a: &a {b: {c: *a}}\n", "- &x [[[*x]]]\n"])
def test_a_recursive_alias_is_refused(text: str) -> None:
    with pytest.raises(InputError, match="a YAML alias refers to a node that contains it"):
        parse_document(text.encode(), "x.yaml")


def test_shared_yaml_within_the_budget_loads_expanded() -> None:
    text = "labels: &l {app: web, tier: db}\nspec:\n  a: *l\n  b: *l\nkind: Pod\n"
    doc = parse_document(text.encode(), "x.yaml")
    assert doc["spec"] == {"a": {"app": "web", "tier": "db"}, "b": {"app": "web", "tier": "db"}}
    # 1,000 nodes shared 1,000 times: a million nodes walked, at the floor of the budget
    rows = "base: &b [" + ", ".join(["1"] * 998) + "]\n"
    fits = rows + "all: [" + ", ".join(["*b"] * 990) + "]\n"
    assert len(parse_document(fits.encode(), "x.yaml")["all"]) == 990
    over = rows + "all: [" + ", ".join(["*b"] * 1010) + "]\n"
    with pytest.raises(InputError, match="beyond 1,000,000 nodes"):
        parse_document(over.encode(), "x.yaml")


def _old_flatten_mapping(self: Any, node: Any) -> None:
    """PyYAML 6.0's merge: the pairs of a mapping merged N times are repeated N times."""
    from yaml.nodes import MappingNode

    merge: list[Any] = []
    index = 0
    while index < len(node.value):
        key_node, value_node = node.value[index]
        if key_node.tag == "tag:yaml.org,2002:merge":
            del node.value[index]
            subnodes = value_node.value if not isinstance(value_node, MappingNode) else [value_node]
            submerge = []
            for subnode in subnodes:
                self.flatten_mapping(subnode)
                submerge.append(subnode.value)
            for value in reversed(submerge):
                merge.extend(value)
        else:
            index += 1
    if merge:
        node.value = merge + node.value


def test_merge_keys_of_merge_keys_stay_small_on_older_pyyaml(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(yaml.constructor.SafeConstructor, "flatten_mapping", _old_flatten_mapping)
    lines = ["a0: &a0 {k0: 0, k1: 1}"] + [
        f"a{i}: &a{i} {{<<: [{', '.join([f'*a{i - 1}'] * 10)}], x{i}: {i}}}" for i in range(1, 12)
    ]  # 10**11 pairs if each level repeats the last one's ten times
    started = time.monotonic()
    doc = parse_document("\n".join(lines).encode(), "x.yaml")
    assert time.monotonic() - started < 1
    assert doc["a11"] == {"k0": 0, "k1": 1, **{f"x{i}": i for i in range(1, 12)}}
    override = "base: &b {a: 1, b: 2}\nother: &o {b: 3, c: 4}\nm: {<<: [*o, *b], c: 5}\n"
    assert parse_document(override.encode(), "x.yaml")["m"] == {"a": 1, "b": 3, "c": 5}


@pytest.fixture(params=["libyaml", "pure"])
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "libyaml" and not yaml.__with_libyaml__:
        pytest.skip("PyYAML without libyaml")
    if request.param == "pure":
        monkeypatch.setattr(yaml, "__with_libyaml__", False)
    files._yaml_loader.cache_clear()
    yield request.param
    files._yaml_loader.cache_clear()


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (b"kind: Pod\nmetadata:\n  name: [unclosed\n", "line 4 column 1: "),
        (b"kind: Pod\nspec:\n  a: b: c\n", "line 3 column 7: mapping values are not allowed"),
        (b"kind: Pod\nlimit: .inf\n", "line 2 column 8: '.inf' is not a number"),
        (b"a: *nope\n", "line 1 column 4: found undefined alias"),
    ],
)
def test_yaml_syntax_errors_keep_line_and_column(loader: str, text: bytes, where: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_document(text, "x.yaml")
    assert str(caught.value).startswith(f"x.yaml: invalid YAML at {where}")


def test_both_loaders_load_kubectl_yaml(loader: str) -> None:
    pod = json.loads((EXAMPLE / "pod.json").read_text())
    assert parse_document(yaml.safe_dump(pod).encode(), "x.yaml") == pod


def test_a_yaml_list_of_thousands_of_pods_loads_in_seconds(tmp_path: Path) -> None:
    pod = json.loads((EXAMPLE / "pod.json").read_text())
    items = [{**pod, "metadata": {**pod["metadata"], "name": f"web-{i}"}} for i in range(150)]
    f = tmp_path / "pods.yaml"
    f.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items}))
    started = time.monotonic()
    bundles = load_path(f)
    assert [b.pod["metadata"]["name"] for b in bundles] == [f"web-{i}" for i in range(150)]
    # 1.5 MB: the pure loader with the collector on took 10 s; libyaml without, a fraction
    assert time.monotonic() - started < 5
    assert issubclass(files._yaml_loader(), yaml.CSafeLoader) or not yaml.__with_libyaml__


# JSON.


@pytest.mark.parametrize(
    ("literal", "problem"),
    [
        ("9" * 5000, "Exceeds the limit (4300 digits) for integer string conversion"),
        ("NaN", "NaN is not a JSON number"),
        ("-Infinity", "-Infinity is not a JSON number"),
        ("1e999", "1e999 is beyond the range of a number"),
    ],
)
def test_json_numbers_python_reads_but_json_has_not(literal: str, problem: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_document(f'{{"kind": "Pod", "spec": {{"x": {literal}}}}}'.encode(), "x.json")
    assert str(caught.value).startswith(f"x.json: invalid JSON: {problem}")
    assert "\n" not in str(caught.value)


def test_huge_integers_where_names_and_times_belong_give_one_line(
    bundle: Path, tmp_path: Path
) -> None:
    f = tmp_path / "kind.json"
    f.write_text('{"kind": ' + "9" * 4000 + "}")
    with pytest.raises(
        InputError, match=re.escape("kind.json: expected a Pod or a List of Pods, got kind a")
    ):
        load_path(f)
    f.write_text('{"kind": "List", "items": [{"kind": ' + "9" * 4000 + "}]}")
    with pytest.raises(InputError, match=r"no Pod in the list \(found: a number\)"):
        load_path(f)
    (bundle / "meta.json").write_text('{"captured_at": ' + "9" * 4000 + ', "notes": 7}')
    with pytest.raises(
        InputError, match=re.escape("meta.json: captured_at a number is not an RFC 3339")
    ):
        load_path(bundle)
    (bundle / "meta.json").write_text('{"notes": 7}')
    assert load_path(bundle)[0].notes == ()


def test_lists_where_kinds_and_names_belong_give_one_line(tmp_path: Path) -> None:
    f = tmp_path / "kind.json"
    f.write_text('{"kind": [[]], "metadata": {"name": "x"}}')
    with pytest.raises(InputError, match=re.escape("kind.json: expected a Pod or a List of Pods")):
        load_path(f)
    f.write_text('{"kind": "List", "items": [{"kind": "Pod", "metadata": {"name": ["x"]}}]}')
    assert select(load_path(f), ["x"], None) == []
    assert len(select(load_path(f), [], None)) == 1


def test_lone_surrogates_load(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pod = json.loads((EXAMPLE / "pod.json").read_text())
    pod["status"]["initContainerStatuses"][1]["lastState"]["terminated"]["message"] = "\ud800"
    f = tmp_path / "pod.json"
    f.write_text(json.dumps(pod))  # ensure_ascii: written as the escape \ud800
    (b,) = load_path(f)
    assert "\ud800" in json.dumps(b.pod, ensure_ascii=False)
    assert diagnose(b, now=NOW).findings


# Big inputs: events.json read one event at a time.


def _event(i: int, reason: str = "BackOff", message: str = "Back-off restarting") -> Any:
    at = f"2026-11-20T09:{i // 60 % 60:02d}:{i % 60:02d}Z"
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"web-6d9f7c8b5-x2kqp.{i:016x}", "namespace": "shop"},
        "involvedObject": {
            "kind": "Pod",
            "name": "web-6d9f7c8b5-x2kqp",
            "namespace": "shop",
            "uid": "5b1f0c9e-2d47-4e0a-9a61-3f8e7c2b9d14",
            "fieldPath": "spec.initContainers{migrate}",
        },
        "reason": reason,
        "message": message,
        "type": "Warning",
        "count": 2,
        "firstTimestamp": at,
        "lastTimestamp": at,
        "source": {"component": "kubelet"},
    }


def _evidence(b: Any) -> list[tuple[str, str, str]]:
    return [(f.code, e.ref, e.text) for f in diagnose(b, now=NOW).findings for e in f.evidence]


def test_a_big_events_file_diagnoses_as_a_small_one(
    bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = json.loads((EXAMPLE / "events.json").read_text())
    other = json.loads(json.dumps(doc["items"][-1]))
    other["involvedObject"]["name"] = "another-pod"
    doc["items"].insert(3, other)
    (bundle / "events.json").write_text(json.dumps(doc, indent=2))
    (small,) = load_path(bundle)
    monkeypatch.setattr(files, "EVENTS_STREAM_BYTES", 100)
    (streamed,) = load_path(bundle)
    assert streamed.events == tuple(e for e in small.events if e != other)
    assert _evidence(streamed) == _evidence(small)
    (note,) = streamed.notes
    assert note.startswith(f"events.json holds {len(doc['items'])} events")
    assert f"; {len(doc['items']) - 1} kept:" in note


def test_a_big_events_file_merges_identical_events(
    bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files, "EVENTS_STREAM_BYTES", 1024 * 1024)
    events = [_event(i) for i in range(3000)] + [_event(7, "Pulled", "pulled")]
    (bundle / "events.json").write_text(json.dumps(events))  # 2 MB; a plain array
    started = time.monotonic()
    (b,) = load_path(bundle)
    backoff, pulled = b.events
    assert time.monotonic() - started < 5
    assert backoff["count"] == 6000 and pulled == events[-1]
    assert (backoff["firstTimestamp"], backoff["lastTimestamp"]) == (
        "2026-11-20T09:00:00Z",
        "2026-11-20T09:49:59Z",  # 2999 s after the first
    )
    assert backoff["metadata"] == events[2999]["metadata"]  # the newest one's
    backoff_evidence = [ref for _, ref, _ in _evidence(b) if "BackOff" in ref]
    assert backoff_evidence and all("(x6000," in ref for ref in backoff_evidence)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"kind": "EventList", "items": [{"a": 1}, {"a": 2]}', "line 1 column 50: Expecting ','"),
        ('{"kind": "EventList",\n "items": [{}],\n}', "line 3 column 1: Illegal trailing comma"),
        ('{"kind": "EventList", "items": {}}', "expected an EventList or a JSON array of Events"),
        ('[{"count": NaN}]', "invalid JSON: NaN is not a JSON number"),
        ("[{}] []", "line 1 column 6: Extra data"),
    ],
)
def test_a_big_events_file_that_is_broken_gives_one_line(
    bundle: Path, monkeypatch: pytest.MonkeyPatch, text: str, message: str
) -> None:
    (bundle / "events.json").write_text(text)
    with pytest.raises(InputError) as whole:
        load_path(bundle)
    monkeypatch.setattr(files, "EVENTS_STREAM_BYTES", 10)
    with pytest.raises(InputError) as streamed:
        load_path(bundle)
    assert str(streamed.value).startswith(f"{bundle / 'events.json'}: ")
    assert message in str(streamed.value)
    if "Illegal" not in message:  # Python 3.13's json says so too; 3.11's says less
        assert str(streamed.value) == str(whole.value)


def test_a_repeated_items_key_keeps_the_last_as_json_does(
    bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = json.dumps({"items": [_event(1)]})[:-1] + ', "items": [' + json.dumps(_event(2)) + "]}"
    (bundle / "events.json").write_text(text)
    (small,) = load_path(bundle)
    monkeypatch.setattr(files, "EVENTS_STREAM_BYTES", 10)
    (streamed,) = load_path(bundle)
    assert small.events == streamed.events == (_event(2),)


def test_a_normal_bundle_loads_byte_for_byte() -> None:
    (b,) = load_path(EXAMPLE)
    assert b.pod == json.loads((EXAMPLE / "pod.json").read_bytes())
    assert list(b.events) == json.loads((EXAMPLE / "events.json").read_bytes())["items"]
    assert dict(b.logs) == {f.name: f.read_bytes() for f in (EXAMPLE / "logs").iterdir()}
    assert b.notes == () and b.source == str(EXAMPLE)
    assert b.captured_at == parse_time(
        json.loads((EXAMPLE / "meta.json").read_text())["captured_at"]
    )
