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

Kubeconfig files are merged here as kubectl merges them (the client's own merge takes the
last file's current-context), and errors are worded as kubectl words them, so that the
tool diagnoses the cluster ``kubectl`` shows and its messages can be searched for.
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit, urlunsplit

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


# A kubeconfig is a few KiB; far more is not one.
MAX_KUBECONFIG_BYTES = 16 << 20
# The entries a kubeconfig lists by name, and the key holding each entry's body.
_SECTIONS = (("clusters", "cluster"), ("contexts", "context"), ("users", "user"))
# Fields holding file paths, resolved against the directory of the file that set them, as
# client-go's ResolveLocalPaths does (GetClusterFileReferences, GetAuthInfoFileReferences in
# https://github.com/kubernetes/client-go/blob/master/tools/clientcmd/loader.go).
_CLUSTER_PATHS = ("certificate-authority",)
_USER_PATHS = ("client-certificate", "client-key", "tokenFile")


@dataclass(frozen=True)
class Kubeconfig:
    """The kubeconfig files merged as kubectl merges them, and what the chosen context names:
    what ``kubectl config view --minify`` shows, with every relative path made absolute."""

    files: tuple[str, ...]  # the files read, in the order they were merged
    context: str
    cluster: str
    user: str  # "" when the context names none: no credentials
    namespace: str  # the context's, else "default"
    server: str
    # The chosen context, its cluster and its user only; its credentials kept out of repr().
    config: JsonDict = field(repr=False)


def load_kubeconfig(settings: Settings) -> Kubeconfig | None:
    """The kubeconfig of ``settings``, merged and resolved as kubectl does it
    (ClientConfigLoadingRules.Load in client-go's ``tools/clientcmd/loader.go``):

    * ``kubeconfig`` given: that file alone, which must exist; otherwise the files of
      ``default_kubeconfig`` (KUBECONFIG's list), each path once, missing ones skipped;
    * the first file to name a cluster, context or user wins it, whole (a later file's
      entry of the same name is ignored, even its fields the first one lacks);
    * the first non-empty ``current-context`` wins; ``context`` overrides it;
    * relative paths (CA, client certificate and key, token file, a credential plugin's
      command when it has a ``/``) are resolved against their own file's directory.

    Returns None when there is no kubeconfig at all (no file, or only empty ones, and no
    context asked for): the in-cluster fallback's turn. Raises :class:`ClusterError` with
    kubectl's words for a file that does not load and for a context, cluster or user that
    does not exist."""
    paths, explicit = _kubeconfig_paths(settings)
    docs = [(path, doc) for path in paths if (doc := _read_kubeconfig(path, explicit)) is not None]
    entries, current = _merge_kubeconfigs(docs)
    if not explicit and not settings.context and not any(entries.values()) and not current:
        return None
    return _choose(entries, settings.context or current, tuple(path for path, _ in docs))


def _kubeconfig_paths(settings: Settings) -> tuple[list[str], bool]:
    if settings.kubeconfig:
        return [os.path.expanduser(settings.kubeconfig)], True
    seen: set[str] = set()
    paths = []
    for path in settings.default_kubeconfig.split(os.pathsep):
        if path and path not in seen:  # client-go's deduplicate(): the same file once
            seen.add(path)
            paths.append(os.path.expanduser(path))
    return paths, False


def _read_kubeconfig(path: str, explicit: bool) -> JsonDict | None:
    """One kubeconfig file as a dict; None when it does not exist and was not asked for by
    name. An empty file is an empty kubeconfig, as for kubectl."""
    from podinit_diag.sources.files import parse_document

    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_KUBECONFIG_BYTES + 1)
    except FileNotFoundError:
        if explicit:  # kubectl: "stat PATH: no such file or directory"
            raise ClusterError(f"stat {path}: no such file or directory") from None
        return None
    except OSError as exc:
        raise _file_error(path, _os_error(exc)) from None
    if len(data) > MAX_KUBECONFIG_BYTES:
        raise _file_error(path, f"larger than {MAX_KUBECONFIG_BYTES >> 20} MiB")
    if not data.strip():
        return {}
    try:
        doc = parse_document(data, path)
    except InputError as exc:
        raise _file_error(path, _parse_problem(str(exc), path)) from None
    if not isinstance(doc, dict):
        raise _file_error(path, "not a kubeconfig (no mapping at the top)")
    return doc


def _file_error(path: str, why: str) -> ClusterError:
    # kubectl: error loading config file "PATH": WHY
    return ClusterError(f'error loading config file "{path}": {why}')


def _parse_problem(message: str, path: str) -> str:
    """Why the file is not JSON or YAML, without the YAML parser's description of the
    problem, which may quote the file (a token, perhaps): only where it is."""
    message = message.removeprefix(f"{path}: ")
    where = _YAML_AT.match(message)
    if where:
        return f"not valid YAML (line {where[1]}, column {where[2]})"
    return message


_YAML_AT = lazy(r"invalid YAML at line (\d+) column (\d+)")


def _os_error(exc: OSError) -> str:
    text = exc.strerror or str(exc)
    return text[:1].lower() + text[1:]


Entries = dict[str, dict[str, tuple[str, JsonDict]]]


def _merge_kubeconfigs(docs: list[tuple[str, JsonDict]]) -> tuple[Entries, str]:
    """Every cluster, context and user by name, each with the file it came from (the first
    file to name it), and the first non-empty current-context."""
    entries: Entries = {section: {} for section, _ in _SECTIONS}
    current = ""
    for path, doc in docs:
        for section, key in _SECTIONS:
            listed = doc.get(section)
            if listed is None:
                continue
            if not isinstance(listed, list):
                raise _file_error(path, f"{section} is not a list")
            named: set[str] = set()
            for i, entry in enumerate(listed):
                if not isinstance(entry, dict):
                    raise _file_error(path, f"{section}[{i}] is not a mapping")
                name = entry.get("name")
                name = "" if name is None else name
                body = entry.get(key)
                body = {} if body is None else body
                if not isinstance(name, str):
                    raise _file_error(path, f"{section}[{i}].name is not a string")
                if not isinstance(body, dict):
                    raise _file_error(path, f"{section}[{i}].{key} is not a mapping")
                if name in named:  # within one file kubectl refuses it; across files, first wins
                    raise _file_error(path, f'duplicate name "{name}" in {section}')
                named.add(name)
                entries[section].setdefault(name, (path, body))
        chosen = doc.get("current-context")
        if chosen is not None and not isinstance(chosen, str):
            raise _file_error(path, "current-context is not a string")
        current = current or chosen or ""
    return entries, current


def _choose(entries: Entries, name: str, files: tuple[str, ...]) -> Kubeconfig:
    """The context ``name``, checked as client-go's ConfirmUsable checks it, with kubectl's
    words for what is missing (https://github.com/kubernetes/client-go/blob/master/tools/
    clientcmd/validation.go)."""
    if not name:
        # kubectl falls back to localhost:8080 and fails there; saying why is clearer.
        raise ClusterError("current-context is not set in the kubeconfig; name one with --context")
    contexts = entries["contexts"]
    if name not in contexts:
        close = difflib.get_close_matches(name, list(contexts), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ClusterError(f"context was not found for specified context: {name}{hint}")
    context_file, context = contexts[name]
    cluster_name = _entry_field(context, "cluster", context_file, f'context "{name}"')
    user_name = _entry_field(context, "user", context_file, f'context "{name}"')
    namespace = _entry_field(context, "namespace", context_file, f'context "{name}"')
    if not cluster_name:
        raise ClusterError(f'cluster was not specified for context "{name}"')
    if cluster_name not in entries["clusters"]:
        raise ClusterError(f'cluster "{cluster_name}" was not found for context "{name}"')
    if user_name and user_name not in entries["users"]:
        raise ClusterError(f'user "{user_name}" was not found for context "{name}"')
    if namespace and not _DNS_LABEL.fullmatch(namespace):
        raise ClusterError(
            f'namespace "{namespace}" for context "{name}" does not conform to the kubernetes '
            "DNS_LABEL rules"
        )
    cluster_file, cluster = entries["clusters"][cluster_name]
    cluster = _resolved(cluster, cluster_file, _CLUSTER_PATHS)
    server = _entry_field(cluster, "server", cluster_file, f'cluster "{cluster_name}"')
    if not server:
        raise ClusterError(f'no server found for cluster "{cluster_name}"')
    _check_readable(cluster, "certificate-authority", "certificate-authority", cluster_name)
    users: list[JsonDict] = []
    if user_name:
        user_file, user = entries["users"][user_name]
        user = _resolved(user, user_file, _USER_PATHS)
        _check_readable(user, "client-certificate", "client-cert", user_name)
        _check_readable(user, "client-key", "client-key", user_name)
        users.append({"name": user_name, "user": user})
    config: JsonDict = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster_name, "cluster": cluster}],
        "contexts": [{"name": name, "context": dict(context)}],
        "users": users,
        "current-context": name,
        "preferences": {},
    }
    return Kubeconfig(
        files=files,
        context=name,
        cluster=cluster_name,
        user=user_name,
        namespace=namespace or "default",
        server=server,
        config=config,
    )


_DNS_LABEL = lazy(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


def _entry_field(body: JsonDict, key: str, path: str, what: str) -> str:
    value = body.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _file_error(path, f"{key} of {what} is not a string")
    return value


def _resolved(body: JsonDict, path: str, fields: tuple[str, ...]) -> JsonDict:
    """A copy of a cluster's or user's body with its relative paths made absolute against
    the directory of ``path``, the file that set it (kubectl's ResolveLocalPaths)."""
    base = os.path.dirname(os.path.abspath(path))
    body = copy.deepcopy(body)

    def resolve(holder: dict[str, Any], key: str) -> None:
        value = holder.get(key)
        if isinstance(value, str) and value and not os.path.isabs(value):
            holder[key] = os.path.join(base, value)

    for key in fields:
        resolve(body, key)
    plugin = body.get("exec")
    # A plugin named without a directory is looked up on PATH, as kubectl does.
    if isinstance(plugin, dict) and os.sep in str(plugin.get("command") or ""):
        resolve(plugin, "command")
    return body


def _check_readable(body: JsonDict, key: str, label: str, owner: str) -> None:
    """A file the kubeconfig names that cannot be opened, in kubectl's words
    (validateClusterInfo, validateAuthInfo in client-go's validation.go)."""
    path = body.get(key)
    if not isinstance(path, str) or not path:
        return
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise ClusterError(
            f"unable to read {label} {path} for {owner} due to open {path}: {_os_error(exc)}"
        ) from None


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
    """An authenticated, read-only connection to one cluster: ``server`` (its URL),
    ``namespace`` (the context's, or the service account's in a pod) and ``context`` (the
    kubeconfig context used; "" in a pod without one)."""

    def __init__(self, settings: Settings) -> None:
        from kubernetes.client.api_client import ApiClient
        from kubernetes.client.configuration import Configuration
        from kubernetes.config.config_exception import ConfigException
        from kubernetes.config.incluster_config import InClusterConfigLoader
        from kubernetes.config.kube_config import load_kube_config_from_dict

        self.timeout = settings.timeout
        config = Configuration()
        chosen = load_kubeconfig(settings)
        if chosen is not None:
            merged: Kubeconfig = chosen

            # The client gets one context, already merged and resolved: its own merge of
            # several files would take the last file's current-context.
            def load() -> None:
                load_kube_config_from_dict(
                    merged.config,
                    context=merged.context,
                    client_configuration=config,
                    persist_config=False,
                )

            try:
                # A credential plugin (exec) runs while the kubeconfig loads: bounded, and a
                # hung one is killed rather than left behind. The client logs its failure
                # (with the plugin's stderr) instead of raising it: caught here, it is the
                # error to show.
                with _client_log() as logged:
                    _bounded(load, settings.credential_timeout, _kill_new_children)
                failed = [m for m in logged if m.startswith("exec:")]
                if failed:
                    raise ConfigException(failed[0])
            except _TimedOut:
                raise ClusterError(
                    f"the kubeconfig's credential plugin did not answer within "
                    f"{settings.credential_timeout:g}s"
                ) from None
            except Exception as exc:
                # The client's parsers raise anything (bad base64, a field of the wrong
                # type, a plugin that failed): the kubeconfig is unusable.
                raise ClusterError(f"cannot load kubeconfig: {_config_error(exc)}") from None
            namespace, self.context = chosen.namespace, chosen.context
        else:
            sa = settings.service_account_dir
            loader_args: dict[str, Any] = {
                "token_filename": os.path.join(sa, "token"),
                "cert_filename": os.path.join(sa, "ca.crt"),
            }
            if settings.environ is not None:
                loader_args["environ"] = settings.environ
            try:
                InClusterConfigLoader(**loader_args).load_and_set(config)
            except (ConfigException, OSError):
                raise ClusterError(
                    "no kubeconfig found (set --kubeconfig or KUBECONFIG) and not running in a "
                    "cluster"
                ) from None
            namespace, self.context = _incluster_namespace(sa), ""
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
            raise ClusterError(self._timed_out(path)) from None
        except (HTTPError, OSError) as exc:
            raise ClusterError(self._unreachable(exc, path)) from None
        if status >= 400:
            raise _status_error(status, body, path)
        return body

    def _timed_out(self, path: str) -> str:
        # kubectl says "Unable to connect to the server: context deadline exceeded"; which
        # request, and the flag that sets the deadline, say more.
        return (
            f"Unable to connect to the server: no complete answer from {self.server} to GET "
            f"{path} within {self.timeout:g}s (--request-timeout)"
        )

    def _unreachable(self, exc: BaseException, path: str) -> str:
        """A request that got no answer, in kubectl's words (StandardErrorMessage in
        https://github.com/kubernetes/kubectl/blob/master/pkg/cmd/util/helpers.go): the
        refused connection with its host, otherwise "Unable to connect to the server: "
        and why, worded as Go's network and TLS errors are."""
        from urllib3.exceptions import ProxyError

        causes = _causes(exc)
        why = _specific_problem(causes, self.server)
        if why is None and _is_timeout(causes):
            return self._timed_out(path)
        why = why or _network_problem(causes, self.server)
        if any(isinstance(c, ProxyError) for c in causes):
            return f"Unable to connect to the server: proxyconnect tcp: {why}"
        if why == "connection refused":
            host = urlsplit(self.server).netloc
            return (
                f"The connection to the server {host} was refused - did you specify the right "
                "host or port?"
            )
        return f"Unable to connect to the server: {why}"

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
            raise Dropped(self._unreachable(exc, path)) from None
        cut = threading.Timer(timeout_seconds + 30.0, lambda: _quietly(raw.shutdown))
        cut.daemon = True
        cut.start()
        try:
            if raw.status >= 400:
                body = _read_body(raw, MAX_OBJECT_BYTES, where, threading.Event(), True)
                raise _status_error(raw.status, body, path, watch=True)
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
            why = _network_problem(_causes(exc), self.server)
            raise Dropped(f"watch of {path} dropped: {why}") from None
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
        code = code if 400 <= code < 600 else 500
        raise _status_error(code, json.dumps(status).encode(), path, watch=True)
    return event


_WATCH_TYPES = frozenset({"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"})


def _query_value(v: str | int | bool) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _status_error(code: int, body: bytes | None, path: str, watch: bool = False) -> ClusterError:
    """An error answer as kubectl shows it: the apiserver's Status message (one line,
    bounded: the body is the server's to choose), else kubectl's words for the code
    (NewGenericServerResponse in https://github.com/kubernetes/apimachinery/blob/master/
    pkg/api/errors/errors.go)."""
    message = ""
    text = ""
    try:
        status = json.loads(body or b"")
        if isinstance(status, dict):
            message = _one_line(as_str(status.get("message")))
    except (ValueError, RecursionError):
        # Not a Status: a proxy's page, or plain text. Shown only for a server error.
        text = _one_line((body or b"")[:200].decode("utf-8", "replace"))
    message = message.strip()
    request = _ApiRequest.parse(path, watch)
    if code == 401:
        # kubectl: error: You must be logged in to the server (MESSAGE)
        why = message or "the server has asked for the client to provide credentials"
        return ClusterError(f"You must be logged in to the server ({why})")
    if code == 403:
        return Forbidden(message or request.forbidden())
    if code == 404:
        return NotFound(message or request.not_found())
    if code == 410:
        return Expired(message or f"the list or watch of {path} has expired")
    if not message:
        message = _GENERIC.get(code, "")
        if not message and code >= 500:
            message = f'an error on the server ("{text}") has prevented the request from succeeding'
        message = message or (
            f"the server responded with the status code {code} but did not return more information"
        )
    return ClusterError(f"{message} (HTTP {code})")


# kubectl's words for an error answer that carries no message (NewGenericServerResponse).
_GENERIC = {
    400: "the server rejected our request for an unknown reason",
    405: "the server does not allow this method on the requested resource",
    409: "the server reported a conflict",
    422: "the server rejected our request due to an error in our request",
    429: "the server has received too many requests and has asked us to try again later",
    503: "the server is currently unable to handle the request",
    504: (
        "the server was unable to return a response in the time allotted, but may still be "
        "processing the request"
    ),
}


@dataclass(frozen=True)
class _ApiRequest:
    """What a GET asked for, as the apiserver's authorizer sees it: enough to word a 403 or
    404 whose body says nothing."""

    path: str
    verb: str
    group: str = ""
    namespace: str = ""
    resource: str = ""
    name: str = ""
    subresource: str = ""

    @classmethod
    def parse(cls, path: str, watch: bool = False) -> _ApiRequest:
        parts = [unquote(p) for p in path.split("?", 1)[0].strip("/").split("/")]
        if parts[0] == "api" and len(parts) > 2:
            group, rest = "", parts[2:]
        elif parts[0] == "apis" and len(parts) > 3:
            group, rest = parts[1], parts[3:]
        else:
            return cls(path, "get")  # discovery, /version: not a resource
        namespace = ""
        if rest[0] == "namespaces" and len(rest) > 2:
            namespace, rest = rest[1], rest[2:]
        resource, name = rest[0], rest[1] if len(rest) > 1 else ""
        if resource == "namespaces" and name:
            namespace = name  # the authorizer sees a namespace's own name as its namespace
        verb = "watch" if watch else "get" if name else "list"
        sub = "/".join(rest[2:])
        return cls(path, verb, group, namespace, resource, name, sub)

    def _subject(self) -> str:
        qualified = f"{self.resource}.{self.group}" if self.group else self.resource
        return f'{qualified} "{self.name}"' if self.name else qualified

    def forbidden(self) -> str:
        """The apiserver's sentence, less the user, whom only the server knows (NewForbidden
        in errors.go, forbiddenMessage in https://github.com/kubernetes/apiserver/blob/
        master/pkg/endpoints/handlers/responsewriters/errors.go)."""
        if not self.resource:
            return f'forbidden: cannot {self.verb} path "{self.path}"'
        what = f"{self.resource}/{self.subresource}" if self.subresource else self.resource
        scope = f'in the namespace "{self.namespace}"' if self.namespace else "at the cluster scope"
        return (
            f'{self._subject()} is forbidden: cannot {self.verb} resource "{what}" in API '
            f'group "{self.group}" {scope}'
        )

    def not_found(self) -> str:
        if self.resource and self.name:
            return f"{self._subject()} not found"
        return "the server could not find the requested resource"


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps (urllib3 keeps the cause in ``reason``, in ``args`` and in
    ``__cause__``), outermost first."""
    seen: list[BaseException] = []
    todo = [exc]
    while todo and len(seen) < 20:
        current = todo.pop(0)
        if any(current is s for s in seen):
            continue
        seen.append(current)
        inner = [getattr(current, "reason", None), current.__cause__, current.__context__]
        inner += list(current.args)
        todo += [e for e in inner if isinstance(e, BaseException)]
    return seen


def _network_problem(causes: list[BaseException], server: str) -> str:
    """Why a connection failed or broke off, worded as Go's net and crypto/tls errors are
    (kubectl prints them after "Unable to connect to the server: ")."""
    specific = _specific_problem(causes, server)
    if specific:
        return specific
    for c in causes:
        if isinstance(c, ConnectionResetError):
            return "read: connection reset by peer"
        if isinstance(c, (ConnectionError, EOFError)) or type(c).__name__ in _CLOSED:
            return "EOF (the server closed the connection)"
    for c in reversed(causes):  # the innermost that says something
        if isinstance(c, OSError) and c.strerror:
            return _os_error(c)
    # Nothing recognised: the innermost text, without what only a Python programmer reads
    # (a class name, an "[Errno N]").
    return _one_line(str(causes[-1]).rsplit("]", 1)[-1].strip() or "the request failed")


def _specific_problem(causes: list[BaseException], server: str) -> str | None:
    """A refused connection, a name that does not resolve, a failed TLS handshake; None
    for anything else (a timeout among them: urllib3's connection errors derive from its
    timeout error, so these are looked for first)."""
    import socket
    import ssl

    for c in causes:
        if isinstance(c, ssl.SSLCertVerificationError):
            return f"tls: failed to verify certificate: {_x509(c)}"
    for c in causes:
        if isinstance(c, ConnectionRefusedError):
            return "connection refused"
        if isinstance(c, socket.gaierror):
            host = urlsplit(server).hostname or server
            if c.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)):
                return f"dial tcp: lookup {host}: no such host"
            return f"dial tcp: lookup {host}: {_os_error(c)}"
        if isinstance(c, ssl.SSLError):
            return _tls_problem(c)
    return None


def _is_timeout(causes: list[BaseException]) -> bool:
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ReadTimeoutError

    return any(
        isinstance(c, (TimeoutError, ReadTimeoutError))
        or (isinstance(c, ConnectTimeoutError) and not isinstance(c, NewConnectionError))
        for c in causes
    )


_CLOSED = frozenset({"RemoteDisconnected", "IncompleteRead", "ProtocolError"})

# OpenSSL's verification codes, in Go's words (crypto/x509's CertificateInvalidError,
# UnknownAuthorityError, HostnameError).
_X509 = {
    2: "x509: certificate signed by unknown authority",
    9: "x509: certificate has expired or is not yet valid",
    10: "x509: certificate has expired or is not yet valid",
    18: "x509: certificate signed by unknown authority",
    19: "x509: certificate signed by unknown authority",
    20: "x509: certificate signed by unknown authority",
    21: "x509: certificate signed by unknown authority",
}
_NOT_VALID_FOR = lazy(r"not valid for '([^']*)'")


def _x509(exc: BaseException) -> str:
    code = getattr(exc, "verify_code", 0)
    message = str(getattr(exc, "verify_message", "") or "")
    if code in _X509:
        return _X509[code]
    name = _NOT_VALID_FOR.search(message)
    if name:  # 62, 64: Go names the certificate's names too; Python's error does not
        return f"x509: certificate is not valid for {_one_line(name[1])}"
    return f"x509: {_one_line(message or 'certificate verify failed').lower()}"


def _tls_problem(exc: BaseException) -> str:
    """A handshake that failed for another reason than the server's certificate, in Go's
    words where it has them (``tls: bad certificate`` is the server refusing ours)."""
    reason = str(getattr(exc, "reason", "") or "")
    if reason == "WRONG_VERSION_NUMBER":  # a server that does not speak TLS
        return "tls: first record does not look like a TLS handshake"
    words = reason.lower().replace("_", " ")
    for alert in ("tlsv1 alert ", "sslv3 alert "):
        if words.startswith(alert):  # the server's alert: Go says "remote error: tls: ..."
            return f"remote error: tls: {words.removeprefix(alert)}"
    return f"tls: {words or _one_line(exc)}"


def _one_line(exc: BaseException | str) -> str:
    """An error's text on one line, at most 300 characters, URLs without their user
    information and secrets masked: the client quotes URLs and plugins' output."""
    text = " ".join(str(exc).split())
    text = _USERINFO.sub(r"\1", text)
    return redact(text[:300])


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
    """Why the client could not use the chosen context, without what the kubeconfig holds:
    a credential plugin's stderr may hold a token."""
    text = _one_line(exc)
    if text.startswith("exec: process returned"):
        # ". <stderr>" follows the exit code
        return text.split(". ", 1)[0] + " (run the kubeconfig's credential plugin to see why)"
    if type(exc).__name__ == "Error" and type(exc).__module__ == "binascii":
        return "a *-data field is not valid base64"
    return text or "the kubernetes client gave no reason"


def _incluster_namespace(service_account_dir: str) -> str:
    path = os.path.join(service_account_dir, "namespace")
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read().strip() or "default"
    except OSError:
        return "default"


_SERIALIZER: list[Any] = []


def to_json_object(model: object) -> Any:
    """An object of the official client's models (``V1Pod``, ``CoreV1Event``,
    ``CoreV1EventList``...) as the API's JSON, through the client's own serializer
    (``ApiClient.sanitize_for_serialization``: camelCase keys as the API names them, times
    as ISO 8601 strings, unset fields left out): what ``podinit_diag.diagnose`` reads."""
    if not _SERIALIZER:
        from kubernetes.client import ApiClient

        _SERIALIZER.append(ApiClient())  # stateless for serializing: one is enough
    return _SERIALIZER[0].sanitize_for_serialization(model)
