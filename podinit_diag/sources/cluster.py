"""Reading a live cluster: the only module that imports the ``kubernetes`` client.

The client is used for what it is good at (kubeconfig and contexts, in-cluster
service accounts, exec/OIDC token refresh, TLS) and nothing else: requests go
through its generic call path and answers are parsed as raw JSON into dicts, never
into the client's model objects (10k pods as models cost 19 s and 1.6 GB; as dicts
2.5 s). Requests are GET only, with a bounded timeout and no retries.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from podinit_diag.core.access import JsonDict, as_dict
from podinit_diag.core.errors import InputError


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
        for item in self.doc().get("items") or []:
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
    meta = item.get("metadata") or {}
    return f"{meta.get('namespace') or ''}/{meta.get('name') or ''}"


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
        try:
            config_file = settings.kubeconfig or settings.default_kubeconfig
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
            namespace = (chosen or {}).get("context", {}).get("namespace") or "default"
        except (ConfigException, FileNotFoundError, OSError) as exc:
            # A kubeconfig that exists but does not load (a CA file gone, a bad context)
            # is the error to show, not the in-cluster fallback's.
            if settings.kubeconfig or settings.context or _present(settings.default_kubeconfig):
                raise ClusterError(f"cannot load kubeconfig: {_one_line(exc)}") from None
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
        # One attempt per request: a dead endpoint should fail fast, not be retried quietly.
        config.retries = 0
        if settings.proxy and not config.proxy:
            config.proxy = settings.proxy
            config.no_proxy = settings.no_proxy
        self.namespace = namespace
        self.server = config.host
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
        """Start a GET (authenticated by the client, counted); the body is still to read."""
        params = [(k, _query_value(v)) for k, v in query.items()]
        method, url, headers, _, _ = self._api.param_serialize(
            method="GET",
            resource_path=path,
            query_params=params,
            header_params={"Accept": accept},
            auth_settings=["BearerToken"],
        )
        with self._lock:
            self.requests += 1
        return self._api.call_api(method, url, header_params=headers, _request_timeout=timeout)

    def _request(
        self,
        path: str,
        query: Mapping[str, str | int | bool],
        accept: str = "application/json, */*",
    ) -> Any:
        from urllib3.exceptions import HTTPError

        try:
            response = self._send(path, query, accept, self.timeout)
            response.read()
        except HTTPError as exc:
            raise ClusterError(f"cannot reach {self.server}: {_one_line(exc)}") from None
        if response.status >= 400:
            raise _status_error(response.status, response.data, path)
        return response.data

    def get(self, path: str, **query: str | int | bool) -> dict[str, Any]:
        """GET a JSON object (a resource or a list) as a dict."""
        return Page(self._bytes(path, query), f"{self.server}{path}").doc()

    def get_metadata(self, path: str) -> dict[str, Any]:
        """GET only an object's metadata (PartialObjectMetadata): how Secrets are checked for
        existence without their values ever crossing the wire."""
        accept = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
        data = self._request(path, {}, accept=accept)
        try:
            doc = json.loads(data)
        except ValueError:
            raise ClusterError(f"{self.server}{path}: the answer is not JSON") from None
        return doc if isinstance(doc, dict) else {}

    def get_text(self, path: str, **query: str | int | bool) -> bytes:
        """GET a plain-text body (container logs)."""
        return self._bytes(path, query)

    def _bytes(self, path: str, query: Mapping[str, str | int | bool]) -> bytes:
        data = self._request(path, query)
        return data if isinstance(data, bytes) else str(data).encode()

    def _pages(self, path: str, page: int, query: Mapping[str, str | int | bool]) -> Iterator[Page]:
        """A list's pages, still encoded, following continue tokens; :class:`Expired` when
        one expires."""
        token = ""
        where = f"{self.server}{path}"
        while True:
            current = Page(
                self._bytes(path, dict(query, limit=page) | ({"continue": token} if token else {})),
                where,
            )
            yield current
            token = current.continue_token()
            if not token:
                return

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

    def list_snapshot(self, path: str, **query: str | int | bool) -> tuple[list[JsonDict], str]:
        """Every item of a list and the resourceVersion to watch it from. Pages share the
        first page's snapshot; an expired continue token restarts the whole list, since a
        watch must start from one consistent version."""
        for _ in range(3):
            items: list[JsonDict] = []
            version = ""
            try:
                for current in self._pages(path, 500, query):
                    doc = current.doc()
                    version = version or str(
                        as_dict(doc.get("metadata")).get("resourceVersion") or ""
                    )
                    items += [i for i in doc.get("items") or [] if isinstance(i, dict)]
                return items, version
            except Expired:
                continue
        raise Expired(f"{self.server}{path}: the list kept expiring while it was read")

    def watch(
        self, path: str, resource_version: str, timeout_seconds: int, **query: str | int | bool
    ) -> Iterator[JsonDict]:
        """The changes (``{"type": ..., "object": ...}``, bookmarks included) of a list after
        ``resource_version``, as they happen, until the server ends the stream (after
        ``timeout_seconds``, or earlier). One request, however long it lasts.

        Raises :class:`Expired` when the version is older than the server's history (410,
        as a status or as an ERROR event: list again, then watch from the new version) and
        :class:`Dropped` when it cannot connect or the stream breaks off (watch again from
        the last version seen); other errors (401, 403, 404) as for any request."""
        from urllib3.exceptions import HTTPError

        q = dict(
            query,
            watch=True,
            resourceVersion=resource_version,
            timeoutSeconds=timeout_seconds,
            allowWatchBookmarks=True,
        )
        try:
            # The read timeout outlasts the stream: a quiet watch is not a dead one.
            response = self._send(path, q, "application/json", (self.timeout, timeout_seconds + 30))
        except HTTPError as exc:
            raise Dropped(f"cannot reach {self.server}: {_one_line(exc)}") from None
        raw = response.response
        if response.status >= 400:
            raise _status_error(response.status, raw.data, path)
        buffer = b""
        try:
            for chunk in raw.stream(64 * 1024, decode_content=True):
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    if line.strip():
                        yield _watch_event(line, path)
        except HTTPError as exc:
            raise Dropped(f"watch of {path} dropped: {_one_line(exc)}") from None
        finally:
            raw.release_conn()
        if buffer.strip():
            raise Dropped(f"watch of {path} dropped mid-event")


def _watch_event(line: bytes, path: str) -> JsonDict:
    try:
        event = json.loads(line)
    except ValueError:
        raise ClusterError(f"watch of {path}: a line is not JSON") from None
    if not isinstance(event, dict) or not isinstance(event.get("object"), dict):
        raise ClusterError(f"watch of {path}: not a watch event")
    if event.get("type") == "ERROR":
        status = event["object"]
        raise _status_error(int(status.get("code") or 500), json.dumps(status).encode(), path)
    return event


def _present(kubeconfig: str) -> bool:
    return any(os.path.isfile(os.path.expanduser(p)) for p in kubeconfig.split(os.pathsep) if p)


def _query_value(v: str | int | bool) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _status_error(code: int, body: bytes | None, path: str) -> ClusterError:
    """The apiserver's Status message, as kubectl would show it."""
    message = ""
    try:
        status = json.loads(body or b"")
        if isinstance(status, dict):
            message = str(status.get("message") or "")
    except ValueError:
        pass
    message = message or f"HTTP {code} for {path}"
    if code == 401:
        return ClusterError(f"Unauthorized: {message} (check your credentials or token)")
    if code == 403:
        return Forbidden(message)
    if code == 404:
        return NotFound(message)
    if code == 410:
        return Expired(message)
    return ClusterError(f"{message} (HTTP {code})")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] or type(exc).__name__


def _incluster_namespace(service_account_dir: str) -> str:
    path = os.path.join(service_account_dir, "namespace")
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read().strip() or "default"
    except OSError:
        return "default"
