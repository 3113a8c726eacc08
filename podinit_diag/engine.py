"""Run the rules over a snapshot and assemble the report, root cause first."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from .kubetime import translate_timestamp_since
from .model import Bundle, Finding, PodHeader, PodSnapshot, Report
from .normalize import normalize
from .rules import Config, Draft, Rule, RuleContext, all_rules
from .status import pod_status
from .timeline import init_timeline


def diagnose(bundle: Bundle, config: Config | None = None, now: datetime | None = None) -> Report:
    """Diagnose one pod. ``now`` defaults to the bundle's capture time, then the clock."""
    when = now or bundle.captured_at or datetime.now(UTC)
    return diagnose_snapshot(normalize(bundle, when), config or Config())


def diagnose_snapshot(snap: PodSnapshot, config: Config) -> Report:
    findings, errors = run_rules(snap, config)
    st = pod_status(snap.pod, snap.now)
    header = PodHeader(
        namespace=snap.namespace,
        name=snap.name,
        uid=snap.uid,
        phase=snap.phase,
        status=st.status,
        ready=st.ready,
        restarts=st.restarts,
        restart_count=st.restart_count,
        node=snap.node,
        owner=snap.owner,
        age=translate_timestamp_since(snap.created_at, snap.now),
    )
    return Report(
        pod=header,
        observed_at=snap.now,
        source=snap.source,
        timeline=init_timeline(snap),
        findings=findings,
        errors=errors,
    )


@lru_cache(maxsize=16)
def enabled_rules(config: Config) -> tuple[Rule, ...]:
    return tuple(r for r in all_rules() if config.enabled(r.code))


def run_rules(snap: PodSnapshot, config: Config) -> tuple[tuple[Finding, ...], tuple[str, ...]]:
    ctx = RuleContext(snap, config)
    ranked: list[tuple[tuple[int, int, int, int, str, str], Finding]] = []
    errors: list[str] = []
    for r in enabled_rules(config):
        if r.verdict and r.code not in ctx.verdict_codes:
            continue  # the classifier gave no container to this rule
        try:
            for d in r.func(ctx):
                f = _stamp(r, d)
                order = d.container.order if d.container else -1
                key = (r.stage.value, order, r.priority, f.severity.rank, f.code, f.title)
                ranked.append((key, f))
        except Exception as exc:
            errors.append(f"rule {r.code} {r.name} failed on this pod: {type(exc).__name__}: {exc}")
    ranked.sort(key=lambda t: t[0])
    return tuple(f for _, f in ranked), tuple(errors)


def _stamp(r: Rule, d: Draft) -> Finding:
    return Finding(
        code=r.code,
        rule=r.name,
        severity=r.severity,
        container=d.container.name if d.container else None,
        container_kind=d.container.kind if d.container else None,
        title=d.title,
        evidence=d.evidence,
        fix=d.fix,
        docs=r.anchor,
    )
