"""Write a bundle in the format ``--from`` reads, safely against a hostile API server and
an unlucky user.

What the server sent decides file names (a log file is named after its container) and
every byte written, and the bundle travels to tickets, so:

- every entry goes through :func:`_open_entry`, which takes one validated path component
  and opens it relative to the already-open parent directory with ``O_NOFOLLOW`` and
  ``O_EXCL``: no name from the server can leave the directory (a container name must be
  a Kubernetes name; `../../x`, `/etc/x`, `a/b` are refused with a note), and no symlink
  planted in it, or swapped in while we write, redirects a write;
- DIR must be empty unless ``force``; with ``force`` only the bundle's own entries are
  replaced (unlinked first, which never follows a symlink), anything else stays;
- files are created 0600 and directories 0700 whatever the umask: bundles hold logs;
- every field goes through :func:`~podinit_diag.core.redact.redact_document`, logs through
  :func:`~podinit_diag.core.redact.redact_lines` (a PEM key's body masked line by line, so
  quoted line numbers hold), and JSON is written as ASCII, so lone surrogates are escaped
  rather than fatal;
- any OS error becomes one :class:`InputError` line naming the path.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from podinit_diag.core.errors import InputError
from podinit_diag.core.kubetime import format_time
from podinit_diag.core.model import Bundle
from podinit_diag.core.redact import redact_document, redact_lines

BUNDLE_FILES = ("pod.json", "events.json", "related.json", "meta.json")
LOGS = "logs"
# A container name is a DNS-1123 label (validation.IsDNS1123Label); its log is
# NAME.log, the previous instance's NAME.previous.log.
_LOG_FILE = re.compile(r"([a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?)(?:\.previous)?\.log")
# What _open_entry accepts: one lower-case component, no dot first (so never `.` or `..`).
_COMPONENT = re.compile(r"[a-z0-9][-a-z0-9.]{0,80}")
_NOTE_NAME_CHARS = 80

_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def save_bundle(bundle: Bundle, directory: str | Path, *, force: bool = False) -> Path:
    """Write ``bundle`` to ``directory`` (``pod.json``, ``events.json``, ``related.json``,
    ``meta.json``, ``logs/NAME[.previous].log``), redacted; see the module docstring.

    Raises :class:`InputError` when DIR is not empty (without ``force``), when an entry
    of the bundle's is a symlink or a directory in the way, and on any OS error."""
    if not {os.open, os.mkdir, os.unlink, os.stat} <= os.supports_dir_fd:
        raise InputError(f"{directory}: --save needs a POSIX system (openat) to write safely")
    d = Path(directory)
    notes = list(bundle.notes)
    logs: dict[str, bytes] = {}
    for key, data in bundle.logs.items():
        name = key if isinstance(key, str) else repr(key)
        if not _LOG_FILE.fullmatch(name):
            container = name.removesuffix(".log").removesuffix(".previous")
            if len(container) > _NOTE_NAME_CHARS:
                container = container[:_NOTE_NAME_CHARS] + "…"
            notes.append(f"log of container {container!r} not saved: not a valid container name")
            continue
        logs[name] = _log_text(data)
    files = {
        "pod.json": _json(bundle.pod),
        "events.json": _json(_list(bundle.events)),
        "related.json": _json(_list(bundle.related)),
        "meta.json": _json(_meta(bundle, notes)),
    }
    top = _open_target(d, force)
    try:
        for name, data in files.items():
            _write(top, d, name, data, force)
        logs_fd = _open_entry(top, d, LOGS, directory=True, replace=force)
        try:
            if force:
                _remove_stale_logs(logs_fd, d / LOGS, keep=logs.keys())
            for name, data in logs.items():
                _write(logs_fd, d / LOGS, name, data, force)
        finally:
            os.close(logs_fd)
    finally:
        os.close(top)
    return d


def _json(value: Any) -> bytes:
    # ASCII: lone surrogates and control characters come out as \u escapes.
    return (json.dumps(redact_document(value), indent=2, ensure_ascii=True) + "\n").encode()


def _list(items: tuple[Any, ...]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "List", "items": list(items), "metadata": {}}


def _meta(bundle: Bundle, notes: list[str]) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "captured_at": format_time(bundle.captured_at or datetime.now(UTC)),
        "source": bundle.source,  # a server URL's user:password@ is redacted with the rest
    }
    if bundle.lookups:
        meta["lookups"] = list(bundle.lookups)
    if notes:
        meta["notes"] = notes
    return meta


def _log_text(data: object) -> bytes:
    if isinstance(data, bytes | bytearray):
        text = bytes(data).decode("utf-8", errors="replace")
    else:
        text = str(data)
    # Line for line as the diagnosis reads it (a PEM key's body masked line by line), so
    # that the line numbers quoted as evidence are the same from the saved bundle.
    # Split on "\n" alone, as kubectl and the normalizer count lines (splitlines() would
    # also split at \r, \f and U+2028 and shift every line number after one).
    lines = redact_lines(text.split("\n"))
    if lines and lines[-1] == "":
        lines.pop()
    ending = "\n" if lines and text.endswith("\n") else ""
    return ("\n".join(lines) + ending).encode("utf-8", errors="backslashreplace")


def _open_target(d: Path, force: bool) -> int:
    """DIR, opened: created 0700 (its parents as the umask says), or an existing one that
    is empty or, with ``force``, anything. A DIR the user named may be a symlink."""
    try:
        d.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _error(d.parent, exc) from None
    try:
        os.mkdir(d, 0o700)
        created = True
    except FileExistsError:
        created = False
    except OSError as exc:
        raise _error(d, exc) from None
    try:
        # What we just created must still be ours: no symlink swapped in since.
        fd = os.open(d, (_DIR_FLAGS if created else os.O_RDONLY | os.O_DIRECTORY) | _CLOEXEC)
    except OSError as exc:
        raise _error(d, exc) from None
    try:
        if created:
            os.fchmod(fd, 0o700)  # mkdir's mode went through the umask
        elif os.listdir(fd) and not force:
            raise InputError(f"{d}: directory is not empty; use --force to overwrite it")
    except OSError as exc:
        os.close(fd)
        raise _error(d, exc) from None
    except InputError:
        os.close(fd)
        raise
    return fd


def _open_entry(parent: int, where: Path, name: str, *, directory: bool, replace: bool) -> int:
    """The one way an entry of the bundle is created: ``name`` (a single validated
    component) in the open directory ``parent``, never following a symlink, created
    exclusively (with ``replace``, whatever held the name is unlinked first, and a real
    directory kept for a directory). Returns the open descriptor."""
    if not _COMPONENT.fullmatch(name):
        raise InputError(f"{where}: refusing to write {name!r}: not a plain file name")
    path = where / name
    try:
        if replace:
            try:
                st = os.stat(name, dir_fd=parent, follow_symlinks=False)
            except FileNotFoundError:
                pass
            else:
                if not (directory and stat.S_ISDIR(st.st_mode)):
                    if stat.S_ISDIR(st.st_mode):
                        raise InputError(f"{path}: is a directory; not replacing it")
                    os.unlink(name, dir_fd=parent)  # a symlink goes, never its target
        if directory:
            try:
                os.mkdir(name, 0o700, dir_fd=parent)
            except FileExistsError:
                if not replace:
                    raise
            fd = os.open(name, _DIR_FLAGS | _CLOEXEC, dir_fd=parent)
            os.fchmod(fd, 0o700)
            return fd
        fd = os.open(name, _FILE_FLAGS | _CLOEXEC, 0o600, dir_fd=parent)
        os.fchmod(fd, 0o600)
        return fd
    except OSError as exc:
        raise _error(path, exc) from None


def _write(parent: int, where: Path, name: str, data: bytes, replace: bool) -> None:
    fd = _open_entry(parent, where, name, directory=False, replace=replace)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except OSError as exc:
        raise _error(where / name, exc) from None
    finally:
        os.close(fd)


def _remove_stale_logs(logs_fd: int, where: Path, keep: Collection[str]) -> None:
    """With --force: the log files an earlier bundle left that this one does not have
    (--from would read them as this pod's); other files stay."""
    try:
        for entry in os.listdir(logs_fd):
            if entry in keep or not _LOG_FILE.fullmatch(entry):
                continue
            st = os.stat(entry, dir_fd=logs_fd, follow_symlinks=False)
            if not stat.S_ISDIR(st.st_mode):
                os.unlink(entry, dir_fd=logs_fd)
    except OSError as exc:
        raise _error(where, exc) from None


def _error(path: Path, exc: OSError) -> InputError:
    if exc.errno in (errno.ELOOP, errno.EMLINK):  # O_NOFOLLOW met a symlink
        return InputError(f"{path}: is a symbolic link; not following it")
    if exc.errno == errno.EEXIST:
        return InputError(f"{path}: already exists; not overwriting it")
    if exc.errno == errno.ENOTDIR:
        return InputError(f"{path}: not a directory")
    return InputError(f"{path}: cannot write: {exc.strerror or exc}")
