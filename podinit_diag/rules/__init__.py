"""The rule catalogue. Importing this package registers every rule in :data:`REGISTRY`."""

from __future__ import annotations

# Importing a family registers its rules.
from podinit_diag.rules import app, config, image, init, pod, sidecar, spec  # noqa: F401
from podinit_diag.rules.base import REGISTRY, Config, Draft, Rule, RuleContext, rule

__all__ = ["REGISTRY", "Config", "Draft", "Rule", "RuleContext", "all_rules", "rule"]


def all_rules() -> list[Rule]:
    return [REGISTRY[code] for code in sorted(REGISTRY)]
