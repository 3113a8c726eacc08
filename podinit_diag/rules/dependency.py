"""What an init container waits for, and whether the captured cluster objects prove it absent.

Wait loops name their dependency in the command (``until nslookup db``, ``nc -z db 5432``,
``pg_isready -h $(DB_HOST)``, ``wait-for-it api:8080``, ``curl http://cfg/``). The host is
read as a Service the way cluster DNS would resolve it from the pod's namespace, then
checked against the Services, Endpoints and EndpointSlices in ``related.json``. Absence
is only claimed when the capture holds evidence for it: no Services of that namespace
captured at all means "unknown", not "missing".
"""

from __future__ import annotations

from dataclasses import dataclass

from podinit_diag.core.access import Json, as_dict, as_list, as_str
from podinit_diag.core.lazyre import lazy
from podinit_diag.core.model import ContainerView, Evidence, PodSnapshot
from podinit_diag.rules.logscan import service_of

_HOST = r"([A-Za-z0-9][\w.-]*)"
_WAITS = (
    lazy(rf"\bnslookup\s+{_HOST}"),
    lazy(rf"\bgetent\s+hosts\s+{_HOST}"),
    lazy(rf"\bnc\b(?:\s+-[a-zA-Z]+(?:\s+\d+)?)*\s+{_HOST}\s+(\d+)"),
    lazy(rf"\bpg_isready\b[^;&|]*?(?:-h\s*|--host=){_HOST}(?:[^;&|]*?(?:-p\s*|--port=)(\d+))?"),
    lazy(rf"\bmysqladmin\b[^;&|]*?(?:-h\s*|--host=){_HOST}(?:[^;&|]*?(?:-P\s*|--port=)(\d+))?"),
    lazy(rf"\bredis-cli\b[^;&|]*?-h\s+{_HOST}(?:[^;&|]*?-p\s+(\d+))?"),
    lazy(rf"\b(?:wget|curl)\b[^;&|]*?\bhttps?://{_HOST}(?::(\d+))?"),
    lazy(rf"\bwait-for(?:-it)?(?:\.sh)?\s+(?:-\S+\s+)*{_HOST}:(\d+)"),
    lazy(rf"\bdockerize\b[^;&|]*?-wait\s+(?:tcp|https?)://{_HOST}:(\d+)"),
)
# Commands that talk to the network: a failure of one without a telling log is likely a
# connection that could not be made.
_NETWORK_COMMAND = lazy(
    r"\b(?:wget|curl|nc|ncat|telnet|psql|pg_isready|mysql|mysqladmin|redis-cli|mongo|mongosh"
    r"|nslookup|dig|getent|kubectl|helm|git|gsutil|gcloud|aws|az|pip|npm|apt-get|apk)\b"
)
# A word each of the _WAITS patterns needs (a cheap test before running them).
_WAIT_WORDS = (
    "nslookup",
    "getent",
    "nc",
    "pg_isready",
    "mysqladmin",
    "redis-cli",
    "http",
    "wait-for",
    "dockerize",
)
_VAR = lazy(r"\$\((\w+)\)|\$\{(\w+)\}|\$(\w+)")


@dataclass(frozen=True)
class Dependency:
    host: str
    port: str | None
    service: str
    namespace: str
    problem: str  # "missing" or "no ready endpoints"
    elsewhere: tuple[str, ...]  # other namespaces that do have a Service of that name
    evidence: tuple[Evidence, ...]


def wait_targets(c: ContainerView) -> list[tuple[str, str | None]]:
    """(host, port) pairs the container's command waits on, env references expanded."""
    argv = c.argv
    if not any(word in argv for word in _WAIT_WORDS):
        return []  # most commands wait on nothing: skip the patterns
    if "$" in argv:
        env = {
            as_str(e.get("name")): as_str(e.get("value"))
            for e in map(as_dict, as_list(c.spec.get("env")))
            if isinstance(e.get("value"), str)
        }
        argv = _VAR.sub(lambda m: env.get(next(g for g in m.groups() if g), m.group(0)), argv)
    found: list[tuple[str, str | None]] = []
    for pattern in _WAITS:
        for m in pattern.finditer(argv):
            target = (m.group(1), m.group(2) if pattern.groups >= 2 else None)
            if target not in found:
                found.append(target)
    return found


# A container that is a wait step by name or command: ``wait-for-db``, ``wait_for_x``,
# ``check-db-ready``, ``kubectl wait``, ``--wait-timeout``, ``k8s-wait-for``.
_WAIT_NAME = lazy(
    r"^(?:wait|await)[-_]?(?:for[-_]?)?(?P<what>.*)$|^(?:check|ensure)[-_](?P<ready>.+)[-_]ready$"
)
_WAIT_COMMAND = lazy(
    r"\bkubectl\s+wait\b|\bwait[-_]for\b|--(?:migration-)?wait\b|wait-timeout|k8s-wait-for"
)


def wait_step(c: ContainerView) -> str | None:
    """What a container that exists to wait names as its subject (``"db"`` for
    ``wait-for-db``; ``""`` when it does not say); None when it is not a wait step."""
    m = _WAIT_NAME.match(c.name)
    if m is not None:
        return (m.group("what") or m.group("ready") or "").strip("-_")
    words = c.argv
    if ("wait" in words and _WAIT_COMMAND.search(words)) or (
        "wait-for" in as_str(c.spec.get("image"))
    ):
        return ""
    return None


def uses_network(c: ContainerView) -> bool:
    return _NETWORK_COMMAND.search(c.argv) is not None


def find_unavailable_dependency(c: ContainerView, snap: PodSnapshot) -> Dependency | None:
    if not snap.related:
        return None
    for host, port in wait_targets(c):
        svc = service_of(host, snap.namespace)
        if svc is None:
            continue
        dep = _check(host, port, svc[0], svc[1], snap.related)
        if dep is not None:
            return dep
    return None


def _named(o: Json) -> tuple[str, str, str]:
    meta = as_dict(o.get("metadata"))
    return as_str(o.get("kind")), as_str(meta.get("namespace")), as_str(meta.get("name"))


def _check(
    host: str, port: str | None, name: str, ns: str, related: tuple[Json, ...]
) -> Dependency | None:
    services = [o for o in related if _named(o)[0] == "Service"]
    in_ns = [o for o in services if _named(o)[1] == ns]
    if not in_ns:
        return None  # nothing captured for that namespace: absence is not proven
    target = next((o for o in in_ns if _named(o)[2] == name), None)
    if target is None:
        elsewhere = tuple(sorted({_named(o)[1] for o in services if _named(o)[2] == name}))
        where = (
            f"; a Service {name} exists in namespace {', '.join(elsewhere)}" if elsewhere else ""
        )
        proof = Evidence(
            source="cluster",
            ref=f"Service {ns}/{name}",
            text=f"not found among the {len(in_ns)} Services captured in namespace {ns}{where}",
        )
        return Dependency(host, port, name, ns, "missing", elsewhere, (proof,))
    if as_str(as_dict(target.get("spec")).get("type")) == "ExternalName":
        return None
    ready, total, source = _endpoints(name, ns, related)
    if source is None or ready:
        return None
    proof = Evidence(
        source="cluster",
        ref=f"{source} {ns}/{name}",
        text=f"0 ready endpoints ({total} not ready)" if total else "no endpoints at all",
    )
    return Dependency(host, port, name, ns, "no ready endpoints", (), (proof,))


def _endpoints(name: str, ns: str, related: tuple[Json, ...]) -> tuple[int, int, str | None]:
    """(ready, not ready, source kind): EndpointSlices first, as kube-proxy reads them."""
    slices = [
        o
        for o in related
        if _named(o)[:2] == ("EndpointSlice", ns)
        and as_dict(as_dict(o.get("metadata")).get("labels")).get("kubernetes.io/service-name")
        == name
    ]
    if slices:
        ready = total = 0
        for s in slices:
            for ep in map(as_dict, as_list(s.get("endpoints"))):
                total += 1
                # The API: a nil ready condition is to be read as ready.
                if as_dict(ep.get("conditions")).get("ready") is not False:
                    ready += 1
        return ready, total - ready, "EndpointSlice"
    eps = next((o for o in related if _named(o) == ("Endpoints", ns, name)), None)
    if eps is None:
        return 0, 0, None
    ready = not_ready = 0
    for subset in map(as_dict, as_list(eps.get("subsets"))):
        ready += len(as_list(subset.get("addresses")))
        not_ready += len(as_list(subset.get("notReadyAddresses")))
    return ready, not_ready, "Endpoints"
