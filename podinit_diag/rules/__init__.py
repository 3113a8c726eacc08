"""The rule catalogue: one family module per part of a pod's start (pod, init, image,
config, sidecar, app, spec) and the never-silent fallbacks (fallback), each listing its
rules in ``RULES``; the classifier that gives each container its one trouble
(``classify``); and the knowledge they share (``messages``, ``logscan``, ``dependency``,
``agents``, ``scheduling``, ``evidence``). Imports the
core only; no family imports another.

What the rest of the system needs to know about the rules is derived here from what each
rule declares, so that a new rule is seen by scans, ``--wait`` and the live fetch as soon
as its family lists it.
"""

from __future__ import annotations

from podinit_diag.core.model import Config
from podinit_diag.rules import app, config, fallback, image, init, pod, sidecar, spec
from podinit_diag.rules.base import Draft, LookupFunc, Rule, RuleContext, rule

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

# The event reasons some rule reads: a scan asks the apiserver for these only.
EVENT_REASONS: frozenset[str] = frozenset().union(*(r.events for r in RULES))
# Findings after which the pod cannot succeed without someone changing the spec or the
# cluster: --wait stops early on them rather than wait out its timeout.
HOPELESS: frozenset[str] = frozenset(r.code for r in RULES if r.hopeless)
# Findings about containers that never ran: a live fetch reads no logs for them.
NO_LOGS: frozenset[str] = frozenset(r.code for r in RULES if not r.logs)


def all_rules() -> list[Rule]:
    return list(RULES)


def lookups(ctx: RuleContext) -> list[tuple[str, str]]:
    """The objects (kind, name) that the rules want looked up for this pod, once each."""
    wanted = (obj for r in RULES if r.lookups is not None for obj in r.lookups(ctx))
    return list(dict.fromkeys(wanted))


__all__ = [
    "BY_CODE",
    "EVENT_REASONS",
    "HOPELESS",
    "NO_LOGS",
    "RULES",
    "Config",
    "Draft",
    "LookupFunc",
    "Rule",
    "RuleContext",
    "all_rules",
    "lookups",
    "rule",
]
