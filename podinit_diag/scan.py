"""Many pods at once: one line per unhealthy pod, findings grouped by shared cause.

Pure and incremental: :class:`ScanSummary` takes reports one at a time and keeps only
counts, groups with a few examples, and the worst severity. The reports to list go to a
``sink`` (a JSON stream, or :class:`Row` lines for a table), so a scan's memory does not
grow with the cluster; without a sink they are kept in ``reports``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .model import Finding, Report, Severity

MAX_EXAMPLES = 5


@dataclass(frozen=True, slots=True)
class Row:
    """A scanned pod's line: kubectl's columns, then its first (root-cause) finding."""

    namespace: str
    name: str
    ready: str
    status: str
    restarts: str
    finding: str
    container: str
    severity: Severity | None

    @classmethod
    def of(cls, r: Report) -> Row:
        first = r.findings[0] if r.findings else None
        p = r.pod
        return cls(
            p.namespace,
            p.name,
            p.ready,
            p.status,
            p.restarts,
            f"{first.code} {first.rule}" if first else "-",
            (first.container or "-") if first else "-",
            first.severity if first else None,
        )

    def cells(self) -> list[str]:
        return [
            self.namespace,
            self.name,
            self.ready,
            self.status,
            self.restarts,
            self.finding,
            self.container,
        ]


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
    sink: Callable[[Report], object] | None = None  # takes the listed reports, else kept
    pods: int = 0
    healthy: int = 0
    reports: list[Report] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    worst: Severity | None = None
    _by_severity: dict[str, int] = field(
        default_factory=lambda: {"error": 0, "warning": 0, "info": 0}
    )
    _groups: dict[tuple[str, str, str, str | None], _Acc] = field(default_factory=dict)

    def add(self, report: Report) -> None:
        self.pods += 1
        if report.findings or self.keep_healthy:
            if self.sink is not None:
                self.sink(report)
            else:
                self.reports.append(report)
        worst = report.worst
        if worst is None:
            self.healthy += 1
            return
        self._by_severity[worst.value] += 1
        if self.worst is None or worst.rank < self.worst.rank:
            self.worst = worst
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
        return dict(self._by_severity)
