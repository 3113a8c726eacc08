"""The rule contract: one failure class, one stable code, one severity.

A rule is a pure function of a :class:`RuleContext` that yields :class:`Draft`
findings; the engine stamps them with the rule's code, severity and docs anchor.
Its docstring is its documentation and must have the three sections
``What it detects``, ``Why it happens`` and ``How to fix`` (``docs/rules.md`` and
``--explain`` are generated from it).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING

from podinit_diag.core.model import ContainerKind, ContainerView, Evidence, Severity, Stage

if TYPE_CHECKING:
    from podinit_diag.core.model import PodSnapshot
    from podinit_diag.rules.classify import Verdict
    from podinit_diag.rules.pod import SchedulingFailure

DOC_SECTIONS = ("What it detects", "Why it happens", "How to fix")


@dataclass(frozen=True)
class Config:
    stuck_after: timedelta = timedelta(minutes=5)
    select: tuple[str, ...] = ()  # codes or prefixes; empty means all
    ignore: tuple[str, ...] = ()

    def enabled(self, code: str) -> bool:
        if self.select and not any(code.startswith(s) for s in self.select):
            return False
        return not any(code.startswith(s) for s in self.ignore)


_UNSET: object = object()


class RuleContext:
    """What a rule sees: the snapshot, the settings, and analyses shared between rules.

    The shared analyses are computed on first use and kept, once per pod. A plain slotted
    class rather than ``cached_property``: that takes a lock on every first access, which
    shows at tens of thousands of pods per second.
    """

    __slots__ = ("_inits", "_scheduling", "_verdict_codes", "_verdicts", "config", "snap")

    def __init__(self, snap: PodSnapshot, config: Config | None = None) -> None:
        self.snap = snap
        self.config = config or Config()
        self._verdicts: tuple[Verdict, ...] | None = None
        self._verdict_codes: frozenset[str] | None = None
        self._scheduling: object = _UNSET
        self._inits: tuple[ContainerView, ...] | None = None

    @property
    def verdicts(self) -> tuple[Verdict, ...]:
        """Each container's single trouble (see analysis.py for the precedence)."""
        if self._verdicts is None:
            from podinit_diag.rules.classify import classify_containers

            self._verdicts = classify_containers(self.snap, self.config)
        return self._verdicts

    @property
    def verdict_codes(self) -> frozenset[str]:
        if self._verdict_codes is None:
            self._verdict_codes = frozenset(v.code for v in self.verdicts)
        return self._verdict_codes

    def verdicts_for(self, code: str) -> Iterator[Verdict]:
        return (v for v in self.verdicts if v.code == code)

    @property
    def scheduling(self) -> SchedulingFailure | None:
        """The scheduler's latest explanation while the pod is unschedulable (parsed once)."""
        if self._scheduling is _UNSET:
            from podinit_diag.rules.pod import scheduling_failure

            self._scheduling = scheduling_failure(self.snap)
        return self._scheduling  # type: ignore[return-value]

    @property
    def inits(self) -> tuple[ContainerView, ...]:
        """The regular init containers (without restartPolicy: Always), in spec order."""
        if self._inits is None:
            self._inits = tuple(c for c in self.snap.containers if c.kind is ContainerKind.INIT)
        return self._inits


@dataclass(frozen=True, slots=True)
class Draft:
    container: ContainerView | None
    title: str
    evidence: tuple[Evidence, ...]
    fix: str


RuleFunc = Callable[[RuleContext], Iterable[Draft]]


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: Severity
    stage: Stage
    func: RuleFunc
    summary: str
    sections: tuple[tuple[str, str], ...]
    priority: int = 5  # within one container, lower ranks first (a root cause before symptoms)
    verdict: bool = False  # words only the verdicts carrying its code (see analysis.py)

    @property
    def anchor(self) -> str:
        return f"docs/rules.md#{self.code.lower()}-{self.name}"

    @cached_property
    def rank(self) -> tuple[int, int, int]:
        """The rule's part of a finding's sort key (stage, priority, severity), computed once."""
        return (self.stage.value, self.priority, self.severity.rank)


REGISTRY: dict[str, Rule] = {}
_CODE = re.compile(r"^PI\d{3}$")
_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def rule(
    code: str,
    name: str,
    severity: Severity,
    stage: Stage,
    priority: int = 5,
    verdict: bool = False,
) -> Callable[[RuleFunc], RuleFunc]:
    """Register a rule; refuses duplicate codes and docstrings without the three sections."""

    def register(func: RuleFunc) -> RuleFunc:
        if not _CODE.match(code) or not _NAME.match(name):
            raise ValueError(f"bad rule code or name: {code} {name}")
        if code in REGISTRY:
            raise ValueError(f"duplicate rule code {code}")
        summary, sections = parse_doc(inspect.getdoc(func) or "", code)
        REGISTRY[code] = Rule(
            code, name, severity, stage, func, summary, sections, priority, verdict
        )
        return func

    return register


def parse_doc(doc: str, code: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """Split a rule docstring into its summary line and its titled sections."""
    parts = re.split(r"^(" + "|".join(DOC_SECTIONS) + r"):?\s*$", doc, flags=re.M)
    summary = parts[0].strip()
    sections = tuple(
        (parts[i], " ".join(parts[i + 1].split())) for i in range(1, len(parts) - 1, 2)
    )
    if (
        not summary
        or tuple(t for t, _ in sections) != DOC_SECTIONS
        or not all(body for _, body in sections)
    ):
        raise ValueError(f"{code}: docstring needs a summary and sections {DOC_SECTIONS}")
    return " ".join(summary.split()), sections
