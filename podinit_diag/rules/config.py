"""PI3xx: configuration the kubelet needs before it can create a container.

Missing ConfigMaps, Secrets and keys show up two ways: as a container waiting in
``CreateContainerConfigError`` (env, envFrom) and as ``FailedMount`` events (volumes,
projected sources). Both name the object; the finding also names every place in the
spec that refers to it, and whether that reference is ``optional``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from podinit_diag.core.access import as_dict, as_list, as_str
from podinit_diag.core.model import (
    ContainerView,
    Evidence,
    PodSnapshot,
    Severity,
    Stage,
)
from podinit_diag.rules import evidence as ev
from podinit_diag.rules.base import Draft, LookupFunc, RuleContext, rule
from podinit_diag.rules.messages import missing_config, mount_config_failure, mounted_since


@dataclass(frozen=True)
class Reference:
    ref: str  # JSONPath of the field holding the object's name
    name: str
    where: str  # "env DB_PASSWORD of init container migrate", "volume config"
    optional: bool


def references(snap: PodSnapshot, kind: str, name: str) -> list[Reference]:
    """Every place in the pod spec that refers to ConfigMap/Secret ``name``."""
    ckey, skey = (
        ("configMapKeyRef", "configMapRef")
        if kind == "ConfigMap"
        else (
            "secretKeyRef",
            "secretRef",
        )
    )
    out: list[Reference] = []
    for c in snap.containers:
        for i, e in enumerate(map(as_dict, as_list(c.spec.get("env")))):
            r = as_dict(as_dict(e.get("valueFrom")).get(ckey))
            if as_str(r.get("name")) == name:
                out.append(
                    Reference(
                        f"{c.spec_ref}.env[{i}].valueFrom.{ckey}.name",
                        name,
                        f"env {as_str(e.get('name'))} of {ev.who(c)} (key {as_str(r.get('key'))})",
                        r.get("optional") is True,
                    )
                )
        for i, e in enumerate(map(as_dict, as_list(c.spec.get("envFrom")))):
            r = as_dict(e.get(skey))
            if as_str(r.get("name")) == name:
                out.append(
                    Reference(
                        f"{c.spec_ref}.envFrom[{i}].{skey}.name",
                        name,
                        f"envFrom of {ev.who(c)}",
                        r.get("optional") is True,
                    )
                )
    volumes = as_list(as_dict(snap.pod.get("spec")).get("volumes"))
    vkey, nkey = ("configMap", "name") if kind == "ConfigMap" else ("secret", "secretName")
    pkey = "configMap" if kind == "ConfigMap" else "secret"
    for i, vol in enumerate(map(as_dict, volumes)):
        src = as_dict(vol.get(vkey))
        if as_str(src.get(nkey)) == name:
            out.append(
                Reference(
                    f"$.spec.volumes[{i}].{vkey}.{nkey}",
                    name,
                    f"volume {as_str(vol.get('name'))}",
                    src.get("optional") is True,
                )
            )
        sources = as_list(as_dict(vol.get("projected")).get("sources"))
        for j, s in enumerate(map(as_dict, sources)):
            p = as_dict(s.get(pkey))
            if as_str(p.get("name")) == name:
                out.append(
                    Reference(
                        f"$.spec.volumes[{i}].projected.sources[{j}].{pkey}.name",
                        name,
                        f"projected volume {as_str(vol.get('name'))}",
                        p.get("optional") is True,
                    )
                )
    return out


def _reference_evidence(refs: list[Reference]) -> list[Evidence]:
    return [ev.spec(r.ref, r.name) for r in refs]


def _places(refs: list[Reference]) -> str:
    if not refs:
        return ""
    parts = [r.where + (" (optional)" if r.optional else "") for r in refs]
    return "; referenced by " + ", ".join(parts)


@dataclass(frozen=True)
class _Missing:
    """One missing object (or key) and how it was reported."""

    container: ContainerView | None
    kind: str  # ConfigMap or Secret
    name: str
    key: str
    proof: tuple[Evidence, ...]


def _missing(ctx: RuleContext, code: str) -> Iterator[_Missing]:
    snap = ctx.snap
    for v in ctx.verdicts_for(code):
        c = v.container
        said = missing_config(v.message)
        if said is None:
            continue
        proof = tuple(ev.waiting(c) + ev.message(v.message_ref, v.message))
        yield _Missing(c, *said, proof)
    if "FailedMount" not in snap.event_reasons or snap.phase in ("Succeeded", "Failed"):
        return
    seen: set[tuple[str, str, str]] = set()
    for e in reversed(snap.events):
        mm = mount_config_failure(e)
        if mm is None or mounted_since(snap, e):
            continue
        kind, name, key = mm
        found = ("PI303" if key else "PI301" if kind == "ConfigMap" else "PI302") == code
        if found and (kind, name, key) not in seen:
            seen.add((kind, name, key))
            yield _Missing(None, kind, name, key, (ev.event(e, snap),))


def _missing_objects(code: str) -> LookupFunc:
    """The objects a live fetch looks up for a PI301-PI303 finding: those the kubelet said
    are missing (a missing key names its object), so the report can say if they exist.
    A volume's missing key names the volume, not the object: nothing to look up."""

    def objects(ctx: RuleContext) -> Iterator[tuple[str, str]]:
        return ((m.kind, m.name) for m in _missing(ctx, code) if not m.name.startswith("("))

    return objects


def _may_be_missing(ctx: RuleContext, code: str) -> bool:
    """Cheap first look: a container verdict with this code, or a FailedMount to parse."""
    return code in ctx.verdict_codes or "FailedMount" in ctx.snap.event_reasons


def _object_drafts(ctx: RuleContext, code: str) -> Iterator[Draft]:
    snap = ctx.snap
    if not _may_be_missing(ctx, code):
        return
    for m in _missing(ctx, code):
        refs = references(snap, m.kind, m.name)
        subject = ev.who(m.container) if m.container else f"pod {snap.name}"
        optional = [r for r in refs if r.optional]
        hint = " (the reference is optional, so this is another, required one)" if optional else ""
        exists, checked = ev.lookup(snap, m.kind, m.name)
        if exists:
            hint += "; it exists now, so the kubelet's next retry should start it"
        yield Draft(
            m.container,
            f"{m.kind} {m.name} does not exist in namespace {snap.namespace}; "
            f"{subject} cannot start{_places(refs)}{hint}",
            m.proof + tuple(_reference_evidence(refs)) + tuple(checked),
            f"Create {m.kind} {m.name} in namespace {snap.namespace} (kubectl get "
            f"{m.kind.lower()} -n {snap.namespace} to see what exists), fix the name in "
            f"{ev.owner_phrase(snap)}, or mark the reference optional: true if the pod can run "
            f"without it.",
        )


@rule(
    "PI301",
    "configmap-missing",
    Severity.ERROR,
    Stage.CONTAINERS,
    verdict=True,
    events=("FailedMount",),
    hopeless=True,
    lookups=_missing_objects("PI301"),
)
def configmap_missing(ctx: RuleContext) -> Iterator[Draft]:
    """A ConfigMap the pod refers to does not exist.

    What it detects:
        A container waiting in ``CreateContainerConfigError`` with ``configmap "NAME" not
        found`` (env ``configMapKeyRef``, ``envFrom``), or a ``FailedMount`` event
        ``MountVolume.SetUp failed for volume "V" : configmap "NAME" not found`` (volumes and
        projected sources). The finding lists every reference and whether it is optional.
    Why it happens:
        The ConfigMap lives in another namespace (references are namespace-local), was not
        created yet (ordering in a Helm chart or GitOps sync), was renamed (a generated name
        with a hash suffix from kustomize's configMapGenerator), or was deleted.
    How to fix:
        Create the ConfigMap in the pod's namespace, fix the name in the pod template, or set
        ``optional: true`` on the reference if the pod can start without it.
    """
    return _object_drafts(ctx, "PI301")


@rule(
    "PI302",
    "secret-missing",
    Severity.ERROR,
    Stage.CONTAINERS,
    verdict=True,
    events=("FailedMount",),
    hopeless=True,
    lookups=_missing_objects("PI302"),
)
def secret_missing(ctx: RuleContext) -> Iterator[Draft]:
    """A Secret the pod refers to does not exist.

    What it detects:
        A container waiting in ``CreateContainerConfigError`` with ``secret "NAME" not found``,
        or a ``FailedMount`` event ``... : secret "NAME" not found``. Secret values are never
        read; only the reference and the error are quoted.
    Why it happens:
        The Secret is created by another system that has not run yet (External Secrets, Vault
        injector, cert-manager issuing a certificate), lives in another namespace, or its
        name changed.
    How to fix:
        Create the Secret in the pod's namespace (or make the controller that creates it
        succeed: check the ExternalSecret or Certificate status), fix the name, or mark the
        reference ``optional: true``.
    """
    return _object_drafts(ctx, "PI302")


@rule(
    "PI303",
    "config-key-missing",
    Severity.ERROR,
    Stage.CONTAINERS,
    verdict=True,
    events=("FailedMount",),
    hopeless=True,
    lookups=_missing_objects("PI303"),
)
def config_key_missing(ctx: RuleContext) -> Iterator[Draft]:
    """The ConfigMap or Secret exists but lacks the key the pod asks for.

    What it detects:
        A container waiting in ``CreateContainerConfigError`` with ``couldn't find key KEY in
        ConfigMap NS/NAME`` (or ``in Secret NS/NAME``), or a ``FailedMount`` event saying a
        volume ``references non-existent config key``.
    Why it happens:
        The key was renamed in the object (``password`` vs ``POSTGRES_PASSWORD``), the object
        was recreated from a different source, or the ``items`` list of a volume names a key
        that is not there.
    How to fix:
        Compare the key names (``kubectl get configmap NAME -o jsonpath='{.data}'``; for a
        Secret list only the keys, ``kubectl get secret NAME -o jsonpath='{.data}' | jq keys``)
        and fix the key in the object or in the pod template, or mark it ``optional: true``.
    """
    snap = ctx.snap
    if not _may_be_missing(ctx, "PI303"):
        return
    for m in _missing(ctx, "PI303"):
        refs = references(snap, m.kind, m.name) if not m.name.startswith("(") else []
        subject = ev.who(m.container) if m.container else f"pod {snap.name}"
        obj = f"{m.kind} {m.name}" if not m.name.startswith("(") else f"the {m.kind} of {m.name}"
        _, checked = ev.lookup(snap, m.kind, m.name)
        keys = f" ({checked[0].text})" if checked else ""
        yield Draft(
            m.container,
            f"Key {m.key} is missing from {obj} in namespace {snap.namespace}{keys}; "
            f"{subject} cannot start{_places(refs)}",
            m.proof + tuple(_reference_evidence(refs)) + tuple(checked),
            f"Add key {m.key} to {obj}, or change the key {subject} asks for in "
            f"{ev.owner_phrase(snap)}.",
        )


@rule(
    "PI304",
    "container-config-error",
    Severity.ERROR,
    Stage.CONTAINERS,
    verdict=True,
    hopeless=True,
)
def container_config_error(ctx: RuleContext) -> Iterator[Draft]:
    """The kubelet refused the container's configuration for another reason.

    What it detects:
        A container waiting in ``CreateContainerConfigError`` whose message is not about a
        missing ConfigMap, Secret or key, most often ``container has runAsNonRoot and image
        will run as root`` or ``image has non-numeric user (NAME), cannot verify user is
        non-root``.
    Why it happens:
        ``securityContext.runAsNonRoot: true`` (often enforced by Pod Security admission or a
        policy) with an image whose USER is root or a name rather than a UID; or another
        setting the kubelet cannot apply.
    How to fix:
        Set ``securityContext.runAsUser`` to a non-zero UID that the image supports, or rebuild
        the image with a numeric non-root ``USER``; otherwise fix the setting the message
        names.
    """
    snap = ctx.snap
    for v in ctx.verdicts_for("PI304"):
        c = v.container
        nonroot = "runAsNonRoot" in v.message
        fix = (
            f"Set securityContext.runAsUser to a non-zero UID for {ev.who(c)} in "
            f"{ev.owner_phrase(snap)}, or rebuild {ev.image(c)} with a numeric non-root USER."
            if nonroot
            else f"Fix the setting of {ev.who(c)} the kubelet names: {ev.short(v.message, 120)}"
        )
        yield Draft(
            c,
            f"{ev.who(c)[0].upper()}{ev.who(c)[1:]} cannot be configured: {ev.short(v.message)}",
            tuple(ev.waiting(c) + ev.message(v.message_ref, v.message) + [ev.image_evidence(c)]),
            fix,
        )


RULES = (
    configmap_missing,
    secret_missing,
    config_key_missing,
    container_config_error,
)
