"""Read pods and bundles from files into :class:`~podinit_diag.core.model.Bundle` objects.

Accepted inputs (DESIGN.md §3): a pod as ``kubectl get pod -o json`` or ``-o yaml``
writes it, a ``v1 List`` / ``PodList`` of pods, a bundle directory (``pod.json``,
``events.json``, ``logs/``, ``related.json``, ``meta.json``), or a directory whose
sub-directories are bundles; and any of the documents on a stream (:func:`load_stream`,
which the CLI's ``--from -`` calls with standard input). Anything unusable raises
:class:`InputError` with one line naming the file and the problem; nothing here lets a
traceback escape for bad bytes, bad syntax or a bad shape. PyYAML is used only in this
module, and imported only when a YAML file is parsed.

Bundles travel in tickets, so what is in them is not trusted:

- Every input is read through one bounded reader: at most :data:`MAX_DOCUMENT_BYTES`,
  counted while reading, since ``stat`` says 0 for pipes, devices and standard input. A NUL
  byte, which no JSON or YAML text holds, ends the read at once (``--from /dev/zero``).
- Nothing inside a bundle directory is followed. Its files (``pod.json`` or ``pod.yaml``,
  ``events.json``, ``related.json``, ``meta.json``, ``logs/*.log``) are looked at with
  ``lstat`` and opened with ``O_NOFOLLOW`` and ``O_NONBLOCK``: only regular files are read,
  so a FIFO cannot hang the tool nor a device be opened. A symbolic link or any other
  non-regular file where a document belongs is an :class:`InputError` (the bundle's
  structure is broken or forged), and so is a sub-directory of a directory of bundles that
  is a symbolic link; one in ``logs/`` is not read and the bundle gets a note saying so
  (logs are evidence: the rest of the bundle still diagnoses, and the report shows what was
  withheld). The path given by the user is the user's choice and is followed wherever it
  leads (a symbolic link, ``<(kubectl ...)``). The files are taken as being at rest: a
  directory swapped while it is read is not defended against beyond ``O_NOFOLLOW`` on each
  file.
- JSON is standard JSON: ``NaN``, ``Infinity`` and numbers beyond a float are refused, and
  so is an integer of more digits than Python converts (4,300).
- YAML is loaded with libyaml when PyYAML has it, the pure-Python loader otherwise.
  Aliases may not expand the document beyond max(:data:`YAML_MIN_NODE_BUDGET`,
  :data:`YAML_EXPANSION` × its distinct nodes) nodes, counting a shared node each time it
  is reached (``--serve`` writes it out that many times), and a recursive alias is
  refused. Merge keys (``<<``) of merge keys cannot
  multiply a mapping's pairs either (PyYAML before 6.0.3 let them grow tenfold a level).
- An ``events.json`` over :data:`EVENTS_STREAM_BYTES` (tens of thousands of events; a saved
  bundle holds hundreds) is parsed one event at a time and only what the rules read is
  kept: events about the pod or its related objects, identical ones (same object, type,
  reason, message, component) merged into one with their counts added, as the API
  server's event aggregation does. The bundle gets a note with the numbers.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import json
import math
import os
import stat
from collections.abc import Callable, Generator, Iterable, Iterator
from datetime import UTC, datetime
from functools import cache
from json.decoder import WHITESPACE, scanstring  # type: ignore[attr-defined]
from pathlib import Path
from typing import IO, Any

from podinit_diag.core.access import Json, as_dict, as_list, as_str
from podinit_diag.core.errors import InputError
from podinit_diag.core.kubetime import parse_time
from podinit_diag.core.model import Bundle
from podinit_diag.core.normalize import event_span, event_subject

MAX_DOCUMENT_BYTES = 512 * 1024 * 1024
MAX_LOG_TAIL_BYTES = 256 * 1024  # rules read the end of a log; the rest is never loaded
# A YAML document's aliases may expand it to this many nodes, or to YAML_EXPANSION times its
# distinct nodes when that is more: kubectl never writes an alias, a hand-written file
# shares a few blocks, a bomb multiplies by millions.
YAML_MIN_NODE_BUDGET = 1_000_000
YAML_EXPANSION = 20
# An events.json this large is read one event at a time (see the module's docstring).
EVENTS_STREAM_BYTES = 16 * 1024 * 1024
LIST_KINDS = frozenset({"List", "PodList"})

_CHUNK = 1024 * 1024
_MIB = 1024 * 1024
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_MERGE_TAG = "tag:yaml.org,2002:merge"
_SATURATED = 2**62  # above any budget: expanded sizes stop growing there
_RESTART = object()  # a repeated "items" key: json.loads keeps the last one


class _NotRegular(InputError):
    """A file of a bundle that is not a regular file (``what`` says what it is instead)."""

    def __init__(self, path: Path, what: str) -> None:
        refusal = "refusing to follow it" if what == "a symbolic link" else "not a regular file"
        super().__init__(f"{path}: is {what}; {refusal}")
        self.what = what


class _NotJson(ValueError):
    """A value JSON does not have (NaN, Infinity, 1e999), from the decoder's hooks."""


def load_path(path: str | os.PathLike[str]) -> list[Bundle]:
    """Load every pod found at ``path`` as a bundle, in input order.

    ``path`` itself is followed wherever it leads (a symbolic link, a FIFO, ``/dev/stdin``);
    inside a bundle directory nothing is (see the module's docstring)."""
    p = Path(path)
    try:
        if p.is_dir():
            return _load_dir(p)
        if not p.exists():
            raise InputError(f"{p}: no such file or directory")
        fd = os.open(p, os.O_RDONLY)
        try:
            data = _read_fd(fd, str(p))
        finally:
            os.close(fd)
        return _bundles(data, str(p))
    except OSError as exc:
        raise InputError(f"{p}: cannot read: {exc.strerror or exc}") from None


def load_stream(stream: IO[bytes], name: str = "<stdin>") -> list[Bundle]:
    """Load every pod of the document read from ``stream`` (``kubectl get pod x -o json |
    initdoctor --from -`` passes standard input's binary buffer), within the cap a file has.
    ``name`` stands for the file in messages and is each bundle's ``source``."""
    try:
        data = _read_bounded(stream.read, name, _regular_size(stream))
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc.strerror or exc}") from None
    return _bundles(data, name)


def select(bundles: list[Bundle], targets: list[str], namespace: str | None) -> list[Bundle]:
    """The bundles whose pod is one of ``targets`` (``NAME`` or ``pod/NAME``; all when
    empty) in ``namespace`` (any when None), as kubectl selects pods from a file."""
    names = {t.split("/", 1)[1] if t.startswith(("pod/", "pods/", "po/")) else t for t in targets}

    def wanted(pod: object) -> bool:
        meta = as_dict(as_dict(pod).get("metadata"))
        name = meta.get("name")
        if names and not (isinstance(name, str) and name in names):  # a list is unhashable
            return False
        return namespace is None or meta.get("namespace") == namespace

    return [b for b in bundles if wanted(b.pod)]


def _bundles(data: bytes, name: str) -> list[Bundle]:
    return [Bundle(pod=pod, source=name) for pod in pods_from_document(_parse(data, name), name)]


def _load_dir(p: Path) -> list[Bundle]:
    if os.path.lexists(p / "pod.json") or os.path.lexists(p / "pod.yaml"):
        return [load_bundle_dir(p)]
    with os.scandir(p) as listing:
        entries = sorted(listing, key=lambda e: e.name)
    bundles = []
    for entry in entries:
        if entry.is_symlink():
            if entry.is_dir():  # a file's link is skipped as any file is: only dirs are bundles
                raise _NotRegular(Path(entry.path), "a symbolic link")
        elif entry.is_dir() and os.path.lexists(os.path.join(entry.path, "pod.json")):
            bundles.append(load_bundle_dir(Path(entry.path)))
    if not bundles:
        raise InputError(f"{p}: not a bundle directory (no pod.json in it or below it)")
    return bundles


def load_bundle_dir(d: Path) -> Bundle:
    """The bundle in directory ``d``; nothing inside it is followed."""
    pod_file = d / "pod.json" if os.path.lexists(d / "pod.json") else d / "pod.yaml"
    doc = _member_document(pod_file)
    if doc is None:
        raise InputError(f"{d}: not a bundle directory (no pod.json or pod.yaml in it)")
    pods = pods_from_document(doc, pod_file)
    if len(pods) != 1:
        raise InputError(f"{pod_file}: a bundle holds exactly one pod, found {len(pods)}")
    notes: list[str] = []
    meta = _meta(d / "meta.json")
    events = _events(d / "events.json", pods[0], notes)
    related = _optional_list(d / "related.json", "a List or a JSON array of objects")
    logs = _read_logs(d / "logs", notes)
    return Bundle(
        pod=pods[0],
        events=tuple(events),
        logs=logs,
        related=tuple(related),
        captured_at=_captured_at(meta),
        source=str(d),
        lookups=_lookups(meta),
        notes=(*(n for n in as_list(meta[1].get("notes")) if isinstance(n, str)), *notes),
    )


def parse_document(data: bytes, name: str) -> Any:
    """Parse JSON or YAML ``data``; ``name`` names it in messages."""
    _refuse_binary(data, 0, name)
    return _parse(data, name)


# Reading: one bounded reader, and the files of a bundle opened without following links.


def _read_fd(fd: int, name: str) -> bytes:
    st = os.fstat(fd)
    size = st.st_size if stat.S_ISREG(st.st_mode) else 0
    return _read_bounded(lambda n: os.read(fd, n), name, size)


def _regular_size(stream: IO[bytes]) -> int:
    """What is left of ``stream`` when it is a regular file (``< pod.json``); else 0."""
    try:
        st = os.fstat(stream.fileno())
        return max(0, st.st_size - stream.tell()) if stat.S_ISREG(st.st_mode) else 0
    except (OSError, ValueError, AttributeError):  # no descriptor (BytesIO), not seekable
        return 0


def _read_bounded(read: Callable[[int], bytes | None], name: str, size: int = 0) -> bytes:
    """All the bytes ``read`` gives, refused as soon as they pass :data:`MAX_DOCUMENT_BYTES`.

    ``size`` is a regular file's size (0 when unknown): then the file comes in one read,
    with one byte more to see that it ended, and no copy joins chunks."""
    cap = MAX_DOCUMENT_BYTES
    if size > cap:
        raise _too_large(name, cap)
    chunks: list[bytes] = []
    total = 0
    ask = size + 1 if size else _CHUNK
    while total <= cap:
        chunk = read(min(ask, cap + 1 - total))
        if not chunk:
            break
        _refuse_binary(chunk, total, name)
        chunks.append(chunk)
        total += len(chunk)
        ask = _CHUNK
    if total > cap:
        raise _too_large(name, cap)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _too_large(name: str, cap: int) -> InputError:
    limit = f"{cap // _MIB} MiB" if cap % _MIB == 0 else f"{cap} bytes"
    return InputError(f"{name}: input is larger than {limit}")


def _refuse_binary(chunk: bytes, offset: int, name: str) -> None:
    if offset == 0 and (chunk[:2] in (b"\xff\xfe", b"\xfe\xff") or chunk[:2].count(0) == 1):
        # PowerShell's `>` writes UTF-16; kubectl and the API speak UTF-8 only.
        raise InputError(f"{name}: file is UTF-16 encoded; save it as UTF-8")
    at = chunk.find(b"\x00")
    if at >= 0:
        raise InputError(
            f"{name}: not a text file (a NUL byte at offset {offset + at}); is it binary?"
        )


def _open_member(path: Path) -> int | None:
    """A descriptor on ``path``, a file of a bundle, or None when there is no such file."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(mode):  # decided before opening: opening a device can act on it
        raise _NotRegular(path, _what(mode))
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # made a link since the lstat
            raise _NotRegular(path, "a symbolic link") from None
        raise
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise _NotRegular(path, _what(mode))
    return fd


def _what(mode: int) -> str:
    kinds = (
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((what for test, what in kinds if test(mode)), "a special file")


def _member_bytes(path: Path) -> bytes | None:
    fd = _open_member(path)
    if fd is None:
        return None
    try:
        return _read_fd(fd, str(path))
    finally:
        os.close(fd)


def _member_document(path: Path) -> Any:
    """The parsed file ``path`` of a bundle, or None when there is none."""
    data = _member_bytes(path)
    return None if data is None else _parse(data, str(path))


def _read_logs(d: Path, notes: list[str]) -> dict[str, bytes]:
    try:
        mode = os.lstat(d).st_mode
    except FileNotFoundError:
        return {}
    if stat.S_ISLNK(mode):
        notes.append("logs/ is a symbolic link; no log was read from it")
        return {}
    if not stat.S_ISDIR(mode):
        return {}
    logs: dict[str, bytes] = {}
    for name in sorted(os.listdir(d)):
        if not name.endswith(".log"):
            continue
        try:
            fd = _open_member(d / name)
        except _NotRegular as exc:
            shown = name if name.isprintable() else ascii(name)
            notes.append(f"logs/{shown} is {exc.what}; it was not read")
            continue
        if fd is None:
            continue  # gone since the listing
        try:
            logs[name] = _tail(fd)
        finally:
            os.close(fd)
    return logs


def _tail(fd: int) -> bytes:
    """The last :data:`MAX_LOG_TAIL_BYTES` of a regular file, however it grows meanwhile."""
    os.lseek(fd, max(0, os.fstat(fd).st_size - MAX_LOG_TAIL_BYTES), os.SEEK_SET)
    chunks: list[bytes] = []
    left = MAX_LOG_TAIL_BYTES
    while left > 0 and (chunk := os.read(fd, left)):
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


# Parsing.


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Parsing creates millions of containers and no reference cycle worth collecting; each
    collection on the way walks all of them again: that was three quarters of the time a
    large file took to load."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _parse(data: bytes, name: str) -> Any:
    text = _decode(data, name)
    if not text.strip():
        raise InputError(f"{name}: file is empty")
    if text.lstrip()[0] in "{[":
        with _json_errors(name), _gc_paused():
            return _json_decoder().decode(text)
    return _load_yaml(text, name)


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{name}: not UTF-8 text (invalid byte at offset {exc.start}); is it a binary file?"
        ) from None


@contextlib.contextmanager
def _json_errors(name: str) -> Iterator[None]:
    try:
        yield
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{name}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except ValueError as exc:  # _NotJson, or an integer longer than Python converts
        raise InputError(f"{name}: invalid JSON: {str(exc).split(';')[0]}") from None
    except RecursionError:
        raise InputError(f"{name}: document is nested too deeply") from None


def _not_a_constant(literal: str) -> Any:
    raise _NotJson(f"{literal} is not a JSON number")


def _finite(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise _NotJson(f"{literal[:40]} is beyond the range of a number")
    return value


@cache
def _json_decoder() -> json.JSONDecoder:
    # Python's JSON takes NaN and Infinity; Kubernetes writes neither, and --serve and the
    # JSON output would hand them on as JSON no other parser reads.
    return json.JSONDecoder(parse_constant=_not_a_constant, parse_float=_finite)


@cache
def _yaml_loader() -> type[Any]:
    """PyYAML's safe loader (libyaml's when present) with merge keys and floats bounded.

    Built on first use: the class derives from PyYAML's, which JSON input never needs."""
    import yaml
    from yaml.constructor import ConstructorError, SafeConstructor

    class Bounded(SafeConstructor):
        def flatten_mapping(self, node: Any) -> None:
            merges = any(key.tag == _MERGE_TAG for key, _ in node.value)
            super().flatten_mapping(node)
            if merges:
                # PyYAML before 6.0.3 repeats the pairs of a mapping merged several times,
                # so merges of merges grow tenfold a level; the dict keeps the last of each.
                seen: set[int] = set()
                kept = []
                for pair in reversed(node.value):
                    if id(pair[0]) not in seen:
                        seen.add(id(pair[0]))
                        kept.append(pair)
                node.value = kept[::-1]

        def construct_yaml_float(self, node: Any) -> float:
            value = super().construct_yaml_float(node)
            if not math.isfinite(value):
                problem = f"{node.value!r} is not a number"
                raise ConstructorError(None, None, problem, node.start_mark)
            return value

    base = yaml.CSafeLoader if getattr(yaml, "__with_libyaml__", False) else yaml.SafeLoader
    loader: type[Any] = type("BoundedLoader", (Bounded, base), {})
    loader.add_constructor("tag:yaml.org,2002:float", Bounded.construct_yaml_float)
    return loader


def _load_yaml(text: str, name: str) -> Any:
    import yaml  # here, not at the top: importing PyYAML is start-up time JSON input never needs

    try:
        with _gc_paused():
            docs = [d for d in yaml.load_all(text, Loader=_yaml_loader()) if d is not None]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise InputError(f"{name}: invalid YAML{where}: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{name}: invalid YAML: {str(exc).splitlines()[0]}") from None
    except ValueError as exc:  # an integer longer than Python converts
        raise InputError(f"{name}: invalid YAML: {str(exc).split(';')[0]}") from None
    except RecursionError:
        raise InputError(f"{name}: document is nested too deeply") from None
    if not docs:
        raise InputError(f"{name}: file holds no YAML document")
    if "&" in text and "*" in text:  # without an anchor and an alias nothing is shared
        _check_expansion(docs, name)
    return docs[0] if len(docs) == 1 else docs


def _check_expansion(docs: list[Any], name: str) -> None:
    try:
        expanded, distinct = _expansion(docs)
    except _Recursive:
        raise InputError(
            f"{name}: a YAML alias refers to a node that contains it; refusing it"
        ) from None
    budget = max(YAML_MIN_NODE_BUDGET, YAML_EXPANSION * distinct)
    if expanded > budget:
        raise InputError(
            f"{name}: YAML aliases expand the document beyond {budget:,} nodes "
            f"({YAML_EXPANSION} times its own); refusing it"
        )


class _Recursive(Exception):
    pass


def _expansion(root: Any) -> tuple[int, int]:
    """(expanded, distinct): the nodes under ``root`` counted each time they are reached,
    and counted once. Each container is measured once (an ``id`` memo), so a document whose
    aliases share nodes is measured in time linear in its distinct nodes; a container
    inside itself raises :class:`_Recursive`. Iterative: libyaml nests 1,000 levels."""
    containers = (dict, list, tuple, set)
    sizes: dict[int, int] = {}
    open_: set[int] = set()
    distinct = 0
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        key = id(node)
        children = node.values() if isinstance(node, dict) else node
        if leaving:
            total = 1 + (len(node) if isinstance(node, dict) else 0)  # keys are nodes too
            for child in children:
                total += sizes[id(child)] if isinstance(child, containers) else 1
            sizes[key] = min(total, _SATURATED)
            open_.discard(key)
            continue
        if key in sizes:
            continue  # shared: measured already
        if key in open_:
            raise _Recursive
        open_.add(key)
        stack.append((node, True))
        distinct += 1 + (len(node) if isinstance(node, dict) else 0)
        for child in children:
            if not isinstance(child, containers):
                distinct += 1
            elif id(child) not in sizes:
                stack.append((child, False))
    return sizes[id(root)], distinct


# Documents.


def pods_from_document(doc: Any, path: Path | str) -> list[Json]:
    """The pods in a parsed document: a Pod, a List/PodList, or several YAML documents."""
    if isinstance(doc, list):
        items: list[Any] = doc
    elif isinstance(doc, dict):
        kind = doc.get("kind")
        if kind == "Pod":
            return [doc]
        listed = isinstance(kind, str) and kind in LIST_KINDS  # a list is unhashable
        if listed or (kind is None and isinstance(doc.get("items"), list)):
            raw_items = doc.get("items")
            if not isinstance(raw_items, list):
                raise InputError(f"{path}: {kind} has no items list")
            items = raw_items
        else:
            raise InputError(
                f"{path}: expected a Pod or a List of Pods, got "
                + (f"kind {_shown(kind)}" if kind is not None else "an object without a kind")
            )
    else:
        raise InputError(f"{path}: expected a Pod or a List of Pods, got {_type_name(doc)}")
    pods: list[Json] = [i for i in items if isinstance(i, dict) and i.get("kind", "Pod") == "Pod"]
    if not pods:
        kinds = sorted({_shown(i.get("kind"), quote=False) for i in items if isinstance(i, dict)})
        found = f" (found: {', '.join(kinds)})" if kinds else ""
        raise InputError(f"{path}: no Pod in the list{found}")
    return pods


def _shown(value: object, quote: bool = True) -> str:
    """A value from the file for a message: a string quoted and cut short, anything else by
    its type (``repr`` of a 5,000-digit integer raises)."""
    if isinstance(value, str):
        cut = value if len(value) <= 60 else value[:60] + "…"
        return repr(cut) if quote else cut
    return "None" if value is None and not quote else _type_name(value)


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return f"a {type(value).__name__}"


def _optional_list(path: Path, what: str) -> list[Json]:
    doc = _member_document(path)
    if doc is None:
        return []
    return _list_items(doc, path, what)


def _list_items(doc: Any, path: Path, what: str) -> list[Json]:
    if isinstance(doc, dict) and isinstance(doc.get("items"), list):
        items: list[Any] = doc["items"]
    elif isinstance(doc, list):
        items = doc
    else:
        raise InputError(f"{path}: expected {what}, got {_type_name(doc)}")
    return [i for i in items if isinstance(i, dict)]


_EVENTS = "an EventList or a JSON array of Events"


def _events(path: Path, pod: Json, notes: list[str]) -> list[Json]:
    data = _member_bytes(path)
    if data is None:
        return []
    size = len(data)
    if size <= EVENTS_STREAM_BYTES:
        return _list_items(_parse(data, str(path)), path, _EVENTS)
    text = _decode(data, str(path))
    del data  # the text is a copy: half the memory back before parsing
    start = WHITESPACE.match(text, 0).end()
    if not text.startswith(("{", "["), start):
        return _list_items(_load_yaml(text, str(path)), path, _EVENTS)
    with _json_errors(str(path)), _gc_paused():
        kept, seen = _aggregate(_json_items(text, start, path), pod)
    notes.append(
        f"events.json holds {seen:,} events ({size / _MIB:,.0f} MiB); {len(kept):,} kept: "
        "those about the pod and its related objects, identical ones merged as the API "
        "server aggregates them"
    )
    return kept


def _json_items(text: str, start: int, path: Path) -> Iterator[Any]:
    """The entries of the JSON array at ``start``, or of the ``items`` array of the object
    there, decoded one at a time by the standard decoder; :data:`_RESTART` before a
    repeated ``items`` array (the last one counts, as for json.loads)."""
    decode = _json_decoder().raw_decode

    def skip(i: int) -> int:
        return int(WHITESPACE.match(text, i).end())

    def array(i: int) -> Generator[Any, None, int]:  # returns the index after the array
        i = skip(i + 1)
        if text.startswith("]", i):
            return i + 1
        while True:
            value, i = decode(text, i)
            yield value
            i = skip(i)
            if text.startswith(",", i):
                i = skip(i + 1)
            elif text.startswith("]", i):
                return i + 1
            else:
                raise json.JSONDecodeError("Expecting ',' delimiter", text, i)

    if text.startswith("[", start):
        end = yield from array(start)
    else:
        i, arrays, items_is_list = skip(start + 1), 0, False
        while not text.startswith("}", i):
            if not text.startswith('"', i):
                raise json.JSONDecodeError(
                    "Expecting property name enclosed in double quotes", text, i
                )
            key, i = scanstring(text, i + 1)
            i = skip(i)
            if not text.startswith(":", i):
                raise json.JSONDecodeError("Expecting ':' delimiter", text, i)
            i = skip(i + 1)
            if key == "items" and text.startswith("[", i):
                if arrays:
                    yield _RESTART
                arrays, items_is_list = arrays + 1, True
                i = yield from array(i)
            else:
                items_is_list = items_is_list and key != "items"
                _, i = decode(text, i)
            i = skip(i)
            if text.startswith(",", i):
                i = skip(i + 1)
                if text.startswith("}", i):
                    raise json.JSONDecodeError("Illegal trailing comma", text, i)
            elif not text.startswith("}", i):
                raise json.JSONDecodeError("Expecting ',' delimiter", text, i)
        end = i + 1
        if not items_is_list:
            raise InputError(f"{path}: expected {_EVENTS}, got a dict")
    if skip(end) != len(text):
        raise json.JSONDecodeError("Extra data", text, skip(end))


def _aggregate(events: Iterable[Any], pod: Json) -> tuple[list[Json], int]:
    """(kept, seen): the events about ``pod`` or its related objects, identical ones merged
    (their counts added, the first and last times kept; the newest one's other fields)."""
    subject = event_subject(pod)
    groups: dict[tuple[Any, ...], list[Any]] = {}  # key -> [newest, first, last, count, n]
    seen = 0
    for e in events:
        if e is _RESTART:
            groups.clear()
            seen = 0
            continue
        seen += 1
        if not isinstance(e, dict):
            continue
        about = subject(e)
        if about is None:
            continue
        # What an EventView holds but times and count: events alike in all of it are one
        # event to the rules, whatever their object's uid or their own name.
        involved, source = as_dict(e.get("involvedObject")), as_dict(e.get("source"))
        key: tuple[Any, ...] = (
            about,
            involved.get("fieldPath"),
            e.get("type"),
            e.get("reason"),
            e.get("note"),
            e.get("message"),
            e.get("reportingComponent"),
            source.get("component"),
        )
        try:
            group = groups.get(key)
        except TypeError:  # an object where a string belongs: it reads as "" anyway
            key = tuple(as_str(k) for k in key)
            group = groups.get(key)
        first, last, count = event_span(e)
        if group is None:
            groups[key] = [e, first, last, count, 1]
            continue
        if last is not None and (group[2] is None or last >= group[2]):
            group[0], group[2] = e, last
        if first is not None and (group[1] is None or first < group[1]):
            group[1] = first
        group[3] += count
        group[4] += 1
    return [_merged(*g) for g in groups.values()], seen


def _merged(
    newest: Json, first: datetime | None, last: datetime | None, count: int, n: int
) -> Json:
    if n == 1:
        return newest
    merged = {k: v for k, v in newest.items() if k != "series"}  # its count would win
    merged["count"] = count
    if first is not None:
        merged["firstTimestamp"] = _rfc3339(first)
    if last is not None:
        merged["lastTimestamp"] = _rfc3339(last)
    return merged


def _rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _meta(path: Path) -> tuple[Path, dict[str, Any]]:
    meta = _member_document(path)
    if meta is None:
        return path, {}
    if not isinstance(meta, dict):
        raise InputError(f"{path}: expected a JSON object, got {_type_name(meta)}")
    return path, meta


def _captured_at(meta: tuple[Path, dict[str, Any]]) -> datetime | None:
    path, doc = meta
    raw = doc.get("captured_at")
    if raw is None:
        return None
    when = parse_time(raw)
    if when is None:
        raise InputError(f"{path}: captured_at {_shown(raw)} is not an RFC 3339 time")
    return when


def _lookups(meta: tuple[Path, dict[str, Any]]) -> tuple[Json, ...]:
    raw = meta[1].get("lookups")
    return tuple(i for i in raw if isinstance(i, dict)) if isinstance(raw, list) else ()
