"""PI2xx: images that cannot be pulled, for init containers, sidecars and app containers alike.

``ErrImagePull`` and ``ImagePullBackOff`` say only that a pull failed; the registry's
answer (in the waiting message, or in the kubelet's earlier ``Failed`` event once the
back-off has replaced it) tells which of these it is.
"""

from __future__ import annotations

from collections.abc import Iterator

from podinit_diag.core.access import as_dict, as_list, as_str
from podinit_diag.core.model import Evidence, Severity, Stage
from podinit_diag.rules import evidence as ev
from podinit_diag.rules.base import Draft, RuleContext, rule
from podinit_diag.rules.classify import Verdict


def _proof(v: Verdict, ctx: RuleContext) -> list[Evidence]:
    c, snap = v.container, ctx.snap
    out = ev.waiting(c) + ev.message(v.message_ref, v.message)
    if v.event is not None:
        out.append(ev.event(v.event, snap))
    out += ev.latest_event(c, snap, ("BackOff",))
    out.append(ev.image_evidence(c))
    return out


def _pull_secrets(ctx: RuleContext) -> Iterator[tuple[str, str]]:
    """The imagePullSecrets a PI202 finding weighs: does each exist? (metadata only)"""
    for ref in as_list(as_dict(ctx.snap.pod.get("spec")).get("imagePullSecrets")):
        name = as_str(as_dict(ref).get("name"))
        if name:
            yield "Secret", name


def _what(v: Verdict) -> str:
    return ev.short(v.message) if v.message else "the kubelet gave no reason"


def _drafts(ctx: RuleContext, code: str, title: str, fix: str) -> Iterator[Draft]:
    """One draft per verdict; ``title`` and ``fix`` are formats over who/image/what/owner."""
    for v in ctx.verdicts_for(code):
        c = v.container
        words = {
            "who": ev.who(c),
            "Who": ev.who(c)[0].upper() + ev.who(c)[1:],
            "image": ev.image(c),
            "what": _what(v),
            "owner": ev.owner_phrase(ctx.snap),
        }
        yield Draft(c, title.format(**words), tuple(_proof(v, ctx)), fix.format(**words))


@rule(
    "PI201",
    "image-not-found",
    Severity.ERROR,
    Stage.CONTAINERS,
    verdict=True,
    events=ev.BACKOFF_REASONS,
    hopeless=True,
    logs=False,
)
def image_not_found(ctx: RuleContext) -> Iterator[Draft]:
    """The image or its tag does not exist in the registry.

    What it detects:
        A container waiting in ``ErrImagePull``/``ImagePullBackOff`` whose pull error says
        ``not found``, ``manifest unknown`` or ``name unknown``.
    Why it happens:
        A typo in the repository or tag, a tag that was never pushed (the CI build failed or
        pushed elsewhere), a tag deleted by a retention policy, or an image built for a
        registry path other than the one in the manifest.
    How to fix:
        Check that the exact reference exists (``crane ls REPO``, ``docker manifest inspect
        IMAGE``), push it or correct the tag in the pod template.
    """
    return _drafts(
        ctx,
        "PI201",
        "Image {image} of {who} does not exist: {what}",
        "Correct the image of {who} in {owner}, or push {image} to the registry.",
    )


@rule(
    "PI202",
    "image-pull-unauthorized",
    Severity.ERROR,
    Stage.CONTAINERS,
    verdict=True,
    events=ev.BACKOFF_REASONS,
    hopeless=True,
    logs=False,
    lookups=_pull_secrets,
)
def image_pull_unauthorized(ctx: RuleContext) -> Iterator[Draft]:
    """The registry refused the pull: no credentials, or the wrong ones.

    What it detects:
        A container whose pull error says ``pull access denied``, ``unauthorized``, ``401``,
        ``403 Forbidden``, ``authorization failed`` or ``no basic auth credentials``. Docker
        Hub answers the same way for a repository that does not exist.
    Why it happens:
        The pod (and its ServiceAccount) has no ``imagePullSecrets`` for a private registry,
        the secret holds expired or wrong credentials or is for another registry host, or the
        node's IAM role cannot read the repository (ECR, Artifact Registry).
    How to fix:
        Create a ``kubernetes.io/dockerconfigjson`` Secret for the registry host and reference
        it in ``spec.imagePullSecrets`` (or on the ServiceAccount); check the repository name;
        grant the node role pull access for cloud registries.
    """
    snap = ctx.snap
    spec = as_dict(snap.pod.get("spec"))
    secrets = [as_str(as_dict(s).get("name")) for s in as_list(spec.get("imagePullSecrets"))]
    sa = as_str(spec.get("serviceAccountName")) or "default"
    for v in ctx.verdicts_for("PI202"):
        c = v.container
        proof = _proof(v, ctx)
        missing = []
        for name in secrets:
            exists, checked = ev.lookup(snap, "Secret", name)
            proof += checked
            if exists is False:
                missing.append(name)
        if missing:
            proof.append(ev.spec("$.spec.imagePullSecrets", spec.get("imagePullSecrets")))
            creds = f"imagePullSecrets {', '.join(missing)} does not exist"
            fix = (
                f"Create the docker-registry Secret {', '.join(missing)} in namespace "
                f"{snap.namespace} with credentials for the registry of {ev.image(c)}, or fix the "
                f"name in spec.imagePullSecrets of {ev.owner_phrase(snap)}."
            )
        elif secrets:
            proof.append(ev.spec("$.spec.imagePullSecrets", spec.get("imagePullSecrets")))
            creds = f"imagePullSecrets {', '.join(secrets)} did not work"
            fix = (
                f"Check that Secret {', '.join(secrets)} in namespace {snap.namespace} holds valid "
                f"credentials for the registry of {ev.image(c)} (the host must match), or fix "
                f"the repository name."
            )
        else:
            creds = "the pod has no imagePullSecrets"
            fix = (
                f"Add a docker-registry Secret for the registry of {ev.image(c)} to "
                f"spec.imagePullSecrets in {ev.owner_phrase(snap)} (or to ServiceAccount {sa}), "
                f"or check that the repository exists."
            )
        yield Draft(
            c,
            f"Pull of {ev.image(c)} for {ev.who(c)} was refused ({creds}): {_what(v)}",
            tuple(proof),
            fix,
        )


@rule(
    "PI203",
    "image-pull-rate-limited",
    Severity.ERROR,
    Stage.CONTAINERS,
    verdict=True,
    events=ev.BACKOFF_REASONS,
    logs=False,
)
def image_pull_rate_limited(ctx: RuleContext) -> Iterator[Draft]:
    """The registry rate-limited the node's pulls.

    What it detects:
        A container whose pull error says ``toomanyrequests`` or ``429 Too Many Requests``.
    Why it happens:
        Docker Hub limits anonymous and free-account pulls per IP address; a cluster whose
        nodes share a NAT address, or a rollout that pulls on many nodes at once, hits it.
    How to fix:
        Pull with an authenticated account (``imagePullSecrets``), mirror the image to your own
        registry or a pull-through cache, and prefer ``imagePullPolicy: IfNotPresent`` with
        pinned tags so that nodes do not pull again.
    """
    return _drafts(
        ctx,
        "PI203",
        "Pull of {image} for {who} was rate-limited by the registry: {what}",
        "Mirror {image} to a registry you control (or a pull-through cache), or pull it with "
        "authenticated credentials via imagePullSecrets in {owner}.",
    )


@rule(
    "PI204",
    "image-pull-network",
    Severity.ERROR,
    Stage.CONTAINERS,
    verdict=True,
    events=ev.BACKOFF_REASONS,
    logs=False,
)
def image_pull_network(ctx: RuleContext) -> Iterator[Draft]:
    """The node could not reach the registry.

    What it detects:
        A container whose pull error is a DNS, connection, timeout or TLS failure: ``no such
        host``, ``i/o timeout``, ``connection refused``, ``TLS handshake timeout``, ``x509:``.
    Why it happens:
        The registry host name does not resolve from the node, an egress firewall or proxy
        blocks it, the registry is down, or its certificate is not trusted by the container
        runtime (a private CA not installed on the nodes).
    How to fix:
        From the node, try ``crictl pull IMAGE``; fix DNS, egress rules or the runtime's proxy
        settings; install the registry's CA in the runtime's trust store (containerd
        ``certs.d``) or use a registry with a public certificate.
    """
    return _drafts(
        ctx,
        "PI204",
        "Node could not reach the registry of {image} for {who}: {what}",
        "Make the registry of {image} reachable from the node (DNS, egress firewall, proxy, "
        "trusted CA for the container runtime), then the kubelet's next retry pulls it.",
    )


@rule(
    "PI205",
    "image-name-invalid",
    Severity.ERROR,
    Stage.CONTAINERS,
    verdict=True,
    events=ev.BACKOFF_REASONS,
    hopeless=True,
    logs=False,
)
def image_name_invalid(ctx: RuleContext) -> Iterator[Draft]:
    """The image reference is not a valid name.

    What it detects:
        A container waiting with reason ``InvalidImageName``.
    Why it happens:
        Upper-case letters in the repository, a space, an empty tag (``app:``), a templating
        placeholder left unrendered (``${TAG}``), or a scheme such as ``https://`` in the name.
    How to fix:
        Write the reference as ``[registry/]repository[:tag][@sha256:digest]`` in lower case
        and check that the templating tool rendered the tag.
    """
    return _drafts(
        ctx,
        "PI205",
        "Image reference {image} of {who} is invalid: {what}",
        "Fix the image reference of {who} in {owner}: lower-case repository, no spaces, "
        "a rendered tag.",
    )


@rule(
    "PI206",
    "image-never-pulled",
    Severity.ERROR,
    Stage.CONTAINERS,
    verdict=True,
    events=ev.BACKOFF_REASONS,
    hopeless=True,
    logs=False,
)
def image_never_pulled(ctx: RuleContext) -> Iterator[Draft]:
    """The image is not on the node and the pull policy forbids pulling it.

    What it detects:
        A container waiting with reason ``ErrImageNeverPull``: ``imagePullPolicy: Never`` and
        the image is not present on the node.
    Why it happens:
        Local development clusters (kind, minikube) where the image was built but not loaded
        into the node, or a node that never got the pre-loaded image.
    How to fix:
        Load the image onto the node (``kind load docker-image``, ``minikube image load``), or
        set ``imagePullPolicy: IfNotPresent`` and push the image to a registry.
    """
    return _drafts(
        ctx,
        "PI206",
        "Image {image} of {who} is not on the node and imagePullPolicy is Never",
        "Load {image} onto the node (kind load docker-image / minikube image load), or set "
        "imagePullPolicy: IfNotPresent for {who} in {owner} and push the image.",
    )


@rule(
    "PI207",
    "image-pull-failed",
    Severity.ERROR,
    Stage.CONTAINERS,
    verdict=True,
    events=ev.BACKOFF_REASONS,
    logs=False,
)
def image_pull_failed(ctx: RuleContext) -> Iterator[Draft]:
    """The image could not be pulled for a reason the other image rules do not cover.

    What it detects:
        A container in ``ErrImagePull``/``ImagePullBackOff`` whose error is not a missing
        image, refused credentials, a rate limit or a network failure (for example the node's
        disk filled up while unpacking layers, or an unsupported manifest).
    Why it happens:
        Node-side problems (no space left on device, a corrupted content store), an image whose
        platform list lacks the node's architecture, or a registry returning an unexpected
        error.
    How to fix:
        Read the exact error in the ``Failed`` event, then fix the node (free disk, restart the
        runtime) or the image (multi-architecture manifest).
    """
    return _drafts(
        ctx,
        "PI207",
        "Image {image} of {who} could not be pulled: {what}",
        "Act on the registry's or runtime's error for {image} (see the Failed event); the "
        "kubelet retries the pull on its own.",
    )


def _node_arch(ctx: RuleContext) -> str:
    """The node's CPU architecture, from its label or nodeInfo when the Node was captured."""
    node = ctx.snap.related_object("Node", ctx.snap.node)
    if node is None:
        return ""
    label = as_dict(as_dict(node.get("metadata")).get("labels")).get("kubernetes.io/arch")
    info = as_dict(as_dict(node.get("status")).get("nodeInfo")).get("architecture")
    return as_str(label) or as_str(info)


@rule(
    "PI208",
    "image-wrong-architecture",
    Severity.ERROR,
    Stage.CONTAINERS,
    verdict=True,
    events=ev.BACKOFF_REASONS,
    hopeless=True,
)
def image_wrong_architecture(ctx: RuleContext) -> Iterator[Draft]:
    """The image is built for another CPU architecture than the node's.

    What it detects:
        Any container whose pull fails with ``no match for platform in manifest`` or ``no
        matching manifest for linux/ARCH in the manifest list entries``, or whose start or
        run fails with ``exec format error`` (in the runtime's message, the termination
        message or the log): the binary cannot run on the node's CPU.
    Why it happens:
        An image built on an Apple-silicon laptop (arm64) and run on amd64 nodes or the
        reverse, a single-architecture tag pulled on a mixed node pool (Graviton, Ampere), or
        a multi-arch manifest list that lacks the node's platform.
    How to fix:
        Publish the image for every node architecture (``docker buildx build --platform
        linux/amd64,linux/arm64``) or pin the pod to matching nodes with a ``nodeSelector``
        on ``kubernetes.io/arch``.
    """
    snap = ctx.snap
    arch = _node_arch(ctx)
    node = f"node {snap.node}" + (f" ({arch})" if arch else "") if snap.node else "the node"
    for v in ctx.verdicts_for("PI208"):
        c = v.container
        if c.state == "waiting" and c.reason in ("ErrImagePull", "ImagePullBackOff"):
            proof = _proof(v, ctx)
            what = _what(v)
        else:
            proof = ev.failure(v, snap) + [ev.image_evidence(c)]
            what = v.log_hit.text if v.log_hit and v.log_hit.category else v.message
            what = ev.short(what or "exec format error")
        who = ev.who(c)
        yield Draft(
            c,
            f"{who[0].upper()}{who[1:]} cannot run image {ev.image(c)} on {node}: it is built "
            f"for another CPU architecture ({what})",
            tuple(proof),
            f"Publish {ev.image(c)} for the node's architecture (`docker buildx build --platform "
            f"linux/amd64,linux/arm64`), or pin {ev.owner_phrase(snap)} to matching nodes with "
            f"a nodeSelector on kubernetes.io/arch.",
        )


RULES = (
    image_not_found,
    image_pull_unauthorized,
    image_pull_rate_limited,
    image_pull_network,
    image_name_invalid,
    image_never_pulled,
    image_pull_failed,
    image_wrong_architecture,
)
