"""Many pods at once: one line per unhealthy pod, findings grouped by shared cause.

Pure and incremental: :class:`ScanSummary` takes reports one at a time and keeps only
counts, groups with a few examples, and the worst severity. The reports to list go to a
``sink`` (a JSON stream, or :class:`Row` lines for a table), so a scan's memory does not
grow with the cluster; without a sink they are kept in ``reports``.

A report's part in the summary is a :class:`Tally`, and a sink renders a report in one
step and emits it in another, so that a parallel scan can diagnose and render in worker
processes and send only tallies and rendered text back to be counted and written in order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, cast

from podinit_diag.core.model import Report, Severity

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

    def order(self) -> tuple[int, str, str]:
        """Sort key of a scan's rows: most severe first, then by namespace and name."""
        rank = self.severity.rank if self.severity is not None else 9
        return rank, self.namespace, self.name

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


T = TypeVar("T")


class Sink(Protocol[T]):
    """Where listed reports go: ``render`` is pure (it may run in a worker process),
    ``emit`` writes or keeps, in scan order."""

    def render(self, report: Report) -> T: ...

    def emit(self, rendered: T) -> None: ...


@dataclass(frozen=True, slots=True)
class Cause:
    """A (code, container) of a report: the first finding's words for its group."""

    code: str
    rule: str
    severity: Severity
    container: str | None
    title: str


@dataclass(frozen=True, slots=True)
class Tally:
    """What the summary keeps of one report."""

    namespace: str
    name: str
    owner: str  # "ReplicaSet/web-7f9c" or ""
    worst: Severity | None
    causes: tuple[Cause, ...]  # one per (code, container), in finding order

    @classmethod
    def of(cls, report: Report) -> Tally:
        p = report.pod
        causes: dict[tuple[str, str | None], Cause] = {}
        for f in report.findings:
            causes.setdefault(
                (f.code, f.container), Cause(f.code, f.rule, f.severity, f.container, f.title)
            )
        return cls(
            p.namespace,
            p.name,
            f"{p.owner.kind}/{p.owner.name}" if p.owner else "",
            report.worst,
            tuple(causes.values()),
        )


@dataclass
class _Acc:
    """A group being built: the first pod's cause, how many pods, a few of their names."""

    first: Cause
    count: int
    examples: list[str]


@dataclass
class ScanSummary:
    """Accumulates reports; ``keep_healthy`` also keeps the healthy pods' reports (``--all``)."""

    keep_healthy: bool = False
    sink: Sink[Any] | None = None  # takes the listed reports, else kept in ``reports``
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
        tally = Tally.of(report)
        self.count(tally, self.render(report) if self.lists(tally) else None)

    def lists(self, tally: Tally) -> bool:
        """Whether the pod gets a line (a report) of its own, not only a count."""
        return tally.worst is not None or self.keep_healthy

    def render(self, report: Report) -> object:
        return self.sink.render(report) if self.sink is not None else report

    def count(self, tally: Tally, rendered: object = None) -> None:
        """Add a pod by its tally; ``rendered`` is :meth:`render`'s result if it is listed."""
        self.pods += 1
        if self.lists(tally):
            if self.sink is not None:
                self.sink.emit(rendered)
            else:
                self.reports.append(cast(Report, rendered))
        worst = tally.worst
        if worst is None:
            self.healthy += 1
            return
        self._by_severity[worst.value] += 1
        if self.worst is None or worst.rank < self.worst.rank:
            self.worst = worst
        for c in tally.causes:
            key = (tally.namespace, tally.owner, c.code, c.container)
            acc = self._groups.get(key)
            if acc is None:
                self._groups[key] = _Acc(c, 1, [tally.name])
            else:
                acc.count += 1
                if len(acc.examples) < MAX_EXAMPLES:
                    acc.examples.append(tally.name)

    def extend(self, reports: Iterable[Report]) -> None:
        for r in reports:
            self.add(r)

    @property
    def groups(self) -> list[Group]:
        """Pods of one owner failing the same way, two or more (one pod is its row):
        most severe and biggest first."""
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
            if a.count > 1
        ]
        out.sort(key=lambda g: (g.severity.rank, -g.count, g.namespace, g.owner, g.code))
        return out

    @property
    def unhealthy(self) -> int:
        return self.pods - self.healthy

    def by_severity(self) -> dict[str, int]:
        """Pods by their worst finding."""
        return dict(self._by_severity)
