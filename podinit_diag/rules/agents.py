"""Proxies and agents that are meant to run beside the app: how to recognise them.

Service meshes, database proxies, secret agents and log shippers are injected or
copied into pods under well-known names and images. The rules need to know them to tell
an init container that cannot reach the network because its proxy starts after it
(PI404), a proxy declared where it can never finish (PI408) or keep a Job alive (PI407).
One-shot helpers shipped in the same images (``istio-init``, ``istio-validation``,
``linkerd-init``, ``vault-agent-init``) are not agents.
"""

from __future__ import annotations

from podinit_diag.core.access import as_list, as_str
from podinit_diag.core.lazyre import lazy
from podinit_diag.core.model import ContainerView

# In the container's name or image (lower case).
_AGENT_HINTS = (
    "istio-proxy",
    "envoy",
    "linkerd-proxy",
    "linkerd/proxy:",
    "linkerd-io/proxy:",
    "cloud-sql-proxy",
    "cloudsql-proxy",
    "cloudsql-docker/gce-proxy",
    "gce-proxy",
    "alloydb-auth-proxy",
    "vault-agent",
    "oauth2-proxy",
    "gcsfuse-sidecar",
    "consul-dataplane",
)
# One-shot set-up steps that ship in the agents' images or carry their names.
_ONE_SHOT = lazy(
    r"(?:^|[-_/])init\b|proxy[-_]init|validation|validator|iptables|route-manager"
    r"|-exit-after-auth|\bcni\b",
)
_ENDLESS = lazy(
    r"\bwhile\s+(?:true|:)\s*;\s*do\b(?![\s\S]*\b(?:break|exit)\b)|\btail\s+-f\s+/dev/null"
)


def _image(c: ContainerView) -> str:
    image = c.spec.get("image")
    return image.lower() if isinstance(image, str) else ""


def is_proxy(c: ContainerView) -> bool:
    """A proxy or agent that runs for the pod's whole life (not one of its set-up steps)."""
    text = f"{c.name.lower()} {_image(c)}"
    if not any(h in text for h in _AGENT_HINTS):
        return False
    return not _ONE_SHOT.search(f"{c.name.lower()} {c.argv}")


def is_mesh_setup(c: ContainerView) -> bool:
    """One of a mesh's own set-up steps (istio-init, istio-validation, linkerd-init,
    linkerd-network-validator): it runs before the proxy by design."""
    text = f"{c.name.lower()} {_image(c)}"
    mesh = ("istio", "linkerd", "proxyv2", "proxy-init", "appmesh", "consul", "kuma")
    return any(m in text for m in mesh) and bool(_ONE_SHOT.search(f"{c.name.lower()} {c.argv}"))


def never_exits(c: ContainerView) -> str:
    """Why the container's process would run forever ("" when nothing says so): a known
    proxy or agent, or a command that loops without an exit."""
    if is_proxy(c):
        return f"{c.name} runs a long-lived proxy/agent ({_image(c) or c.name})"
    words = c.argv
    m = _ENDLESS.search(words) if "while" in words or "tail" in words else None
    if m is not None:
        return f"its command loops forever (`{m.group(0).strip()}`)"
    return ""


_LOCAL = lazy(
    r"\b(?:localhost|127\.0\.0\.1|\[::1\])[:,](\d{2,5})\b"
    # psql/libpq: connection to server at "localhost" (127.0.0.1), port 5432 failed
    r"|\b(?:localhost|127\.0\.0\.1)\"?(?: \([\d.:]+\))?,? port (\d{2,5})\b"
)
_LISTENS = lazy(r"(?:--?[\w-]*port[= ]|[=:@/]|\btcp:)(\d{2,5})\b")
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


def local_ports(c: ContainerView, extra: str = "") -> set[str]:
    """The localhost ports the container talks to, from its command, its env (``DB_HOST``
    set to a loopback address beside a ``*_PORT``) and ``extra`` (a log line)."""
    env = {
        as_str(e.get("name")): str(e.get("value"))
        for e in as_list(c.spec.get("env"))
        if isinstance(e, dict) and isinstance(e.get("value"), str)
    }
    text = f"{c.argv} {' '.join(env.values())} {extra}"
    if "localhost" not in text and "127.0.0.1" not in text and "::1" not in text:
        return set()
    ports = {m.group(1) or m.group(2) for m in _LOCAL.finditer(text)}
    if any(v in _LOOPBACK for k, v in env.items() if k.endswith("HOST")):
        ports |= {v for k, v in env.items() if k.endswith("PORT") and v.isdigit()}
    return ports


def listens_on(c: ContainerView) -> set[str]:
    """The ports a container declares or is told to listen on."""
    ports = {
        port
        for p in as_list(c.spec.get("ports"))
        if isinstance(p, dict) and (port := _port(p.get("containerPort"))) is not None
    }
    return ports | {m.group(1) for m in _LISTENS.finditer(c.argv)}


def _port(value: object) -> str | None:
    # An int only when it can be a port: str() of one past 4,300 digits raises.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value) if 0 < value < 65536 else None
    return value if isinstance(value, str) else None
