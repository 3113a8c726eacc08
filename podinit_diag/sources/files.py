"""Read pods and bundles from files into :class:`~podinit_diag.core.model.Bundle` objects.

Accepted inputs (DESIGN.md §3): a pod as ``kubectl get pod -o json`` or ``-o yaml``
writes it, a ``v1 List`` / ``PodList`` of pods, a bundle directory (``pod.json``,
``events.json``, ``logs/``, ``related.json``, ``meta.json``), or a directory whose
sub-directories are bundles. Anything unusable raises :class:`InputError` with one
line naming the file and the problem; nothing here lets a traceback escape for bad
bytes, bad syntax or a bad shape. PyYAML is used only in this module, and imported only
when a YAML file is parsed.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from podinit_diag.core.access import Json, as_dict
from podinit_diag.core.errors import InputError
from podinit_diag.core.kubetime import parse_time
from podinit_diag.core.model import Bundle

MAX_DOCUMENT_BYTES = 512 * 1024 * 1024
MAX_LOG_TAIL_BYTES = 256 * 1024  # rules read the end of a log; the rest is never loaded
MAX_YAML_ALIASES = 100  # kubectl never writes aliases; a handful is tolerated, a bomb is not
LIST_KINDS = frozenset({"List", "PodList"})

if TYPE_CHECKING:
    import yaml


def load_path(path: str | os.PathLike[str]) -> list[Bundle]:
    """Load every pod found at ``path`` as a bundle, in input order."""
    p = Path(path)
    try:
        if p.is_dir():
            if (p / "pod.json").is_file() or (p / "pod.yaml").is_file():
                return [load_bundle_dir(p)]
            subdirs = sorted(d for d in p.iterdir() if d.is_dir() and (d / "pod.json").is_file())
            if not subdirs:
                raise InputError(f"{p}: not a bundle directory (no pod.json in it or below it)")
            return [load_bundle_dir(d) for d in subdirs]
        if not p.exists():
            raise InputError(f"{p}: no such file or directory")
        return [Bundle(pod=pod, source=str(p)) for pod in pods_from_document(read_document(p), p)]
    except OSError as exc:
        raise InputError(f"{p}: cannot read: {exc.strerror or exc}") from None


def select(bundles: list[Bundle], targets: list[str], namespace: str | None) -> list[Bundle]:
    """The bundles whose pod is one of ``targets`` (``NAME`` or ``pod/NAME``; all when
    empty) in ``namespace`` (any when None), as kubectl selects pods from a file."""
    names = {t.split("/", 1)[1] if t.startswith(("pod/", "pods/", "po/")) else t for t in targets}

    def wanted(pod: object) -> bool:
        meta = as_dict(as_dict(pod).get("metadata"))
        if names and meta.get("name") not in names:
            return False
        return namespace is None or meta.get("namespace") == namespace

    return [b for b in bundles if wanted(b.pod)]


def load_bundle_dir(d: Path) -> Bundle:
    pod_file = d / "pod.json" if (d / "pod.json").is_file() else d / "pod.yaml"
    pods = pods_from_document(read_document(pod_file), pod_file)
    if len(pods) != 1:
        raise InputError(f"{pod_file}: a bundle holds exactly one pod, found {len(pods)}")
    meta = _meta(d / "meta.json")
    events = _optional_list(d / "events.json", "an EventList or a JSON array of Events")
    related = _optional_list(d / "related.json", "a List or a JSON array of objects")
    return Bundle(
        pod=pods[0],
        events=tuple(events),
        logs=_read_logs(d / "logs"),
        related=tuple(related),
        captured_at=_captured_at(meta),
        source=str(d),
        lookups=_lookups(meta),
        notes=tuple(str(n) for n in meta[1].get("notes") or () if isinstance(n, str)),
    )


def read_document(path: Path) -> Any:
    """Parse one JSON or YAML file (YAML may hold several documents: a list is returned)."""
    size = path.stat().st_size
    if size > MAX_DOCUMENT_BYTES:
        raise InputError(f"{path}: file is too large ({size} bytes)")
    return parse_document(path.read_bytes(), str(path))


def parse_document(data: bytes, name: str) -> Any:
    text = _decode(data, name)
    if not text.strip():
        raise InputError(f"{name}: file is empty")
    try:
        if text.lstrip()[0] in "{[":
            return json.loads(text)
        return _load_yaml(text, name)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{name}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise InputError(f"{name}: document is nested too deeply") from None


def _decode(data: bytes, name: str) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(data) >= 2 and b"\x00" in data[:2]):
        # PowerShell's `>` writes UTF-16; kubectl and the API speak UTF-8 only.
        raise InputError(f"{name}: file is UTF-16 encoded; save it as UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{name}: not UTF-8 text (invalid byte at offset {exc.start}); is it a binary file?"
        ) from None


@cache
def _bounded_loader() -> type[yaml.SafeLoader]:
    """SafeLoader that refuses alias bombs: shared references would expand on every walk.

    Built on first use: the class derives from PyYAML's, which JSON input never needs."""
    import yaml

    class BoundedLoader(yaml.SafeLoader):
        aliases_seen = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                self.aliases_seen += 1
                if self.aliases_seen > MAX_YAML_ALIASES:
                    raise InputError("too many YAML aliases")
            return super().compose_node(parent, index)

    return BoundedLoader


def _load_yaml(text: str, name: str) -> Any:
    import yaml  # here, not at the top: importing PyYAML is start-up time JSON input never needs

    try:
        docs = [d for d in yaml.load_all(text, Loader=_bounded_loader()) if d is not None]
    except InputError as exc:
        raise InputError(f"{name}: {exc} (more than {MAX_YAML_ALIASES}); refusing it") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise InputError(f"{name}: invalid YAML{where}: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{name}: invalid YAML: {str(exc).splitlines()[0]}") from None
    if not docs:
        raise InputError(f"{name}: file holds no YAML document")
    return docs[0] if len(docs) == 1 else docs


def pods_from_document(doc: Any, path: Path | str) -> list[Json]:
    """The pods in a parsed document: a Pod, a List/PodList, or several YAML documents."""
    if isinstance(doc, list):
        items: list[Any] = doc
    elif isinstance(doc, dict):
        kind = doc.get("kind")
        if kind == "Pod":
            return [doc]
        if kind in LIST_KINDS or (kind is None and isinstance(doc.get("items"), list)):
            raw_items = doc.get("items")
            if not isinstance(raw_items, list):
                raise InputError(f"{path}: {kind} has no items list")
            items = raw_items
        else:
            raise InputError(
                f"{path}: expected a Pod or a List of Pods, got "
                + (f"kind {kind!r}" if kind is not None else "an object without a kind")
            )
    else:
        raise InputError(f"{path}: expected a Pod or a List of Pods, got {_type_name(doc)}")
    pods: list[Json] = [i for i in items if isinstance(i, dict) and i.get("kind", "Pod") == "Pod"]
    if not pods:
        kinds = sorted({str(i.get("kind")) for i in items if isinstance(i, dict)})
        found = f" (found: {', '.join(kinds)})" if kinds else ""
        raise InputError(f"{path}: no Pod in the list{found}")
    return pods


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return f"a {type(value).__name__}"


def _optional_list(path: Path, what: str) -> list[Json]:
    if not path.is_file():
        return []
    doc = read_document(path)
    if isinstance(doc, dict) and isinstance(doc.get("items"), list):
        items: list[Any] = doc["items"]
    elif isinstance(doc, list):
        items = doc
    else:
        raise InputError(f"{path}: expected {what}, got {_type_name(doc)}")
    return [i for i in items if isinstance(i, dict)]


def _read_logs(d: Path) -> dict[str, bytes]:
    if not d.is_dir():
        return {}
    logs: dict[str, bytes] = {}
    for f in sorted(d.iterdir()):
        if f.is_file() and f.name.endswith(".log"):
            with f.open("rb") as fh:
                size = fh.seek(0, os.SEEK_END)
                fh.seek(max(0, size - MAX_LOG_TAIL_BYTES))
                logs[f.name] = fh.read()
    return logs


def _meta(path: Path) -> tuple[Path, dict[str, Any]]:
    if not path.is_file():
        return path, {}
    meta = read_document(path)
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
        raise InputError(f"{path}: captured_at {raw!r} is not an RFC 3339 time")
    return when


def _lookups(meta: tuple[Path, dict[str, Any]]) -> tuple[Json, ...]:
    raw = meta[1].get("lookups")
    return tuple(i for i in raw if isinstance(i, dict)) if isinstance(raw, list) else ()
