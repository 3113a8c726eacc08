"""PI1xx: regular init containers (those without ``restartPolicy: Always``).

The init containers run one at a time in spec order and every one must exit 0
before the next starts; the first one that does not is what holds the pod at
``Init:N/M``. Which single cause a container gets is decided in
:mod:`podinit_diag.rules.classify`; each rule here words its own class.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import timedelta

from podinit_diag.core.access import as_dict, as_str
from podinit_diag.core.kubetime import human_duration
from podinit_diag.core.model import ContainerView, Evidence, PodSnapshot, Severity, Stage
from podinit_diag.rules import evidence as ev
from podinit_diag.rules.base import Draft, RuleContext, rule
from podinit_diag.rules.classify import START_FAILURE_REASONS, Verdict
from podinit_diag.rules.logscan import Category, Destination, network_target


@rule(
    "PI101",
    "init-crashloop",
    Severity.ERROR,
    Stage.CONTAINERS,
    verdict=True,
    events=ev.BACKOFF_REASONS,
)
def init_crashloop(ctx: RuleContext) -> Iterator[Draft]:
    """An init container keeps failing and the kubelet keeps restarting it.

    What it detects:
        A regular init container whose last run ended with a non-zero exit code (or that is
        in ``CrashLoopBackOff``) in a pod whose ``restartPolicy`` is ``Always`` or
        ``OnFailure``, when no more specific cause (OOM kill, missing command, permission,
        network) explains the exit. ``kubectl get pods`` shows ``Init:CrashLoopBackOff`` or
        ``Init:Error``.
    Why it happens:
        The init container's own program fails: a migration that errors, a script that
        exits 1 on bad input or configuration, a segmentation fault (139), a SIGKILL from
        outside that is not an OOM kill (137). The kubelet restarts it with an exponential
        back-off (10 s doubling up to 5 minutes) and the app containers never start.
    How to fix:
        Read the failed run's output with ``kubectl logs POD -c CONTAINER --previous``, fix
        the command, its arguments or the configuration it reads, and roll the workload
        out again. Exit codes: 1 generic error, 2 bad arguments, 139 segfault, 137 killed.
    """
    snap = ctx.snap
    for v in ctx.verdicts_for("PI101"):
        c = v.container
        looping = "is crash-looping" if c.restart_count else "failed"
        yield Draft(
            c,
            f"Init container {c.name} {looping}: {ev.exit_phrase(v.termination)}, "
            f"{ev.restarts_phrase(c)}",
            tuple(ev.failure(v, snap)),
            f"Read why the last run failed with "
            f"`{ev.logs_command(snap, c, c.state != 'terminated')}` and fix init container "
            f"{c.name} in {ev.owner_phrase(snap)}; the app containers start only after it "
            f"exits 0.",
        )


@rule(
    "PI102",
    "init-failed",
    Severity.ERROR,
    Stage.CONTAINERS,
    verdict=True,
    events=ev.BACKOFF_REASONS,
    hopeless=True,
)
def init_failed(ctx: RuleContext) -> Iterator[Draft]:
    """An init container failed in a pod that is never restarted, so the pod failed for good.

    What it detects:
        A regular init container that exited non-zero in a pod with ``restartPolicy: Never``
        (typically a Job's pod), when no more specific cause explains the exit. The pod's
        phase becomes ``Failed``.
    Why it happens:
        With ``restartPolicy: Never`` the kubelet does not retry a failed init container;
        the whole pod fails and only its controller (a Job's ``backoffLimit``) can create a
        new pod.
    How to fix:
        Read the output with ``kubectl logs POD -c CONTAINER``, fix the init container, then
        re-run the Job (or let its back-off limit create a new pod). Use
        ``restartPolicy: OnFailure`` if retrying inside the same pod is acceptable.
    """
    snap = ctx.snap
    for v in ctx.verdicts_for("PI102"):
        c = v.container
        yield Draft(
            c,
            f"Init container {c.name} failed with {ev.exit_phrase(v.termination)}; "
            f"restartPolicy is Never, so pod {snap.name} will not retry it",
            tuple(ev.failure(v, snap)) + (ev.spec("$.spec.restartPolicy", snap.restart_policy),),
            f"Read the output with `{ev.logs_command(snap, c, False)}`, fix init container "
            f"{c.name} in {ev.owner_phrase(snap)} and run it again.",
        )


@rule(
    "PI103",
    "init-oomkilled",
    Severity.ERROR,
    Stage.CONTAINERS,
    verdict=True,
    events=ev.BACKOFF_REASONS,
)
def init_oomkilled(ctx: RuleContext) -> Iterator[Draft]:
    """An init container was killed for exceeding its memory limit.

    What it detects:
        A regular init container whose last run ended with reason ``OOMKilled`` (usually exit
        code 137). An exit 137 without that reason is not reported here: that is a SIGKILL
        from outside (see PI101).
    Why it happens:
        The container's memory use reached ``resources.limits.memory`` (or the node ran out of
        memory) and the kernel's OOM killer ended it. Init containers often do heavier one-off
        work than the app (loading a dump, compiling assets, migrating data) while being given
        the app's small limits, or no limit from a namespace default that is too small.
    How to fix:
        Raise ``resources.limits.memory`` (and the request) of the init container, or make its
        work use less memory (stream instead of loading everything). Init container requests
        count toward scheduling only while it runs, so a larger limit there is cheap.
    """
    snap = ctx.snap
    for v in ctx.verdicts_for("PI103"):
        c = v.container
        limit = as_str(as_dict(as_dict(c.spec.get("resources")).get("limits")).get("memory"))
        proof = ev.failure(v, snap)
        if limit:
            proof.append(ev.spec(f"{c.spec_ref}.resources.limits.memory", limit))
        where = f"its memory limit {limit}" if limit else "memory (it has no memory limit)"
        yield Draft(
            c,
            f"Init container {c.name} was OOMKilled: it exceeded {where}, {ev.restarts_phrase(c)}",
            tuple(proof),
            f"Raise resources.limits.memory of init container {c.name}"
            + (f" above {limit}" if limit else "")
            + f" in {ev.owner_phrase(snap)}, or make its work use less memory.",
        )


@rule(
    "PI104",
    "init-command-not-found",
    Severity.ERROR,
    Stage.CONTAINERS,
    verdict=True,
    events=ev.BACKOFF_REASONS,
    hopeless=True,
)
def init_command_not_found(ctx: RuleContext) -> Iterator[Draft]:
    """The init container's command does not exist in its image.

    What it detects:
        A regular init container that exited with code 127, whose runtime start error says
        ``executable file not found in $PATH``, or whose log ends with a shell's
        ``not found`` / ``No such file or directory`` for the program it runs.
    Why it happens:
        The image does not contain the program named in ``command``/``args`` (a slim or
        distroless image without a shell, a tool installed in another image, a typo, a
        script not copied into the image or not at that path, a wrong image tag).
    How to fix:
        Check the command against the image (``kubectl debug`` or ``docker run --entrypoint
        sh IMAGE``), use the full path of a binary that exists, or switch to an image that
        has it (for example one with a shell when the command uses ``sh -c``).
    """
    snap = ctx.snap
    for v in ctx.verdicts_for("PI104"):
        c = v.container
        proof, what = _start_or_exit_proof(v, snap, prefer_log=True)
        proof += _command_evidence(c)
        yield Draft(
            c,
            f"Init container {c.name}: command not found in image {as_str(c.spec.get('image'))} "
            f"({ev.short(what)})",
            tuple(proof),
            f"Fix command/args of init container {c.name} in {ev.owner_phrase(snap)} to a program "
            f"that exists in image {as_str(c.spec.get('image'))}, or use an image that has it.",
        )


@rule(
    "PI105",
    "init-permission-denied",
    Severity.ERROR,
    Stage.CONTAINERS,
    verdict=True,
    events=ev.BACKOFF_REASONS,
)
def init_permission_denied(ctx: RuleContext) -> Iterator[Draft]:
    """The init container is not allowed to do what it tries to do.

    What it detects:
        A regular init container that exited with code 126, whose start error or log says
        ``Permission denied`` / ``Operation not permitted`` (EACCES, EPERM, e.g. ``chown`` on
        a volume), or whose log shows the Kubernetes API refusing it (``Forbidden``, ``is
        forbidden: User "system:serviceaccount:..."``).
    Why it happens:
        A script without the executable bit, a non-root ``securityContext`` (``runAsUser``,
        ``runAsNonRoot``, dropped capabilities, read-only root filesystem) that cannot write
        or ``chown`` a volume, or a ServiceAccount without the RBAC role the init container's
        API calls need.
    How to fix:
        For files: ``chmod +x`` the script in the image or run it through ``sh``; set
        ``securityContext.fsGroup`` instead of ``chown``-ing volumes, or grant the needed
        capability. For the API: bind a Role with the verbs and resources named in the
        ``Forbidden`` message to the pod's ServiceAccount.
    """
    snap = ctx.snap
    for v in ctx.verdicts_for("PI105"):
        c = v.container
        proof, what = _start_or_exit_proof(v, snap, prefer_log=True)
        if v.category is Category.FORBIDDEN:
            sa = as_str(as_dict(snap.pod.get("spec")).get("serviceAccountName")) or "default"
            fix = (
                f"Grant ServiceAccount {sa} in namespace {snap.namespace} the RBAC permission "
                f"named in the Forbidden message (a Role and RoleBinding), or change init "
                f"container {c.name} not to need it."
            )
        else:
            fix = (
                f"Make what init container {c.name} runs executable and writable for its user: "
                f"chmod +x the script in the image, or set securityContext (runAsUser, fsGroup) "
                f"in {ev.owner_phrase(snap)} instead of chown-ing at start."
            )
        yield Draft(
            c, f"Init container {c.name}: permission denied ({ev.short(what)})", tuple(proof), fix
        )


@rule("PI106", "init-stuck", Severity.WARNING, Stage.CONTAINERS, verdict=True)
def init_stuck(ctx: RuleContext) -> Iterator[Draft]:
    """An init container has been running for longer than the stuck threshold.

    What it detects:
        A regular init container in state ``running`` for at least ``--stuck-after`` (default
        5 minutes) at the time the data was captured, with no recognised failure in its log.
        An init container never finishes on its own unless its command exits, so the pod
        stays at ``Init:N/M``.
    Why it happens:
        Usually a wait loop (``until nslookup db; do sleep 2; done``, ``wait-for-it``) whose
        dependency never becomes ready, a job-like step that is far slower than expected, or a
        command that waits for input that never comes.
    How to fix:
        Look at what it is doing with ``kubectl logs POD -c CONTAINER`` and at what it waits
        for (its command); make the dependency available, or give the loop a timeout so that
        it fails visibly instead of hanging. Raise ``--stuck-after`` if this step is slow by
        design.
    """
    snap = ctx.snap
    for v in ctx.verdicts_for("PI106"):
        c = v.container
        ran = human_duration(v.running_for) if v.running_for else "?"
        proof = [ev.running_since(c)]
        proof += _command_evidence(c)
        if v.log_hit:
            proof.append(ev.log(v.log_hit))
        yield Draft(
            c,
            f"Init container {c.name} has been running for {ran} without finishing "
            f"(threshold {human_duration(ctx.config.stuck_after)})",
            tuple(proof),
            f"Check what init container {c.name} waits for with `{ev.logs_command(snap, c, False)}`"
            f"; make that dependency available or add a timeout to its loop in "
            f"{ev.owner_phrase(snap)}.",
        )


@rule(
    "PI107",
    "init-dependency-unavailable",
    Severity.ERROR,
    Stage.CONTAINERS,
    verdict=True,
    events=ev.BACKOFF_REASONS,
)
def init_dependency_unavailable(ctx: RuleContext) -> Iterator[Draft]:
    """An init container waits for a dependency (a Service, a database, a migration) that
    is missing, has no ready endpoints or never answers.

    What it detects:
        A regular init container that hangs past ``--stuck-after`` or fails, whose command
        waits on a host (``nslookup``, ``nc -z``, ``pg_isready -h``, ``mysqladmin ping -h``,
        ``redis-cli -h``, ``wget``/``curl`` URLs, ``wait-for-it``, ``$(VAR)`` from its env),
        where the captured cluster objects show that the Service is missing from the namespace
        the name resolves to (saying where a Service of that name does exist), or that it has
        no ready endpoints (EndpointSlices, falling back to Endpoints).
        Without captured Services it also fires, naming what the container waits on, when a
        regular init container polls a host in its command (``nc``, ``pg_isready``,
        ``wait-for-it``...) and has been running past ``--stuck-after``, or when it failed
        after its program gave up waiting (``timed out waiting for``, ``TimeoutError ... after
        N seconds``, Django's ``unapplied migrations``, ``kubectl wait`` timing out).
    Why it happens:
        The dependency was not deployed, or deployed in another namespace while the init
        container uses the short name; the Service's selector matches no pod; or its pods are
        not ready (crash-looping database, failing readiness probe).
    How to fix:
        Deploy the dependency, use its namespace-qualified name (``NAME.NAMESPACE.svc``), fix
        the Service selector, or make its pods ready; give the wait loop a timeout so that it
        fails visibly.
    """
    snap = ctx.snap
    for v in ctx.verdicts_for("PI107"):
        c, dep = v.container, v.dependency
        if dep is None:
            yield _unproven_dependency(v, snap)
            continue
        target = f"{dep.host}:{dep.port}" if dep.port else dep.host
        if dep.problem == "missing":
            problem = f"Service {dep.service} does not exist in namespace {dep.namespace}"
            if dep.elsewhere:
                problem += f" (it exists in namespace {', '.join(dep.elsewhere)})"
                fix = (
                    f"Point init container {c.name} at {dep.service}.{dep.elsewhere[0]}.svc "
                    f"(the short name {dep.host} resolves only in namespace {snap.namespace}), or "
                    f"deploy Service {dep.service} in namespace {dep.namespace}."
                )
            else:
                fix = (
                    f"Deploy Service {dep.service} in namespace {dep.namespace} (or fix the host "
                    f"{dep.host} in init container {c.name} in {ev.owner_phrase(snap)})."
                )
        else:
            problem = f"Service {dep.namespace}/{dep.service} has no ready endpoints"
            fix = (
                f"Make the pods behind Service {dep.service} ready (`kubectl get endpointslices "
                f"-n {dep.namespace} -l kubernetes.io/service-name={dep.service}`) or fix its "
                f"selector; init container {c.name} finishes once they are."
            )
        state, proof = _stuck(
            v, snap, "", f"fails ({ev.exit_phrase(v.termination)}, {ev.restarts_phrase(c)})"
        )
        proof += list(dep.evidence) + _command_evidence(c)
        yield Draft(
            c,
            f"Init container {c.name} {state} for {target}: {problem}",
            tuple(proof),
            fix,
        )


@rule("PI108", "init-sleeps", Severity.WARNING, Stage.CONTAINERS, verdict=True)
def init_sleeps(ctx: RuleContext) -> Iterator[Draft]:
    """An init container's command sleeps for a long time, holding the pod in Init.

    What it detects:
        A regular init container that has not finished and whose ``command``/``args`` contain
        a single ``sleep`` at least as long as ``--stuck-after`` (default 5 minutes), or
        ``sleep infinity``. Short sleeps inside wait loops are not reported here.
    Why it happens:
        A debugging ``sleep 3600`` or ``sleep infinity`` left in the manifest, a fixed delay
        used instead of waiting for a condition, or a sidecar-style container declared as an
        init container without ``restartPolicy: Always``.
    How to fix:
        Remove the sleep, or replace it with a bounded wait for the real condition. If the
        container is meant to keep running next to the app, make it a native sidecar with
        ``restartPolicy: Always`` (Kubernetes 1.29+).
    """
    snap = ctx.snap
    for v in ctx.verdicts_for("PI108"):
        c, s = v.container, v.sleep
        if s is None:
            continue
        length = "forever" if math.isinf(s.seconds) else f"for {_seconds(s.seconds)}"
        ran = f"; it has been running for {human_duration(v.running_for)}" if v.running_for else ""
        proof = [ev.spec(ref, value) for ref, value in s.where]
        if c.started_at:
            proof.append(ev.running_since(c))
        yield Draft(
            c,
            f"Init container {c.name} sleeps {length} (`{s.text}`){ran}",
            tuple(proof),
            f"Remove `{s.text}` from init container {c.name} in {ev.owner_phrase(snap)}, wait for "
            f"the real condition instead, or declare it as a sidecar with restartPolicy: Always.",
        )


@rule(
    "PI109",
    "init-start-failed",
    Severity.ERROR,
    Stage.CONTAINERS,
    verdict=True,
    events=ev.BACKOFF_REASONS,
)
def init_start_failed(ctx: RuleContext) -> Iterator[Draft]:
    """The container runtime could not start the init container's process.

    What it detects:
        A regular init container waiting with reason ``CreateContainerError``,
        ``RunContainerError``, ``StartError`` or ``ContainerCannotRun``, or whose last run
        ended with reason ``StartError``/``ContainerCannotRun`` (exit code 128) - when the
        message is not a missing command (PI104), a permission problem (PI105) or a wrong
        CPU architecture (PI208).
    Why it happens:
        The runtime (containerd/CRI-O via runc) failed before the program ran: a
        ``workingDir`` or mount that cannot be set up, an invalid ``securityContext`` for the
        node, a name conflict in the runtime.
    How to fix:
        Read the runtime's message (in the container status and the ``Failed`` event) and fix
        the spec field it names.
    """
    snap = ctx.snap
    for v in ctx.verdicts_for("PI109"):
        c = v.container
        proof, what = _start_or_exit_proof(v, snap, prefer_log=False)
        fix = (
            f"Fix what the runtime reports for init container {c.name} in "
            f"{ev.owner_phrase(snap)}: {ev.short(what)}"
        )
        reason = c.reason if c.state == "waiting" else ""
        reason = reason or (v.termination.reason if v.termination else "")
        reason = reason if reason in START_FAILURE_REASONS else ""
        yield Draft(
            c,
            f"Init container {c.name} could not be started"
            + (f" ({reason})" if reason else "")
            + f": {ev.short(what)}",
            tuple(proof),
            fix,
        )


@rule(
    "PI110",
    "init-network-failure",
    Severity.ERROR,
    Stage.CONTAINERS,
    verdict=True,
    events=ev.BACKOFF_REASONS,
)
def init_network_failure(ctx: RuleContext) -> Iterator[Draft]:
    """An init container fails or hangs because it cannot reach something over the network.

    What it detects:
        A regular init container that failed, or has been running past ``--stuck-after``,
        whose log ends with a DNS or connection failure: ``no such host``, ``can't resolve``,
        ``bad address``, ``Name or service not known``, ``Temporary failure in name
        resolution``, ``Connection refused``, ``timed out``, ``Network is unreachable``,
        ``no route to host``.
    Why it happens:
        The Service it waits for does not exist (yet), is in another namespace and addressed
        by its short name, has no ready endpoints, listens on another port, or a
        NetworkPolicy or an egress proxy blocks the connection. Init containers often start
        before the service mesh sidecar that would carry their traffic.
    How to fix:
        Check the name and port in the log against ``kubectl get svc,endpoints -n NS``; use
        ``NAME.NAMESPACE.svc`` across namespaces; make sure the dependency has ready pods and
        that NetworkPolicies allow the traffic; bound the retry loop so that it fails visibly.
    """
    snap = ctx.snap
    for v in ctx.verdicts_for("PI110"):
        c, hit = v.container, v.log_hit
        what = hit.text if hit else v.message
        label = v.category.value if v.category else "network failure"
        state, proof = _stuck(
            v, snap, "", f"fails with {ev.exit_phrase(v.termination)}, {ev.restarts_phrase(c)}"
        )
        proof += _command_evidence(c)
        yield Draft(
            c,
            f"Init container {c.name} {state}: {label} ({ev.short(what)})",
            tuple(proof),
            _network_fix(network_target(what, snap.namespace), snap, c),
        )


def _unproven_dependency(v: Verdict, snap: PodSnapshot) -> Draft:
    """PI107 when the container waits on something that the capture cannot prove down:
    the hosts its command polls, or what its log says it gave up waiting for."""
    c, hit = v.container, v.log_hit
    said = network_target(hit.text, snap.namespace) if hit else None
    target = ", ".join(v.waits_on) or (
        f"{said.host}:{said.port}" if said and said.port else said.host if said else ""
    )
    on = f" for {target}" if target else ""
    state, proof = _stuck(
        v,
        snap,
        on,
        f"gave up waiting{on} ({ev.exit_phrase(v.termination)}, {ev.restarts_phrase(c)})",
    )
    quote = f": {ev.short(hit.text)}" if hit else ""
    check = (
        f"Check that {target} is deployed and answering from namespace {snap.namespace} "
        f"(`kubectl get svc,endpoints -n {snap.namespace}`; is the name namespace-qualified, "
        f"does a NetworkPolicy or a mesh block it?)"
        if target
        else f"Find what init container {c.name} waits for in its log "
        f"(`{ev.logs_command(snap, c, c.state != 'running')}`) and make it available"
    )
    return Draft(
        c,
        f"Init container {c.name} {state}{quote}",
        tuple(proof + _command_evidence(c)),
        f"{check}; then init container {c.name} can finish. Give the wait a timeout so that it "
        f"fails visibly.",
    )


def _stuck(v: Verdict, snap: PodSnapshot, on: str, failing: str) -> tuple[str, list[Evidence]]:
    """How a waiting init container is stuck, for its title, with the evidence: running for
    how long (its start and its log line), or ``failing`` (the failed run's evidence)."""
    c = v.container
    if v.running_for is None:
        return failing, ev.failure(v, snap)
    proof = [ev.running_since(c)]
    return f"has been waiting {human_duration(v.running_for)}{on}", proof + (
        [ev.log(v.log_hit)] if v.log_hit else []
    )


def _network_fix(target: Destination | None, snap: PodSnapshot, c: ContainerView) -> str:
    then = f"; then init container {c.name} can finish."
    if target is None:
        return (
            f"Make the host in its log reachable from namespace {snap.namespace} (does the name "
            f"resolve, is the port open, does a NetworkPolicy or egress proxy block it?)" + then
        )
    where = f"{target.host}:{target.port}" if target.port else target.host
    if target.service is None:
        return (
            f"Make {where} reachable from namespace {snap.namespace} (does the name resolve, is "
            f"the port open, does a NetworkPolicy or egress proxy block it?)" + then
        )
    return (
        f"Make {where} reachable: check that Service {target.service} exists in namespace "
        f"{target.namespace} and has ready endpoints (`kubectl get svc,endpoints "
        f"{target.service} -n {target.namespace}`), that the name is namespace-qualified when "
        f"the Service lives in another namespace, and that no NetworkPolicy blocks it" + then
    )


def _start_or_exit_proof(
    v: Verdict, snap: PodSnapshot, prefer_log: bool
) -> tuple[list[Evidence], str]:
    """Evidence of a failed run, and the words to quote: the program's own log line first
    for exits, the runtime's message first for starts."""
    proof = ev.failure(v, snap)
    log = v.log_hit.text if v.log_hit else ""
    first, second = (log, v.message) if prefer_log else (v.message, log)
    return proof, first or second or ev.exit_phrase(v.termination)


def _command_evidence(c: ContainerView) -> list[Evidence]:
    out = []
    for key in ("command", "args"):
        value = c.spec.get(key)
        if isinstance(value, list) and value:
            out.append(ev.spec(f"{c.spec_ref}.{key}", value))
    return out


def _seconds(s: float) -> str:
    return human_duration(timedelta(seconds=s))


RULES = (
    init_crashloop,
    init_failed,
    init_oomkilled,
    init_command_not_found,
    init_permission_denied,
    init_stuck,
    init_dependency_unavailable,
    init_sleeps,
    init_start_failed,
    init_network_failure,
)
