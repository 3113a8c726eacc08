"""Scheduler message parsing: the nodes and reasons of a FailedScheduling message."""

from __future__ import annotations

from podinit_diag.rules.messages import scheduler_reasons


def test_scheduler_message_with_counts_and_preemption() -> None:
    total, reasons = scheduler_reasons(
        "0/5 nodes are available: 3 Insufficient memory, 2 node(s) had untolerated taint "
        "{node-role.kubernetes.io/control-plane: }. preemption: 0/5 nodes are available: 2 "
        "Preemption is not helpful for scheduling, 3 No preemption victims found for incoming pod."
    )
    assert total == 5
    assert [(r.nodes, r.text) for r in reasons] == [
        (3, "Insufficient memory"),
        (2, "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"),
    ]


def test_scheduler_message_without_counts() -> None:
    total, reasons = scheduler_reasons(
        "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: "
        "0/3 nodes are available: 3 Preemption is not helpful for scheduling."
    )
    assert total == 3
    assert [(r.nodes, r.text) for r in reasons] == [
        (None, "pod has unbound immediate PersistentVolumeClaims")
    ]
