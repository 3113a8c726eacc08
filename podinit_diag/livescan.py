"""Scan a namespace or the whole cluster: pods and events listed page by page, joined here.

Never one request per pod: events and pods come in pages of 500, are joined by pod uid
on this side and diagnosed as they arrive; only the unhealthy pods' reports are kept.
Logs and verification requests are made afterwards for at most ``max_log_pods`` pods,
most severe first. With ``-A`` and a user who may not list across namespaces, each
namespace is tried on its own and the ones refused are reported, not fatal.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from urllib.parse import quote

from .engine import diagnose
from .fetch import fetch_bundle
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

Progress = Callable[[int, int], None]  # (pods seen, requests made)


def scan(
    cluster: Cluster,
    namespace: str | None,
    selector: str | list[str] | None,
    config: Config,
    max_log_pods: int = 20,
    keep_healthy: bool = False,
    progress: Progress | None = None,
) -> ScanSummary:
    """Scan one namespace, or every namespace when ``namespace`` is None. Several selectors
    (a CronJob's Jobs) are scanned in turn into one summary."""
    now = datetime.now(UTC).replace(microsecond=0)
    summary = ScanSummary(keep_healthy=keep_healthy)
    if isinstance(selector, list):
        if namespace is None:
            raise ValueError("several selectors need a namespace")
        reports: list[Report] = []
        for one in selector:
            reports += _scan_scope(cluster, namespace, one, config, now, summary, progress)
        summary.extend(_with_logs(cluster, reports, config, max_log_pods, summary))
        return summary
    scopes: list[str | None] = [namespace]
    if namespace is None:
        try:
            reports = list(_scan_scope(cluster, None, selector, config, now, summary, progress))
        except Forbidden:
            scopes = _namespaces(cluster)
            reports = []
        else:
            scopes = []
    else:
        reports = []
    for ns in scopes:
        try:
            reports += _scan_scope(cluster, ns, selector, config, now, summary, progress)
        except Forbidden as exc:
            if namespace is not None:
                raise
            summary.errors.append(f"namespace {ns}: {exc}")
    if namespace is None and scopes and len(summary.errors) == len(scopes):
        raise ClusterError("no namespace could be read: " + summary.errors[0])
    reports = _with_logs(cluster, reports, config, max_log_pods, summary)
    summary.extend(reports)
    return summary


def _namespaces(cluster: Cluster) -> list[str | None]:
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
    summary: ScanSummary,
    progress: Progress | None,
) -> Iterator[Report]:
    """Diagnose every pod of one scope (a namespace, or all); yields unhealthy reports and
    counts healthy ones straight into ``summary``."""
    base = f"/api/v1/namespaces/{quote(namespace, safe='')}" if namespace else "/api/v1"
    events: dict[str, list[Json]] = defaultdict(list)
    for e in cluster.iter_items(f"{base}/events", fieldSelector="involvedObject.kind=Pod"):
        if e.get("reason") in RULE_EVENT_REASONS:
            uid = str((e.get("involvedObject") or {}).get("uid") or "")
            events[uid].append(e)
    pods = (
        cluster.iter_items(f"{base}/pods", labelSelector=selector)
        if selector
        else cluster.iter_items(f"{base}/pods")
    )
    seen = 0
    for pod in pods:
        uid = str((pod.get("metadata") or {}).get("uid") or "")
        bundle = Bundle(
            pod=pod,
            events=tuple(events.pop(uid, ())),
            captured_at=now,
            source=f"{cluster.server}{base}/pods",
        )
        report = diagnose(bundle, config, now)
        seen += 1
        if progress is not None and seen % 100 == 0:
            progress(summary.pods + seen, cluster.requests)
        if report.findings:
            yield report
        else:
            summary.add(report)  # healthy: counted (and kept only with --all)
    if progress is not None:
        progress(summary.pods + seen, cluster.requests)


def _with_logs(
    cluster: Cluster, reports: list[Report], config: Config, limit: int, summary: ScanSummary
) -> list[Report]:
    """Re-diagnose the ``limit`` most severe pods with their logs and verifications."""
    wanted = [
        (i, r)
        for i, r in enumerate(reports)
        if any(f.code.startswith(_LOG_FAMILIES) for f in r.findings)
    ]
    wanted.sort(key=lambda t: _severity_key(t[1]))
    out = list(reports)
    for i, r in wanted[: max(limit, 0)]:
        try:
            bundle = fetch_bundle(cluster, r.pod.namespace, r.pod.name, config)
        except ClusterError as exc:
            summary.errors.append(f"could not read pod {r.pod.namespace}/{r.pod.name}: {exc}")
            continue
        out[i] = diagnose(bundle, config, r.observed_at)
    return out


def _severity_key(r: Report) -> tuple[int, int, str, str]:
    worst = r.worst.rank if r.worst is not None else 9
    return (worst, -r.pod.restart_count, r.pod.namespace, r.pod.name)
