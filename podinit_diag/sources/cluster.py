"""Reading a live cluster: the only module that imports the ``kubernetes`` client.

The client is used for what it is good at (kubeconfig and contexts, in-cluster
service accounts, exec/OIDC token refresh, TLS) and nothing else: requests go
through its generic call path and answers are parsed as raw JSON into dicts, never
into the client's model objects (10k pods as models cost 19 s and 1.6 GB; as dicts
2.5 s). Requests are GET only, with no retries.

The server is not trusted to behave: every request has a total deadline (the request
timeout covers connecting, the headers and the whole body, however slowly it trickles),
every answer a byte cap for its kind, bodies are read as sent (an encoding nobody asked
for is refused, never decompressed), a continue token seen twice ends the list, and the
kubeconfig's credential plugin has a deadline of its own.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from podinit_diag.core.access import JsonDict, as_dict, as_str, int_or
from podinit_diag.core.errors import InputError
from podinit_diag.core.lazyre import lazy
from podinit_diag.core.redact import redact

T = TypeVar("T")

# Byte caps per kind of answer: far above what a real apiserver sends (etcd keeps objects
# under 1.5 MiB; a page of 500 pods is a few MiB), far below what would exhaust the machine.
MAX_OBJECT_BYTES = 16 << 20  # one object, or an error Status
MAX_PAGE_BYTES = 256 << 20  # one page of a list
MAX_LOG_BYTES = 4 << 20  # a log tail asked for by lines: the rules read 200 of them
MAX_WATCH_LINE_BYTES = 16 << 20  # one watch event
_CHUNK = 1 << 20
# How long the kubeconfig's credential plugin (exec) may take to hand over a token: an
# interactive login needs a while, a hung plugin must not hang the tool.
CREDENTIAL_SECONDS = 60.0


class ClusterError(InputError):
    """The cluster could not be reached or refused the request; one line for the user."""


class NotFound(ClusterError):
    pass


class Forbidden(ClusterError):
    pass


class Expired(ClusterError):
    """410 Gone: a list's continue token, or a watch's resourceVersion, outlived the
    server's compaction window."""


class Dropped(ClusterError):
    """A watch could not connect or its stream broke off: watch again from the last
    resourceVersion seen."""


@dataclass(frozen=True)
class Settings:
    """How to reach a cluster. The library reads no environment: the CLI fills in what
    kubectl would take from it (KUBECONFIG, proxies, the in-cluster variables)."""

    kubeconfig: str | None = None  # given explicitly: its failures are the error to show
    # KUBECONFIG (paths joined with os.pathsep), else ~/.kube/config
    default_kubeconfig: str = "~/.kube/config"
    context: str | None = None
    timeout: float = 5.0
    proxy: str | None = None  # from the environment, resolved by the CLI
    no_proxy: str | None = None
    # In-cluster fallback: where the pod's service account is mounted, and the environment
    # holding KUBERNETES_SERVICE_HOST/PORT (None: the process's own).
    service_account_dir: str = "/var/run/secrets/kubernetes.io/serviceaccount"
    environ: Mapping[str, str] | None = None
    credential_timeout: float = CREDENTIAL_SECONDS


@dataclass(frozen=True)
class Page:
    """One page of a list as the server sent it. Decoding is left to whoever reads the
    items; only the continue token is read here, from the list's head."""

    data: bytes
    where: str  # the list's URL, for errors
    skip_through: str = ""  # items with keys up to this one were read before a 410 restart

    def doc(self) -> JsonDict:
        try:
            doc = json.loads(self.data)
        except ValueError:
            raise ClusterError(f"{self.where}: the answer is not JSON") from None
        if not isinstance(doc, dict):
            raise ClusterError(f"{self.where}: the answer is not a JSON object")
        return doc

    def items(self) -> Iterator[JsonDict]:
        items = self.doc().get("items")
        for item in items if isinstance(items, list) else ():
            if isinstance(item, dict) and (not self.skip_through or _key(item) > self.skip_through):
                yield item

    def last_key(self) -> str:
        keys = [_key(i) for i in self.items()]
        return keys[-1] if keys else ""

    def continue_token(self) -> str:
        """The apiserver writes a list's metadata before its items (Go encodes struct
        fields in order), so the token is read from the head, not by decoding megabytes
        twice; any other layout is decoded whole."""
        cut = self.data.find(b',"items":')
        head: Any = None
        if cut > 0:
            try:
                head = json.loads(self.data[:cut] + b"}")
            except ValueError:
                head = None  # the first ',"items":' was a nested one
        if not isinstance(head, dict) or "metadata" not in head:
            head = self.doc()
        return str(as_dict(head.get("metadata")).get("continue") or "")


def _key(item: JsonDict) -> str:
    meta = as_dict(item.get("metadata"))
    return f"{as_str(meta.get('namespace'))}/{as_str(meta.get('name'))}"


class Cluster:
    """An authenticated, read-only connection to one cluster."""

    def __init__(self, settings: Settings) -> None:
        from kubernetes.client.api_client import ApiClient
        from kubernetes.client.configuration import Configuration
        from kubernetes.config.config_exception import ConfigException
        from kubernetes.config.incluster_config import InClusterConfigLoader
        from kubernetes.config.kube_config import list_kube_config_contexts, load_kube_config

        self.timeout = settings.timeout
        config = Configuration()
        namespace = "default"
        config_file = settings.kubeconfig or settings.default_kubeconfig

        def load() -> str:
            load_kube_config(
                config_file=config_file,
                context=settings.context,
                client_configuration=config,
                persist_config=False,
            )
            contexts, current = list_kube_config_contexts(config_file=config_file)
            chosen = (
                next((c for c in contexts if c.get("name") == settings.context), current)
                if settings.context
                else current
            )
            return as_str(as_dict(as_dict(chosen).get("context")).get("namespace"))

        try:
            # A credential plugin (exec) runs while the kubeconfig loads: bounded, and a hung
            # one is killed rather than left behind. The client logs its failure (with the
            # plugin's stderr) instead of raising it: caught here, it is the error to show.
            with _client_log() as logged:
                namespace = _bounded(load, settings.credential_timeout, _kill_new_children)
            failed = [m for m in logged if m.startswith("exec:")]
            if failed:
                raise ConfigException(failed[0])
            namespace = namespace or "default"
        except _TimedOut:
            raise ClusterError(
                f"the kubeconfig's credential plugin did not answer within "
                f"{settings.credential_timeout:g}s"
            ) from None
        except (ConfigException, OSError) as exc:
            # A kubeconfig that exists but does not load (a CA file gone, a bad context)
            # is the error to show, not the in-cluster fallback's.
            if settings.kubeconfig or settings.context or _present(settings.default_kubeconfig):
                raise ClusterError(f"cannot load kubeconfig: {_config_error(exc)}") from None
            sa = settings.service_account_dir
            loader_args: dict[str, Any] = {
                "token_filename": os.path.join(sa, "token"),
                "cert_filename": os.path.join(sa, "ca.crt"),
            }
            if settings.environ is not None:
                loader_args["environ"] = settings.environ
            try:
                InClusterConfigLoader(**loader_args).load_and_set(config)
            except ConfigException:
                raise ClusterError(
                    "no kubeconfig found (set --kubeconfig or KUBECONFIG) and not running in a "
                    "cluster"
                ) from None
            namespace = _incluster_namespace(sa)
        except Exception as exc:
            # The client's parsers raise anything (not YAML, bad base64, a field of the
            # wrong type): the kubeconfig is unusable.
            raise ClusterError(f"cannot load kubeconfig: {_config_error(exc)}") from None
        # One attempt per request: a dead endpoint should fail fast, not be retried quietly.
        config.retries = 0
        if settings.proxy and not config.proxy:
            config.proxy = settings.proxy
            config.no_proxy = settings.no_proxy
        self.namespace = namespace
        self.server = public_url(config.host)
        self._api = ApiClient(config)
        self.requests = 0
        self._lock = threading.Lock()  # the scan reads logs from several threads

    def _send(
        self,
        path: str,
        query: Mapping[str, str | int | bool],
        accept: str,
        timeout: float | tuple[float, float],
    ) -> Any:
        """Start a GET (authenticated by the client, counted); the body is still to read.
        Returns urllib3's response."""
        params = [(k, _query_value(v)) for k, v in query.items()]
        method, url, headers, _, _ = self._api.param_serialize(
            method="GET",
            resource_path=path,
            query_params=params,
            # Bodies as sent: a server that compresses anyway is refused, never inflated.
            header_params={"Accept": accept, "Accept-Encoding": "identity"},
            auth_settings=["BearerToken"],
        )
        with self._lock:
            self.requests += 1
        response = self._api.call_api(method, url, header_params=headers, _request_timeout=timeout)
        return response.response

    def _request(
        self,
        path: str,
        query: Mapping[str, str | int | bool],
        accept: str = "application/json, */*",
        cap: int = MAX_OBJECT_BYTES,
        truncate: bool = False,
    ) -> bytes:
        """One GET, its body read whole within the request timeout and ``cap`` bytes (beyond
        it: an error, or with ``truncate`` the first ``cap`` bytes)."""
        from urllib3.exceptions import HTTPError

        where = f"{self.server}{path}"
        stop = threading.Event()
        current: list[Any] = []

        def work() -> tuple[int, bytes]:
            raw = self._send(path, query, accept, self.timeout)
            current.append(raw)
            try:
                if raw.status >= 400:
                    return raw.status, _read_body(raw, MAX_OBJECT_BYTES, where, stop, True)
                return raw.status, _read_body(raw, cap, where, stop, truncate)
            finally:
                raw.release_conn()

        def abandon() -> None:
            stop.set()
            for raw in current:  # wake a read blocked on a silent server
                _quietly(raw.shutdown)

        try:
            status, body = _bounded(work, self.timeout, abandon)
        except _TimedOut:
            raise ClusterError(
                f"cannot reach {self.server}: no complete answer to GET {path} within "
                f"{self.timeout:g}s (--request-timeout)"
            ) from None
        except (HTTPError, OSError) as exc:
            raise ClusterError(f"cannot reach {self.server}: {_one_line(exc)}") from None
        if status >= 400:
            raise _status_error(status, body, path)
        return body

    def get(self, path: str, **query: str | int | bool) -> dict[str, Any]:
        """GET a JSON object (a resource or a list) as a dict."""
        return Page(self._request(path, query, cap=MAX_PAGE_BYTES), f"{self.server}{path}").doc()

    def get_metadata(self, path: str) -> dict[str, Any]:
        """GET only an object's metadata (PartialObjectMetadata): how Secrets are checked for
        existence without their values ever crossing the wire."""
        accept = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
        return Page(self._request(path, {}, accept=accept), f"{self.server}{path}").doc()

    def get_text(self, path: str, **query: str | int | bool) -> bytes:
        """GET a plain-text body (container logs): at most :data:`MAX_LOG_BYTES`, asked of
        the server too (``limitBytes``); a server that sends more is cut off there."""
        query = {"limitBytes": MAX_LOG_BYTES, **query}
        return self._request(path, query, cap=MAX_LOG_BYTES, truncate=True)

    def _pages(
        self,
        path: str,
        page: int,
        query: Mapping[str, str | int | bool],
        deadline: float | None = None,
    ) -> Iterator[Page]:
        """A list's pages, still encoded, following continue tokens; :class:`Expired` when
        one expires. A token seen before would list the same pages forever: an error, as
        is a list still unfinished at ``deadline`` (``time.monotonic()``)."""
        token = ""
        seen: set[str] = set()
        where = f"{self.server}{path}"
        while True:
            query_page = dict(query, limit=page) | ({"continue": token} if token else {})
            current = Page(self._request(path, query_page, cap=MAX_PAGE_BYTES), where)
            yield current
            token = current.continue_token()
            if not token:
                return
            if token in seen:
                raise ClusterError(
                    f"{where}: the server sent the same continue token twice; the list "
                    "would never end"
                )
            seen.add(token)
            if deadline is not None and time.monotonic() > deadline:
                raise ClusterError(f"{where}: the list did not end in time")

    def pages(self, path: str, page: int = 500, **query: str | int | bool) -> Iterator[Page]:
        """A list's pages, still encoded, so that whoever diagnoses them decodes them (a
        parallel scan hands them to worker processes). An expired continue token (410)
        restarts the list from the top (twice at most); the items already read are marked
        to be skipped by key, since the apiserver pages in etcd key order
        (``namespace/name``; its continue token is the last key)."""
        restarts = 0
        skip_through = ""
        last: Page | None = None
        while True:
            try:
                for current in self._pages(path, page, query):
                    last = replace(current, skip_through=skip_through)
                    yield last
                return
            except Expired:
                if restarts >= 2:
                    raise
                restarts += 1
                if last is not None:  # rare: decode the last page again for its last key
                    skip_through = max(skip_through, last.last_key())

    def iter_items(
        self, path: str, page: int = 500, **query: str | int | bool
    ) -> Iterator[dict[str, Any]]:
        """Items of a list, one page in memory at a time (see :meth:`pages`)."""
        for current in self.pages(path, page, **query):
            yield from current.items()

    def list_all(
        self, path: str, page: int = 500, **query: str | int | bool
    ) -> list[dict[str, Any]]:
        """Every item of a list (see :meth:`iter_items`)."""
        return list(self.iter_items(path, page, **query))

    def list_snapshot(
        self,
        path: str,
        query: Mapping[str, str | int | bool] | None = None,
        deadline: float | None = None,
    ) -> tuple[list[JsonDict], str]:
        """Every item of a list and the resourceVersion to watch it from. Pages share the
        first page's snapshot; an expired continue token restarts the whole list, since a
        watch must start from one consistent version. ``deadline`` as for :meth:`_pages`."""
        for _ in range(3):
            items: list[JsonDict] = []
            version = ""
            try:
                for current in self._pages(path, 500, query or {}, deadline):
                    version = version or as_str(
                        as_dict(current.doc().get("metadata")).get("resourceVersion")
                    )
                    items += current.items()
                return items, version
            except Expired:
                continue
        raise Expired(f"{self.server}{path}: the list kept expiring while it was read")

    def watch(
        self, path: str, resource_version: str, timeout_seconds: int, **query: str | int | bool
    ) -> Iterator[JsonDict]:
        """The changes (``{"type": ..., "object": ...}``, bookmarks included) of a list after
        ``resource_version``, as they happen, until the server ends the stream (after
        ``timeout_seconds``, or earlier). One request, however long it lasts: a stream the
        server keeps open past ``timeout_seconds`` (plus a margin) is cut, as is an event
        longer than :data:`MAX_WATCH_LINE_BYTES`.

        Raises :class:`Expired` when the version is older than the server's history (410,
        as a status or as an ERROR event: list again, then watch from the new version) and
        :class:`Dropped` when it cannot connect or the stream breaks off (watch again from
        the last version seen); other errors (401, 403, 404, a malformed event) as for any
        request."""
        from urllib3.exceptions import HTTPError

        q = dict(
            query,
            watch=True,
            resourceVersion=resource_version,
            timeoutSeconds=timeout_seconds,
            allowWatchBookmarks=True,
        )
        where = f"{self.server}{path}"
        # The read timeout outlasts the stream: a quiet watch is not a dead one.
        timeouts = (self.timeout, timeout_seconds + 30.0)
        try:
            raw = _bounded(lambda: self._send(path, q, "application/json", timeouts), self.timeout)
        except _TimedOut:
            raise Dropped(f"{where}: no answer within {self.timeout:g}s") from None
        except (HTTPError, OSError) as exc:
            raise Dropped(f"cannot reach {self.server}: {_one_line(exc)}") from None
        cut = threading.Timer(timeout_seconds + 30.0, lambda: _quietly(raw.shutdown))
        cut.daemon = True
        cut.start()
        try:
            if raw.status >= 400:
                body = _read_body(raw, MAX_OBJECT_BYTES, where, threading.Event(), True)
                raise _status_error(raw.status, body, path)
            _check_encoding(raw, where)
            buffer = b""
            for chunk in raw.stream(64 * 1024, decode_content=False):
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    if line.strip():
                        yield _watch_event(line, path)
                if len(buffer) > MAX_WATCH_LINE_BYTES:
                    raise ClusterError(
                        f"watch of {path}: an event longer than {MAX_WATCH_LINE_BYTES >> 20} MiB"
                    )
        except (HTTPError, OSError) as exc:
            raise Dropped(f"watch of {path} dropped: {_one_line(exc)}") from None
        finally:
            cut.cancel()
            raw.release_conn()
        if buffer.strip():
            raise Dropped(f"watch of {path} dropped mid-event")


class _TimedOut(Exception):
    pass


@contextlib.contextmanager
def _client_log() -> Iterator[list[str]]:
    """The messages the client logs (to the root logger) meanwhile, instead of the
    terminal: they quote what a credential plugin wrote on stderr."""
    import logging

    messages: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    root, capture = logging.getLogger(), Capture()
    root.addHandler(capture)  # with a handler there, logging.error() does not add its own
    try:
        yield messages
    finally:
        root.removeHandler(capture)


def _bounded(
    work: Callable[[], T], seconds: float, abandon: Callable[[], object] | None = None
) -> T:
    """``work()`` within ``seconds``, else :class:`_TimedOut` (after ``abandon()``, which
    should make the work stop, and a moment for it to do so). The work runs in a daemon
    thread, so that nothing it blocks on (a trickling body, a plugin that never answers) can
    hold the caller."""
    done = threading.Event()
    result: list[tuple[bool, Any]] = []

    def run() -> None:
        try:
            result.append((True, work()))
        except BaseException as exc:  # re-raised in the caller's thread
            result.append((False, exc))
        finally:
            done.set()

    threading.Thread(target=run, daemon=True, name="request").start()
    if not done.wait(seconds):
        if abandon is not None:
            abandon()
            done.wait(1.0)  # a moment to stop, so that nothing it does outlives the caller's
        raise _TimedOut
    ok, value = result[0]
    if ok:
        return value  # type: ignore[no-any-return]
    raise value


def _check_encoding(raw: Any, where: str) -> None:
    encoding = str(raw.headers.get("Content-Encoding") or "identity").strip().lower()
    if encoding != "identity":
        raise ClusterError(
            f"{where}: the server sent a {encoding[:40]}-encoded answer though none was asked for"
        )


def _read_body(raw: Any, cap: int, where: str, stop: threading.Event, truncate: bool) -> bytes:
    """The body, read as sent, at most ``cap`` bytes (more: an error, or with ``truncate``
    the first ``cap``), ending early when ``stop`` is set."""
    _check_encoding(raw, where)
    chunks: list[bytes] = []
    size = 0
    while not stop.is_set():
        chunk = raw.read1(min(_CHUNK, cap + 1 - size), decode_content=False)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > cap:
            if truncate:
                return b"".join(chunks)[:cap]
            raise ClusterError(f"{where}: the answer is larger than {cap >> 20} MiB")
    return b"".join(chunks)


def _quietly(action: Callable[[], object]) -> None:
    with contextlib.suppress(Exception):  # best effort, on what is being abandoned
        action()


def _kill_new_children() -> None:
    """Kill the credential plugin left running by a load that timed out: the process's
    children that are still there (none other exists while a kubeconfig loads)."""
    import signal

    me = str(os.getpid())
    try:
        entries = os.listdir("/proc")
    except OSError:
        return  # not Linux: the plugin ends on its own, or with the session
    for pid in filter(str.isdigit, entries):
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[-1].split()
        except OSError:
            continue
        if len(fields) > 1 and fields[1] == me:
            with contextlib.suppress(OSError):
                os.kill(int(pid), signal.SIGKILL)


def _watch_event(line: bytes, path: str) -> JsonDict:
    try:
        event = json.loads(line)
    except ValueError:
        raise ClusterError(f"watch of {path}: a line is not JSON") from None
    if (
        not isinstance(event, dict)
        or not isinstance(event.get("object"), dict)
        or as_str(event.get("type")) not in _WATCH_TYPES
    ):
        raise ClusterError(f"watch of {path}: not a watch event")
    if event["type"] == "ERROR":
        status = event["object"]
        code = int_or(status.get("code"), 500)
        raise _status_error(code if 400 <= code < 600 else 500, json.dumps(status).encode(), path)
    return event


_WATCH_TYPES = frozenset({"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"})


def _present(kubeconfig: str) -> bool:
    return any(os.path.isfile(os.path.expanduser(p)) for p in kubeconfig.split(os.pathsep) if p)


def _query_value(v: str | int | bool) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _status_error(code: int, body: bytes | None, path: str) -> ClusterError:
    """The apiserver's Status message, as kubectl would show it (one line, bounded: the
    body is the server's to choose)."""
    message = ""
    try:
        status = json.loads(body or b"")
        if isinstance(status, dict):
            message = _one_line(as_str(status.get("message")))
    except (ValueError, RecursionError):
        pass
    message = message if message.strip() else f"HTTP {code} for {path}"
    if code == 401:
        return ClusterError(f"Unauthorized: {message} (check your credentials or token)")
    if code == 403:
        return Forbidden(message)
    if code == 404:
        return NotFound(message)
    if code == 410:
        return Expired(message)
    return ClusterError(f"{message} (HTTP {code})")


def _one_line(exc: BaseException | str) -> str:
    """An error's text on one line, at most 300 characters, URLs without their user
    information and secrets masked: the client quotes URLs and plugins' output."""
    text = " ".join(str(exc).split())
    text = _USERINFO.sub(r"\1", text)
    return redact(text[:300]) or type(exc).__name__


_USERINFO = lazy(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]*@")


def public_url(url: str) -> str:
    """A server URL as it may be shown: without ``user:password@``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return _USERINFO.sub(r"\1", url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def _config_error(exc: BaseException) -> str:
    """Why a kubeconfig did not load, without what it holds: a YAML error quotes the
    offending line (a token, perhaps) and a credential plugin's stderr may hold one too."""
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:  # PyYAML's MarkedYAMLError, raised through the client
        return f"not valid YAML (line {mark.line + 1}, column {mark.column + 1})"
    text = _one_line(exc)
    if text.startswith("exec: process returned"):
        # ". <stderr>" follows the exit code
        return text.split(". ", 1)[0] + " (run the kubeconfig's credential plugin to see why)"
    if type(exc).__name__ == "Error" and type(exc).__module__ == "binascii":
        return "a *-data field is not valid base64"
    return text


def _incluster_namespace(service_account_dir: str) -> str:
    path = os.path.join(service_account_dir, "namespace")
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read().strip() or "default"
    except OSError:
        return "default"
