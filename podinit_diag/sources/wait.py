"""Follow a pod or a workload's pods through initialization with the watch API (``--wait``).

One list then one watch per resource kind (pods, events), resumed from the last
resourceVersion seen when a stream ends or drops, and listed again when the server
answers 410 Gone: a wait of an hour costs a handful of requests, not one per second.
Every change of a pod's STATUS column (as kubectl prints it) is a :class:`Transition`,
with the time the init containers it saw finish took. The wait ends when the condition
holds for the wanted number of pods, when a finding at or above the failure threshold
makes success impossible (a rule declared ``hopeless``), or at the deadline.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from podinit_diag.core.access import Json, as_dict, as_objects, as_str, int_or
from podinit_diag.core.errors import InputError
from podinit_diag.core.kubestatus import pod_status
from podinit_diag.core.model import Bundle
from podinit_diag.core.progress import Outcome, Transition, completed_inits, init_durations
from podinit_diag.engine import diagnose
from podinit_diag.rules import Config, event_reasons, hopeless_codes
from podinit_diag.sources.cluster import Cluster, Dropped, Expired, NotFound
from podinit_diag.sources.fetch import complete_bundle, missing_pod_message
from podinit_diag.sources.scan import EVENT_SELECTOR
from podinit_diag.sources.workloads import (
    newest_owned,
    parse_target,
    pod_selector,
    read_workload,
    revision,
)

CONDITIONS = {"initialized": "Initialized", "ready": "Ready"}
WATCH_SECONDS = 300  # each watch request's timeoutSeconds; the stream is then resumed
_RETRY_SECONDS = 1.0
MAX_REPORTS = 5  # blocking pods diagnosed with their logs at the end
MAX_RETRIES = 5  # in a row; a stream that delivers again resets the count


@dataclass(frozen=True)
class Target:
    """What to wait for: the pods a selector picks, how many must meet the condition."""

    namespace: str
    label: str  # "pod/web-0", "deploy/web"
    label_selector: str = ""
    field_selector: str = ""
    wanted: int = 1
    pod: str = ""  # a single pod's name


def resolve(
    cluster: Cluster, namespace: str, kind: str | None, name: str, timeout: float = 0
) -> Target:
    """The pods behind a target: a pod by name; a workload's through its selector and its
    desired replica count (a Deployment: the pods of its newest ReplicaSet; a StatefulSet:
    those of its update revision; once the controller has caught up with the spec, waiting
    up to ``timeout`` seconds for that)."""
    if kind is None:
        return Target(namespace, f"pod/{name}", field_selector=f"metadata.name={name}", pod=name)
    if kind == "CronJob":
        raise InputError("--wait follows pods being initialized: name one of the CronJob's Jobs")
    collection, obj = read_workload(cluster, namespace, kind, name)
    if kind in ("Deployment", "StatefulSet"):
        obj = _caught_up(cluster, collection, name, obj, timeout)
    spec, status = as_dict(obj.get("spec")), as_dict(obj.get("status"))
    selector = pod_selector(kind, name, obj)
    if kind == "DaemonSet":
        wanted = int_or(status.get("desiredNumberScheduled"))
    elif kind == "Job":
        wanted = int_or(spec.get("parallelism", 1))
    else:
        wanted = int_or(spec.get("replicas", 1))
    # During a rolling update the old revision's pods are still Ready and must not count.
    if kind == "Deployment":
        hash_ = _newest_template_hash(cluster, namespace, obj, selector)
        if hash_:
            selector += f",pod-template-hash={hash_}"
    elif kind == "StatefulSet" and status.get("updateRevision"):
        selector += f",controller-revision-hash={status['updateRevision']}"
    short = {"Deployment": "deploy", "StatefulSet": "sts", "DaemonSet": "ds", "ReplicaSet": "rs"}
    return Target(
        namespace, f"{short.get(kind, kind.lower())}/{name}", label_selector=selector, wanted=wanted
    )


def _observed(obj: Json) -> bool:
    meta, status = as_dict(obj.get("metadata")), as_dict(obj.get("status"))
    return int_or(status.get("observedGeneration")) >= int_or(meta.get("generation"))


def _caught_up(
    cluster: Cluster, collection: str, name: str, obj: dict[str, Any], timeout: float
) -> dict[str, Any]:
    """The workload once its controller has seen its latest spec (observedGeneration has
    reached generation), watched for at most ``timeout`` seconds: right after ``kubectl
    apply`` the new ReplicaSet (or StatefulSet revision) may not exist yet, and the old
    one's pods are all Ready."""
    deadline = time.monotonic() + timeout
    while not _observed(obj) and (remaining := deadline - time.monotonic()) > 0:
        version = str(as_dict(obj.get("metadata")).get("resourceVersion") or "")
        try:
            for event in cluster.watch(
                collection, version, max(int(remaining), 1), fieldSelector=f"metadata.name={name}"
            ):
                if event.get("type") in ("ADDED", "MODIFIED"):
                    obj = dict(event["object"])
                    if _observed(obj):
                        return obj
        except (Expired, Dropped):
            obj = cluster.get(f"{collection}/{quote(name, safe='')}")
    return obj


def _newest_template_hash(cluster: Cluster, namespace: str, deploy: Json, selector: str) -> str:
    """The pod-template-hash of the Deployment's current ReplicaSet (its highest
    revision): during a rollout the old pods are still ready and must not count."""
    newest = newest_owned(cluster, namespace, "ReplicaSet", deploy, selector)
    if revision(newest, -1) < 0:  # none yet, or none the Deployment controller numbered
        return ""
    return as_str(as_dict(as_dict(newest.get("metadata")).get("labels")).get("pod-template-hash"))


@dataclass
class _Pod:
    obj: Json
    status: str
    events: list[Json] = field(default_factory=list)
    done: frozenset[str] = frozenset()  # init containers seen completed
    hopeless: bool | None = None  # None: not judged since the pod or its events changed


def follow(
    cluster: Cluster,
    namespace: str,
    target: str,
    condition: str,
    timeout: float,
    config: Config,
    fail_rank: int,
    on_transition: Callable[[Transition], None],
    on_tick: Callable[[float, int, int], None] | None = None,
) -> Outcome:
    """Wait for ``target`` (``web-0``, ``pod/web-0``, ``deploy/web``...) to meet
    ``condition`` (``initialized`` or ``ready``), at most ``timeout`` seconds in all."""
    started = time.monotonic()
    workload = parse_target(target)
    kind, name = workload if workload else (None, target.split("/", 1)[-1])
    pods = resolve(cluster, namespace, kind, name, timeout)
    waiter = Waiter(
        cluster, pods, condition, timeout, config, fail_rank, on_transition, on_tick, started
    )
    return waiter.run()


class Waiter:
    """One wait: call :meth:`run`; transitions go to ``on_transition`` as they happen."""

    def __init__(
        self,
        cluster: Cluster,
        target: Target,
        condition: str,
        timeout: float,
        config: Config,
        fail_rank: int,
        on_transition: Callable[[Transition], None],
        on_tick: Callable[[float, int, int], None] | None = None,
        started: float | None = None,  # time.monotonic() when the user's wait began
        watch_seconds: int = WATCH_SECONDS,  # each watch request's timeoutSeconds
    ) -> None:
        self.cluster, self.target, self.config = cluster, target, config
        self.condition = CONDITIONS[condition]
        self.timeout, self.fail_rank = timeout, fail_rank
        self.watch_seconds = watch_seconds
        self.on_transition, self.on_tick = on_transition, on_tick
        self.pods: dict[str, _Pod] = {}
        self._orphans: dict[str, list[Json]] = {}  # events that came before their pod
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._stop = threading.Event()
        self._start = time.monotonic() if started is None else started
        base = f"/api/v1/namespaces/{quote(target.namespace, safe='')}"
        pod_query = {
            k: v
            for k, v in (
                ("labelSelector", target.label_selector),
                ("fieldSelector", target.field_selector),
            )
            if v
        }
        self._streams = {
            "pods": (f"{base}/pods", pod_query),
            "events": (f"{base}/events", {"fieldSelector": EVENT_SELECTOR}),
        }

    def run(self) -> Outcome:
        # The first lists count against the wait's time too: a list that never ends (a
        # server that keeps sending continue tokens) must not outlast --timeout.
        deadline = self._start + self.timeout
        pods, pods_rv = self.cluster.list_snapshot(*self._streams["pods"], deadline)
        events, events_rv = self.cluster.list_snapshot(*self._streams["events"], deadline)
        if not pods and self.target.pod:
            # As kubectl wait does: a pod absent when the wait begins is a typo, not a
            # pod about to come (kubectl apply returns once the object exists).
            raise NotFound(
                missing_pod_message(self.cluster, self.target.namespace, self.target.pod)
            )
        for e in events:
            self._event(e)
        for p in pods:
            self._pod("ADDED", p)
        threads = [
            threading.Thread(
                target=self._follow, args=(kind, rv), daemon=True, name=f"watch-{kind}"
            )
            for kind, rv in (("pods", pods_rv), ("events", events_rv))
        ]
        for t in threads:
            t.start()
        try:
            return self._loop()
        finally:
            self._stop.set()

    def _loop(self) -> Outcome:
        met, hopeless = self._judge()
        while True:
            if (met >= self.target.wanted and self.pods) or self.target.wanted == 0:
                return self._outcome("met", met)
            if hopeless:
                return self._outcome("failed", met)
            remaining = self.timeout - self.elapsed
            if remaining <= 0:
                return self._outcome("timeout", met)
            if self.on_tick is not None:
                self.on_tick(self.elapsed, met, self.target.wanted)
            try:
                kind, payload = self._queue.get(timeout=min(remaining, 1.0))
            except queue.Empty:
                continue
            if kind == "error":
                raise payload
            if kind == "pods":
                self._pod(payload["type"], payload["object"])
            elif kind == "pods-relisted":
                self._relisted(payload)
            elif kind == "events" and payload["type"] in ("ADDED", "MODIFIED"):
                self._event(payload["object"])
            elif kind == "events-relisted":
                for e in payload:
                    self._event(e)
            met, hopeless = self._judge()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._start

    # --- the watch threads -----------------------------------------------------------------

    def _follow(self, kind: str, rv: str) -> None:
        """Watch one kind until the wait ends: resume after a stream ends or drops, list
        again after 410 Gone. Only errors that no retry can mend reach the main loop."""
        path, query = self._streams[kind]
        version: str | None = rv  # None: list again first
        failures = 0
        idle = 0  # streams in a row that ended at once with nothing in them
        while not self._stop.is_set():
            began, delivered = time.monotonic(), False
            try:
                if version is None:
                    items, version = self.cluster.list_snapshot(path, query)
                    self._queue.put((f"{kind}-relisted", items))
                for event in self.cluster.watch(path, version, self.watch_seconds, **query):
                    if self._stop.is_set():
                        return
                    failures, delivered = 0, True
                    meta = as_dict(event["object"].get("metadata"))
                    version = as_str(meta.get("resourceVersion")) or version
                    if event.get("type") != "BOOKMARK":
                        self._queue.put((kind, event))
            except Expired:
                version = None
            except Dropped as exc:
                failures += 1
                if failures > MAX_RETRIES:
                    self._queue.put(("error", exc))
                    return
                self._stop.wait(_RETRY_SECONDS * failures)
                continue
            except Exception as exc:
                # A ClusterError, or a bug: the main loop's to raise, not this thread's to
                # swallow while the wait runs on to its timeout.
                self._queue.put(("error", exc))
                return
            # A server that ends every watch at once (or answers 410 to every one) would
            # otherwise be asked again thousands of times a second.
            idle = 0 if delivered or time.monotonic() - began > _RETRY_SECONDS else idle + 1
            if idle:
                self._stop.wait(min(_RETRY_SECONDS * idle, 10.0))

    # --- state -------------------------------------------------------------------------

    def _event(self, e: Json) -> None:
        if as_str(e.get("reason")) not in event_reasons():
            return
        uid = str(as_dict(e.get("involvedObject")).get("uid") or "")
        pod = self.pods.get(uid)
        events = pod.events if pod is not None else self._orphans.setdefault(uid, [])
        if pod is not None:
            pod.hopeless = None
        name = as_dict(e.get("metadata")).get("name")
        events[:] = [x for x in events if as_dict(x.get("metadata")).get("name") != name] + [e]

    def _pod(self, change: str, obj: Json) -> None:
        meta = as_dict(obj.get("metadata"))
        uid = as_str(meta.get("uid"))
        old = self.pods.get(uid)

        def moved(
            before: str | None,
            after: str,
            inits: tuple[tuple[str, float], ...] = (),
            deleted: bool = False,
        ) -> None:
            self.on_transition(
                Transition(
                    datetime.now(UTC),
                    self.target.namespace,
                    as_str(meta.get("name")),
                    before,
                    after,
                    inits,
                    deleted=deleted,
                )
            )

        if change == "DELETED":
            if old is not None:
                del self.pods[uid]
                moved(old.status, "Deleted", deleted=True)
            return
        status = pod_status(obj).status
        done = completed_inits(obj)
        if old is None:
            self.pods[uid] = _Pod(obj, status, self._orphans.pop(uid, []), done)
            moved(None, status, init_durations(obj, done))
            return
        new_done = done - old.done
        old.obj, old.done, old.hopeless = obj, done, None
        if status != old.status or new_done:
            before, old.status = old.status, status
            moved(before, status, init_durations(obj, new_done))

    def _relisted(self, items: list[Json]) -> None:
        seen = set()
        for obj in items:
            seen.add(str(as_dict(obj.get("metadata")).get("uid") or ""))
            self._pod("MODIFIED", obj)
        for uid in [u for u in self.pods if u not in seen]:
            self._pod("DELETED", self.pods[uid].obj)

    def _judge(self) -> tuple[int, bool]:
        """How many pods meet the condition; whether one cannot succeed."""
        met, hopeless = 0, False
        for p in self.pods.values():
            if as_dict(p.obj.get("metadata")).get("deletionTimestamp"):
                continue
            if (
                _condition_true(p.obj, self.condition)
                or as_dict(p.obj.get("status")).get("phase") == "Succeeded"
            ):
                met += 1
            else:
                if p.hopeless is None:  # only pods that changed are diagnosed again
                    report = diagnose(self._bundle(p), self.config)
                    p.hopeless = any(
                        f.code in hopeless_codes() and f.severity.rank <= self.fail_rank
                        for f in report.findings
                    )
                hopeless = hopeless or p.hopeless
        return met, hopeless

    def _bundle(self, p: _Pod) -> Bundle:
        return Bundle(
            pod=p.obj, events=tuple(p.events), captured_at=datetime.now(UTC).replace(microsecond=0)
        )

    def _outcome(self, state: str, met: int) -> Outcome:
        now = datetime.now(UTC).replace(microsecond=0)
        live = [
            p
            for p in self.pods.values()
            if not as_dict(p.obj.get("metadata")).get("deletionTimestamp")
        ]
        if state == "met":
            reports = tuple(diagnose(self._bundle(p), self.config, now) for p in live)
        else:
            # The pods not there yet (the hopeless first), with their logs and what their
            # findings name.
            blocking = sorted(
                (p for p in live if not _condition_true(p.obj, self.condition)),
                key=lambda p: not p.hopeless,
            )
            reports = tuple(
                diagnose(
                    complete_bundle(self.cluster, p.obj, tuple(p.events), self.config, now),
                    self.config,
                    now,
                )
                for p in blocking[:MAX_REPORTS]
            )
        return Outcome(
            state, self.elapsed, met, self.target.wanted, self.target.label, self.condition, reports
        )


def _condition_true(pod: Json, kind: str) -> bool:
    for c in as_objects(as_dict(pod.get("status")).get("conditions")):
        if c.get("type") == kind:
            return c.get("status") == "True"
    return False
