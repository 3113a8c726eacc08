"""PI4xx: native sidecars (init containers with ``restartPolicy: Always``).

A sidecar starts in init order and must be *started* (its startup probe passed)
before the next init container runs; after that it runs beside the app. A sidecar
stopped at the end of a Job is expected and never reported.
"""

from __future__ import annotations

from collections.abc import Iterator

from podinit_diag.core.kubetime import human_duration
from podinit_diag.core.model import (
    ContainerKind,
    ContainerView,
    EventView,
    Evidence,
    PodSnapshot,
    Severity,
    Stage,
)
from podinit_diag.rules import evidence as ev
from podinit_diag.rules.base import Draft, RuleContext, rule
from podinit_diag.rules.classify import event_count


def _probe_proof(
    c: ContainerView, probes: tuple[EventView, ...], snap: PodSnapshot
) -> list[Evidence]:
    out = [ev.event(e, snap) for e in probes[-2:]]
    for key in ("startupProbe", "readinessProbe"):
        if c.spec.get(key):
            out.append(ev.spec(f"{c.spec_ref}.{key}", c.spec.get(key)))
    return out


@rule(
    "PI401",
    "sidecar-crashloop",
    Severity.ERROR,
    Stage.CONTAINERS,
    verdict=True,
    events=ev.BACKOFF_REASONS,
)
def sidecar_crashloop(ctx: RuleContext) -> Iterator[Draft]:
    """A native sidecar keeps failing.

    What it detects:
        An init container with ``restartPolicy: Always`` that is in ``CrashLoopBackOff``, has
        just exited non-zero, could not be started, or failed within the last 10 minutes
        after restarting (OOM kills included). Not reported when the sidecar stopped at the
        end of a Job (all app containers terminated or the pod finished).
    Why it happens:
        The sidecar's own configuration (a log shipper's config file, a proxy's credentials),
        a memory limit too small for it, or a dependency it cannot reach. Before it has started
        it blocks the init containers after it; once running, its restarts disrupt what the
        app gets from it (proxy, logs, secrets).
    How to fix:
        Read ``kubectl logs POD -c SIDECAR --previous``, fix its configuration or resources in
        the pod template; a sidecar that should not block start-up can have a startup probe
        that passes early.
    """
    snap = ctx.snap
    for v in ctx.verdicts_for("PI401"):
        c = v.container
        t = v.termination
        blocks = "" if c.started else "; it blocks the init containers declared after it"
        what = ev.exit_phrase(t) if t else (v.message or c.reason or "failing")
        proof = ev.failure(v, snap)
        yield Draft(
            c,
            f"Sidecar {c.name} keeps failing: {what}, {ev.restarts_phrase(c)}{blocks}",
            tuple(proof),
            f"Read `{ev.logs_command(snap, c, c.state != 'terminated')}` and fix sidecar {c.name} "
            f"(its configuration, resources.limits.memory, or command) in {ev.owner_phrase(snap)}.",
        )


@rule(
    "PI402",
    "sidecar-startup-failing",
    Severity.ERROR,
    Stage.CONTAINERS,
    verdict=True,
    events=("Unhealthy",),
)
def sidecar_startup_failing(ctx: RuleContext) -> Iterator[Draft]:
    """A native sidecar's startup probe keeps failing, which holds every later init container.

    What it detects:
        A running sidecar whose ``started`` is still false and that has ``Startup probe
        failed`` (``Unhealthy``) events.
    Why it happens:
        The kubelet starts the next init container only once a sidecar's startup probe
        succeeds. A proxy waiting for its control plane, a wrong probe port or path, or a probe
        too strict for the sidecar's start time keeps the whole pod at ``Init:N/M``.
    How to fix:
        Check the probe against the sidecar (port, path, ``failureThreshold`` x
        ``periodSeconds`` long enough for its start), and what the sidecar waits for (its
        logs).
    """
    snap = ctx.snap
    for v in ctx.verdicts_for("PI402"):
        c = v.container
        later = [
            x.name for x in snap.containers if x.kind is not ContainerKind.APP and x.order > c.order
        ]
        held = f"; it holds {', '.join(later)}" if later else ""
        last = v.probes[-1].message if v.probes else ""
        yield Draft(
            c,
            f"Sidecar {c.name} has not passed its startup probe ({event_count(v.probes)} failures"
            f"{', running ' + human_duration(v.running_for) if v.running_for else ''}){held}: "
            f"{ev.short(last)}",
            tuple(_probe_proof(c, v.probes, snap)),
            f"Make the startup probe of sidecar {c.name} match when it is really up (port, path, "
            f"failureThreshold x periodSeconds) or fix what it waits for; see "
            f"`{ev.logs_command(snap, c, False)}`.",
        )


@rule(
    "PI403",
    "sidecar-not-ready",
    Severity.WARNING,
    Stage.CONTAINERS,
    verdict=True,
    events=("Unhealthy",),
)
def sidecar_not_ready(ctx: RuleContext) -> Iterator[Draft]:
    """A native sidecar is running but not ready.

    What it detects:
        A sidecar that has started but whose ``ready`` is false, with ``Readiness probe
        failed`` events or for longer than ``--stuck-after``.
    Why it happens:
        A sidecar counts toward the pod's readiness: the pod stays out of its Services'
        endpoints while the sidecar's readiness probe fails (a proxy without configuration, an
        agent that cannot reach its backend).
    How to fix:
        Read the probe failures and the sidecar's log, then fix the sidecar's configuration or
        its readiness probe.
    """
    snap = ctx.snap
    for v in ctx.verdicts_for("PI403"):
        c = v.container
        why = (
            f"{event_count(v.probes)} readiness probe failures: {ev.short(v.probes[-1].message)}"
            if v.probes
            else f"not ready for {human_duration(v.running_for) if v.running_for else '?'}"
        )
        proof = [ev.status(f"{c.status_ref}.ready", False)] + _probe_proof(c, v.probes, snap)
        yield Draft(
            c,
            f"Sidecar {c.name} is running but not ready ({why}); the pod is not Ready",
            tuple(proof),
            f"Fix sidecar {c.name} or its readiness probe in {ev.owner_phrase(snap)}; see "
            f"`{ev.logs_command(snap, c, False)}`.",
        )


PROXY_HINTS = (
    "istio-proxy",
    "envoy",
    "linkerd-proxy",
    "cloud-sql-proxy",
    "cloudsql-proxy",
    "alloydb-auth-proxy",
    "vault-agent",
    "oauth2-proxy",
    "proxy",
)


def _proxy(c: ContainerView) -> bool:
    text = f"{c.name} {ev.image(c)}".lower()
    return any(h in text for h in PROXY_HINTS)


@rule("PI404", "sidecar-order", Severity.ERROR, Stage.CONTAINERS, priority=1)
def sidecar_order(ctx: RuleContext) -> Iterator[Draft]:
    """An init container needs a proxy sidecar that only starts after it.

    What it detects:
        A regular init container that hangs or fails on the network (PI106, PI107, PI110, or a
        failure whose log is a network error) while a proxy-like container (istio-proxy,
        envoy, linkerd-proxy, cloud-sql-proxy, vault-agent, ...) is declared after it: a
        native sidecar later in ``initContainers``, or an app container (which starts only
        after every init container).
    Why it happens:
        Init containers run before anything declared after them. With a service mesh the
        init container's traffic is redirected to a proxy that is not running yet; a database
        reached through cloud-sql-proxy on localhost is not there yet.
    How to fix:
        Declare the proxy as a native sidecar (``restartPolicy: Always``) before the init
        container that needs it (Istio: ``ENABLE_NATIVE_SIDECARS`` / 1.29+; Linkerd:
        ``config.alpha.linkerd.io/proxy-enable-native-sidecar``), or exclude the init
        container's traffic from the mesh (``traffic.sidecar.istio.io/excludeOutboundPorts``,
        run it as the proxy's UID).
    """
    snap = ctx.snap
    if not ctx.verdicts:
        return
    for v in ctx.verdicts:
        c = v.container
        if c.kind is not ContainerKind.INIT:
            continue
        if not v.network and not (v.category is not None and v.category.is_network):
            continue
        proxies = [p for p in snap.containers if p.order > c.order and _proxy(p)]
        if not proxies:
            continue
        p = proxies[0]
        kind = "native sidecar" if p.kind is ContainerKind.SIDECAR else "app container"
        proof = [ev.spec(f"{p.spec_ref}.name", p.name), ev.spec(f"{c.spec_ref}.name", c.name)]
        if v.log_hit is not None:
            proof.append(ev.log(v.log_hit))
        move = (
            f"move sidecar {p.name} before init container {c.name} in initContainers"
            if p.kind is ContainerKind.SIDECAR
            else f"run {p.name} as a native sidecar (restartPolicy: Always) declared before "
            f"{c.name}, or exclude {c.name}'s traffic from the proxy"
        )
        yield Draft(
            c,
            f"Init container {c.name} needs the network through {p.name}, but {p.name} "
            f"({kind}) starts only after it",
            tuple(proof),
            f"In {ev.owner_phrase(snap)}: {move}.",
        )


RULES = (
    sidecar_crashloop,
    sidecar_startup_failing,
    sidecar_not_ready,
    sidecar_order,
)
