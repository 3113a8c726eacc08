"""The rule catalogue. Importing this package registers every rule in :data:`REGISTRY`."""

from __future__ import annotations

from . import init as _init  # noqa: F401  (registers PI1xx)
from .base import REGISTRY, Config, Draft, Rule, RuleContext, rule

__all__ = ["REGISTRY", "Config", "Draft", "Rule", "RuleContext", "all_rules", "rule"]


def all_rules() -> list[Rule]:
    return [REGISTRY[code] for code in sorted(REGISTRY)]
