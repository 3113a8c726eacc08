"""Run the rules over a snapshot and assemble the report, root cause first."""

from __future__ import annotations

from datetime import UTC, datetime

from podinit_diag.core.errors import InputError
from podinit_diag.core.kubestatus import pod_status
from podinit_diag.core.kubetime import translate_timestamp_since
from podinit_diag.core.model import (
    Bundle,
    Config,
    Finding,
    PodHeader,
    PodSnapshot,
    Report,
    Severity,
    Stage,
)
from podinit_diag.core.normalize import normalize
from podinit_diag.core.timeline import condition_chain, init_timeline
from podinit_diag.rules import Rule, RuleContext, catalogue, generation, pack_notes


def diagnose(bundle: Bundle, config: Config | None = None, now: datetime | None = None) -> Report:
    """Diagnose one pod's :class:`Bundle` (``podinit_diag.diagnose`` also takes a pod dict
    or the official client's ``V1Pod``). ``now`` defaults to the bundle's capture time,
    then the clock.

    The pod, events, logs and related objects are read schema-tolerantly: a field of the
    wrong type, an absurd number or an entry that is not an object reads as absent, and
    the pod still gets a report. Raises :class:`InputError` (only) for arguments that
    cannot be judged at all: ``bundle`` not a :class:`Bundle`, ``config`` not a
    :class:`Config`, or ``now`` (or ``bundle.captured_at``) not a timezone-aware datetime.
    A naive datetime is refused rather than guessed: ``datetime.now()`` is local time, and
    read as UTC it would shift every age the rules judge by the machine's UTC offset.
    """
    if not isinstance(bundle, Bundle):
        raise InputError(f"diagnose() needs a Bundle, not {type(bundle).__name__}")
    if config is not None and not isinstance(config, Config):
        raise InputError(f"diagnose() needs a Config or None, not {type(config).__name__}")
    when = _aware(now, "now") or _aware(bundle.captured_at, "Bundle.captured_at")
    return diagnose_snapshot(normalize(bundle, when or datetime.now(UTC)), config or Config())


def _aware(when: object, what: str) -> datetime | None:
    if when is None:
        return None
    if not isinstance(when, datetime):
        raise InputError(f"{what} must be a timezone-aware datetime, not {type(when).__name__}")
    if when.utcoffset() is None:
        raise InputError(
            f"{what} {when.isoformat()} has no time zone; give one (datetime.now(UTC))"
        )
    return when


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
        conditions=condition_chain(snap),
        findings=findings,
        errors=snap.notes + pack_notes() + errors,
    )


# (rules that run on every pod, verdict rules by code, verdict rules that also run on
# their events, fallbacks, docs links)
_Plan = tuple[tuple[Rule, ...], dict[str, Rule], tuple[Rule, ...], tuple[Rule, ...], dict[str, str]]
# Plans by config, for the catalogue of one generation (a rule added by a pack or by
# register() makes a new generation, and the plans are made again).
_PLANS: dict[Config, _Plan] = {}
_PLANS_OF: list[int] = [-1]
_LAST_PLAN: list[tuple[Config, int, _Plan]] = []


def enabled_rules(config: Config) -> _Plan:
    """The rules a config enables, grouped by when they run (see ``_Plan``)."""
    gen = generation()  # loads the rule packs on first use
    if _LAST_PLAN and _LAST_PLAN[0][0] is config and _LAST_PLAN[0][1] == gen:
        return _LAST_PLAN[0][2]  # a scan passes the same Config for every pod: skip hashing it
    if _PLANS_OF[0] != gen:
        _PLANS.clear()
        _PLANS_OF[0] = gen
    plan = _PLANS.get(config)
    if plan is None:
        rules = [r for r in catalogue() if config.enabled(r.code)]
        plan = (
            tuple(r for r in rules if not r.verdict and not r.fallback),
            {r.code: r for r in rules if r.verdict},
            tuple(r for r in rules if r.verdict and r.events),
            tuple(r for r in rules if r.fallback),
            {r.code: r.docs_link(config.docs_url) for r in rules},
        )
        if len(_PLANS) < 64:
            _PLANS[config] = plan
    _LAST_PLAN[:] = [(config, gen, plan)]
    return plan


def run_rules(snap: PodSnapshot, config: Config) -> tuple[tuple[Finding, ...], tuple[str, ...]]:
    ctx = RuleContext(snap, config)
    ranked: list[tuple[tuple[int, int, int, int, str, int], Finding]] = []
    errors: list[str] = []
    always, by_code, on_events, fallbacks, links = enabled_rules(config)
    codes = ctx.verdict_codes
    # Verdict rules run only when the classifier gave them a container, or when the pod
    # has an event they read (a missing ConfigMap shows as a FailedMount of the pod).
    chosen = always + tuple(by_code[c] for c in sorted(codes) if c in by_code) if codes else always
    reasons = snap.event_reasons
    if reasons:
        chosen += tuple(r for r in on_events if r.code not in codes and r.events & reasons)
    _run(chosen, ctx, links, ranked, errors)
    # Never silent: where the pod waits, when nothing more specific was found (a container
    # trouble whose rule the user turned off was found: saying less is what they asked for).
    if (
        fallbacks
        and not codes
        and (snap.deleted_at is not None or not snap.condition_true("Ready"))
        and not any(f.severity.rank <= _WARNING for _, f in ranked)
    ):
        _run(fallbacks, ctx, links, ranked, errors)
    if len(ranked) > 1:
        ranked.sort(key=lambda t: t[0])
    return tuple(f for _, f in ranked), tuple(errors)


_WARNING = Severity.WARNING.rank
_CONSEQUENCE = 9  # after every finding of the container it follows from
_BY_CONTAINER = (Stage.CONTAINERS.value, Stage.FALLBACK.value)


def _run(
    rules: tuple[Rule, ...],
    ctx: RuleContext,
    links: dict[str, str],
    ranked: list[tuple[tuple[int, int, int, int, str, int], Finding]],
    errors: list[str],
) -> None:
    for r in rules:
        try:
            # A rule yields its findings most important first; that order is kept.
            for n, d in enumerate(r.func(ctx)):
                c = d.container
                f = Finding(
                    code=r.code,
                    rule=r.name,
                    severity=r.severity,
                    container=c.name if c else None,
                    container_kind=c.kind if c else None,
                    title=d.title,
                    evidence=d.evidence,
                    fix=d.fix,
                    docs=links[r.code],
                )
                stage, priority, severity = r.rank
                # Pod-level stages rank by cause, whichever container a finding names.
                order = c.order if c and stage in _BY_CONTAINER else -1
                if d.behind is not None:
                    order, priority = d.behind.order, _CONSEQUENCE
                key = (stage, order, priority, severity, r.code, n)
                ranked.append((key, f))
        except Exception as exc:
            errors.append(f"rule {r.code} {r.name} failed on this pod: {type(exc).__name__}: {exc}")
