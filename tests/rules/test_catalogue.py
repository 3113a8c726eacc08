"""The catalogue's facts hold together: registration, the classifier's codes, the event
reasons the rules read, and what scans, --wait and the live fetch derive from them."""

from __future__ import annotations

import ast
import importlib
import inspect
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import pytest

from podinit_diag import rules
from podinit_diag.core.model import Bundle, Config, Severity
from podinit_diag.engine import diagnose
from podinit_diag.rules import (
    BY_CODE,
    EVENT_REASONS,
    HOPELESS,
    NO_LOGS,
    RULES,
    RuleContext,
    lookups,
)
from podinit_diag.rules.classify import emitted_codes
from podinit_diag.sources.files import load_path

from ..conftest import fixture_dirs

FAMILIES = {
    "pod": "PI0",
    "init": "PI1",
    "image": "PI2",
    "config": "PI3",
    "sidecar": "PI4",
    "app": "PI5",
    "spec": "PI9",
    "fallback": "PI8",
}
RULES_DIR = Path(rules.__file__).parent


def test_each_family_lists_its_own_rules_in_code_order() -> None:
    listed = []
    for name, prefix in FAMILIES.items():
        family = importlib.import_module(f"podinit_diag.rules.{name}")
        codes = [r.code for r in family.RULES]
        assert codes == sorted(codes), name
        assert all(c.startswith(prefix) for c in codes), name
        # every Rule the module defines is listed: a forgotten one would never run
        defined = [v for v in vars(family).values() if isinstance(v, rules.Rule)]
        assert {r.code for r in defined} == set(codes), name
        listed += codes
    assert [r.code for r in RULES] == sorted(listed)
    assert len(set(listed)) == len(listed)


def test_the_classifier_gives_exactly_the_verdict_rules_codes() -> None:
    assert emitted_codes() == {r.code for r in RULES if r.verdict}


def _module_reasons(module: ModuleType) -> Iterator[tuple[int, str]]:
    """(line, reason) of every event reason the module compares against: ``e.reason`` and
    ``event.reason`` compared with a string or a collection, ``snap.event_reasons`` tested
    for one, and the reasons given to the event helpers."""
    tree = ast.parse(inspect.getsource(module))

    def strings(node: ast.expr) -> set[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return {node.value}
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            return set().union(*(strings(e) for e in node.elts))
        if isinstance(node, ast.Call) and node.args:
            return strings(node.args[0])
        value: object = None
        if isinstance(node, ast.Name):
            value = getattr(module, node.id, None)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            value = getattr(getattr(module, node.value.id, None), node.attr, None)
        if isinstance(value, tuple | frozenset | set):
            return {v for v in value if isinstance(v, str)}
        return set()

    def is_event_reason(node: ast.expr) -> bool:
        return isinstance(node, ast.Attribute) and (
            node.attr == "event_reasons"
            or (
                node.attr == "reason"
                and isinstance(node.value, ast.Name)
                and node.value.id in ("e", "event")
            )
        )

    for node in ast.walk(tree):
        found: set[str] = set()
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(is_event_reason(s) for s in sides):
                found = set().union(*(strings(s) for s in sides if not is_event_reason(s)))
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitAnd):
            if is_event_reason(node.left) or is_event_reason(node.right):
                found = strings(node.right) | strings(node.left)
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("latest_event", "_warnings"):
                found = strings(node.args[-1])
        for reason in sorted(found):
            yield node.lineno, reason


def _read_reasons() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for path in sorted(RULES_DIR.glob("*.py")):
        module = importlib.import_module(f"podinit_diag.rules.{path.stem}")
        for line, reason in _module_reasons(module):
            out.setdefault(reason, set()).add(f"{path.name}:{line}")
    return out


def test_every_event_reason_a_rule_reads_is_declared_and_every_declared_one_is_read() -> None:
    read = _read_reasons()
    # the scanner itself works: these are compared in four different ways
    assert {"FailedScheduling", "FailedMount", "Unhealthy", "BackOff", "Evicted"} <= set(read)
    undeclared = {r: where for r, where in read.items() if r not in EVENT_REASONS}
    assert not undeclared, (
        f"read but declared by no rule (scans would never see them): {undeclared}"
    )
    assert set(EVENT_REASONS) <= set(read), "declared but read nowhere"


@pytest.mark.parametrize("bundle", fixture_dirs(), ids=lambda d: d.name)
def test_the_events_a_scan_asks_for_are_all_the_rules_need(bundle: Path) -> None:
    """A scan asks the apiserver only for EVENT_REASONS: the same pod diagnosed with only
    those events must give the same findings as with all of them."""
    (full,) = load_path(bundle)
    kept = tuple(e for e in full.events if e.get("reason") in EVENT_REASONS)
    assert diagnose(replace(full, events=kept)).findings == diagnose(full).findings


def test_derived_sets_follow_the_declarations() -> None:
    assert {r.code for r in RULES if r.hopeless} == HOPELESS
    assert {r.code for r in RULES if not r.logs} == NO_LOGS
    # --wait stops early on a hopeless finding only at or above --fail-on: an info or
    # warning that made success impossible would be a contradiction in terms
    assert all(BY_CODE[c].severity is Severity.ERROR for c in HOPELESS)
    # no logs for a container that never ran: only the image rules can say that
    assert NO_LOGS and all(c.startswith("PI2") for c in NO_LOGS)


def _lookups_of(name: str) -> list[tuple[str, str]]:
    (bundle,) = load_path(Path(__file__).parents[1] / "fixtures" / name)
    return lookups(RuleContext(_snapshot(bundle), Config()))


def _snapshot(bundle: Bundle):  # type: ignore[no-untyped-def]
    from podinit_diag.core.normalize import normalize

    assert bundle.captured_at is not None
    return normalize(bundle, bundle.captured_at)


@pytest.mark.parametrize(
    ("fixture", "kind"),
    [
        ("PI301-volume-configmap-missing", "ConfigMap"),
        ("PI301-init-configmapkeyref-missing-configmap", "ConfigMap"),
        ("PI302-envfrom-secret-missing", "Secret"),
        ("PI303-init-secret-key-missing", "Secret"),
    ],
)
def test_the_fetch_looks_up_the_object_the_kubelet_says_is_missing(fixture: str, kind: str) -> None:
    wanted = _lookups_of(fixture)
    (report,) = [diagnose(b) for b in load_path(Path(__file__).parents[1] / "fixtures" / fixture)]
    named = [f for f in report.findings if f.code.startswith("PI30")]
    assert named and len(wanted) == 1
    assert wanted[0][0] == kind and wanted[0][1] in named[0].title


def test_the_fetch_looks_up_the_pull_secrets_of_an_unauthorized_pull() -> None:
    (bundle,) = load_path(Path(__file__).parents[1] / "fixtures" / "PI202-ecr-token-expired-401")
    spec_secrets = [s["name"] for s in bundle.pod["spec"].get("imagePullSecrets", [])]
    assert spec_secrets, "the fixture names its pull secrets"
    assert _lookups_of("PI202-ecr-token-expired-401") == [("Secret", s) for s in spec_secrets]
    # a healthy pod needs nothing looked up
    assert _lookups_of("PI101-init-crashloop-migrate") == []
