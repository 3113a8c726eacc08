"""PI4xx: native sidecars (init containers with ``restartPolicy: Always``).

A sidecar starts in init order and must be *started* (its startup probe passed)
before the next init container runs; after that it runs beside the app. A sidecar
stopped at the end of a Job is expected and never reported.
"""

from __future__ import annotations

from collections.abc import Iterator

from podinit_diag.core.access import as_dict
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
from podinit_diag.rules.agents import (
    is_mesh_setup,
    is_proxy,
    listens_on,
    local_ports,
    never_exits,
)
from podinit_diag.rules.base import Draft, RuleContext, rule
from podinit_diag.rules.classify import GRACE, event_count
from podinit_diag.rules.dependency import uses_network
from podinit_diag.rules.logscan import Category


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
        failed`` (``Unhealthy``) events, or one the kubelet keeps restarting because its
        startup probe failed (``Killing``: ``failed startup probe, will be restarted``).
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
        failures = tuple(e for e in v.probes if e.reason == "Unhealthy")
        last = failures[-1].message if failures else ""
        killed = f", {ev.restarts_phrase(c)} for it" if c.restart_count else ""
        yield Draft(
            c,
            f"Sidecar {c.name} has not passed its startup probe ({event_count(failures)} failures"
            f"{killed}"
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


@rule("PI404", "sidecar-order", Severity.ERROR, Stage.CONTAINERS, priority=1)
def sidecar_order(ctx: RuleContext) -> Iterator[Draft]:
    """An init container needs a proxy sidecar that only starts after it.

    What it detects:
        A regular init container that hangs or fails on the network (PI106, PI107, PI110, a
        failure whose log is a network error, or a failure without a telling log of a command
        that uses the network: ``wget``, ``curl``, ``psql``, ``git``...) while a proxy or agent
        (istio-proxy, envoy, linkerd-proxy, cloud-sql-proxy, vault-agent, ...) - or a container
        that listens on the ``localhost`` port the init container connects to - is declared
        after it: a native sidecar later in ``initContainers``, or an app container (which
        starts only after every init container).
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
    for v in ctx.verdicts:
        c = v.container
        if c.kind is not ContainerKind.INIT or v.code == "PI408" or v.category is Category.WAIT:
            continue  # not an init container, or one that blocks or waits for its own reason
        network = v.category is not None and v.category.is_network
        if not (v.network or network or (v.category is None and uses_network(c))):
            continue
        later = [p for p in snap.containers if p.order > c.order]
        proxies = [p for p in later if is_proxy(p)]
        through = ""
        if not proxies and later:
            wanted = local_ports(c, v.log_hit.text if v.log_hit else "")
            serving = [(p, wanted & listens_on(p)) for p in later] if wanted else []
            proxies = [p for p, ports in serving if ports]
            if proxies:
                port = min(next(ports for _, ports in serving if ports))
                through = f"connects to localhost:{port}, which {proxies[0].name} serves"
        if not proxies or is_mesh_setup(c):
            continue  # the mesh's own set-up steps run before its proxy by design
        p = proxies[0]
        through = through or f"needs the network through {p.name}"
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
            f"Init container {c.name} {through}, but {p.name} ({kind}) starts only after it",
            tuple(proof),
            f"In {ev.owner_phrase(snap)}: {move}.",
        )


@rule(
    "PI406",
    "proxy-start-hold",
    Severity.ERROR,
    Stage.CONTAINERS,
    priority=1,
    events=("FailedPostStartHook",),
)
def proxy_start_hold(ctx: RuleContext) -> Iterator[Draft]:
    """A proxy's ``postStart`` hook holds the app containers declared after it, and fails.

    What it detects:
        An app container with a ``lifecycle.postStart`` hook (Istio's
        ``holdApplicationUntilProxyStarts`` injects ``pilot-agent wait``, Linkerd's
        ``linkerd-await``, custom ``wait-for-proxy`` scripts) that has a ``FailedPostStartHook``
        event, or that has not become ready while a container declared after it still waits to
        start past the grace period.
    Why it happens:
        The kubelet starts app containers in order and does not start the next one until the
        previous one's ``postStart`` hook returns. A proxy that cannot get its configuration
        (control plane unreachable, certificates, a crashing Envoy) makes the hook time out:
        the proxy is killed and restarted and the app is held, or released without a working
        proxy and fails.
    How to fix:
        Fix the proxy first (``kubectl logs POD -c PROXY``: its control plane, certificates,
        resources); with Kubernetes 1.29+ prefer a native sidecar proxy (Istio
        ``ENABLE_NATIVE_SIDECARS``) whose startup probe gates the app instead of a hook.
    """
    snap = ctx.snap
    if not any("lifecycle" in p.spec for p in snap.app_containers):
        return
    from_events = "FailedPostStartHook" in snap.event_reasons
    for p in snap.app_containers:
        hook = as_dict(as_dict(p.spec.get("lifecycle")).get("postStart"))
        if not hook:
            continue
        failed = [e for e in snap.events if e.reason == "FailedPostStartHook" and _about(e, p)]
        held = [
            c
            for c in snap.app_containers
            if c.index > p.index and c.state == "waiting" and not c.restart_count
        ]
        if p.ready and not held:
            continue  # the hook returned in the end: its failures are history
        if not failed and (from_events or not held or not _held_long(snap, p)):
            continue
        proof = [ev.spec(f"{p.spec_ref}.lifecycle.postStart", hook)]
        proof += [ev.event(failed[-1], snap)] if failed else []
        proof += ev.restarts(p)
        if p.status_ref:
            proof.append(ev.status(f"{p.status_ref}.ready", p.ready))
        after = [c.name for c in snap.app_containers if c.index > p.index]
        what = "its postStart hook failed" if failed else "its postStart hook has not returned"
        yield Draft(
            p,
            f"{ev.who(p)[0].upper()}{ev.who(p)[1:]} holds {', '.join(after) or 'the app'}: "
            f"{what}" + (f" ({ev.short(failed[-1].message, 120)})" if failed else ""),
            tuple(proof),
            f"Fix {p.name} first (`{ev.logs_command(snap, p, p.restart_count > 0)}`): the "
            f"containers after it start only once its postStart hook returns. With Kubernetes "
            f"1.29+ run it as a native sidecar gated by a startup probe instead of a hook.",
        )


def _about(e: EventView, c: ContainerView) -> bool:
    return e.container == c.name or f'Container "{c.name}"' in e.message


def _held_long(snap: PodSnapshot, p: ContainerView) -> bool:
    return p.started_at is not None and snap.now - p.started_at >= GRACE


def _job_pod(snap: PodSnapshot) -> bool:
    if snap.owner is not None and snap.owner.kind == "Job":
        return True
    labels = as_dict(as_dict(snap.pod.get("metadata")).get("labels"))
    return "job-name" in labels or "batch.kubernetes.io/job-name" in labels


@rule("PI407", "proxy-keeps-job-running", Severity.ERROR, Stage.CONTAINERS)
def proxy_keeps_job_running(ctx: RuleContext) -> Iterator[Draft]:
    """A proxy injected as a regular container keeps a Job's pod running after its work ended.

    What it detects:
        A pod of a Job where a container has terminated while a proxy or agent (istio-proxy,
        linkerd-proxy, cloud-sql-proxy, vault-agent...) declared as a regular container is
        still running: the pod cannot complete, so the Job never does.
    Why it happens:
        A pod completes only when all its regular containers have exited, and a proxy does not
        know the work is done. Meshes and database proxies injected before native sidecars
        (Kubernetes 1.29+) run as regular containers.
    How to fix:
        Run the proxy as a native sidecar (``initContainers`` with ``restartPolicy: Always``;
        Istio ``ENABLE_NATIVE_SIDECARS``, Linkerd ``proxy-enable-native-sidecar``, cloud-sql-
        proxy as a native sidecar), or have the job stop it when done (``curl -X POST
        localhost:15020/quitquitquit`` for Istio, ``linkerd-await --shutdown``,
        cloud-sql-proxy ``--quitquitquit``), or disable injection for the Job.
    """
    snap = ctx.snap
    if snap.phase != "Running" or not _job_pod(snap):
        return
    done = [c for c in snap.app_containers if c.state == "terminated" and c.terminated]
    if not done:
        return
    for p in snap.app_containers:
        if p.state != "running" or not is_proxy(p):
            continue
        main = done[0]
        t = main.terminated
        assert t is not None
        ended = f", {human_duration(snap.now - t.finished_at)} ago" if t.finished_at else ""
        proof = ev.termination(t) + [ev.running_since(p)]
        yield Draft(
            p,
            f"Job pod cannot complete: container {main.name} finished ({ev.exit_phrase(t)}"
            f"{ended}) but {p.name}, a proxy declared as a regular container, keeps running",
            tuple(proof),
            f"Run {p.name} as a native sidecar (initContainers with restartPolicy: Always, "
            f"Kubernetes 1.29+) in {ev.owner_phrase(snap)}, or make {main.name} stop it when it "
            f"is done (Istio: `curl -X POST localhost:15020/quitquitquit`; cloud-sql-proxy: "
            f"--quitquitquit), or disable injection for the Job.",
        )
        return


@rule(
    "PI408",
    "proxy-as-init-container",
    Severity.ERROR,
    Stage.CONTAINERS,
    priority=1,
    verdict=True,
)
def proxy_as_init_container(ctx: RuleContext) -> Iterator[Draft]:
    """A proxy or agent meant to run beside the app is declared as a regular init container.

    What it detects:
        A running regular init container (no ``restartPolicy: Always``) that never exits by
        design: a known proxy or agent (cloud-sql-proxy, istio-proxy, envoy, linkerd-proxy,
        vault agent without ``-exit-after-auth``...) or a command that loops forever
        (``while true; do ...; done`` without ``break``/``exit``, ``tail -f /dev/null``).
    Why it happens:
        Init containers run one after the other and each must exit before the next starts;
        a proxy put there to be "ready before the app" blocks the pod at ``Init:N/M`` forever.
        A mutating webhook that rebuilds the pod with an older API version can also drop the
        ``restartPolicy: Always`` that made it a native sidecar.
    How to fix:
        Declare it as a native sidecar (``restartPolicy: Always`` on the init container,
        Kubernetes 1.29+), or move it to ``containers``; if a webhook injects or rewrites it,
        check that the webhook keeps the field.
    """
    snap = ctx.snap
    for v in ctx.verdicts_for("PI408"):
        c = v.container
        after = [x.name for x in snap.containers if x.order > c.order]
        ran = f" for {human_duration(v.running_for)}" if v.running_for else ""
        proof = [ev.running_since(c)]
        proof += [ev.image_evidence(c)]
        for key in ("command", "args"):
            if c.spec.get(key):
                proof.append(ev.spec(f"{c.spec_ref}.{key}", c.spec.get(key)))
        yield Draft(
            c,
            f"Init container {c.name} never exits ({never_exits(c)}) but is declared as a regular "
            f"init container: it has been running{ran} and holds "
            f"{', '.join(after) or 'the pod'}",
            tuple(proof),
            f"Make {c.name} a native sidecar: add restartPolicy: Always to it in "
            f"{ev.owner_phrase(snap)} (Kubernetes 1.29+), or move it to containers; if a webhook "
            f"injects it, check that the webhook keeps restartPolicy.",
        )


@rule(
    "PI409",
    "sidecar-exits-cleanly",
    Severity.ERROR,
    Stage.CONTAINERS,
    verdict=True,
    events=ev.BACKOFF_REASONS,
)
def sidecar_exits_cleanly(ctx: RuleContext) -> Iterator[Draft]:
    """A one-shot task is declared as a native sidecar, so the kubelet restarts it forever.

    What it detects:
        An init container with ``restartPolicy: Always`` that has been restarted although its
        runs end with exit code 0 (``Completed``), typically in ``CrashLoopBackOff``.
    Why it happens:
        A native sidecar is meant to run beside the app; the kubelet restarts it whenever it
        exits, success included. A migration, a config renderer or a wait step given
        ``restartPolicy: Always`` (copied from a sidecar, or set by a chart or webhook) never
        counts as done, and the containers after it wait for it to be started.
    How to fix:
        Drop ``restartPolicy: Always`` to make it a regular init container if it is a one-shot
        step; if it is meant to keep running, keep its process in the foreground.
    """
    snap = ctx.snap
    for v in ctx.verdicts_for("PI409"):
        c = v.container
        yield Draft(
            c,
            f"Sidecar {c.name} exits with code 0 and is restarted ({ev.restarts_phrase(c)}): "
            f"a one-shot task declared as a native sidecar (restartPolicy: Always)",
            tuple(ev.failure(v, snap) + [ev.spec(f"{c.spec_ref}.restartPolicy", "Always")]),
            f"If {c.name} is a one-shot step, remove restartPolicy: Always from it in "
            f"{ev.owner_phrase(snap)} so that it runs once as a regular init container; if it "
            f"should keep running, keep its process in the foreground.",
        )


RULES = (
    sidecar_crashloop,
    sidecar_startup_failing,
    sidecar_not_ready,
    sidecar_order,
    proxy_start_hold,
    proxy_keeps_job_running,
    proxy_as_init_container,
    sidecar_exits_cleanly,
)
