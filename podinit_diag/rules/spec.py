"""PI9xx: checks on the pod spec alone, useful before anything fails.

They read only ``spec`` and ``metadata``, so they apply equally to manifests.
"""

from __future__ import annotations

from collections.abc import Iterator

from podinit_diag.core.access import as_dict, as_list, as_str
from podinit_diag.core.lazyre import lazy
from podinit_diag.core.model import ContainerKind, Severity, Stage, quote_value
from podinit_diag.core.resources import Effective, effective_requests, format_quantity
from podinit_diag.rules import evidence as ev
from podinit_diag.rules.base import Draft, RuleContext, rule

DOMINANCE = 1.5


@rule("PI901", "init-request-dominates", Severity.INFO, Stage.SPEC)
def init_request_dominates(ctx: RuleContext) -> Iterator[Draft]:
    """An init container's request sets the pod's effective request.

    What it detects:
        For CPU or memory, the largest regular init container (plus the sidecars declared
        before it) requests at least 1.5 times what the app containers and sidecars request
        together, so the scheduler reserves the init container's amount for the pod's whole
        life. Not reported when the pod is unschedulable for that reason (PI001 says it).
    Why it happens:
        Requests copied from a heavy one-off task, or a generous request "to be safe" on a
        short init step; the node capacity stays reserved long after the init container
        finished.
    How to fix:
        Size the init container's request to what it needs; if it really needs it, accept the
        reservation or move the heavy step into a Job.
    """
    snap = ctx.snap
    if not any(c.spec.get("resources") for c in ctx.inits):
        return
    failure = ctx.scheduling
    if failure is not None and any(r.text.startswith("Insufficient") for r in failure.reasons):
        return
    spec = as_dict(snap.pod.get("spec"))
    by_container: dict[str, list[tuple[str, Effective]]] = {}
    for resource, eff in effective_requests(snap.containers, spec, ("cpu", "memory")).items():
        if eff.driver is not None and eff.init_peak >= eff.app_side * DOMINANCE:
            by_container.setdefault(eff.driver.name, []).append((resource, eff))
    for items in by_container.values():
        d = items[0][1].driver
        assert d is not None
        said = ", ".join(
            f"{format_quantity(r, e.init_peak)} {r} (app side {format_quantity(r, e.app_side)})"
            for r, e in items
        )
        proof = tuple(
            ev.spec(
                f"{d.spec_ref}.resources.requests.{r}",
                as_dict(as_dict(d.spec.get("resources")).get("requests")).get(r),
            )
            for r, _ in items
        )
        yield Draft(
            d,
            f"Init container {d.name} requests {said}: the pod reserves that for its whole life",
            proof,
            f"Lower resources.requests of init container {d.name} in {ev.owner_phrase(snap)} to "
            f"what it needs.",
        )


_SIDECAR_ONLY = ("lifecycle", "livenessProbe", "readinessProbe", "startupProbe")


@rule("PI902", "init-unsupported-field", Severity.WARNING, Stage.SPEC)
def init_unsupported_field(ctx: RuleContext) -> Iterator[Draft]:
    """A regular init container sets a field that only app containers and sidecars support.

    What it detects:
        ``lifecycle``, ``livenessProbe``, ``readinessProbe`` or ``startupProbe`` on an init
        container without ``restartPolicy: Always``. The API server rejects such a pod, so this
        shows up in manifests and dry-run output.
    Why it happens:
        The container was meant to be a native sidecar (probes make sense only for containers
        that keep running) or the fields were copied from an app container.
    How to fix:
        Remove the fields, or add ``restartPolicy: Always`` to make it a native sidecar if it
        should keep running beside the app.
    """
    for c in ctx.inits:
        fields = [k for k in _SIDECAR_ONLY if c.spec.get(k)]
        if not fields:
            continue
        yield Draft(
            c,
            f"Init container {c.name} sets {', '.join(fields)}, which regular init containers do "
            f"not support (the API server rejects the pod)",
            tuple(ev.spec(f"{c.spec_ref}.{k}", c.spec.get(k)) for k in fields),
            f"Remove {', '.join(fields)} from init container {c.name}, or give it "
            f"restartPolicy: Always if it is meant to run as a sidecar.",
        )


@rule("PI903", "init-volume-unshared", Severity.INFO, Stage.SPEC)
def init_volume_unshared(ctx: RuleContext) -> Iterator[Draft]:
    """An init container writes to an emptyDir volume that nothing else reads.

    What it detects:
        A regular init container mounting an ``emptyDir`` volume read-write that no app
        container and no sidecar mounts.
    Why it happens:
        The init container prepares files (rendered config, downloaded assets, migrations'
        output) but the app container's ``volumeMounts`` lack the volume, so the work is
        thrown away and the app starts without it.
    How to fix:
        Mount the volume in the app container at the path it reads from, or drop the init
        container's mount if the output is not needed.
    """
    snap = ctx.snap
    if not ctx.inits:
        return
    scratch = {
        as_str(v.get("name"))
        for v in as_list(as_dict(snap.pod.get("spec")).get("volumes"))
        if isinstance(v, dict) and "emptyDir" in v
    }
    if not scratch:
        return
    candidates = [
        (c, j, m)
        for c in ctx.inits
        for j, m in enumerate(as_list(c.spec.get("volumeMounts")))
        if isinstance(m, dict)
        and m.get("readOnly") is not True
        and as_str(m.get("name")) in scratch
    ]
    if not candidates:
        return
    used = {
        as_str(as_dict(m).get("name"))
        for c in snap.containers
        if c.kind is not ContainerKind.INIT
        for m in as_list(c.spec.get("volumeMounts"))
    }
    for c, j, m in candidates:
        name = as_str(m.get("name"))
        if name in used:
            continue
        yield Draft(
            c,
            f"Init container {c.name} writes emptyDir volume {name} at "
            f"{as_str(m.get('mountPath'))}, but no app container or sidecar mounts it",
            (ev.spec(f"{c.spec_ref}.volumeMounts[{j}].name", name),),
            f"Mount volume {name} in the app container that needs the output, or remove it "
            f"from init container {c.name}.",
        )


_LIMIT_RANGER = lazy(r"memory limit for init container ([\w.-]+)")


@rule("PI904", "init-no-memory-limit", Severity.INFO, Stage.SPEC)
def init_no_memory_limit(ctx: RuleContext) -> Iterator[Draft]:
    """An init container's memory limit was filled in by the namespace default.

    What it detects:
        The ``kubernetes.io/limit-ranger`` annotation says the LimitRanger admission plugin set
        the ``memory limit for init container NAME``: the author set no limit and the
        namespace's LimitRange default applies.
    Why it happens:
        Namespace defaults are sized for typical app containers; init containers that load
        data or compile assets can need much more, and then die with OOMKilled at a limit
        nobody chose.
    How to fix:
        Set an explicit ``resources.limits.memory`` (and request) on the init container that
        fits its work.
    """
    snap = ctx.snap
    if not ctx.inits:
        return
    annotations = as_dict(as_dict(snap.pod.get("metadata")).get("annotations"))
    text = annotations.get("kubernetes.io/limit-ranger")
    if not isinstance(text, str):
        return
    for name in _LIMIT_RANGER.findall(text):
        c = snap.container(name)
        if c is None or c.kind is not ContainerKind.INIT:
            continue
        limit = as_dict(as_dict(c.spec.get("resources")).get("limits")).get("memory")
        proof = [ev.spec("$.metadata.annotations['kubernetes.io/limit-ranger']", text)]
        if limit is not None:
            proof.append(ev.spec(f"{c.spec_ref}.resources.limits.memory", limit))
        yield Draft(
            c,
            f"Init container {c.name} has no memory limit of its own: the namespace default"
            + (f" ({quote_value(limit)})" if limit is not None else "")
            + " was applied by LimitRanger",
            tuple(proof),
            f"Set resources.limits.memory (and requests) of init container {c.name} in "
            f"{ev.owner_phrase(snap)} to what its work needs.",
        )


@rule("PI905", "init-mutable-image", Severity.INFO, Stage.SPEC)
def init_mutable_image(ctx: RuleContext) -> Iterator[Draft]:
    """An init container uses a mutable image reference (``latest`` or no tag).

    What it detects:
        A regular init container whose image has no digest and either no tag or the tag
        ``latest``.
    Why it happens:
        Convenience references such as ``busybox`` or ``alpine:latest`` change under you: a new
        upstream release can change the tools or shell an init script relies on, and nodes can
        run different versions of the same pod.
    How to fix:
        Pin the image to a version tag, or better a digest (``image@sha256:...``).
    """
    for c in ctx.inits:
        image = ev.image(c)
        if not image or "@" in image:
            continue
        last = image.rsplit("/", 1)[-1]
        tag = last.split(":", 1)[1] if ":" in last else ""
        if tag not in ("", "latest"):
            continue
        yield Draft(
            c,
            f"Init container {c.name} uses mutable image {image} "
            f"({'no tag, so latest' if not tag else 'tag latest'})",
            (ev.image_evidence(c),),
            f"Pin the image of init container {c.name} to a version tag or digest.",
        )


RULES = (
    init_request_dominates,
    init_unsupported_field,
    init_volume_unshared,
    init_no_memory_limit,
    init_mutable_image,
)
