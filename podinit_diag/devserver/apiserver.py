"""A small, read-only Kubernetes API server over bundles (DESIGN.md §8).

No real kube-apiserver can run where this project is developed and tested, so this module
serves captured bundles (:func:`podinit_diag.sources.files.load_path`) over the real Kubernetes REST
API, well enough for the official ``kubernetes`` Python client and the real ``kubectl``
binary to talk to it:

* discovery (``/version``, ``/api``, ``/api/v1``, ``/apis``, ``/apis/<group>/<version>``),
* namespaces, pods (one, per namespace, across namespaces; ``limit``/``continue``,
  ``labelSelector``, ``fieldSelector``), a pod's ``log`` (``container``, ``previous``,
  ``tailLines``), events (``fieldSelector``),
* the related objects of ``related.json``: Services, Endpoints, EndpointSlices, ConfigMaps,
  Secrets (metadata and type only: values are never served), nodes, PVCs/PVs and the owner
  workloads (ReplicaSets, Deployments, StatefulSets, DaemonSets, Jobs, CronJobs),
* ``meta.k8s.io/v1`` ``Table`` responses when asked for (``kubectl get`` prints those),
* apiserver-style ``Status`` bodies for 400/401/403/404/405/410,
* **watch** on every collection (``?watch=true`` or a legacy ``/watch/`` path; selectors,
  ``resourceVersion``, ``timeoutSeconds``, ``allowWatchBookmarks``, ``sendInitialEvents``,
  Table events for ``kubectl get -w``), over a **scripted timeline**: a sequence of
  :class:`Step` whose successive states the server replays, in real time (``speed``-scaled)
  or step by step (``clock="manual"``), as ADDED/MODIFIED/DELETED changes with increasing
  resourceVersions, a retained history (``compact()`` forgets it: 410 Expired) and test hooks
  (``drop_watches()``, ``open_watches``).

It is **read-only** (every method but GET is answered 405), listens on **loopback only**
(127.0.0.1, an ephemeral port), speaks TLS with a CA and server certificate generated at
start, and requires a bearer token. It exists for tests (the live path is tested against it
with real clients, no mocks), for ``initdoctor --demo`` (the whole live path against built-in
scenarios) and for ``initdoctor --serve`` (browse a captured incident offline with kubectl).
It is not a Kubernetes implementation: no write, no RBAC beyond ``forbidden_namespaces`` and
``namespaced_only``; objects change only as a timeline says.

Example::

    with ApiServer(load_path("bundles/")) as srv:
        srv.write_kubeconfig("/tmp/kubeconfig", namespace="orders")
        # kubectl --kubeconfig /tmp/kubeconfig get pods

    steps = [Step(0, [pending]), Step(30, [init_running]), Step(95, [crashlooping])]
    with ApiServer([], timeline=steps, clock="manual") as srv:
        ...  # a client watches pods
        srv.advance()  # the watch sees MODIFIED
"""

from __future__ import annotations

import bisect
import contextlib
import copy
import datetime as dt
import hmac
import ipaddress
import itertools
import json
import math
import os
import re
import secrets
import select
import shutil
import socket
import ssl
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qs, urlsplit

from podinit_diag.core.access import JsonDict
from podinit_diag.core.kubestatus import pod_status
from podinit_diag.core.kubetime import parse_time, translate_timestamp_since
from podinit_diag.core.model import Bundle

__all__ = ["USER", "ApiError", "ApiServer", "Step", "TestApiServer"]


# The identity the bearer token stands for; it appears in 403 messages like the real one.
USER = "system:serviceaccount:test:initdoctor"
SERVER_VERSION = {
    "major": "1",
    "minor": "34",
    "gitVersion": "v1.34.0-initdoctor",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-01-01T00:00:00Z",
    "goVersion": "go1.24.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}
# Paths real clusters serve to anonymous users (system:public-info-viewer).
PUBLIC_PATHS = frozenset({"/version", "/healthz", "/livez", "/readyz"})
MAX_DISCARDED_BODY = 1024 * 1024
MAX_CONTINUE_TOKENS = 10_000  # issued tokens are remembered; the oldest expire (410) first
EXPIRED_MESSAGE = (
    "The provided continue parameter is too old to display a consistent list result. You can"
    " start a new list without the continue parameter, or use the continue token in this"
    " response to retrieve the remainder of the results. Continuing with the provided token"
    " results in an inconsistent list - objects that were created, modified, or deleted"
    " between the time the first chunk was returned and now may show up in the list."
)


@dataclass(frozen=True)
class Resource:
    """One served resource type, as discovery describes it."""

    group: str  # "" for the core group
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    # field selectors the real apiserver accepts beyond metadata.name/metadata.namespace
    fields: tuple[str, ...] = ()

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        """``pods`` or ``deployments.apps``: how apiserver messages name a resource."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


_EVENT_FIELDS = (
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
)
RESOURCES: tuple[Resource, ...] = (
    Resource("", "v1", "namespaces", "Namespace", False, ("ns",), ("status.phase",)),
    Resource(
        "",
        "v1",
        "pods",
        "Pod",
        True,
        ("po",),
        (
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ),
    ),
    Resource("", "v1", "events", "Event", True, ("ev",), _EVENT_FIELDS),
    Resource("", "v1", "services", "Service", True, ("svc",)),
    Resource("", "v1", "endpoints", "Endpoints", True, ("ep",)),
    Resource("", "v1", "configmaps", "ConfigMap", True, ("cm",)),
    Resource("", "v1", "secrets", "Secret", True, (), ("type",)),
    Resource("", "v1", "nodes", "Node", False, ("no",), ("spec.unschedulable",)),
    Resource("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, ("pvc",)),
    Resource("", "v1", "persistentvolumes", "PersistentVolume", False, ("pv",)),
    Resource("apps", "v1", "replicasets", "ReplicaSet", True, ("rs",)),
    Resource("apps", "v1", "deployments", "Deployment", True, ("deploy",)),
    Resource("apps", "v1", "statefulsets", "StatefulSet", True, ("sts",)),
    Resource("apps", "v1", "daemonsets", "DaemonSet", True, ("ds",)),
    Resource("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True),
    Resource("batch", "v1", "jobs", "Job", True),
    Resource("batch", "v1", "cronjobs", "CronJob", True, ("cj",)),
    Resource("storage.k8s.io", "v1", "storageclasses", "StorageClass", False, ("sc",)),
    Resource("storage.k8s.io", "v1", "volumeattachments", "VolumeAttachment", False),
)
_BY_PATH: dict[tuple[str, str], Resource] = {(r.group_version, r.plural): r for r in RESOURCES}
_BY_KIND: dict[str, Resource] = {r.kind: r for r in RESOURCES}
GROUP_VERSIONS: tuple[str, ...] = tuple(
    dict.fromkeys(r.group_version for r in RESOURCES if r.group)
)
_CATEGORY_ALL = frozenset(
    {"pods", "services", "replicasets", "deployments", "statefulsets", "daemonsets", "jobs"}
    | {"cronjobs"}
)


class ApiError(Exception):
    """An error answered as an apiserver ``Status`` body."""

    def __init__(
        self, code: int, reason: str, message: str, details: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = dict(details or {})

    def status(self) -> JsonDict:
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "details": self.details,
            "code": self.code,
        }


def _not_found(resource: Resource | None = None, name: str = "") -> ApiError:
    if resource is None:
        return ApiError(404, "NotFound", "the server could not find the requested resource")
    return ApiError(
        404,
        "NotFound",
        f'{resource.group_resource} "{name}" not found',
        {"name": name, "group": resource.group, "kind": resource.plural},
    )


def _bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


# --- query parameters ------------------------------------------------------------------------


def parse_bool(value: str) -> bool:
    """Go's ``strconv.ParseBool``, which the apiserver uses for boolean query parameters."""
    if value in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if value in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise _bad_request(f'strconv.ParseBool: parsing "{value}": invalid syntax')


def _parse_int(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise _bad_request(f'strconv.ParseInt: parsing "{value}": invalid syntax') from None


Requirement = Callable[[Mapping[str, str]], bool]
_LABEL_KEY = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_SET_TERM = re.compile(r"^(\S+)\s+(in|notin)\s*\((.*)\)$")


def _split_top_level(text: str) -> list[str]:
    """Split a selector on commas that are not inside ``( )`` (``a in (x,y),b`` is 2 terms)."""
    parts: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def parse_label_selector(text: str) -> list[Requirement]:
    """Parse a label selector (``a=b``, ``a!=b``, ``a in (x,y)``, ``a notin (x)``, ``a``,
    ``!a``; comma means AND) into predicates; a malformed one raises a 400 ``ApiError``."""
    if not text.strip():
        return []
    reqs: list[Requirement] = []
    for term in _split_top_level(text):
        reqs.append(_label_requirement(term, text))
    return reqs


def _label_requirement(term: str, whole: str) -> Requirement:
    def bad(why: str) -> ApiError:
        return _bad_request(f"unable to parse requirement: {why} in selector {whole!r}")

    def key_ok(key: str) -> str:
        if not _LABEL_KEY.match(key) or len(key.rsplit("/", 1)[-1]) > 63:
            raise bad(f"invalid label key {key!r}")
        return key

    def value_ok(value: str) -> str:
        if not _LABEL_VALUE.match(value) or len(value) > 63:
            raise bad(f"invalid label value {value!r}")
        return value

    if not term:
        raise bad("found ',', expected: identifier")
    set_match = _SET_TERM.match(term)
    if set_match:
        key = key_ok(set_match.group(1))
        values = frozenset(value_ok(v.strip()) for v in set_match.group(3).split(","))
        if set_match.group(2) == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if term.startswith("!"):
        key = key_ok(term[1:].strip())
        return lambda labels: key not in labels
    for op in ("!=", "==", "="):
        if op in term:
            raw_key, _, raw_value = term.partition(op)
            key = key_ok(raw_key.strip())
            value = value_ok(raw_value.strip())
            if op == "!=":
                return lambda labels: labels.get(key) != value
            return lambda labels: labels.get(key) == value
    if any(c in term for c in "<>()! "):
        raise bad(f"unsupported term {term!r}")
    key = key_ok(term)
    return lambda labels: key in labels


def _field_value(obj: Mapping[str, Any], path: str) -> str:
    """The string a field selector compares against; a missing field compares as ``""``."""
    if path == "source":  # events: the apiserver maps "source" to source.component
        path = "source.component"
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_field_selector(text: str, resource: Resource) -> list[Callable[[JsonDict], bool]]:
    """Parse ``a=b,c!=d`` for ``resource``; unknown fields are a 400 like the real server."""
    if not text.strip():
        return []
    allowed = {"metadata.name", "metadata.namespace", *resource.fields}
    preds: list[Callable[[JsonDict], bool]] = []
    for term in text.split(","):
        term = term.strip()
        for op in ("!=", "==", "="):
            if op in term:
                field_name, _, value = term.partition(op)
                field_name = field_name.strip()
                break
        else:
            raise _bad_request(f"invalid selector: '{text}'; can't understand '{term}'")
        if field_name not in allowed:
            raise _bad_request(
                f'"{field_name}" is not a known field selector: only "metadata.name", '
                f'"metadata.namespace"'
                if not resource.fields
                else f"field label not supported: {field_name}"
            )
        negate = op == "!="
        preds.append(_field_predicate(field_name, value, negate))
    return preds


def _field_predicate(field_name: str, value: str, negate: bool) -> Callable[[JsonDict], bool]:
    return lambda obj: (_field_value(obj, field_name) == value) != negate


# --- the object store ------------------------------------------------------------------------


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return _sub(obj, "metadata")


def _sub(obj: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """``obj[key]`` if it is an object, else ``{}``: bundle JSON is read defensively."""
    value = obj.get(key)
    return value if isinstance(value, Mapping) else {}


def etcd_key(obj: Mapping[str, Any]) -> str:
    """The order of a list, as etcd's keys give it: ``namespace/name`` compared as bytes
    (so ``a-b/x`` sorts before ``a/x``)."""
    meta = _meta(obj)
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


def relocated(
    bundle: Bundle, namespace: str, name: str, uid: str, pod: JsonDict | None = None
) -> Bundle:
    """``bundle`` as another pod of a generated cluster (``pod``, if given, stands for a
    prepared copy of its pod): renamed, with its events pointed at it and given their own
    names and uids, as a real cluster's are (list paging skips what it has seen by key)."""
    pod = pod if pod is not None else copy.deepcopy(dict(bundle.pod))
    pod["metadata"] = dict(pod.get("metadata") or {}, name=name, namespace=namespace, uid=uid)
    events = []
    for i, event in enumerate(bundle.events):
        e = copy.deepcopy(dict(event))
        e["involvedObject"] = dict(
            e.get("involvedObject") or {}, name=name, namespace=namespace, uid=uid
        )
        e["metadata"] = dict(
            e.get("metadata") or {},
            namespace=namespace,
            name=f"{name}.{i}",
            uid=str(uuid.uuid5(uuid.NAMESPACE_OID, f"{uid}/{i}")),
        )
        events.append(e)
    # Without its related objects: one copy of each would stand for every clone.
    return Bundle(pod=pod, events=tuple(events), logs=bundle.logs, captured_at=bundle.captured_at)


def _copy(obj: Mapping[str, Any]) -> JsonDict:
    """A private deep copy: served objects are adjusted and must not alias the bundles'."""
    return {k: copy.deepcopy(v) for k, v in obj.items()}


class Store:
    """One consistent snapshot of every object, by resource, sorted like etcd keys
    (namespace, name).

    Never modified once built (only its caches fill up), so requests read it without locks. A
    timeline does not edit a snapshot: it builds the next one (:meth:`successor`) and the server
    swaps it in, so a request, a paged list or a watch's initial state always sees one state.
    """

    def __init__(self, bundles: Sequence[Bundle], namespaces: Iterable[str] = ()) -> None:
        self.objects: dict[str, list[JsonDict]] = {r.plural: [] for r in RESOURCES}
        self.logs: dict[tuple[str, str], Mapping[str, bytes]] = {}
        seen: set[tuple[str, str, str]] = set()
        max_rv = 1

        def add(resource: Resource, obj: JsonDict) -> None:
            nonlocal max_rv
            meta = obj.setdefault("metadata", {})
            if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
                return
            key = (resource.plural, str(meta.get("namespace", "")), meta["name"])
            if key in seen:  # the same Node often appears in several bundles: first one wins
                return
            seen.add(key)
            obj.setdefault("kind", resource.kind)
            obj.setdefault("apiVersion", resource.group_version)
            rv = str(meta.get("resourceVersion", ""))
            if rv.isdigit():
                max_rv = max(max_rv, int(rv))
            self.objects[resource.plural].append(obj)

        for bundle in bundles:
            pod = _copy(bundle.pod)
            if not isinstance(pod.get("metadata"), dict):
                pod["metadata"] = {}
            pod_meta = pod["metadata"]
            pod_ns = str(pod_meta.get("namespace") or "default")
            pod_meta["namespace"] = pod_ns
            add(_BY_KIND["Pod"], pod)
            # First one wins, as for objects: a timeline step's pod (and logs) over a static one.
            self.logs.setdefault((pod_ns, str(pod_meta.get("name", ""))), bundle.logs)
            for i, event in enumerate(bundle.events):
                ev = _copy(event)
                ev_meta = ev.setdefault("metadata", {})
                if isinstance(ev_meta, dict):
                    ev_meta.setdefault("namespace", pod_ns)
                    ev_meta.setdefault("name", f"{pod_meta.get('name')}.{i:016x}")
                add(_BY_KIND["Event"], ev)
            for related in bundle.related:
                resource = _BY_KIND.get(str(related.get("kind")))
                if resource is None or resource.plural == "pods":
                    continue
                obj = _copy(related)
                if resource.kind == "Secret":
                    # The server never serves secret values, whatever a bundle holds.
                    obj.pop("data", None)
                    obj.pop("stringData", None)
                add(resource, obj)
        in_use = {
            str(_meta(o).get("namespace"))
            for plural, objs in self.objects.items()
            for o in objs
            if _meta(o).get("namespace")
        }
        for ns in sorted(in_use | set(namespaces)):
            add(_BY_KIND["Namespace"], _namespace_object(ns))
        self.resource_version = str(max_rv)
        # Every served object carries a resourceVersion, as in a real cluster: clients (and
        # kubectl's `get -w`) read it to know where to resume.
        for objs in self.objects.values():
            for o in objs:
                o["metadata"].setdefault("resourceVersion", self.resource_version)
        self._index()

    def _index(self) -> None:
        self._by_name: dict[tuple[str, str, str], JsonDict] = {}
        for plural, objs in self.objects.items():
            objs.sort(key=etcd_key)
            for o in objs:
                meta = _meta(o)
                self._by_name[(plural, str(meta.get("namespace", "")), str(meta["name"]))] = o
        # id(obj) -> (obj, JSON): holding the object keeps its id from being reused by another
        # object after garbage collection, which would serve stale bytes.
        self._encoded: dict[int, tuple[JsonDict, bytes]] = {}
        # query fingerprint -> matching objects; per snapshot, so a new state invalidates it.
        self.filtered: dict[str, list[JsonDict]] = {}

    def find(self, plural: str, namespace: str, name: str) -> JsonDict | None:
        return self._by_name.get((plural, namespace, name))

    def encoded(self, obj: JsonDict) -> bytes:
        """An object's JSON, encoded once: like the apiserver's serialization cache, so
        that serving a big list costs a join, not a re-encoding of every object."""
        entry = self._encoded.get(id(obj))
        if entry is not None and entry[0] is obj:
            return entry[1]
        data = _encode(obj)
        self._encoded[id(obj)] = (obj, data)
        return data

    def namespaces(self) -> set[str]:
        return {str(_meta(o)["name"]) for o in self.objects["namespaces"]}

    def successor(self, nxt: Store, first_rv: int) -> tuple[Store, list[Change]]:
        """The snapshot after this one when the cluster comes to hold ``nxt``'s objects, and the
        changes that lead there, numbered from ``first_rv``.

        ``nxt`` is consumed (its objects are adjusted and adopted). An object whose body is
        unchanged (resourceVersion aside) keeps this snapshot's very dict, and so its cached
        JSON. A changed one gets the next resourceVersion and keeps the uid it had (a step's
        copy without a uid inherits it): a uid identifies an object for as long as it exists
        under its name. A copy with another uid is a new object: DELETED, then ADDED.
        """
        changes: list[Change] = []
        rv = first_rv - 1
        for resource in RESOURCES:
            plural = resource.plural
            old_objs = {_name_key(o): o for o in self.objects[plural]}
            new_objs = {_name_key(o): o for o in nxt.objects[plural]}
            kept: list[JsonDict] = []
            for key in sorted(old_objs.keys() | new_objs.keys()):
                old, new = old_objs.get(key), new_objs.get(key)
                if new is None:
                    assert old is not None
                    rv += 1
                    gone = _with_rv(old, rv)
                    changes.append(Change(rv, plural, "DELETED", gone, old, _encode(gone)))
                    continue
                meta = new["metadata"]
                if old is not None:
                    old_meta = _meta(old)
                    old_uid, new_uid = old_meta.get("uid"), meta.get("uid")
                    if old_uid and new_uid and old_uid != new_uid:
                        # Recreated under the same name (a StatefulSet pod): a watch sees the
                        # old object go, then the new one come.
                        rv += 1
                        gone = _with_rv(old, rv)
                        changes.append(Change(rv, plural, "DELETED", gone, old, _encode(gone)))
                        old = None
                if old is not None:
                    if "uid" in old_meta:
                        meta["uid"] = old_meta["uid"]
                    else:
                        meta.pop("uid", None)
                    meta["resourceVersion"] = old_meta.get("resourceVersion")
                    if new == old:
                        kept.append(old)
                        continue
                rv += 1
                meta["resourceVersion"] = str(rv)
                kind = "ADDED" if old is None else "MODIFIED"
                changes.append(Change(rv, plural, kind, new, old, _encode(new)))
                kept.append(new)
            nxt.objects[plural] = kept
        nxt.logs = {**nxt.logs}
        nxt.resource_version = str(rv) if changes else self.resource_version
        nxt._index()
        for ch in changes:
            if ch.type != "DELETED":
                nxt._encoded[id(ch.obj)] = (ch.obj, ch.data)
        for objs in nxt.objects.values():
            for o in objs:
                entry = self._encoded.get(id(o))
                if entry is not None and entry[0] is o:
                    nxt._encoded[id(o)] = entry
        return nxt, changes


@dataclass(frozen=True)
class Change:
    """One entry of the change history a watch replays: what happened at ``rv``.

    ``obj`` is the object as a watch sends it (for DELETED: the last state, stamped with the
    deletion's resourceVersion, as the real watch cache does); ``prev`` the state before, so
    that a selective watch can tell an object entering or leaving its selection.
    """

    rv: int
    plural: str
    type: str  # ADDED | MODIFIED | DELETED
    obj: JsonDict
    prev: JsonDict | None
    data: bytes  # obj's JSON


def _name_key(obj: Mapping[str, Any]) -> tuple[str, str]:
    meta = _meta(obj)
    return str(meta.get("namespace", "")), str(meta.get("name", ""))


def _with_rv(obj: Mapping[str, Any], rv: int) -> JsonDict:
    """A shallow copy of ``obj`` with another resourceVersion (the rest is shared, unchanged)."""
    return {**obj, "metadata": {**_meta(obj), "resourceVersion": str(rv)}}


def _encode(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _change_rv(change: Change) -> int:
    return change.rv


def _too_large(wanted: int, current: int) -> ApiError:
    """What the watch cache answers when a resourceVersion has not come in time."""
    return ApiError(
        504,
        "Timeout",
        f"Timeout: Too large resource version: {wanted}, current: {current}",
        {
            "causes": [
                {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
            ],
            "retryAfterSeconds": 1,
        },
    )


def _bundle_namespaces(bundles: Iterable[Bundle]) -> set[str]:
    """Every namespace bundles' objects live in, the way :class:`Store` places them."""
    found: set[str] = set()
    for bundle in bundles:
        pod_ns = str(_meta(bundle.pod).get("namespace") or "default")
        found.add(pod_ns)
        for obj in (*bundle.events, *bundle.related):
            ns = _meta(obj).get("namespace")
            if ns:
                found.add(str(ns))
    return found


def _namespace_object(name: str) -> JsonDict:
    return {
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": {
            "name": name,
            "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"initdoctor/namespaces/{name}")),
            "resourceVersion": "1",
            "creationTimestamp": "2024-01-01T00:00:00Z",
            "labels": {"kubernetes.io/metadata.name": name},
        },
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


# --- discovery -------------------------------------------------------------------------------


def _resource_list(group_version: str) -> JsonDict:
    resources: list[JsonDict] = []
    for r in RESOURCES:
        if r.group_version != group_version:
            continue
        entry: JsonDict = {
            "name": r.plural,
            "singularName": r.kind.lower(),
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": ["get", "list", "watch"],
        }
        if r.short_names:
            entry["shortNames"] = list(r.short_names)
        if r.plural in _CATEGORY_ALL:
            entry["categories"] = ["all"]
        resources.append(entry)
        if r.plural == "pods":
            resources.append(
                {
                    "name": "pods/log",
                    "singularName": "",
                    "namespaced": True,
                    "kind": "Pod",
                    "verbs": ["get"],
                }
            )
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }


def _group_list() -> JsonDict:
    groups = []
    for gv in GROUP_VERSIONS:
        name, version = gv.split("/")
        ref = {"groupVersion": gv, "version": version}
        groups.append({"name": name, "versions": [ref], "preferredVersion": ref})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


# --- tables (what `kubectl get` prints) -----------------------------------------------------


def _wants_table(accept: str) -> bool:
    return "as=Table" in accept.replace(" ", "")


def _age(obj: Mapping[str, Any], now: dt.datetime) -> str:
    return translate_timestamp_since(parse_time(_meta(obj).get("creationTimestamp")), now)


def _table(
    resource: Resource, items: list[JsonDict], list_meta: JsonDict, include: str
) -> JsonDict:
    """A ``meta.k8s.io/v1`` Table: kubectl prints only NAME and AGE without one."""
    now = dt.datetime.now(dt.UTC)

    def col(name: str, kind: str = "string", priority: int = 0, fmt: str = "") -> JsonDict:
        return {
            "name": name,
            "type": kind,
            "format": fmt,
            "description": name,
            "priority": priority,
        }

    if resource.plural == "pods":
        columns = [
            col("Name", fmt="name"),
            col("Ready"),
            col("Status"),
            col("Restarts"),
            col("Age"),
            col("IP", priority=1),
            col("Node", priority=1),
        ]
    elif resource.plural == "events":
        columns = [col("Last Seen"), col("Type"), col("Reason"), col("Object"), col("Message")]
    else:
        columns = [col("Name", fmt="name"), col("Age")]
    rows = []
    for obj in items:
        if resource.plural == "pods":
            st = pod_status(obj, now)
            status, spec = _sub(obj, "status"), _sub(obj, "spec")
            cells: list[Any] = [
                _meta(obj)["name"],
                st.ready,
                st.status,
                st.restarts,
                _age(obj, now),
                status.get("podIP") or "<none>",
                spec.get("nodeName") or "<none>",
            ]
        elif resource.plural == "events":
            inv = _sub(obj, "involvedObject")
            seen = parse_time(obj.get("lastTimestamp") or obj.get("eventTime"))
            cells = [
                translate_timestamp_since(seen, now),
                obj.get("type", ""),
                obj.get("reason", ""),
                f"{str(inv.get('kind', '')).lower()}/{inv.get('name', '')}",
                obj.get("message", ""),
            ]
        else:
            cells = [_meta(obj)["name"], _age(obj, now)]
        if include == "None":
            row_obj: JsonDict | None = None
        elif include == "Object":
            row_obj = obj
        else:  # the default, Metadata: enough for kubectl's NAMESPACE column and --show-labels
            row_obj = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj.get("metadata", {}),
            }
        row: JsonDict = {"cells": cells}
        if row_obj is not None:
            row["object"] = row_obj
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": columns,
        "rows": rows,
    }


# --- the server ------------------------------------------------------------------------------


Clock = Literal["real", "manual"]
# The real apiserver picks a random watch timeout of 30-60 minutes; a bounded, fixed default
# keeps a forgotten test client from holding a thread for long.
WATCH_DEFAULT_TIMEOUT = 1800.0
BOOKMARK_INTERVAL = 60.0  # the watch cache's bookmark frequency
MAX_HISTORY = 100_000  # retained changes; older ones are "compacted" (watch from them: 410)
TOO_LARGE_WAIT = 3.0  # how long the watch cache waits for a resourceVersion from the future
HANGUP_POLL = 0.25  # how often an idle watch checks that its client is still there
INITIAL_EVENTS_END = "k8s.io/initial-events-end"


@dataclass(frozen=True)
class Step:
    """One moment of a scripted incident: from ``at`` seconds after the timeline starts (in
    incident time, before ``speed`` applies), the cluster holds exactly ``bundles``' objects
    (plus the server's static ``bundles``)."""

    at: float
    bundles: Sequence[Bundle]

    def __post_init__(self) -> None:
        object.__setattr__(self, "bundles", tuple(self.bundles))  # frozen means frozen


@dataclass(frozen=True)
class _Target:
    """A request path resolved to a resource (and maybe one object, and a subresource)."""

    resource: Resource
    namespace: str | None
    name: str | None
    sub: str | None


class _Watch:
    """One open watch stream: its filter and where it is in the change history. ``cursor`` and
    ``step_seq`` are read and written under the server's lock."""

    def __init__(
        self,
        resource: Resource,
        match: Callable[[JsonDict], bool],
        cursor: int,
        timeout: float,
        bookmarks: bool,
        table: str | None,
    ) -> None:
        self.resource = resource
        self.match = match
        self.cursor = cursor
        self.step_seq = 0
        self.deadline = time.monotonic() + timeout
        self.bookmarks = bookmarks
        self.table = table  # includeObject of a Table watch, None for plain objects
        self.initial: Store | None = None  # send this snapshot's objects as ADDED first
        self.initial_end = False  # then a bookmark marking the end of the initial events
        self.error: ApiError | None = None  # send this ERROR and end
        self.wait_for = 0  # a resourceVersion from the future to wait for first
        self.dropped = False  # by drop_watches(): cut the connection
        self.gone = False  # the client hung up
        # Set by the handler: whether the client has hung up (the stream has nothing to read).
        self.client_gone: Callable[[], bool] = lambda: False
        self._columns_sent = False

    def line(self, kind: str, obj: JsonDict, data: bytes) -> bytes:
        if self.table is not None:
            table = _table(
                self.resource,
                [obj],
                {"resourceVersion": _meta(obj).get("resourceVersion", "")},
                self.table,
            )
            if self._columns_sent:
                # As the real apiserver: columns once per watch; kubectl reuses the last ones.
                table["columnDefinitions"] = None
            self._columns_sent = True
            data = _encode(table)
        return b'{"type":"%s","object":%s}\n' % (kind.encode(), data)

    def bookmark(self, rv: int, initial_end: bool = False) -> bytes:
        meta: JsonDict = {"resourceVersion": str(rv)}
        if initial_end:
            meta["annotations"] = {INITIAL_EVENTS_END: "true"}
        obj: JsonDict = {
            "kind": self.resource.kind,
            "apiVersion": self.resource.group_version,
            "metadata": meta,
        }
        if self.table is not None:
            obj = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta, "rows": []}
        return b'{"type":"BOOKMARK","object":%s}\n' % _encode(obj)

    def render(self, change: Change) -> bytes | None:
        """The line this watch sends for ``change``, or None when it is not interested.

        Like the real watch cache, an object whose update moves it into the selection is
        ADDED and one that moves out is DELETED (its previous content, at the new version).
        """
        if change.plural != self.resource.plural:
            return None
        now_in = change.type != "DELETED" and self.match(change.obj)
        was_in = change.prev is not None and self.match(change.prev)
        if now_in:
            return self.line("MODIFIED" if was_in else "ADDED", change.obj, change.data)
        if not was_in:
            return None
        if change.type == "DELETED":
            return self.line("DELETED", change.obj, change.data)
        assert change.prev is not None
        gone = _with_rv(change.prev, change.rv)
        return self.line("DELETED", gone, _encode(gone))


def _error_line(err: ApiError) -> bytes:
    return b'{"type":"ERROR","object":%s}\n' % _encode(err.status())


class ApiServer:
    """The read-only API server; a context manager (``with ApiServer(bundles) as srv:``).

    ``bundles`` are served as they are, unless a ``timeline`` is given: then the cluster first
    holds step 0's objects, and each later :class:`Step` replaces them, as changes a watch
    sees (ADDED, MODIFIED, DELETED, each with a new resourceVersion). ``bundles`` are then the
    objects present throughout (nodes, Services, ...), alongside every step's; a step's object
    wins over a static one of the same kind, namespace and name.

    ``clock="real"`` replays the timeline by itself: step *i* comes ``at / speed`` seconds
    after :meth:`start` (counting from step 0's ``at``), so ``speed=60`` plays a 10-minute
    incident in 10 seconds. ``clock="manual"`` moves only on :meth:`advance` /
    :meth:`advance_to`, for deterministic tests (:meth:`play` can still start real-time
    playback later, e.g. once a demo's client is ready).

    Every served object has a ``metadata.resourceVersion`` (a bundle object without one gets
    the snapshot's); uids are never invented (fetching falls back to names without one).

    Test hooks: :meth:`drop_watches`, :meth:`compact`, :meth:`expire_continue_tokens`,
    :attr:`open_watches`, :attr:`request_log` (every request, watches included: one line per
    watch however long it streams).
    """

    # Imported into tests as TestApiServer: pytest must not collect it as a test class.
    __test__: ClassVar[bool] = False

    def __init__(
        self,
        bundles: Sequence[Bundle],
        token: str | None = None,
        forbidden_namespaces: Iterable[str] = (),
        delay: float = 0.0,
        namespaced_only: bool = False,
        *,
        timeline: Sequence[Step] | None = None,
        clock: Clock = "real",
        speed: float = 1.0,
    ) -> None:
        self.timeline: tuple[Step, ...] = tuple(timeline or ())
        if timeline is not None and not self.timeline:
            raise ValueError("a timeline needs at least one step")
        if any(a.at > b.at for a, b in itertools.pairwise(self.timeline)):
            raise ValueError("timeline steps must be in order of time (`at`)")
        if clock not in ("real", "manual"):
            raise ValueError(f"clock must be 'real' or 'manual', not {clock!r}")
        if not speed > 0:
            raise ValueError("speed must be positive")
        self.clock = clock
        self.speed = speed
        self._static = tuple(bundles)
        # Namespaces exist for the whole timeline: a namespace does not come and go with the
        # pods of one step.
        self._all_namespaces = frozenset(
            _bundle_namespaces(
                [*self._static, *(b for step in self.timeline for b in step.bundles)]
            )
            if self.timeline
            else ()
        )
        self.store = self._snapshot(0)
        self.token = token if token is not None else secrets.token_urlsafe(24)
        self.forbidden_namespaces = frozenset(forbidden_namespaces)
        self.namespaced_only = namespaced_only
        self.delay = delay
        # Seconds, like the watch cache's; tests shorten them.
        self.bookmark_interval = BOOKMARK_INTERVAL
        self.too_large_wait = TOO_LARGE_WAIT
        self.request_log: list[tuple[str, str]] = []
        self.url = ""
        self.ca_file = ""
        self._lock = threading.Lock()
        # Watches wait on it for changes, drops and stops; waiting releases the lock.
        self._changed = threading.Condition(self._lock)
        self._advancing = threading.Lock()  # one step applied at a time
        self._continues: dict[str, tuple[str, int, list[JsonDict], str]] = {}
        self._rv = int(self.store.resource_version)
        self._history: list[Change] = []
        self._floor = self._rv  # a watch from an older resourceVersion gets 410 Expired
        self._step = 0
        self._step_seq = 0  # counts applied steps, even those that changed nothing
        self._watches: set[_Watch] = set()
        self._play_gen = 0  # bumped by play/pause/stop: older playback threads then exit
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._tmpdir: str | None = None

    def _snapshot(self, index: int) -> Store:
        if not self.timeline:
            return Store(self._static)
        return Store([*self.timeline[index].bundles, *self._static], self._all_namespaces)

    # lifecycle

    def start(self) -> None:
        if self._httpd is not None:
            return
        self._tmpdir = tempfile.mkdtemp(prefix="initdoctor-apiserver-")
        self.ca_file, cert_file, key_file = _write_certificates(self._tmpdir)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(cert_file, key_file)
        httpd = _Server(("127.0.0.1", 0), _Handler)
        httpd.api = self
        # The handshake happens on the first read in the request's own thread, so a stalled
        # client cannot block the accept loop.
        httpd.socket = context.wrap_socket(
            httpd.socket, server_side=True, do_handshake_on_connect=False
        )
        self._httpd = httpd
        self.url = f"https://127.0.0.1:{httpd.server_address[1]}"
        self._stopping.clear()
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name="initdoctor-apiserver",
        )
        self._thread.start()
        if self.timeline and self.clock == "real":
            self.play()

    def stop(self) -> None:
        """Stop serving: open watches end, real-time playback stops."""
        httpd, self._httpd = self._httpd, None
        with self._changed:
            self._stopping.set()  # wakes requests sleeping in `delay`
            self._play_gen += 1
            self._changed.notify_all()  # wakes watches and playback
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def __enter__(self) -> ApiServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def write_kubeconfig(
        self, path: str, namespace: str | None = None, context: str = "initdoctor-test"
    ) -> None:
        """Write a kubeconfig for this server (JSON, which is valid YAML for every reader)."""
        if not self.url:
            raise RuntimeError("start the server before writing a kubeconfig")
        ctx: JsonDict = {"cluster": context, "user": context}
        if namespace is not None:
            ctx["namespace"] = namespace
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": context,
                    "cluster": {"server": self.url, "certificate-authority": self.ca_file},
                }
            ],
            "users": [{"name": context, "user": {"token": self.token}}],
            "contexts": [{"name": context, "context": ctx}],
            "current-context": context,
            "preferences": {},
        }
        # The file holds a bearer token: readable by its owner only.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(config, fh, indent=2)

    # the timeline

    @property
    def step(self) -> int:
        """The index of the timeline step the cluster is at (0 without a timeline)."""
        return self._step

    @property
    def resource_version(self) -> str:
        """The cluster's current resourceVersion, as lists report it."""
        return str(self._rv)

    def advance(self) -> int:
        """Move to the next timeline step now; returns its index. ``IndexError`` at the end."""
        if not self.timeline:
            raise IndexError("this server has no timeline")
        with self._advancing:
            if self._step + 1 >= len(self.timeline):
                raise IndexError("the timeline is at its last step")
            self._apply(self._step + 1)
            return self._step

    def advance_to(self, index: int) -> None:
        """Move to step ``index`` now, through every step before it (each one's changes get
        their own resourceVersions, as if they had happened). Timelines only move forward."""
        if not 0 <= index < len(self.timeline):
            raise IndexError(f"no step {index} in a timeline of {len(self.timeline)}")
        with self._advancing:
            if index < self._step:
                raise ValueError(f"the timeline is at step {self._step}, past {index}")
            while self._step < index:
                self._apply(self._step + 1)

    def play(self) -> None:
        """Replay the timeline in real time from the current step, keeping the steps' spacing
        (divided by ``speed``); restarts the clock if it was already playing."""
        if not self.timeline:
            raise RuntimeError("this server has no timeline")
        with self._changed:
            self._play_gen += 1
            gen = self._play_gen
            origin = time.monotonic() - self.timeline[self._step].at / self.speed
            self._changed.notify_all()
        threading.Thread(
            target=self._play, args=(gen, origin), daemon=True, name="initdoctor-timeline"
        ).start()

    def pause(self) -> None:
        """Stop real-time playback at the current step (:meth:`advance` still works)."""
        with self._changed:
            self._play_gen += 1
            self._changed.notify_all()

    def wait_for_step(self, index: int, timeout: float | None = None) -> bool:
        """Block until the timeline has reached step ``index``; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self._step >= index, timeout)

    def _play(self, gen: int, origin: float) -> None:
        while True:
            with self._changed:
                if gen != self._play_gen or self._step + 1 >= len(self.timeline):
                    return
                due = origin + self.timeline[self._step + 1].at / self.speed
                wait = due - time.monotonic()
                if wait > 0:
                    self._changed.wait(wait)  # any change, pause or stop wakes it early
                    continue
            with self._advancing:
                if gen == self._play_gen and self._step + 1 < len(self.timeline):
                    self._apply(self._step + 1)

    def _apply(self, index: int) -> None:
        """Make step ``index`` the cluster's state (the caller holds ``_advancing``)."""
        # Building and diffing happen without the lock: requests keep being served from the
        # current snapshot meanwhile, then see the new one at once.
        store, changes = self.store.successor(self._snapshot(index), self._rv + 1)
        with self._changed:
            if changes:
                self._history.extend(changes)
                self._rv = changes[-1].rv
                self.store = store
                if len(self._history) > MAX_HISTORY:
                    self._floor = max(self._floor, self._history[-MAX_HISTORY - 1].rv)
                self._trim_history()
            self._step = index
            self._step_seq += 1
            self._changed.notify_all()

    def _trim_history(self) -> None:
        # Open watches keep what they have not sent yet: compaction only affects new watches
        # (the real apiserver has already queued those events for its watchers).
        keep_after = min([self._floor, *(w.cursor for w in self._watches)])
        del self._history[: bisect.bisect_right(self._history, keep_after, key=_change_rv)]

    # test hooks

    @property
    def open_watches(self) -> int:
        """How many watch streams are open right now."""
        with self._lock:
            return len(self._watches)

    def drop_watches(self) -> int:
        """Cut every open watch stream without ending it properly, as a dropped connection
        or a load balancer's idle timeout would; returns how many were open."""
        with self._changed:
            for w in self._watches:
                w.dropped = True
            self._changed.notify_all()
            return len(self._watches)

    def compact(self) -> None:
        """Forget the change history, as etcd compaction would: a watch from an older
        resourceVersion now gets ``410 Expired``, and so does a list's ``continue`` token."""
        with self._lock:
            self._floor = self._rv
            self._trim_history()
        self.expire_continue_tokens()

    def expire_continue_tokens(self) -> None:
        """Forget every issued ``continue`` token, as etcd compaction would (next use: 410)."""
        with self._lock:
            self._continues.clear()

    # request handling (called from handler threads)

    def log_request(self, method: str, target: str) -> None:
        with self._lock:
            self.request_log.append((method, target))

    def wait_delay(self) -> None:
        if self.delay > 0:
            self._stopping.wait(self.delay)

    def authorized(self, header: str | None) -> bool:
        if header is None:
            return False
        scheme, _, credential = header.strip().partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(credential.strip().encode(), self.token.encode())

    def handle_get(self, path: str, query: Mapping[str, str], accept: str) -> tuple[str, bytes]:
        """Answer one GET: returns (content type, body); errors raise :class:`ApiError`.
        Watch requests go to :meth:`open_watch` instead."""
        target = self._resolve(path)
        if not isinstance(target, _Target):
            return target
        resource, namespace, name, sub = target.resource, target.namespace, target.name, target.sub
        self._authorize(target, "list" if name is None else "get")
        store = self.store  # one snapshot for the whole request
        if sub == "log":
            assert name is not None and namespace is not None
            return "text/plain", self._log(store, namespace, name, query)
        if name is not None:
            obj = self._find(store, resource, namespace, name)
            if "as=PartialObjectMetadata" in accept.replace(" ", ""):
                # Metadata only, as the real apiserver answers it: how clients check that a
                # Secret exists without reading it.
                partial = {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": _meta(obj),
                }
                return _json(partial)
            if _wants_table(accept):
                return _json(
                    _table(
                        resource,
                        [obj],
                        {"resourceVersion": store.resource_version},
                        query.get("includeObject", "Metadata"),
                    )
                )
            return "application/json", store.encoded(obj)
        return self._list(store, resource, namespace, query, accept)

    def _resolve(self, path: str) -> tuple[str, bytes] | _Target:
        """A discovery document's answer, or the resource a path names; 404 otherwise."""
        parts = [p for p in path.split("/") if p]
        if path == "/version":
            return _json(SERVER_VERSION)
        if path in ("/healthz", "/livez", "/readyz"):
            return "text/plain; charset=utf-8", b"ok"
        if parts == ["api"]:
            return _json(
                {
                    "kind": "APIVersions",
                    "versions": ["v1"],
                    "serverAddressByClientCIDRs": [
                        {
                            "clientCIDR": "0.0.0.0/0",
                            "serverAddress": self.url.removeprefix("https://"),
                        }
                    ],
                }
            )
        if parts == ["apis"]:
            return _json(_group_list())
        if parts[:1] == ["api"] and len(parts) >= 2:
            gv, rest = parts[1], parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            gv, rest = f"{parts[1]}/{parts[2]}", parts[3:]
        elif (
            parts[:1] == ["apis"]
            and len(parts) == 2
            and parts[1] in {g.split("/")[0] for g in GROUP_VERSIONS}
        ):
            group = next(g for g in _group_list()["groups"] if g["name"] == parts[1])
            return _json({"kind": "APIGroup", "apiVersion": "v1", **group})
        else:
            raise _not_found()
        if gv != "v1" and gv not in GROUP_VERSIONS:
            raise _not_found()
        if not rest:
            return _json(_resource_list(gv))
        namespace: str | None = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        resource = _BY_PATH.get((gv, rest[0]))
        if resource is None or len(rest) > 3:
            raise _not_found()
        if namespace is not None and not resource.namespaced:
            raise _not_found()
        name = rest[1] if len(rest) >= 2 else None
        sub = rest[2] if len(rest) == 3 else None
        if sub is not None and not (resource.plural == "pods" and sub == "log"):
            raise _not_found()
        return _Target(resource, namespace, name, sub)

    def _authorize(self, target: _Target, verb: str) -> None:
        resource, namespace, name = target.resource, target.namespace, target.name
        if resource.plural == "namespaces" and name is not None:
            self._check_namespace(name, resource, verb, name)
        elif namespace is not None:
            self._check_namespace(namespace, resource, verb, name, target.sub)
        elif resource.namespaced and self.namespaced_only:
            # A user bound by namespace RoleBindings only: cluster-scope requests are refused.
            raise ApiError(
                403,
                "Forbidden",
                f'{resource.group_resource} is forbidden: User "{USER}" cannot {verb} resource '
                f'"{resource.plural}" in API group "{resource.group}" at the cluster scope',
                {"kind": resource.plural, "group": resource.group},
            )

    def _check_namespace(
        self,
        namespace: str,
        resource: Resource,
        verb: str,
        name: str | None,
        sub: str | None = None,
    ) -> None:
        if namespace not in self.forbidden_namespaces:
            return
        what = f"{resource.plural}/{sub}" if sub else resource.plural
        subject = f'{resource.group_resource} "{name}"' if name else resource.group_resource
        # For namespaces themselves RBAC also sees the name as the request's namespace.
        message = (
            f'{subject} is forbidden: User "{USER}" cannot {verb} resource "{what}" in API group'
            f' "{resource.group}" in the namespace "{namespace}"'
        )
        details = {"kind": resource.plural, "group": resource.group}
        if name:
            details["name"] = name
        raise ApiError(403, "Forbidden", message, details)

    def _find(self, store: Store, resource: Resource, namespace: str | None, name: str) -> JsonDict:
        if namespace is not None or not resource.namespaced:
            found = store.find(resource.plural, namespace or "", name)
            if found is not None:
                return found
            raise _not_found(resource, name)
        for obj in store.objects[resource.plural]:
            meta = _meta(obj)
            if meta.get("name") == name and (
                namespace is None or meta.get("namespace") == namespace
            ):
                return obj
        raise _not_found(resource, name)

    def _list(
        self,
        store: Store,
        resource: Resource,
        namespace: str | None,
        query: Mapping[str, str],
        accept: str,
    ) -> tuple[str, bytes]:
        labels = parse_label_selector(query.get("labelSelector", ""))
        fields = parse_field_selector(query.get("fieldSelector", ""), resource)
        fingerprint = json.dumps(
            [
                resource.plural,
                namespace,
                query.get("labelSelector", ""),
                query.get("fieldSelector", ""),
            ]
        )
        offset = 0
        resource_version = store.resource_version
        token_in = query.get("continue", "")
        if token_in:
            with self._lock:
                saved = self._continues.get(token_in)
            if saved is None or saved[0] != fingerprint:
                raise ApiError(410, "Expired", EXPIRED_MESSAGE)
            # A paged list goes on serving the snapshot its first page came from, as etcd
            # serves every page at the first page's revision.
            _, offset, items, resource_version = saved
        else:
            with self._lock:
                cached = store.filtered.get(fingerprint)
            # A snapshot never changes, so a query's matches are computed once and every
            # further page is a slice: paging through 50k objects must not cost 50k checks
            # per page.
            items = (
                cached
                if cached is not None
                else self._filter(store, resource, namespace, labels, fields)
            )
            if cached is None:
                with self._lock:
                    if len(store.filtered) >= 64:
                        del store.filtered[next(iter(store.filtered))]
                    store.filtered[fingerprint] = items
        limit = _parse_int("limit", query["limit"]) if query.get("limit") else 0
        end = len(items) if limit <= 0 else min(len(items), offset + limit)
        page = items[offset:end]
        list_meta: JsonDict = {"resourceVersion": resource_version}
        if end < len(items):
            token_out = secrets.token_urlsafe(18)
            with self._lock:
                if len(self._continues) >= MAX_CONTINUE_TOKENS:  # oldest first: "compaction"
                    del self._continues[next(iter(self._continues))]
                self._continues[token_out] = (fingerprint, end, items, resource_version)
            list_meta["continue"] = token_out
            list_meta["remainingItemCount"] = len(items) - end
        if _wants_table(accept):
            return _json(_table(resource, page, list_meta, query.get("includeObject", "Metadata")))
        head = {"kind": f"{resource.kind}List", "apiVersion": resource.group_version}
        body = b"".join(
            (
                _json(head)[1][:-1],
                b',"metadata":',
                _json(list_meta)[1],
                b',"items":[',
                b",".join(store.encoded(o) for o in page),
                b"]}",
            )
        )
        return "application/json", body

    def _matcher(
        self,
        namespace: str | None,
        labels: list[Requirement],
        fields: list[Callable[[JsonDict], bool]],
    ) -> Callable[[JsonDict], bool]:
        forbidden = self.forbidden_namespaces

        def match(obj: JsonDict) -> bool:
            meta = _meta(obj)
            ns = meta.get("namespace")
            if namespace is not None and ns != namespace:
                return False
            # A cross-namespace list skips forbidden namespaces (a simplification: real RBAC
            # would refuse the whole cluster-scope list to a namespaced-only user).
            if namespace is None and ns in forbidden:
                return False
            obj_labels = meta.get("labels")
            label_map = obj_labels if isinstance(obj_labels, Mapping) else {}
            return all(r(label_map) for r in labels) and all(f(obj) for f in fields)

        return match

    def _filter(
        self,
        store: Store,
        resource: Resource,
        namespace: str | None,
        labels: list[Requirement],
        fields: list[Callable[[JsonDict], bool]],
    ) -> list[JsonDict]:
        match = self._matcher(namespace, labels, fields)
        return [obj for obj in store.objects[resource.plural] if match(obj)]

    # watch

    def open_watch(self, path: str, query: Mapping[str, str], accept: str) -> _Watch | None:
        """Start a watch if the request is one (``?watch=true`` on a collection, or a legacy
        ``/watch/`` path); None for any other request. Errors the real apiserver answers
        before streaming (401 aside: checked earlier, 403, 404, 400) raise :class:`ApiError`;
        later ones (410 Expired, 504 for a future resourceVersion) are an ERROR event on the
        stream, as there."""
        parts = path.split("/")
        at = 3 if parts[1:2] == ["api"] else 4
        legacy = len(parts) > at and parts[at] == "watch" and parts[1:2] in (["api"], ["apis"])
        if legacy:
            target = self._resolve("/".join(parts[:at] + parts[at + 1 :]))
            if not isinstance(target, _Target) or target.sub is not None:
                raise _not_found()
        else:
            if "watch" not in query or not parse_bool(query["watch"]):
                return None
            target = self._resolve(path)
            if not isinstance(target, _Target) or target.name is not None:
                return None  # a GET of one object ignores `watch`, like the real one
        resource = target.resource
        self._authorize(target, "watch")
        labels = parse_label_selector(query.get("labelSelector", ""))
        fields = parse_field_selector(query.get("fieldSelector", ""), resource)
        if target.name is not None:  # /watch/.../pods/NAME watches one object
            fields.append(_field_predicate("metadata.name", target.name, False))
        rv_text = query.get("resourceVersion", "")
        if rv_text not in ("", "0") and not rv_text.isdigit():
            raise _bad_request(
                f'resourceVersion: Invalid value: "{rv_text}": strconv.ParseUint: parsing'
                f' "{rv_text}": invalid syntax'
            )
        timeout = (
            _parse_int("timeoutSeconds", query["timeoutSeconds"])
            if query.get("timeoutSeconds")
            else 0
        )
        bookmarks = (
            parse_bool(query["allowWatchBookmarks"]) if "allowWatchBookmarks" in query else False
        )
        initial_events = (
            parse_bool(query["sendInitialEvents"]) if "sendInitialEvents" in query else None
        )
        watch = _Watch(
            resource,
            self._matcher(target.namespace, labels, fields),
            0,
            float(timeout) if timeout > 0 else WATCH_DEFAULT_TIMEOUT,
            bookmarks,
            query.get("includeObject", "Metadata") if _wants_table(accept) else None,
        )
        with self._lock:
            watch.step_seq = self._step_seq
            if rv_text in ("", "0") or initial_events:
                # "Get state and start at most recent": the current objects as ADDED first.
                watch.initial = self.store
                watch.cursor = self._rv
                watch.initial_end = bool(initial_events)
            else:
                watch.cursor = int(rv_text)
                if watch.cursor < self._floor:
                    watch.error = ApiError(
                        410,
                        "Expired",
                        f"too old resource version: {watch.cursor} ({self._floor})",
                    )
                elif watch.cursor > self._rv:
                    watch.wait_for = watch.cursor
            self._watches.add(watch)
        return watch

    def close_watch(self, watch: _Watch) -> None:
        with self._lock:
            self._watches.discard(watch)

    def watch_lines(self, watch: _Watch) -> Iterator[bytes]:
        """The lines of a watch stream, blocking for changes; ends on the watch's timeout,
        :meth:`drop_watches` (then ``watch.dropped`` is set) or :meth:`stop`."""
        if watch.error is not None:
            yield _error_line(watch.error)
            return
        if watch.wait_for:
            with self._changed:
                reached = self._changed.wait_for(
                    lambda: self._rv >= watch.wait_for or watch.dropped or self._stopping.is_set(),
                    self.too_large_wait,
                )
                current = self._rv
            if not reached:
                yield _error_line(_too_large(watch.wait_for, current))
                return
        if watch.initial is not None:
            store = watch.initial
            for obj in store.objects[watch.resource.plural]:
                if watch.match(obj):
                    yield watch.line("ADDED", obj, store.encoded(obj))
            if watch.initial_end:
                yield watch.bookmark(watch.cursor, initial_end=True)
            watch.initial = None  # the snapshot may go
        next_bookmark = self._next_bookmark(watch)
        while True:
            with self._changed:
                while True:
                    if watch.dropped or self._stopping.is_set():
                        return
                    if watch.client_gone():
                        watch.gone = True
                        return
                    now = time.monotonic()
                    if now >= watch.deadline:
                        return
                    if self._rv > watch.cursor or self._step_seq != watch.step_seq:
                        break
                    if now >= next_bookmark:
                        break
                    # Woken by any change; the poll notices clients that hung up while
                    # nothing happened, which would otherwise hold a thread until the timeout.
                    self._changed.wait(min(watch.deadline, next_bookmark, now + HANGUP_POLL) - now)
                start = bisect.bisect_right(self._history, watch.cursor, key=_change_rv)
                batch = self._history[start:]
                watch.cursor = max(watch.cursor, self._rv)
                watch.step_seq = self._step_seq
            # Encoding and writing happen without the lock: a slow client must not stall the
            # timeline or the other requests.
            sent = False
            for change in batch:
                line = watch.render(change)
                if line is not None:
                    sent = True
                    yield line
            # A bookmark tells a client its selection had nothing in the versions it missed,
            # so that it resumes from here rather than from a compacted version.
            if watch.bookmarks and not sent:
                yield watch.bookmark(watch.cursor)
                next_bookmark = self._next_bookmark(watch)

    def _next_bookmark(self, watch: _Watch) -> float:
        if not watch.bookmarks:
            return math.inf
        # Like the watch cache: every `bookmark_interval`, and 2 s before the watch ends so
        # that the client reconnects from the latest version.
        nxt = time.monotonic() + self.bookmark_interval
        before_end = watch.deadline - 2
        return before_end if time.monotonic() < before_end < nxt else nxt

    def _log(self, store: Store, namespace: str, name: str, query: Mapping[str, str]) -> bytes:
        pod = self._find(store, _BY_KIND["Pod"], namespace, name)
        spec = _sub(pod, "spec")

        def names(key: str) -> list[str]:
            containers = spec.get(key)
            if not isinstance(containers, list):
                return []
            return [str(c.get("name")) for c in containers if isinstance(c, Mapping)]

        inits, apps, ephemeral = (
            names("initContainers"),
            names("containers"),
            names("ephemeralContainers"),
        )
        container = query.get("container", "")
        if not container:
            # The apiserver defaults to the only app container, whatever the init containers.
            if len(apps) == 1:
                container = apps[0]
            else:
                message = (
                    f"a container name must be specified for pod {name}, choose one of: "
                    f"[{' '.join(apps)}]"
                )
                if inits:
                    message += f" or one of the init containers: [{' '.join(inits)}]"
                raise _bad_request(message)
        if container not in (*inits, *apps, *ephemeral):
            raise _bad_request(f"container {container} is not valid for pod {name}")
        previous = parse_bool(query["previous"]) if "previous" in query else False
        logs = store.logs.get((namespace, name), {})
        data = logs.get(f"{container}.previous.log" if previous else f"{container}.log")
        if data is None:
            if previous:
                raise _bad_request(
                    f'previous terminated container "{container}" in pod "{name}" not found'
                )
            data = b""
        if query.get("tailLines"):
            tail = _parse_int("tailLines", query["tailLines"])
            if tail < 0:
                raise _bad_request("tailLines: Invalid value: must be greater than or equal to 0")
            data = _tail(data, tail)
        return data


def _tail(data: bytes, lines: int) -> bytes:
    if lines == 0:
        return b""
    chunks = data.splitlines(keepends=True)
    return b"".join(chunks[-lines:])


def _json(obj: Any) -> tuple[str, bytes]:
    return "application/json", _encode(obj)


# The test-flavoured name of the same class.
TestApiServer = ApiServer


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a request stuck in `delay` must not block interpreter exit
    allow_reuse_address = True
    api: ApiServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Quiet: clients that hang up mid-request (timeouts) are expected in tests.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the clients pool connections
    timeout = 30  # idle keep-alive connections do not hold a thread forever
    server: _Server
    server_version = "initdoctor-apiserver"
    # Go's net/http sets TCP_NODELAY; without it, Nagle plus the client's delayed ACK stall
    # one keep-alive response in ten by 40 ms.
    disable_nagle_algorithm = True
    sys_version = ""
    ALLOWED: ClassVar[frozenset[str]] = frozenset({"GET"})

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the test output is not the place for access logs

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (ssl.SSLError, ConnectionError, TimeoutError):
            self.close_connection = True

    def _dispatch(self) -> None:
        api = self.server.api
        api.log_request(self.command, self.path)
        self._discard_body()
        api.wait_delay()
        url = urlsplit(self.path)
        try:
            if url.path not in PUBLIC_PATHS and not api.authorized(
                self.headers.get("Authorization")
            ):
                raise ApiError(401, "Unauthorized", "Unauthorized")
            if self.command not in self.ALLOWED:
                raise ApiError(
                    405,
                    "MethodNotAllowed",
                    "the server does not allow this method on the requested resource",
                )
            query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            accept = self.headers.get("Accept", "")
            watch = api.open_watch(url.path, query, accept)
            if watch is None:
                content_type, body = api.handle_get(url.path, query, accept)
        except ApiError as err:
            self._send(err.code, "application/json", json.dumps(err.status()).encode())
            return
        except Exception as exc:  # a bug here must still answer like an apiserver
            internal = ApiError(500, "InternalError", f"an error on the server: {exc!r}")
            self._send(500, "application/json", json.dumps(internal.status()).encode())
            return
        if watch is None:
            self._send(200, content_type, body)
            return
        try:
            self._stream(api, watch)
        finally:
            api.close_watch(watch)

    def _stream(self, api: ApiServer, watch: _Watch) -> None:
        """Write a watch as the real apiserver does: one JSON event per line, each line its
        own chunk, sent as soon as it is known."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        watch.client_gone = self._client_gone
        for line in api.watch_lines(watch):
            self.wfile.write(b"%x\r\n%b\r\n" % (len(line), line))
        if watch.dropped or watch.gone:
            # No last chunk, no TLS close_notify: the client sees the connection die mid-stream.
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
        else:
            self.wfile.write(b"0\r\n\r\n")

    def _client_gone(self) -> bool:
        # A watch client sends nothing while it reads the stream: anything readable is its
        # FIN or TLS close_notify.
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def _discard_body(self) -> None:
        length = self.headers.get("Content-Length")
        if length and length.isdigit() and int(length) <= MAX_DISCARDED_BODY:
            self.rfile.read(int(length))
        elif length or self.headers.get("Transfer-Encoding"):
            self.close_connection = True  # unread body: the connection cannot be reused

    def _send(self, code: int, content_type: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = _dispatch
    do_POST = _dispatch
    do_PUT = _dispatch
    do_PATCH = _dispatch
    do_DELETE = _dispatch
    do_HEAD = _dispatch
    do_OPTIONS = _dispatch


# --- certificates ----------------------------------------------------------------------------


def _key_usage(signs_certificates: bool) -> Any:
    """ECDSA signing only; a CA also signs certificates and CRLs."""
    from cryptography import x509

    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=signs_certificates,
        crl_sign=signs_certificates,
        encipher_only=False,
        decipher_only=False,
    )


def _write_certificates(directory: str) -> tuple[str, str, str]:
    """Generate a CA and a server certificate for 127.0.0.1/localhost; return the PEM paths.

    ssl can only load certificates from files, hence the (private, removed on stop) directory.
    The extensions (key identifiers, critical basic constraints) are those strict verifiers
    such as Python 3.13's default ``VERIFY_X509_STRICT`` and Go's crypto/x509 insist on.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "initdoctor test CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(signs_certificates=True), critical=True)
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(signs_certificates=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = os.path.join(directory, "ca.crt")
    cert_file = os.path.join(directory, "server.crt")
    key_file = os.path.join(directory, "server.key")
    with open(ca_file, "wb") as fh:
        fh.write(ca_cert.public_bytes(serialization.Encoding.PEM))
    with open(cert_file, "wb") as fh:
        fh.write(cert.public_bytes(serialization.Encoding.PEM))
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return ca_file, cert_file, key_file


@contextlib.contextmanager
def loopback(server: ApiServer, namespace: str | None = None) -> Iterator[str]:
    """Run ``server`` on loopback; yields the path of a kubeconfig for it (its context's
    namespace ``namespace``), deleted with the server when the block ends."""
    with server, tempfile.TemporaryDirectory() as tmp:
        kubeconfig = os.path.join(tmp, "kubeconfig")
        server.write_kubeconfig(kubeconfig, namespace=namespace)
        yield kubeconfig
