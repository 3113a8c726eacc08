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
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING

from ..model import ContainerView, Evidence, Severity, Stage

if TYPE_CHECKING:
    from ..analysis import Verdict
    from ..model import PodSnapshot

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


@dataclass(frozen=True)
class RuleContext:
    """What a rule sees: the snapshot, the settings and analyses shared between rules."""

    snap: PodSnapshot
    config: Config = field(default_factory=Config)

    @cached_property
    def verdicts(self) -> tuple[Verdict, ...]:
        # Computed once per pod: each container-trouble rule reads the verdicts carrying
        # its code (see analysis.py for the precedence between them).
        from ..analysis import classify_containers

        return classify_containers(self.snap, self.config)

    @cached_property
    def verdict_codes(self) -> frozenset[str]:
        return frozenset(v.code for v in self.verdicts)

    def verdicts_for(self, code: str) -> Iterator[Verdict]:
        return (v for v in self.verdicts if v.code == code)


@dataclass(frozen=True)
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
