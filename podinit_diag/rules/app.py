"""PI5xx: app containers (``spec.containers``), which start only after every init container."""

from __future__ import annotations

from collections.abc import Iterator

from podinit_diag.core.access import as_dict, as_list, as_str
from podinit_diag.core.kubetime import human_duration
from podinit_diag.core.lazyre import lazy
from podinit_diag.core.model import (
    ContainerKind,
    ContainerView,
    Evidence,
    PodSnapshot,
    Severity,
    Stage,
)
from podinit_diag.rules import evidence as ev
from podinit_diag.rules.agents import listens_on, local_ports
from podinit_diag.rules.base import Draft, RuleContext, rule
from podinit_diag.rules.classify import Verdict


def _shared_init_output(
    c: ContainerView, snap: PodSnapshot
) -> list[tuple[ContainerView, str, str, str]]:
    """(init container, volume, its mount, our mount) for emptyDir volumes an init container
    wrote and this container reads: the init's output is a suspect when the app crashes."""
    spec_volumes = {
        as_str(as_dict(v).get("name")): as_dict(v)
        for v in as_list(as_dict(snap.pod.get("spec")).get("volumes"))
    }
    ours = {
        as_str(as_dict(m).get("name")): (i, as_dict(m))
        for i, m in enumerate(as_list(c.spec.get("volumeMounts")))
    }
    out = []
    for init in snap.containers:
        if init.kind is not ContainerKind.INIT or not init.completed:
            continue
        for j, m in enumerate(map(as_dict, as_list(init.spec.get("volumeMounts")))):
            name = as_str(m.get("name"))
            if m.get("readOnly") is True or name not in ours:
                continue
            if "emptyDir" not in spec_volumes.get(name, {}):
                continue
            _, mine = ours[name]
            out.append(
                (
                    init,
                    name,
                    f"{init.spec_ref}.volumeMounts[{j}].name",
                    as_str(mine.get("mountPath")),
                )
            )
    return out


_SOCKET = lazy(r"(/[\w./-]+\.sock(?:et)?)\b|\bunix:?/*(/[\w./-]+)")


def _provider(v: Verdict, ctx: RuleContext) -> tuple[ContainerView, str] | None:
    """The sidecar this crashed container talks to, when it is in trouble itself or was
    restarted: one serving the ``localhost`` port its failure names, or the unix socket on a
    volume both mount. (The container, what it serves.)"""
    c, snap = v.container, ctx.snap
    text = v.log_hit.text if v.log_hit is not None else v.message
    if not text:
        return None
    troubled = {x.container.name for x in ctx.verdicts} | {
        x.name for x in snap.containers if x.restart_count
    }
    others = [x for x in snap.containers if x is not c and x.name in troubled]
    if not others:
        return None
    ports = local_ports(c, text)
    for other in others:
        served = ports & listens_on(other)
        if served:
            return other, f"localhost:{min(served)}"
    m = _SOCKET.search(text)
    if m is None:
        return None
    path = m.group(1) or m.group(2)
    mounts = {
        as_str(as_dict(x).get("name")): as_str(as_dict(x).get("mountPath")).rstrip("/")
        for x in as_list(c.spec.get("volumeMounts"))
    }
    volume = next((n for n, at in mounts.items() if at and path.startswith(at + "/")), None)
    for other in others:
        theirs = {as_str(as_dict(x).get("name")) for x in as_list(other.spec.get("volumeMounts"))}
        if volume is not None and volume in theirs:
            return other, f"the socket {path} on volume {volume}"
    return None


def _crash_draft(v: Verdict, ctx: RuleContext, headline: str, fix: str) -> Draft:
    c, snap = v.container, ctx.snap
    proof = ev.failure(v, snap)
    provider = _provider(v, ctx)
    if provider is not None:
        other, what = provider
        proof += ev.restarts(other) + ev.waiting(other)
        failing = any(x.container is other for x in ctx.verdicts)
        gone = "is failing" if failing else f"has {ev.restarts_phrase(other)}"
        return Draft(
            c,
            f"{headline}; it uses {what}, served by {ev.who(other)}, which {gone}",
            tuple(proof),
            f"Fix {ev.who(other)} first (`{ev.logs_command(snap, other, True)}`); "
            f"container {c.name} recovers once what it serves is back.",
            behind=other,
        )
    shared = _shared_init_output(c, snap)
    implicated = ""
    if shared:
        init, volume, ref, path = shared[0]
        proof.append(ev.spec(ref, volume))
        implicated = (
            f"; init container {init.name} completed and wrote volume {volume}, which it reads "
            f"at {path}: check that output"
        )
    elif any(x.kind is ContainerKind.INIT for x in snap.containers):
        implicated = "; the init containers share no volume with it"
    return Draft(c, headline + implicated, tuple(proof), fix)


@rule(
    "PI501",
    "app-crashloop",
    Severity.ERROR,
    Stage.CONTAINERS,
    verdict=True,
    events=ev.BACKOFF_REASONS,
)
def app_crashloop(ctx: RuleContext) -> Iterator[Draft]:
    """An app container keeps exiting and being restarted.

    What it detects:
        An app container in ``CrashLoopBackOff``, just exited non-zero, or restarted after a
        failure within the last 10 minutes, in a pod whose ``restartPolicy`` restarts it, when
        no more specific cause applies (OOM kill PI502, missing command PI505, liveness probe
        PI503). When init containers completed and wrote a shared ``emptyDir`` the container
        reads, the finding says so: their output is a suspect. When its failure names a
        ``localhost`` port or a unix socket that a failing or restarted sidecar serves, the
        finding says that the sidecar went away and ranks right after the sidecar's own.
    Why it happens:
        The application fails at start-up (bad configuration, a missing dependency, a schema
        it does not expect) or crashes later; a config file rendered by an init container may
        be wrong.
    How to fix:
        ``kubectl logs POD -c CONTAINER --previous`` shows the crash; fix the app or its
        configuration, and check the files the init containers produced.
    """
    snap = ctx.snap
    for v in ctx.verdicts_for("PI501"):
        c = v.container
        looping = "is crash-looping" if c.restart_count else "failed"
        yield _crash_draft(
            v,
            ctx,
            f"Container {c.name} {looping}: {ev.exit_phrase(v.termination)}, "
            f"{ev.restarts_phrase(c)}",
            f"Read `{ev.logs_command(snap, c, c.state != 'terminated')}` and fix container "
            f"{c.name} or its configuration in {ev.owner_phrase(snap)}.",
        )


@rule(
    "PI502",
    "app-oomkilled",
    Severity.ERROR,
    Stage.CONTAINERS,
    verdict=True,
    events=ev.BACKOFF_REASONS,
)
def app_oomkilled(ctx: RuleContext) -> Iterator[Draft]:
    """An app container is killed for exceeding its memory limit.

    What it detects:
        An app container whose latest (recent) termination has reason ``OOMKilled``.
    Why it happens:
        The process needs more memory than ``resources.limits.memory`` (a heap sized for a
        bigger machine, a JVM or Node.js runtime not told about the container limit, a leak,
        a larger workload).
    How to fix:
        Raise the memory limit (and request) to the real peak, or make the runtime respect the
        limit (``-XX:MaxRAMPercentage``, ``--max-old-space-size``), and look for leaks.
    """
    snap = ctx.snap
    for v in ctx.verdicts_for("PI502"):
        c = v.container
        limit = as_str(as_dict(as_dict(c.spec.get("resources")).get("limits")).get("memory"))
        proof = ev.failure(v, snap)
        if limit:
            proof.append(ev.spec(f"{c.spec_ref}.resources.limits.memory", limit))
        yield Draft(
            c,
            f"Container {c.name} was OOMKilled"
            + (f" at its memory limit {limit}" if limit else " (no memory limit: the node ran out)")
            + f", {ev.restarts_phrase(c)}",
            tuple(proof),
            f"Raise resources.limits.memory of container {c.name}"
            + (f" above {limit}" if limit else "")
            + f" in {ev.owner_phrase(snap)}, or cap the runtime's heap below the limit.",
        )


@rule(
    "PI503",
    "app-probe-failing",
    Severity.ERROR,
    Stage.CONTAINERS,
    verdict=True,
    events=("Unhealthy", "Killing"),
)
def app_probe_failing(ctx: RuleContext) -> Iterator[Draft]:
    """An app container's liveness, readiness or startup probe keeps failing.

    What it detects:
        ``Unhealthy`` events (``Liveness probe failed``, ``Readiness probe failed``, ``Startup
        probe failed``) for an app container adding up to 3 or more, or ``Killing`` events
        ``failed liveness probe, will be restarted``. One or two transient failures during
        start-up are not reported.
    Why it happens:
        A probe aimed at the wrong port or path, a timeout shorter than the endpoint's answer
        under load, an app that starts slower than ``initialDelaySeconds`` + the failure
        budget, or a dependency check inside the health endpoint. A failing liveness probe
        restarts the container, which looks like a crash loop.
    How to fix:
        Compare the probe with what the app serves (``kubectl port-forward`` and curl it), use
        a ``startupProbe`` for slow starts, raise ``timeoutSeconds``/``failureThreshold``, and
        keep dependencies out of liveness checks.
    """
    snap = ctx.snap
    for v in ctx.verdicts_for("PI503"):
        c = v.container
        failures = [e for e in v.probes if e.reason == "Unhealthy"]
        kind = failures[-1].message.split(" ", 1)[0] if failures else "Liveness"
        count = sum(e.count for e in failures)
        kills = [e for e in v.probes if e.reason == "Killing"]
        effect = (
            f", restarting it ({ev.restarts_phrase(c)})"
            if kills or kind == "Liveness"
            else "; it is kept out of the Service endpoints"
        )
        proof: list[Evidence] = [ev.event(e, snap) for e in v.probes[-3:]]
        probe_key = f"{kind.lower()}Probe"
        if c.spec.get(probe_key):
            proof.append(ev.spec(f"{c.spec_ref}.{probe_key}", c.spec.get(probe_key)))
        # the event reads "Liveness probe failed: <what the probe saw>"; quote only the latter
        last = failures[-1].message.split(": ", 1)[-1] if failures else ""
        yield Draft(
            c,
            f"{kind} probe of container {c.name} failed {count} times{effect}: {ev.short(last)}",
            tuple(proof),
            f"Check the {kind.lower()} probe of container {c.name} in {ev.owner_phrase(snap)} "
            f"against what the app serves (port, path, timeoutSeconds, failureThreshold); use a "
            f"startupProbe if it starts slowly.",
        )


@rule(
    "PI504",
    "app-exited-error",
    Severity.ERROR,
    Stage.CONTAINERS,
    verdict=True,
    events=ev.BACKOFF_REASONS,
    hopeless=True,
)
def app_exited_error(ctx: RuleContext) -> Iterator[Draft]:
    """An app container exited with an error and will not be restarted.

    What it detects:
        An app container that terminated with a non-zero exit code in a pod with
        ``restartPolicy: Never`` (a Job's pod or a bare pod): the pod ends ``Failed``.
    Why it happens:
        The program failed; with ``Never`` the kubelet does not retry, only the Job controller
        may create a new pod (up to ``backoffLimit``).
    How to fix:
        Read ``kubectl logs POD -c CONTAINER``, fix the program or its input, and re-run the
        Job.
    """
    snap = ctx.snap
    for v in ctx.verdicts_for("PI504"):
        c = v.container
        yield _crash_draft(
            v,
            ctx,
            f"Container {c.name} exited with {ev.exit_phrase(v.termination)}; restartPolicy is "
            f"Never, so pod {snap.name} has failed",
            f"Read `{ev.logs_command(snap, c, False)}`, fix container {c.name} in "
            f"{ev.owner_phrase(snap)} and run it again.",
        )


@rule(
    "PI505",
    "app-command-not-found",
    Severity.ERROR,
    Stage.CONTAINERS,
    verdict=True,
    events=ev.BACKOFF_REASONS,
    hopeless=True,
)
def app_command_not_found(ctx: RuleContext) -> Iterator[Draft]:
    """An app container's command does not exist in its image.

    What it detects:
        An app container that exited 127, or whose start error or log says ``executable file
        not found``, ``not found`` or ``no such file or directory`` for its command.
    Why it happens:
        ``command`` overrides the image's entrypoint with a program the image does not have
        (a slim image, a different base, a renamed binary), or a script is missing from the
        image.
    How to fix:
        Check the image's contents and entrypoint (``docker inspect``), fix ``command``/``args``
        or the image.
    """
    snap = ctx.snap
    for v in ctx.verdicts_for("PI505"):
        c = v.container
        what = v.log_hit.text if v.log_hit and v.log_hit.category else v.message
        proof = ev.failure(v, snap)
        for key in ("command", "args"):
            if c.spec.get(key):
                proof.append(ev.spec(f"{c.spec_ref}.{key}", c.spec.get(key)))
        yield Draft(
            c,
            f"Container {c.name}: command not found in image {ev.image(c)}"
            + (f" ({ev.short(what)})" if what else f" ({ev.exit_phrase(v.termination)})"),
            tuple(proof),
            f"Fix command/args of container {c.name} in {ev.owner_phrase(snap)} to a program that "
            f"exists in image {ev.image(c)}, or use an image that has it.",
        )


@rule(
    "PI506",
    "app-start-failed",
    Severity.ERROR,
    Stage.CONTAINERS,
    verdict=True,
    events=ev.BACKOFF_REASONS,
)
def app_start_failed(ctx: RuleContext) -> Iterator[Draft]:
    """The runtime could not create or start an app container.

    What it detects:
        An app container waiting with reason ``CreateContainerError``, ``RunContainerError``,
        ``StartError`` or ``ContainerCannotRun`` (or whose last run ended so), when the
        message is not a missing command (PI505).
    Why it happens:
        A mount the runtime cannot set up (a ``subPath`` into a file, a read-only path), an
        invalid ``securityContext`` for the node, ``exec format error`` (wrong architecture),
        or a runtime-side conflict (``failed to reserve container name``).
    How to fix:
        Read the runtime's message in the container status or the ``Failed`` event and fix
        the spec field it names; for name reservation conflicts the kubelet recovers once the
        runtime catches up (check the node's container runtime if it persists).
    """
    snap = ctx.snap
    for v in ctx.verdicts_for("PI506"):
        c = v.container
        reason = (
            c.reason if c.state == "waiting" else (v.termination.reason if v.termination else "")
        )
        what = v.message or (v.log_hit.text if v.log_hit else "")
        proof = ev.failure(v, snap)
        yield Draft(
            c,
            f"Container {c.name} could not be started ({reason}): {ev.short(what)}",
            tuple(proof),
            f"Fix what the runtime reports for container {c.name} in {ev.owner_phrase(snap)}: "
            f"{ev.short(what, 120)}",
        )


@rule("PI507", "app-not-ready", Severity.WARNING, Stage.CONTAINERS, verdict=True)
def app_not_ready(ctx: RuleContext) -> Iterator[Draft]:
    """An app container has been running for a while without becoming ready.

    What it detects:
        A running app container with ``ready: false`` for at least ``--stuck-after`` after the
        pod was initialized, with no failing-probe events that would explain it (PI503).
    Why it happens:
        A readiness probe with a long period whose failures are not yet recorded as events,
        events that expired (they are kept for one hour by default), a readiness gate a
        controller never set, or an app waiting on something before it reports ready.
    How to fix:
        Check the container's readiness probe and ``status.conditions`` (readiness gates),
        then the app's log for what it waits on.
    """
    snap = ctx.snap
    for v in ctx.verdicts_for("PI507"):
        c = v.container
        gates = as_list(as_dict(snap.pod.get("spec")).get("readinessGates"))
        proof = [ev.status(f"{c.status_ref}.ready", False)]
        if c.spec.get("readinessProbe"):
            proof.append(ev.spec(f"{c.spec_ref}.readinessProbe", c.spec.get("readinessProbe")))
        if gates:
            proof.append(ev.spec("$.spec.readinessGates", gates))
        ran = human_duration(v.running_for) if v.running_for else "?"
        yield Draft(
            c,
            f"Container {c.name} has been running {ran} without becoming ready",
            tuple(proof),
            f"Check the readiness probe{' and readiness gates' if gates else ''} of container "
            f"{c.name} and its log (`{ev.logs_command(snap, c, False)}`) for what it waits on.",
        )


@rule(
    "PI508",
    "app-exits-cleanly",
    Severity.ERROR,
    Stage.CONTAINERS,
    verdict=True,
    events=ev.BACKOFF_REASONS,
)
def app_exits_cleanly(ctx: RuleContext) -> Iterator[Draft]:
    """An app container runs a one-shot program in a pod that restarts it forever.

    What it detects:
        An app container restarted (``CrashLoopBackOff``) although its runs end with exit code
        0 (``Completed``), in a pod with ``restartPolicy: Always`` (a Deployment, StatefulSet,
        DaemonSet or bare pod).
    Why it happens:
        Under ``restartPolicy: Always`` the kubelet restarts a container whenever it exits,
        success included: a batch command run by a Deployment, a script that starts a daemon
        in the background and returns, or an image whose entrypoint only prints its help.
    How to fix:
        Run one-shot work as a Job or CronJob (``restartPolicy: OnFailure``/``Never``); for a
        server, keep its process in the foreground (no ``&``, no daemonizing, ``exec`` it).
    """
    snap = ctx.snap
    for v in ctx.verdicts_for("PI508"):
        c = v.container
        yield Draft(
            c,
            f"Container {c.name} exits with code 0 and is restarted ({ev.restarts_phrase(c)}): "
            f"restartPolicy Always restarts it whenever it ends, success included",
            tuple(ev.failure(v, snap) + _restart_policy(snap)),
            f"Run the work of container {c.name} as a Job or CronJob, or keep its process in the "
            f"foreground if it is a server (check `{ev.logs_command(snap, c, True)}` for a "
            f"command that returns at once).",
        )


def _restart_policy(snap: PodSnapshot) -> list[Evidence]:
    spec = as_dict(snap.pod.get("spec"))
    return (
        [ev.spec("$.spec.restartPolicy", spec["restartPolicy"])] if "restartPolicy" in spec else []
    )


RULES = (
    app_crashloop,
    app_oomkilled,
    app_probe_failing,
    app_exited_error,
    app_command_not_found,
    app_start_failed,
    app_not_ready,
    app_exits_cleanly,
)
