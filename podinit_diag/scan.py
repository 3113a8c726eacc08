"""Many pods at once: one line per unhealthy pod, findings grouped by shared cause.

Pure and incremental: :class:`ScanSummary` takes reports one at a time and keeps only
what the summary needs (the unhealthy pods' reports, group counts and a few examples),
so a scan's memory does not grow with the healthy majority of a cluster.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .model import Finding, Report, Severity

MAX_EXAMPLES = 5


@dataclass(frozen=True)
class Group:
    """Pods of one owner failing the same way: same code on the same container."""

    namespace: str
    owner: str  # "ReplicaSet/web-7f9c" or "" for bare pods
    code: str
    rule: str
    severity: Severity
    container: str | None
    title: str  # the first pod's finding title
    count: int
    examples: tuple[str, ...]


@dataclass
class _Acc:
    """A group being built: the first finding, how many pods, a few of their names."""

    first: Finding
    count: int
    examples: list[str]


@dataclass
class ScanSummary:
    """Accumulates reports; ``keep_healthy`` also keeps the healthy pods' reports (``--all``)."""

    keep_healthy: bool = False
    pods: int = 0
    healthy: int = 0
    reports: list[Report] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _groups: dict[tuple[str, str, str, str | None], _Acc] = field(default_factory=dict)

    def add(self, report: Report) -> None:
        self.pods += 1
        if not report.findings:
            self.healthy += 1
            if self.keep_healthy:
                self.reports.append(report)
            return
        self.reports.append(report)
        p = report.pod
        owner = f"{p.owner.kind}/{p.owner.name}" if p.owner else ""
        seen: set[tuple[str, str | None]] = set()
        for f in report.findings:
            if (f.code, f.container) in seen:
                continue
            seen.add((f.code, f.container))
            key = (p.namespace, owner, f.code, f.container)
            acc = self._groups.get(key)
            if acc is None:
                self._groups[key] = _Acc(f, 1, [p.name])
            else:
                acc.count += 1
                if len(acc.examples) < MAX_EXAMPLES:
                    acc.examples.append(p.name)

    def extend(self, reports: Iterable[Report]) -> None:
        for r in reports:
            self.add(r)

    @property
    def groups(self) -> list[Group]:
        """Most severe and biggest first."""
        out = [
            Group(
                ns,
                owner,
                a.first.code,
                a.first.rule,
                a.first.severity,
                container,
                a.first.title,
                a.count,
                tuple(a.examples),
            )
            for (ns, owner, _, container), a in self._groups.items()
        ]
        out.sort(key=lambda g: (g.severity.rank, -g.count, g.namespace, g.owner, g.code))
        return out

    @property
    def unhealthy(self) -> int:
        return self.pods - self.healthy

    def by_severity(self) -> dict[str, int]:
        """Pods by their worst finding."""
        by = {"error": 0, "warning": 0, "info": 0}
        for r in self.reports:
            if r.worst is not None:
                by[r.worst.value] += 1
        return by
