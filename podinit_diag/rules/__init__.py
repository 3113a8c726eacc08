"""The rule catalogue: one family module per part of a pod's start (pod, init, image,
config, sidecar, app, spec) and the never-silent fallbacks (fallback), each listing its
rules in ``RULES``; the classifier that gives each container its one trouble
(``classify``); and the knowledge they share (``messages``, ``logscan``, ``dependency``,
``agents``, ``scheduling``, ``evidence``). Imports the
core only; no family imports another.

What the rest of the system needs to know about the rules is derived here from what each
rule declares, so that a new rule is seen by scans, ``--wait`` and the live fetch as soon
as its family lists it.

Rules of other origins join the built-in :data:`RULES` here too: rule packs (installed
distributions with an entry point in the ``podinit_diag.rules`` group, loaded on first
use) and :func:`register`. :func:`all_rules`, :func:`find_rule`, :func:`event_reasons`,
:func:`hopeless_codes` and :func:`no_logs_codes` cover them; the constants cover the
built-in rules only.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Mapping
from types import ModuleType
from typing import Any, TypeVar

from podinit_diag.core.errors import InputError
from podinit_diag.core.model import Config
from podinit_diag.rules import app, config, fallback, image, init, pod, sidecar, spec
from podinit_diag.rules.base import (
    BUILTIN_PREFIX,
    Draft,
    LookupFunc,
    Rule,
    RuleContext,
    code_problem,
    rule,
)

T = TypeVar("T")

RULES: tuple[Rule, ...] = tuple(
    sorted(
        (
            *pod.RULES,
            *init.RULES,
            *image.RULES,
            *config.RULES,
            *sidecar.RULES,
            *app.RULES,
            *spec.RULES,
            *fallback.RULES,
        ),
        key=lambda r: r.code,
    )
)
BY_CODE: dict[str, Rule] = {r.code: r for r in RULES}
if len(BY_CODE) != len(RULES):
    raise ValueError("two rules share a code")

# The event reasons some built-in rule reads: a scan asks the apiserver for these only
# (event_reasons() adds those of rule packs; the same for HOPELESS and NO_LOGS).
EVENT_REASONS: frozenset[str] = frozenset().union(*(r.events for r in RULES))
# Findings after which the pod cannot succeed without someone changing the spec or the
# cluster: --wait stops early on them rather than wait out its timeout.
HOPELESS: frozenset[str] = frozenset(r.code for r in RULES if r.hopeless)
# Findings about containers that never ran: a live fetch reads no logs for them.
NO_LOGS: frozenset[str] = frozenset(r.code for r in RULES if not r.logs)


def all_rules() -> list[Rule]:
    """Every rule, by code: the built-in ones and those of rule packs and ``register``."""
    return list(catalogue())


def lookups(ctx: RuleContext) -> list[tuple[str, str]]:
    """The objects (kind, name) that the rules want looked up for this pod, once each."""
    wanted = (obj for r in catalogue() if r.lookups is not None for obj in r.lookups(ctx))
    return list(dict.fromkeys(wanted))


# Rule packs: third-party rules, with their own code prefix, from the entry points of this
# group (see docs/adding-a-rule.md, "Rule packs"), loaded on first use, and rules a script
# adds with register(). Every derived view (the engine's plans, the catalogue, the event
# reasons a scan asks for) is keyed by ``generation()``, which changes with each addition.

PACK_GROUP = "podinit_diag.rules"


class _Registry:
    def __init__(self) -> None:
        self.loaded = False
        self.added: dict[str, tuple[Rule, str]] = {}  # code -> (rule, where it came from)
        self.notes: tuple[str, ...] = ()
        self.generation = 0
        self.views: dict[str, tuple[int, object]] = {}  # derived views, by generation


_REGISTRY = _Registry()


def generation() -> int:
    """A number that changes whenever a rule is added or removed (packs load first)."""
    if not _REGISTRY.loaded:
        _load_packs()
    return _REGISTRY.generation


def _view(name: str, make: Callable[[], T]) -> T:
    gen = generation()
    cached = _REGISTRY.views.get(name)
    if cached is not None and cached[0] == gen:
        return cached[1]  # type: ignore[return-value]
    value = make()
    _REGISTRY.views[name] = (gen, value)
    return value


def catalogue() -> tuple[Rule, ...]:
    """Every rule sorted by code: :data:`RULES` and the added ones."""
    generation()
    if not _REGISTRY.added:
        return RULES  # no pack installed: the common case
    return _view(
        "rules",
        lambda: tuple(sorted((*RULES, *(r for r, _ in _REGISTRY.added.values())), key=_code)),
    )


def _code(r: Rule) -> str:
    return r.code


def find_rule(code_or_name: str) -> Rule | None:
    """The rule of a code (any case: ``pi101``) or a name (``init-crashloop``), or None."""
    wanted = code_or_name.strip()
    for r in catalogue():
        if r.code == wanted.upper() or r.name == wanted.lower():
            return r
    return None


def event_reasons() -> frozenset[str]:
    """:data:`EVENT_REASONS` with those the added rules read: what a scan asks for."""
    return _view("events", lambda: frozenset().union(*(r.events for r in catalogue())))


def hopeless_codes() -> frozenset[str]:
    """:data:`HOPELESS` with the added rules that declare it: --wait stops early on them."""
    return _view("hopeless", lambda: frozenset(r.code for r in catalogue() if r.hopeless))


def no_logs_codes() -> frozenset[str]:
    """:data:`NO_LOGS` with the added rules that declare ``logs=False``."""
    return _view("no_logs", lambda: frozenset(r.code for r in catalogue() if not r.logs))


def pack_notes() -> tuple[str, ...]:
    """What went wrong loading rule packs (a pack that does not import, a refused rule):
    the engine adds them to every report's notes, and ``--list-rules`` can show them."""
    if not _REGISTRY.loaded:
        _load_packs()
    return _REGISTRY.notes


def register(*rules: Rule | Iterable[Rule]) -> None:
    """Add rules (each a :class:`Rule` made with :func:`rule`, or an iterable of them) to
    the catalogue, as a rule pack's entry point does: every diagnosis from now on runs
    them, ``--select``/``--ignore`` see them. All or nothing: :class:`InputError` names
    the first rule refused (a ``PI`` code, a code or name already taken, a verdict rule,
    a bad ``docs`` URL)."""
    generation()
    flat = _flatten(rules, "register()")
    if isinstance(flat, str):
        raise InputError(flat)
    taken = _taken()
    for r in flat:
        problem = _problem(r, taken)
        if problem is not None:
            raise InputError(f"register(): {problem}")
        taken[r.code] = taken[r.name] = "an earlier rule of this call"
    for r in flat:
        _REGISTRY.added[r.code] = (r, "register()")
    if flat:
        _REGISTRY.generation += 1


def unregister(*codes: str) -> None:
    """Remove rules added with :func:`register` (or by a pack) by code; InputError for a
    code that was not added (the built-in rules stay: ``Config(ignore=...)`` skips them)."""
    generation()
    missing = [c for c in codes if c not in _REGISTRY.added]
    if missing:
        raise InputError(f"unregister(): no added rule has the code {missing[0]!r}")
    for c in codes:
        del _REGISTRY.added[c]
    if codes:
        _REGISTRY.generation += 1


def _taken() -> dict[str, str]:
    """Codes and names in use, each with who uses it, for the clash messages."""
    taken = {r.code: "a built-in rule" for r in RULES} | {r.name: r.code for r in RULES}
    for code, (r, origin) in _REGISTRY.added.items():
        taken[code] = origin
        taken[r.name] = f"{code} ({origin})"
    return taken


def _problem(r: object, taken: dict[str, str]) -> str | None:
    if not isinstance(r, Rule):
        return f"{type(r).__name__} is not a Rule (make one with podinit_diag.rules.rule)"
    problem = code_problem(r.code)
    if problem is not None:
        return f"rule {r.name}: {problem}"
    if r.code.startswith(BUILTIN_PREFIX):
        return f"rule {r.code}: codes starting with PI are the built-in rules'; use your own prefix"
    if r.code in taken:
        return f"rule {r.code}: the code is already used by {taken[r.code]}"
    if r.name in taken:
        return f"rule {r.code}: the name {r.name} is already used by {taken[r.name]}"
    if r.verdict:
        return (
            f"rule {r.code}: verdict=True is for the built-in classifier's troubles; "
            "a pack's rule reads the pod itself"
        )
    if r.docs is not None and not _is_url(r.docs):
        return f"rule {r.code}: docs must be an http:// or https:// URL, not {r.docs!r}"
    return None


def _is_url(text: object) -> bool:
    return (
        isinstance(text, str)
        and text.lower().startswith(("http://", "https://"))
        and all(" " < ch <= "~" for ch in text)
    )


def _flatten(items: Iterable[object], origin: str) -> list[Rule] | str:
    """Rules from a Rule, an iterable of Rules, or a module with a ``RULES`` list; the
    reason as a string when ``items`` is none of these."""
    out: list[Rule] = []
    for item in items:
        if isinstance(item, ModuleType):
            item = getattr(item, "RULES", None)
            if item is None:
                return f"{origin}: the module has no RULES"
        if isinstance(item, Rule):
            out.append(item)
        elif isinstance(item, (str, bytes, Mapping)) or not isinstance(item, Iterable):
            return f"{origin}: {type(item).__name__} is neither a Rule nor an iterable of Rules"
        else:
            out.extend(item)  # the entries are checked one by one by _problem
    return out


def _load_packs() -> None:
    """Load every entry point of :data:`PACK_GROUP` once. A pack that does not import, or
    a rule it gives that is refused, becomes a note; nothing a pack does stops a run."""
    _REGISTRY.loaded = True
    added = False
    notes: list[str] = []
    try:
        found_eps = _entry_points()
    except Exception as exc:  # a broken distribution's metadata: no pack, and say so
        found_eps = []
        notes.append(f"rule packs not looked for: {type(exc).__name__}: {_one_line(exc)}")
    for ep in found_eps:
        dist = getattr(getattr(ep, "dist", None), "name", None)
        origin = f"rule pack {dist or ep.name} ({ep.name} = {ep.value})"
        try:
            loaded = ep.load()
        except (Exception, SystemExit) as exc:
            notes.append(f"{origin} not loaded: {type(exc).__name__}: {_one_line(exc)}")
            continue
        found = _flatten((loaded,), origin)
        if isinstance(found, str):
            notes.append(found)
            continue
        taken = _taken()
        for r in found:
            problem = _problem(r, taken)
            if problem is not None:
                notes.append(f"{origin}: refused {problem}")
                continue
            _REGISTRY.added[r.code] = (r, origin)
            taken[r.code] = origin
            taken[r.name] = f"{r.code} ({origin})"
            added = True
    _REGISTRY.notes = tuple(notes)
    if added:
        _REGISTRY.generation += 1


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _entry_points() -> list[Any]:
    """The group's entry points, sorted. importlib.metadata costs tens of milliseconds to
    import: it is loaded only when some distribution on sys.path declares the group."""
    if not _may_have_packs():
        return []
    from importlib.metadata import entry_points

    return sorted(entry_points(group=PACK_GROUP), key=lambda ep: (ep.name, ep.value))


_DECLARES = f"[{PACK_GROUP}]"


def _may_have_packs() -> bool:
    """Whether a ``*.dist-info``/``*.egg-info`` on sys.path declares the group (True also
    for a sys.path entry that is not a plain directory: a zip, which only
    importlib.metadata reads)."""
    for entry in sys.path:
        path = entry or "."
        try:
            with os.scandir(path) as listing:
                infos = [e.path for e in listing if e.name.endswith((".dist-info", ".egg-info"))]
        except NotADirectoryError:
            return os.path.exists(path)
        except OSError:
            continue  # a missing directory on sys.path holds nothing
        for info in infos:
            try:
                with open(os.path.join(info, "entry_points.txt"), encoding="utf-8") as f:
                    if _DECLARES in f.read():
                        return True
            except (OSError, UnicodeDecodeError):
                continue
    return False


__all__ = [
    "BY_CODE",
    "EVENT_REASONS",
    "HOPELESS",
    "NO_LOGS",
    "PACK_GROUP",
    "RULES",
    "Config",
    "Draft",
    "LookupFunc",
    "Rule",
    "RuleContext",
    "all_rules",
    "catalogue",
    "event_reasons",
    "find_rule",
    "generation",
    "hopeless_codes",
    "lookups",
    "no_logs_codes",
    "pack_notes",
    "register",
    "rule",
    "unregister",
]
