"""Scan internals: events joined to their pods page by page, the log budget, and the
events a scan leaves to the API server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ..conftest import FIXTURES

CRASH = FIXTURES / "PI101-init-crashloop-migrate"


def _event(ns: str, pod: str, n: int, reason: str = "BackOff") -> dict[str, Any]:
    return {
        "metadata": {"namespace": ns, "name": f"{pod}.{n:x}"},
        "involvedObject": {"kind": "Pod", "namespace": ns, "name": pod, "uid": f"{ns}/{pod}"},
        "reason": reason,
    }


def test_event_join_holds_one_namespace_and_follows_etcd_key_order() -> None:
    from podinit_diag.sources.scan import EventJoin

    # etcd orders keys as bytes of "namespace/name": "a-b/..." comes before "a/...".
    events = [
        _event("a-b", "x", 1),
        _event("a", "p", 1),
        _event("a", "p", 2, "Pulled"),  # a reason no rule reads: not kept
        _event("a", "q", 1),
        _event("b", "r", 1),  # namespace with no pod listed: skipped
        _event("c", "s", 1),
    ]
    read: list[str] = []

    def stream() -> Iterator[dict[str, Any]]:
        for e in events:
            read.append(e["metadata"]["name"])
            yield e

    join = EventJoin(stream(), relist=lambda: pytest.fail("relisted"))
    assert [e["metadata"]["name"] for e in join.events("a-b", "a-b/x")] == ["x.1"]
    assert read == ["x.1", "p.1"]  # stops at the first event of the next namespace
    assert [e["metadata"]["name"] for e in join.events("a", "a/p")] == ["p.1"]
    assert len(join.events("a", "a/q")) == 1 and join.events("a", "a/none") == ()
    assert [e["metadata"]["name"] for e in join.events("c", "c/s")] == ["s.1"]
    assert read[-2:] == ["r.1", "s.1"]


def test_event_join_relists_the_scope_once_when_pods_come_out_of_key_order() -> None:
    """A server that does not list in key order (pods alternating between namespaces)
    costs one more list of the events, not one per pod."""
    from podinit_diag.sources.scan import EventJoin

    relists = 0
    everything = [_event(ns, f"p{i}", 1) for i in range(50) for ns in ("a", "b")]

    def relist() -> list[dict[str, Any]]:
        nonlocal relists
        relists += 1
        return everything

    stream = sorted(everything, key=lambda e: e["metadata"]["namespace"])
    join = EventJoin(stream, relist)
    for i in range(50):
        for ns in ("a", "b"):
            got = join.events(ns, f"{ns}/p{i}")
            assert [e["involvedObject"]["uid"] for e in got] == [f"{ns}/p{i}"]
    assert relists == 1


def test_log_budget_keeps_the_most_severe_first_seen() -> None:
    from podinit_diag import diagnose
    from podinit_diag.sources.files import load_path
    from podinit_diag.sources.scan import _log_key, _LogBudget

    error = load_path(CRASH)[0]
    warning = load_path(FIXTURES / "PI106-init-stuck-wait-loop")[0]
    r_err, r_warn = diagnose(error), diagnose(warning)
    k_err, k_warn = _log_key(r_err), _log_key(r_warn)
    assert k_err is not None and k_warn is not None
    assert k_err[0] < k_warn[0]  # error ranks before warning
    budget: _LogBudget[str] = _LogBudget(2)
    assert budget.offer(1, k_warn, "warn-1") is None
    assert budget.offer(2, k_err, "err-2") is None
    assert budget.offer(3, k_err, "err-3") == "warn-1"  # full: the least severe goes
    assert budget.offer(4, k_warn, "warn-4") == "warn-4"
    assert budget.offer(5, k_err, "err-5") == "err-5"  # as severe: the first seen stay
    assert budget.items() == [(2, "err-2"), (3, "err-3")]
    budget.swap({3: "err-3 with logs"})
    assert [item for _, item in budget.items()] == ["err-2", "err-3 with logs"]
    assert _LogBudget(0).offer(6, k_err, "err-6") == "err-6"


def test_the_events_a_scan_leaves_to_the_apiserver_are_none_a_rule_reads() -> None:
    from podinit_diag.rules import EVENT_REASONS
    from podinit_diag.sources.scan import EVENT_SELECTOR, ROUTINE_EVENT_REASONS

    assert not set(ROUTINE_EVENT_REASONS) & EVENT_REASONS
    # kubectl's (and the apiserver's) field selector syntax: terms joined by "," are ANDed
    terms = EVENT_SELECTOR.split(",")
    assert terms[0] == "involvedObject.kind=Pod"
    assert terms[1:] == [f"reason!={r}" for r in ROUTINE_EVENT_REASONS]
