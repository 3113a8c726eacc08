"""Scan a namespace or the whole cluster: pods and events listed page by page, joined here.

Never one request per pod: events and pods come in pages of 500 and are diagnosed as
they arrive. Lists come in etcd key order (``namespace/name``, what the apiserver's
paging is built on), so the two streams are joined one namespace at a time: only the
current namespace's events are held, and each report goes to the summary's sink as soon
as it is final. Logs and verification requests are made for at most ``max_log_pods``
pods, the most severe, whose pod and events are kept until the end so that they need not
be read again. With ``-A`` and a user who may not list across namespaces, each namespace is
tried on its own and the ones refused are reported, not fatal.

Most of a scan's time is decoding and diagnosing, so a list of several pages is spread
over worker processes (:func:`_in_workers`); events no rule reads are left out by the
apiserver itself (:data:`EVENT_SELECTOR`).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import heapq
import itertools
import multiprocessing
import os
import signal
import sys
import traceback
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any, Generic, TypeVar, cast
from urllib.parse import quote

from podinit_diag.core.access import Json, as_dict, as_str
from podinit_diag.core.errors import InputError
from podinit_diag.core.model import Bundle, Report
from podinit_diag.core.summary import ScanSummary, Tally
from podinit_diag.engine import diagnose
from podinit_diag.rules import Config, event_reasons
from podinit_diag.sources.cluster import Cluster, ClusterError, Forbidden, Page
from podinit_diag.sources.fetch import complete_bundle

# The reasons of a pod's normal life, most of a cluster's events (4 in 5 in the scan
# benchmark). No rule reads them (a test checks), so the apiserver is asked not to send
# them: field selectors can exclude a reason (``reason!=X``), not pick a set.
ROUTINE_EVENT_REASONS = (
    "Scheduled",
    "Pulling",
    "Pulled",
    "Created",
    "Started",
    "SuccessfulAttachVolume",
    "TriggeredScaleUp",  # cluster-autoscaler, on pending pods
    "NotTriggerScaleUp",
)
EVENT_SELECTOR = ",".join(
    ["involvedObject.kind=Pod", *(f"reason!={r}" for r in ROUTINE_EVENT_REASONS)]
)
_LOG_FAMILIES = ("PI1", "PI4", "PI5")  # findings whose words come from container logs

LOG_WORKERS = 4
Progress = Callable[[int, int], None]  # (pods seen, requests made)
Scanned = Iterator[tuple[int, Report, Bundle]]  # (order in the scan, report, its input)
LogKey = tuple[int, int]  # (worst severity's rank, restarts) of a pod whose findings want logs
T = TypeVar("T")
# What the log budget holds for a pod: its report and input, or, while a parallel scan
# runs, its tally and rendering (the report and input stay in the worker until the end).
Held = tuple[Report, Bundle] | tuple[Tally, object]


_CAN_FORK = "fork" in multiprocessing.get_all_start_methods()


def default_workers() -> int:
    """Processes for a big scan: the CPUs this process may use, at most 4 (the parent
    process fetches and writes; beyond 4 workers it becomes the bottleneck). Parallel scans
    need ``fork``, so they are Linux only."""
    if sys.platform != "linux":
        return 1
    return max(1, min(len(os.sched_getaffinity(0)), 4))


@dataclass
class _Run:
    """One scan's settings and where its pods end up, shared by every scope it reads."""

    cluster: Cluster
    config: Config
    now: datetime
    summary: ScanSummary
    budget: _LogBudget[Held]
    workers: int
    progress: Progress | None
    page: int
    field_selector: str | None = None  # of the pods: --field-selector
    seen: int = 0
    scopes: int = 0  # scopes read so far: the high bits of each pod's ``seq``

    def tick(self, pods: int) -> None:
        before, self.seen = self.seen, self.seen + pods
        if self.progress is not None and before // 100 != self.seen // 100:
            self.progress(self.seen, self.cluster.requests)

    def take(self, scanned: Scanned) -> None:
        """Diagnosed pods in this process: counted, listed, or kept for logs."""
        for seq, report, bundle in scanned:
            self.tick(1)
            key = _log_key(report)
            self.final(
                (report, bundle) if key is None else self.budget.offer(seq, key, (report, bundle))
            )

    def final(self, held: Held | None) -> None:
        if held is None:
            return
        if isinstance(held[0], Report):
            self.summary.add(held[0])
        else:
            self.summary.count(held[0], held[1])


def _log_key(report: Report) -> LogKey | None:
    """How much a pod's logs are wanted; None when its findings do not come from logs."""
    if not any(f.code.startswith(_LOG_FAMILIES) for f in report.findings):
        return None
    worst = report.worst.rank if report.worst is not None else 9
    return worst, report.pod.restart_count


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """Each list page allocates ~100k objects, all freed with the page; at the default
    thresholds the cycle collector re-scans the heap so often that it took a fifth of a
    10k-pod scan. The objects are JSON trees without cycles."""
    gc.freeze()  # the imported modules: never garbage
    before = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def scan(
    cluster: Cluster,
    namespace: str | None,
    selector: str | list[str] | None,
    config: Config,
    max_log_pods: int = 20,
    keep_healthy: bool = False,
    progress: Progress | None = None,
    summary: ScanSummary | None = None,
    workers: int = 1,
    page: int = 500,
    now: datetime | None = None,
    field_selector: str | None = None,
) -> ScanSummary:
    """Scan one namespace, or every namespace when ``namespace`` is None. Several selectors
    (a CronJob's Jobs) are scanned in turn into one summary. Pass a ``summary`` with a
    sink to receive the reports as they are final instead of keeping them (its own
    ``keep_healthy`` then applies). With ``workers`` > 1, a list of more than one page
    (``page`` items) is decoded and diagnosed in that many forked processes (see
    :func:`_in_workers`). Pods are judged as of ``now`` (default: the clock).
    ``field_selector`` is the API's, on the pods (``status.phase=Pending``)."""
    now = now or datetime.now(UTC).replace(microsecond=0)
    if summary is None:
        summary = ScanSummary(keep_healthy=keep_healthy)
    budget: _LogBudget[Held] = _LogBudget(max_log_pods)
    run = _Run(cluster, config, now, summary, budget, workers, progress, page, field_selector)
    if isinstance(selector, list) and namespace is None:
        raise ValueError("several selectors need a namespace")
    with _fewer_collections():
        if isinstance(selector, list):
            for one in selector:
                _scan_scope(run, namespace or "", one)
        elif namespace is not None:
            _scan_scope(run, namespace, selector)
        else:
            _scan_all(run, selector)
        if progress is not None:
            progress(run.seen, cluster.requests)
        kept = [(r, b) for _, (r, b) in run.budget.items() if isinstance(r, Report)]
        for report in _with_logs(cluster, cast(list[tuple[Report, Bundle]], kept), config):
            summary.add(report)
    return summary


def _scan_all(run: _Run, selector: str | None) -> None:
    try:
        _scan_scope(run, None, selector)
        return
    except Forbidden:
        pass  # refused at the first page: a user with namespace RoleBindings only
    scopes = _namespaces(run.cluster)
    for ns in scopes:
        try:
            _scan_scope(run, ns, selector)
        except Forbidden as exc:
            run.summary.errors.append(f"namespace {ns}: {exc}")
    if scopes and len(run.summary.errors) == len(scopes):
        raise ClusterError("no namespace could be read: " + run.summary.errors[0])


class WorkerLost(InputError):
    """A worker process died before it finished (the kernel's OOM killer, say)."""


class _LogBudget(Generic[T]):
    """The ``limit`` pods whose logs are most wanted (most severe, then most restarts, then
    first seen), each with what it takes to finish it; a pod pushed out is final as it is."""

    def __init__(self, limit: int) -> None:
        self.limit = max(limit, 0)
        # A min-heap on the negated key: its top is the pod least wanted. ``seq`` is unique.
        self._heap: list[tuple[int, int, int, T]] = []

    def offer(self, seq: int, key: LogKey, item: T) -> T | None:
        """Keep ``item`` if it is among the most wanted; returns the one let go, if any."""
        if self.limit == 0:
            return item
        entry = (-key[0], key[1], -seq, item)
        if len(self._heap) < self.limit:
            heapq.heappush(self._heap, entry)
            return None
        return heapq.heappushpop(self._heap, entry)[3]

    def items(self) -> list[tuple[int, T]]:
        """(seq, item) of the pods kept, most wanted first."""
        return [(-e[2], e[3]) for e in sorted(self._heap, reverse=True)]

    def swap(self, items: Mapping[int, T]) -> None:
        """Replace what is held for the kept pods among ``items`` (by seq)."""
        self._heap = [(a, b, c, items.get(-c, x)) for a, b, c, x in self._heap]


def _namespaces(cluster: Cluster) -> list[str]:
    try:
        items = cluster.list_all("/api/v1/namespaces")
    except Forbidden as exc:
        raise ClusterError(f"cannot list pods or namespaces across the cluster: {exc}") from None
    return [str(as_dict(i.get("metadata")).get("name")) for i in items]


def _scan_scope(run: _Run, namespace: str | None, selector: str | None) -> None:
    """Diagnose every pod of one scope (a namespace, or all), page by page. The first
    pages of pods and events are read here, so that a refusal comes before any pod is
    counted and before any worker process starts."""
    cluster = run.cluster
    base = f"/api/v1/namespaces/{quote(namespace, safe='')}" if namespace else "/api/v1"
    query: dict[str, str | int | bool] = {"labelSelector": selector} if selector else {}
    if run.field_selector:
        query["fieldSelector"] = run.field_selector
    pods = cluster.pages(f"{base}/pods", run.page, **query)
    first = next(pods, None)
    if first is None:
        return
    events = cluster.pages(f"{base}/events", run.page, fieldSelector=EVENT_SELECTOR)
    pod_pages = itertools.chain([first], pods)
    event_pages = itertools.chain([next(events)], events)

    @functools.cache
    def relist() -> Sequence[Json]:
        # Read again, whole, once: a server that does not list in key order would
        # otherwise cost a request each time the pods come back to a namespace.
        return cluster.list_all(f"{base}/events", run.page, fieldSelector=EVENT_SELECTOR)

    run.scopes += 1
    job = _Job(f"{cluster.server}{base}/pods", run.config, run.now, run.scopes << 40)
    if run.workers > 1 and _CAN_FORK and first.continue_token():
        _in_workers(run, job, pod_pages, event_pages, relist)
    else:
        join = EventJoin((e for p in event_pages for e in p.items()), relist)
        run.take(job.diagnose(enumerate(pod_pages), join))


@dataclass(frozen=True)
class _Job:
    """Diagnosing pages of pods: the same in this process and in a worker."""

    source: str
    config: Config
    now: datetime
    base: int  # the scope's seq bits: pods are numbered page << 20 | index in it

    def diagnose(self, pages: Iterable[tuple[int, Page]], join: EventJoin) -> Scanned:
        for k, page in pages:
            for i, pod in enumerate(page.items()):
                meta = as_dict(pod.get("metadata"))
                bundle = Bundle(
                    pod=pod,
                    events=join.events(as_str(meta.get("namespace")), as_str(meta.get("uid"))),
                    captured_at=self.now,
                    source=self.source,
                )
                yield self.base | k << 20 | i, diagnose(bundle, self.config, self.now), bundle


def _in_workers(
    run: _Run,
    job: _Job,
    pod_pages: Iterator[Page],
    event_pages: Iterator[Page],
    relist: Callable[[], Sequence[Json]],
) -> None:
    """Decode and diagnose pages of pods in ``run.workers`` forked processes; this one
    makes every request and counts and writes every report, in list order, so the output
    is the same as from one process.

    Each page of pods goes to whichever worker asks next, so a worker with easy pages
    does more of them and no page waits long for a busy one. Each worker reads the event
    pages in order for its own join (its pod pages come in list order too), asking for
    each when it needs it: requests and answers alternate on each pipe, so neither side
    can block the other. Back come, per page, each pod's :class:`Tally`, its rendering by
    the summary's sink and its :func:`_log_key`; this process decides which pods the log
    budget keeps, and at the end each worker sends the reports and inputs of the pods it
    kept by the same rule: a superset of the scan's, whichever pages it had. Each worker
    decodes every event page itself: without routine events they are a fifth of the
    bytes, and the parent stays free to fetch."""
    n = run.workers
    ctx = multiprocessing.get_context("fork")
    sys.stdout.flush()  # a child must not inherit unwritten output
    sys.stderr.flush()
    conns: list[Connection] = []
    procs = []
    try:
        for _ in range(n):
            mine, theirs = ctx.Pipe()
            conns.append(mine)
            proc = ctx.Process(target=_worker, args=(theirs, conns, job, run), daemon=True)
            proc.start()
            theirs.close()
            procs.append(proc)
        _serve(run, conns, procs, _Pods(pod_pages), _Pages(event_pages, n), relist)
    finally:
        for proc in procs:
            proc.kill()
            proc.join()
        for conn in conns:
            conn.close()


class _Pods:
    """Pages of pods, numbered, to whichever worker asks next; one is read ahead."""

    def __init__(self, pages: Iterator[Page]) -> None:
        self._pages = enumerate(pages)
        self._ahead: tuple[int, Page] | None = None

    def next(self) -> tuple[int, Page] | None:
        got, self._ahead = self._ahead or next(self._pages, None), None
        return got

    def read_ahead(self) -> bool:
        """Read the next page now if none is waiting; False when there was nothing to do."""
        if self._ahead is not None:
            return False
        self._ahead = next(self._pages, None)
        return self._ahead is not None


class _Pages:
    """Pages of one list (events) read in order on demand and held until every worker
    that still reads them has had them (each worker asks in increasing order)."""

    def __init__(self, pages: Iterator[Page], readers: int) -> None:
        self._pages = pages
        self._held: dict[int, Page] = {}
        self._read = 0  # pages taken from the list
        self._done = False
        self._next = [0] * readers  # the page each reader will ask for next

    def get(self, k: int, reader: int, others: Iterable[int]) -> Page | None:
        while self._read <= k and not self._done:
            self.read_ahead()
        page = self._held.get(k)
        self._next[reader] = k + 1
        low = min((self._next[r] for r in others), default=k + 1)
        for old in [j for j in self._held if j < low]:
            del self._held[old]
        return page

    def read_ahead(self) -> None:
        page = next(self._pages, None)
        if page is None:
            self._done = True
        else:
            self._held[self._read] = page
            self._read += 1

    @property
    def ahead(self) -> int:
        """Pages read that no worker has asked for yet."""
        return 0 if self._done else self._read - max(self._next)


def _serve(
    run: _Run,
    conns: list[Connection],
    procs: Sequence[BaseProcess],
    pods: _Pods,
    events: _Pages,
    relist: Callable[[], Sequence[Json]],
) -> None:
    """Answer the workers until each has sent its end; count page results in list order."""
    live = dict(enumerate(conns))
    results: dict[int, list[tuple[int, Tally, object, LogKey | None]]] = {}
    emitted = 0
    handed_back: dict[int, Held] = {}

    def count(page: list[tuple[int, Tally, object, LogKey | None]]) -> None:
        for seq, tally, rendered, key in page:
            held = (tally, rendered)
            run.final(held if key is None else run.budget.offer(seq, key, held))

    while live:
        ready = wait(list(live.values()), timeout=0)
        if not ready:
            # Idle: read a page ahead, so that the next answer is ready when asked for.
            if not pods.read_ahead() and events.ahead < 2:
                events.read_ahead()
            ready = wait(list(live.values()))
        for ready_conn in ready:
            w = next(i for i, c in live.items() if c is ready_conn)
            conn = live[w]
            try:
                msg: Any = conn.recv()
            except (EOFError, OSError):  # end of file mid-message too
                raise _lost(procs[w]) from None
            kind = msg[0]
            if kind in ("pods", "events", "relist"):
                if kind == "relist":
                    answer: object = relist()
                elif kind == "pods":
                    answer = pods.next()
                else:
                    answer = events.get(msg[1], w, live)
                try:
                    conn.send(answer)
                except OSError:  # a broken pipe
                    raise _lost(procs[w]) from None
            elif kind == "seen":
                run.tick(msg[1])
            elif kind == "page":
                results[msg[1]] = msg[2]
                while emitted in results:
                    count(results.pop(emitted))
                    emitted += 1
            elif kind == "end":
                handed_back.update(msg[1])
                del live[w]
            elif kind == "error":
                raise ClusterError(msg[1])
            elif kind == "crash":
                raise RuntimeError(f"scan worker {w} failed:\n{msg[1]}")
    run.budget.swap(handed_back)


def _lost(proc: BaseProcess) -> WorkerLost:
    proc.join(5)
    return WorkerLost(
        f"scan worker process {proc.pid} ended without finishing (exit code {proc.exitcode}; "
        "killed for memory?): scan again, or with --workers 1"
    )


def _worker(conn: Connection, parents: list[Connection], job: _Job, run: _Run) -> None:
    """A forked worker (see :func:`_in_workers`)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    for end in parents:  # inherited copies of the parent's ends: with them open, a
        end.close()  # parent that dies would never look like end-of-file here

    def ask(*request: object) -> Any:
        conn.send(request)
        return conn.recv()

    def pod_pages() -> Iterator[tuple[int, Page]]:
        while (numbered := ask("pods")) is not None:
            yield numbered

    def event_items() -> Iterator[Json]:
        j = 0
        while (page := ask("events", j)) is not None:
            yield from page.items()
            j += 1

    try:
        budget: _LogBudget[tuple[Report, Bundle]] = _LogBudget(run.budget.limit)
        summary = run.summary
        join = EventJoin(event_items(), lambda: cast(Sequence[Json], ask("relist")))
        counted = 0
        for k, page in pod_pages():
            results: list[tuple[int, Tally, object, LogKey | None]] = []
            for seq, report, bundle in job.diagnose([(k, page)], join):
                counted += 1
                if counted % 100 == 0:
                    conn.send(("seen", 100))
                key = _log_key(report)
                if key is not None:
                    budget.offer(seq, key, (report, bundle))
                tally = Tally.of(report)
                rendered = summary.render(report) if summary.lists(tally) else None
                results.append((seq, tally, rendered, key))
            conn.send(("page", k, results))  # even when empty: pages are counted in order
        conn.send(("seen", counted % 100))
        conn.send(("end", budget.items()))
    except ClusterError as exc:
        _tell(conn, ("error", str(exc)))
    except BaseException:  # the pipe breaking too, when the parent is gone
        _tell(conn, ("crash", traceback.format_exc()))


def _tell(conn: Connection, message: tuple[str, str]) -> None:
    # OSError: the parent is gone (killed, or it stopped on an error), no one to tell
    with contextlib.suppress(OSError):
        conn.send(message)


class EventJoin:
    """Events for pods that arrive in key order, reading an event list in the same order
    and holding one namespace's events at a time (those whose reasons the rules read).

    ``relist()`` reads the scope's events again, whole: only once pods come back to a
    namespace the event list has already passed, which a server listing in key order
    never causes; from then on every pod's events come from that one index.
    """

    def __init__(self, events: Iterable[Json], relist: Callable[[], Iterable[Json]]) -> None:
        self._events = iter(events)
        self._relist = relist
        self._ahead: Json | None = None  # the first event of a later namespace
        self._ns: str | None = None
        self._passed: set[str] = set()
        self._index: dict[str, list[Json]] = {}
        self._whole: dict[str, list[Json]] | None = None  # by uid, once out of order

    def events(self, namespace: str, uid: str) -> tuple[Json, ...]:
        if self._whole is None and namespace != self._ns:
            if self._ns is not None:
                self._passed.add(self._ns)
            self._ns = namespace
            if namespace in self._passed:
                self._whole = _by_uid(self._relist())
            else:
                self._index = _by_uid(self._read(namespace + "/"))
        if self._whole is not None:
            # uids are unique across namespaces: one index serves them all
            return tuple(self._whole.pop(uid, ()))
        return tuple(self._index.pop(uid, ()))

    def _read(self, key: str) -> Iterator[Json]:
        """This namespace's events; earlier ones are skipped, the next one is kept."""
        while True:
            e = self._ahead if self._ahead is not None else next(self._events, None)
            self._ahead = None
            if e is None:
                return
            ns = str(as_dict(e.get("metadata")).get("namespace") or "")
            if ns + "/" > key:
                self._ahead = e
                return
            if ns + "/" == key:
                yield e


def _by_uid(events: Iterable[Json]) -> dict[str, list[Json]]:
    index: dict[str, list[Json]] = defaultdict(list)
    reasons = event_reasons()  # rule packs' included
    for e in events:
        if as_str(e.get("reason")) in reasons:
            index[str(as_dict(e.get("involvedObject")).get("uid") or "")].append(e)
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
