"""The library's front door: :func:`diagnose` takes a pod the way a script has it.

A script may hold the pod as the dict ``kubectl get pod -o json`` prints, as the official
client's ``V1Pod``, or as a :class:`Bundle` read by ``load_path``; its events and logs it
has read itself. The engine diagnoses bundles only: this module turns the rest into one.
Above the engine and the sources, since a client model is converted by the client's own
serializer (``sources.cluster.to_json_object``), imported only when such an object comes:
``import podinit_diag`` never loads the ``kubernetes`` package.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from podinit_diag.core.errors import InputError
from podinit_diag.core.model import Bundle, Config, Report
from podinit_diag.engine import diagnose as diagnose_bundle

_WHAT = "a pod dict, a V1Pod or a Bundle"


def diagnose(
    pod: object,
    config: Config | None = None,
    now: datetime | None = None,
    *,
    events: object = None,
    logs: object = None,
) -> Report:
    """Diagnose one pod.

    ``pod`` is one of:

    - a pod as a dict, as ``kubectl get pod -o json`` prints it (or the API returns it);
    - an object of the official ``kubernetes`` client's models, such as the ``V1Pod`` of
      ``CoreV1Api().read_namespaced_pod``: converted with the client's own serializer
      (the fields that client version knows; give the raw dict for anything newer); or
      its dynamic client's ``ResourceInstance``, which holds the API's JSON as is;
    - a :class:`Bundle` (from ``load_path``, ``fetch_bundle`` or built by hand), which
      carries its own events and logs: ``events`` and ``logs`` are then refused.

    ``events``: the pod's events, as a list of event dicts (core/v1 ``Event`` or
    events.k8s.io ``Event``), an ``EventList`` dict (``kubectl get events -o json``), or
    the client's event objects or lists (``CoreV1Event``, ``CoreV1EventList``...).

    ``logs``: a mapping from container to its log (``str`` or ``bytes``). The key names
    the container and which run: ``"migrate"`` (the current run, ``kubectl logs -c
    migrate``), ``"migrate.previous"`` (the run before, ``--previous``), or a bundle's
    file names ``"migrate.log"`` and ``"migrate.previous.log"``; also the tuple
    ``("migrate", True)`` for the previous run. Log evidence then cites
    ``logs/migrate.previous.log:LINE``, the bundle's file for that key.

    ``config`` and ``now`` are as for :func:`podinit_diag.engine.diagnose`: ``now`` is a
    timezone-aware datetime (default: the bundle's capture time, else the clock).

    Raises :class:`InputError`, with a one-line message, for anything else: a list of pods
    (diagnose each), a path (use ``diagnose_path``), an object of another kind, events or
    logs in a form not listed here, a naive ``now``. Odd data *inside* a pod is read as
    absent, and the pod gets a report.
    """
    if config is not None and not isinstance(config, Config):
        hint = (
            "; events and logs are keyword arguments: diagnose(pod, events=..., logs=...)"
            if isinstance(config, (list, tuple, Mapping))
            else ""
        )
        raise InputError(f"diagnose(): config must be a Config or None, not {_kind(config)}{hint}")
    if isinstance(pod, Bundle):
        if events is not None or logs is not None:
            raise InputError(
                "diagnose(): a Bundle carries its own events and logs; give events= and "
                "logs= with a pod dict or a V1Pod, or build the Bundle with them"
            )
        return diagnose_bundle(pod, config, now)
    bundle = Bundle(pod=_pod(pod), events=_events(events), logs=_logs(logs))
    return diagnose_bundle(bundle, config, now)


def _kind(value: object) -> str:
    """How a message names what it was given: ``a list``, ``a V1PodList``."""
    name = type(value).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def _is_client_model(value: object) -> bool:
    # The client's models are plain classes of its package with a swagger type table, and
    # its dynamic client's objects (ResourceInstance) hold the API's JSON; checking so
    # needs no import of the client (which may not even be installed).
    module = type(value).__module__
    if module.startswith("kubernetes.client."):
        return hasattr(value, "openapi_types")
    return module.startswith("kubernetes.dynamic.") and callable(getattr(value, "to_dict", None))


def _from_client(value: object) -> Any:
    if type(value).__module__.startswith("kubernetes.dynamic."):
        return value.to_dict()  # type: ignore[attr-defined]  # already the API's JSON
    from podinit_diag.sources.cluster import to_json_object

    return to_json_object(value)


def _pod(pod: object) -> dict[str, Any]:
    raw = _from_client(pod) if _is_client_model(pod) else pod
    if isinstance(raw, Mapping):
        kind = raw.get("kind")
        if "items" in raw or (isinstance(kind, str) and kind.endswith("List")):
            what = kind if isinstance(kind, str) and kind.isidentifier() else "list"
            raise InputError(f"diagnose() takes one pod, not a {what}: diagnose each of its items")
        if kind not in (None, "", "Pod"):
            raise InputError(f"diagnose() takes {_WHAT}, not a {kind!r:.60} object")
        return raw if type(raw) is dict else dict(raw)
    if isinstance(raw, (list, tuple)):
        raise InputError(f"diagnose() takes {_WHAT}, not {_kind(pod)}: diagnose each pod")
    if isinstance(raw, (str, bytes)) or hasattr(raw, "__fspath__"):
        raise InputError(
            f"diagnose() takes {_WHAT}, not {_kind(pod)}; for a file or directory use "
            "diagnose_path()"
        )
    raise InputError(f"diagnose() takes {_WHAT}, not {_kind(pod)}")


# events.k8s.io/v1 names for the core/v1 fields the normalizer reads
_EVENTS_V1 = {
    "regarding": "involvedObject",
    "deprecatedCount": "count",
    "deprecatedFirstTimestamp": "firstTimestamp",
    "deprecatedLastTimestamp": "lastTimestamp",
    "deprecatedSource": "source",
    "reportingController": "reportingComponent",
}


def _events(events: object) -> tuple[dict[str, Any], ...]:
    if events is None:
        return ()
    raw = _from_client(events) if _is_client_model(events) else events
    if isinstance(raw, Mapping):
        if not isinstance(raw.get("items"), list):
            raise InputError(
                "diagnose(): events must be a list of events or an EventList, not one object "
                "without items"
            )
        raw = raw["items"]
    if not isinstance(raw, (list, tuple)):
        raise InputError(f"diagnose(): events must be a list of events, not {_kind(events)}")
    out = []
    for i, e in enumerate(raw):
        event = _from_client(e) if _is_client_model(e) else e
        if not isinstance(event, Mapping):
            raise InputError(f"diagnose(): events[{i}] is {_kind(e)}, not an event")
        event = dict(event)
        for new, old in _EVENTS_V1.items():
            if new in event and old not in event:
                event[old] = event[new]
        out.append(event)
    return tuple(out)


def _logs(logs: object) -> dict[str, bytes]:
    if logs is None:
        return {}
    if not isinstance(logs, Mapping):
        raise InputError(
            f"diagnose(): logs must be a mapping of container name to log text, not {_kind(logs)}"
        )
    out: dict[str, bytes] = {}
    for key, text in logs.items():
        name = _log_key(key)
        if isinstance(text, (bytearray, memoryview)):
            text = bytes(text)
        if not isinstance(text, (str, bytes)):
            raise InputError(f"diagnose(): the log {key!r:.60} is {_kind(text)}, not str or bytes")
        if name in out:
            raise InputError(f"diagnose(): logs has {key!r:.60} and another key for the same log")
        # bytes, as a bundle holds them; a lone surrogate stays visible as its escape
        out[name] = text if isinstance(text, bytes) else text.encode("utf-8", "backslashreplace")
    return out


def _log_key(key: object) -> str:
    """The bundle's file name for a logs key: ``c.log`` or ``c.previous.log``."""
    if (
        isinstance(key, tuple)
        and len(key) == 2
        and isinstance(key[0], str)
        and isinstance(key[1], bool)
    ):
        return f"{key[0]}{'.previous' if key[1] else ''}.log"
    if not isinstance(key, str) or not key:
        raise InputError(
            f"diagnose(): a logs key is a container name ('migrate', 'migrate.previous'), "
            f"not {key!r:.60}"
        )
    base = key.removesuffix(".log")
    return f"{base}.log"
