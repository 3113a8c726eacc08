"""Scan a namespace or the whole cluster: pods and events listed page by page, joined here.

Never one request per pod: events and pods come in pages of 500 and are diagnosed as
they arrive. Lists come in etcd key order (``namespace/name``, what the apiserver's
paging is built on), so the two streams are joined one namespace at a time: only the
current namespace's events are held, and each report goes to the summary's sink as soon
as it is final. Logs and verification requests are made for at most ``max_log_pods``
pods, the most severe, whose pod and events are kept until the end so that they need not
be read again. With ``-A`` and a user who may not list across namespaces, each namespace is
tried on its own and the ones refused are reported, not fatal.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from urllib.parse import quote

from .engine import diagnose
from .fetch import complete_bundle
from .live import Cluster, ClusterError, Forbidden
from .model import Bundle, Json, Report
from .rules import Config
from .scan import ScanSummary

# The event reasons the rules read; the rest (Pulled, Created, Started, Scheduled, ...)
# would only cost memory on a big cluster.
RULE_EVENT_REASONS = frozenset(
    {
        "BackOff",
        "Failed",
        "FailedScheduling",
        "FailedMount",
        "FailedAttachVolume",
        "FailedMapVolume",
        "FailedCreatePodSandBox",
        "Unhealthy",
        "Killing",
        "NodeNotReady",
        "Preempted",
        "Evicted",
    }
)
_LOG_FAMILIES = ("PI1", "PI4", "PI5")  # findings whose words come from container logs

LOG_WORKERS = 4
Progress = Callable[[int, int], None]  # (pods seen, requests made)


def scan(
    cluster: Cluster,
    namespace: str | None,
    selector: str | list[str] | None,
    config: Config,
    max_log_pods: int = 20,
    keep_healthy: bool = False,
    progress: Progress | None = None,
    summary: ScanSummary | None = None,
) -> ScanSummary:
    """Scan one namespace, or every namespace when ``namespace`` is None. Several selectors
    (a CronJob's Jobs) are scanned in turn into one summary. Pass a ``summary`` with a
    sink to receive the reports as they are final instead of keeping them (its own
    ``keep_healthy`` then applies)."""
    now = datetime.now(UTC).replace(microsecond=0)
    if summary is None:
        summary = ScanSummary(keep_healthy=keep_healthy)
    budget = _LogBudget(max_log_pods)
    seen = 0

    def take(scanned: Iterable[tuple[Report, Bundle]]) -> None:
        nonlocal seen
        for report, bundle in scanned:
            seen += 1
            if progress is not None and seen % 100 == 0:
                progress(seen, cluster.requests)
            if not report.findings or not any(
                f.code.startswith(_LOG_FAMILIES) for f in report.findings
            ):
                summary.add(report)
            elif (passed := budget.offer(report, bundle)) is not None:
                summary.add(passed)

    if isinstance(selector, list):
        if namespace is None:
            raise ValueError("several selectors need a namespace")
        for one in selector:
            take(_scan_scope(cluster, namespace, one, config, now))
    elif namespace is not None:
        take(_scan_scope(cluster, namespace, selector, config, now))
    else:
        _scan_all(cluster, selector, config, now, summary, take)
    if progress is not None:
        progress(seen, cluster.requests)
    for report in _with_logs(cluster, budget.kept(), config):
        summary.add(report)
    return summary


def _scan_all(
    cluster: Cluster,
    selector: str | None,
    config: Config,
    now: datetime,
    summary: ScanSummary,
    take: Callable[[Iterable[tuple[Report, Bundle]]], None],
) -> None:
    try:
        take(_scan_scope(cluster, None, selector, config, now))
        return
    except Forbidden:
        pass  # refused at the first page: a user with namespace RoleBindings only
    scopes = _namespaces(cluster)
    for ns in scopes:
        try:
            take(_scan_scope(cluster, ns, selector, config, now))
        except Forbidden as exc:
            summary.errors.append(f"namespace {ns}: {exc}")
    if scopes and len(summary.errors) == len(scopes):
        raise ClusterError("no namespace could be read: " + summary.errors[0])


class _LogBudget:
    """The ``limit`` most severe pods whose findings want logs, with their pod and events;
    a pod pushed out is final as it is."""

    def __init__(self, limit: int) -> None:
        self.limit = max(limit, 0)
        # A min-heap on the negated severity key: its top is the least severe pod kept.
        self._heap: list[tuple[int, int, int, Report, Bundle]] = []
        self._seq = 0

    def offer(self, report: Report, bundle: Bundle) -> Report | None:
        """Keep ``report`` if it is among the most severe; returns the one let go, if any."""
        if self.limit == 0:
            return report
        self._seq += 1
        worst = report.worst.rank if report.worst is not None else 9
        item = (-worst, report.pod.restart_count, -self._seq, report, bundle)
        if len(self._heap) < self.limit:
            heapq.heappush(self._heap, item)
            return None
        return heapq.heappushpop(self._heap, item)[3]

    def kept(self) -> list[tuple[Report, Bundle]]:
        """Most severe first (then the first seen)."""
        return [(t[3], t[4]) for t in sorted(self._heap, reverse=True)]


def _namespaces(cluster: Cluster) -> list[str]:
    try:
        items = cluster.list_all("/api/v1/namespaces")
    except Forbidden as exc:
        raise ClusterError(f"cannot list pods or namespaces across the cluster: {exc}") from None
    return [str((i.get("metadata") or {}).get("name")) for i in items]


def _scan_scope(
    cluster: Cluster,
    namespace: str | None,
    selector: str | None,
    config: Config,
    now: datetime,
) -> Iterator[tuple[Report, Bundle]]:
    """Diagnose every pod of one scope (a namespace, or all), page by page."""
    base = f"/api/v1/namespaces/{quote(namespace, safe='')}" if namespace else "/api/v1"

    def events(path: str) -> Iterator[Json]:
        return cluster.iter_items(f"{path}/events", fieldSelector="involvedObject.kind=Pod")

    join = EventJoin(events(base), lambda ns: events(f"/api/v1/namespaces/{quote(ns, safe='')}"))
    pods = (
        cluster.iter_items(f"{base}/pods", labelSelector=selector)
        if selector
        else cluster.iter_items(f"{base}/pods")
    )
    for pod in pods:
        meta = pod.get("metadata") or {}
        bundle = Bundle(
            pod=pod,
            events=join.events(str(meta.get("namespace") or ""), str(meta.get("uid") or "")),
            captured_at=now,
            source=f"{cluster.server}{base}/pods",
        )
        yield diagnose(bundle, config, now), bundle


class EventJoin:
    """Events for pods that arrive in key order, reading an event list in the same order
    and holding one namespace's events at a time (those whose reasons the rules read).

    ``relist(ns)`` reads one namespace's events again: only for a pod whose namespace the
    event list has already passed, which a server listing in key order never causes.
    """

    def __init__(self, events: Iterable[Json], relist: Callable[[str], Iterable[Json]]) -> None:
        self._events = iter(events)
        self._relist = relist
        self._ahead: Json | None = None  # the first event of a later namespace
        self._ns: str | None = None
        self._passed: set[str] = set()
        self._index: dict[str, list[Json]] = {}

    def events(self, namespace: str, uid: str) -> tuple[Json, ...]:
        if namespace != self._ns:
            if self._ns is not None:
                self._passed.add(self._ns)
            self._ns = namespace
            self._index = (
                _by_uid(self._relist(namespace))
                if namespace in self._passed
                else _by_uid(self._read(namespace + "/"))
            )
        return tuple(self._index.pop(uid, ()))

    def _read(self, key: str) -> Iterator[Json]:
        """This namespace's events; earlier ones are skipped, the next one is kept."""
        while True:
            e = self._ahead if self._ahead is not None else next(self._events, None)
            self._ahead = None
            if e is None:
                return
            ns = str((e.get("metadata") or {}).get("namespace") or "")
            if ns + "/" > key:
                self._ahead = e
                return
            if ns + "/" == key:
                yield e


def _by_uid(events: Iterable[Json]) -> dict[str, list[Json]]:
    index: dict[str, list[Json]] = defaultdict(list)
    for e in events:
        if e.get("reason") in RULE_EVENT_REASONS:
            index[str((e.get("involvedObject") or {}).get("uid") or "")].append(e)
    return index


def _with_logs(cluster: Cluster, kept: list[tuple[Report, Bundle]], config: Config) -> list[Report]:
    """Re-diagnose the kept pods with their logs and verifications, a few at a time: on a
    real cluster each costs several round trips."""

    def complete(item: tuple[Report, Bundle]) -> Report:
        report, bundle = item
        # Optional reads that fail become notes in the report: nothing here is fatal.
        full = complete_bundle(cluster, bundle.pod, bundle.events, config, report.observed_at)
        return diagnose(full, config, report.observed_at)

    if not kept:
        return []
    with ThreadPoolExecutor(max_workers=min(LOG_WORKERS, len(kept))) as pool:
        return list(pool.map(complete, kept))
