"""The rule contract: one failure class, one stable code, one severity, and the facts
the rest of the system must know about it.

A rule is a pure function of a :class:`RuleContext` that yields :class:`Draft`
findings; the engine stamps them with the rule's code, severity and docs anchor.
Its docstring is its documentation and must have the three sections
``What it detects``, ``Why it happens`` and ``How to fix`` (``docs/rules.md`` and
``--explain`` are generated from it). What it declares beside the function (the event
reasons it reads, whether its finding makes success impossible, whether a live fetch
should read logs or look objects up for it) is what scans, ``--wait`` and the fetch
plan are derived from, so a new rule works everywhere once it is in its family's
``RULES``.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property

from podinit_diag.core.lazyre import lazy
from podinit_diag.core.model import (
    Config,
    ContainerKind,
    ContainerView,
    Evidence,
    PodSnapshot,
    Severity,
    Stage,
)
from podinit_diag.rules.classify import Verdict, classify_containers
from podinit_diag.rules.scheduling import SchedulingFailure, scheduling_failure

DOC_SECTIONS = ("What it detects", "Why it happens", "How to fix")


_UNSET: object = object()


class RuleContext:
    """What a rule sees: the snapshot, the settings, and analyses shared between rules.

    The shared analyses are computed on first use and kept, once per pod. A plain slotted
    class rather than ``cached_property``: that takes a lock on every first access, which
    shows at tens of thousands of pods per second.
    """

    __slots__ = (
        "_inits",
        "_scheduling",
        "_verdict_codes",
        "_verdicts",
        "config",
        "shared",
        "snap",
    )

    def __init__(self, snap: PodSnapshot, config: Config | None = None) -> None:
        self.snap = snap
        self.config = config or Config()
        self._verdicts: tuple[Verdict, ...] | None = None
        self._verdict_codes: frozenset[str] | None = None
        self._scheduling: object = _UNSET
        self._inits: tuple[ContainerView, ...] | None = None
        # Analyses of one family shared by its rules, by a key of the family's choosing.
        self.shared: dict[str, object] = {}

    @property
    def verdicts(self) -> tuple[Verdict, ...]:
        """Each container's single trouble (see classify.py for the precedence)."""
        if self._verdicts is None:
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
    # The container whose trouble this one follows from: the finding ranks right after that
    # container's own findings (an app that fails because its sidecar went away).
    behind: ContainerView | None = None


RuleFunc = Callable[[RuleContext], Iterable[Draft]]
# The objects a live fetch should look up for a rule's findings, as (kind, name) in the
# pod's namespace: the report then says whether they exist (Secrets: metadata only).
LookupFunc = Callable[[RuleContext], Iterable[tuple[str, str]]]


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
    # Words the classifier's verdicts carrying its code (see classify.py); it runs only on
    # pods with such a verdict or with one of its ``events``.
    verdict: bool = False
    events: frozenset[str] = frozenset()  # the event reasons it reads (scans ask for these)
    hopeless: bool = False  # its finding means the pod cannot succeed (--wait stops early)
    logs: bool = True  # a live fetch reads the logs of the container it names
    lookups: LookupFunc | None = None
    # Runs only when no other rule found an error or a warning (the never-silent PI8xx).
    fallback: bool = False
    # A rule pack's own documentation URL for this rule (built-in rules: None; their docs
    # are the project's, see docs_link).
    docs: str | None = None

    @property
    def slug(self) -> str:
        """The rule's anchor in docs/rules.md: ``pi101-init-crashloop``."""
        return f"{self.code.lower()}-{self.name}"

    @property
    def anchor(self) -> str:
        """The rule's section of docs/rules.md in the source tree (not installed)."""
        return f"docs/rules.md#{self.slug}"

    def docs_link(self, docs_url: str | None = None) -> str:
        """Where a finding sends the reader: the pack's own ``docs`` URL; for a built-in
        rule, its section of the rule docs published at ``docs_url``
        (``{docs_url}/rules/#pi101-init-crashloop``; a URL with ``{code}``, ``{name}`` or
        ``{anchor}`` in it is filled in instead); otherwise ``initdoctor explain CODE``,
        which every installation can run."""
        if self.docs:
            return self.docs
        if docs_url and self.code.startswith(BUILTIN_PREFIX):
            if "{" in docs_url:
                return docs_url.format(code=self.code, name=self.name, anchor=self.slug)
            return f"{docs_url.rstrip('/')}/rules/#{self.slug}"
        return f"initdoctor explain {self.code}"

    @cached_property
    def rank(self) -> tuple[int, int, int]:
        """The rule's part of a finding's sort key (stage, priority, severity), computed once."""
        return (self.stage.value, self.priority, self.severity.rank)


BUILTIN_PREFIX = "PI"  # the built-in rules' codes: PI and three digits; packs use their own
_BUILTIN_CODE = lazy(r"^PI\d{3}$")
# A rule pack's code: its own prefix of capital letters, then digits (ACME001).
_CODE = lazy(r"^[A-Z]{2,10}[0-9]{1,5}$")
_NAME = lazy(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def code_problem(code: object) -> str | None:
    """Why ``code`` cannot be a rule's code, or None. ``PI`` codes are ``PI`` and three
    digits; any other is capital letters then digits."""
    if not isinstance(code, str) or not _CODE.match(code):
        return f"{code!r} is not a rule code (capital letters, then digits: ACME001)"
    if code.startswith(BUILTIN_PREFIX) and not _BUILTIN_CODE.match(code):
        return f"{code!r}: codes starting with PI are PI and three digits (PI101)"
    return None


def rule(
    code: str,
    name: str,
    severity: Severity,
    stage: Stage,
    *,
    priority: int = 5,
    verdict: bool = False,
    events: Iterable[str] = (),
    hopeless: bool = False,
    logs: bool = True,
    lookups: LookupFunc | None = None,
    fallback: bool = False,
    docs: str | None = None,
) -> Callable[[RuleFunc], Rule]:
    """Make a :class:`Rule` of a function; refuses docstrings without the three sections.
    The family module lists it in its ``RULES``; a rule pack (see docs/adding-a-rule.md)
    uses its own code prefix and may give its own ``docs`` URL."""

    def make(func: RuleFunc) -> Rule:
        problem = code_problem(code)
        if problem is None and (not isinstance(name, str) or not _NAME.match(name)):
            problem = f"{name!r} is not a rule name (lower-case words joined by -)"
        if problem is not None:
            raise ValueError(f"bad rule code or name: {problem}")
        summary, sections = parse_doc(inspect.getdoc(func) or "", code)
        return Rule(
            code,
            name,
            severity,
            stage,
            func,
            summary,
            sections,
            priority=priority,
            verdict=verdict,
            events=frozenset(events),
            hopeless=hopeless,
            logs=logs,
            lookups=lookups,
            fallback=fallback,
            docs=docs,
        )

    return make


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
