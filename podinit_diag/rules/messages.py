"""What the kubelet, the scheduler and registries mean by their words: the message texts
that name a failure class, parsed once for the classifier, the rules and the live fetch."""

from __future__ import annotations

import re
from dataclasses import dataclass

from podinit_diag.core.access import as_dict, as_list, as_str
from podinit_diag.core.lazyre import lazy
from podinit_diag.core.model import EventView, PodSnapshot

# (code, lower-case needles one of which any match contains, pattern), checked in order.
_PULL_CODES: tuple[tuple[str, tuple[str, ...], re.Pattern[str]], ...] = (
    (
        "PI208",
        ("no match for platform", "no matching manifest"),
        lazy(r"no match for platform in manifest|no matching manifest for \S+ in the manifest"),
    ),
    (
        "PI203",
        ("toomanyrequests", "429"),
        lazy(r"toomanyrequests|429 Too Many Requests", re.I),
    ),
    (
        "PI202",
        ("denied", "unauthorized", "401", "403", "authorization", "credentials", "authentication"),
        lazy(
            r"pull access denied|unauthorized|\b401\b|403 Forbidden|authorization failed"
            r"|no basic auth credentials|\bdenied:|authentication required"
            # Docker's daemon on a registry (ghcr.io) that refuses the manifest: `...": denied`
            r"|\": denied\b|: denied\s*$",
            re.I,
        ),
    ),
    (
        "PI204",
        (
            "no such host",
            "timeout",
            "refused",
            "x509",
            "unreachable",
            "reset by peer",
            "dial tcp",
            "deadline",
        ),
        lazy(
            r"no such host|i/o timeout|connection refused|TLS handshake timeout|x509:"
            r"|network is unreachable|connection reset by peer|dial tcp|context deadline exceeded",
            re.I,
        ),
    ),
    (
        "PI201",
        ("not found", "manifest unknown", "name unknown", "notfound"),
        lazy(r"not found|manifest unknown|name unknown|NotFound", re.I),
    ),
)


def image_pull_code(text: str) -> str:
    """PI201-PI204 by the registry's wording; PI207 when it says nothing we recognise."""
    low = text.lower()
    for code, needles, pattern in _PULL_CODES:
        if any(n in low for n in needles) and pattern.search(text):
            return code
    return PULL_FALLBACK


PULL_FALLBACK = "PI207"


def pull_codes() -> tuple[str, ...]:
    return tuple(code for code, _, _ in _PULL_CODES)


_CONFIG_CODES = (
    ("PI303", lazy(r"couldn't find key (\S+) in (ConfigMap|Secret) ([\w.-]+)/([\w.-]+)")),
    ("PI301", lazy(r"configmaps? \"([^\"]+)\" not found")),
    ("PI302", lazy(r"secrets? \"([^\"]+)\" not found")),
)


def config_code(text: str) -> tuple[str, re.Match[str] | None]:
    for code, pattern in _CONFIG_CODES:
        m = pattern.search(text)
        if m:
            return code, m
    return CONFIG_FALLBACK, None


CONFIG_FALLBACK = "PI304"


def config_codes() -> tuple[str, ...]:
    return tuple(code for code, _ in _CONFIG_CODES)


def missing_config(text: str) -> tuple[str, str, str] | None:
    """(kind, name, key) of what a CreateContainerConfigError says is missing: a
    ConfigMap or Secret (key ""), or a key of one."""
    code, m = config_code(text)
    if m is None:
        return None
    if code == "PI303":
        return m.group(2), m.group(4), m.group(1)
    return ("ConfigMap" if code == "PI301" else "Secret"), m.group(1), ""


_MOUNT_CONFIG = lazy(
    r"MountVolume\.SetUp failed for volume \"([^\"]+)\" : "
    r"(?:(configmap|secret) \"([^\"]+)\" not found"
    r"|(configmap|secret) references non-existent (?:config|secret) key: (\S+))"
)


def mount_config_failure(e: EventView) -> tuple[str, str, str] | None:
    """(kind, name, key) of a FailedMount for a missing ConfigMap/Secret or key."""
    if e.reason != "FailedMount":
        return None
    m = _MOUNT_CONFIG.search(e.message)
    if m is None:
        return None
    if m.group(2):
        return ("ConfigMap" if m.group(2) == "configmap" else "Secret"), m.group(3), ""
    volume = m.group(1)
    return (
        ("ConfigMap" if m.group(4) == "configmap" else "Secret"),
        f"(volume {volume})",
        m.group(5),
    )


_FOR_VOLUME = lazy(r'for volume "([^"]+)"')


def mounted_since(snap: PodSnapshot, e: EventView) -> bool:
    """Whether a container that mounts the volume a mount failure names has run since: the
    kubelet's retry worked, and the warning is history."""
    m = _FOR_VOLUME.search(e.message)
    if m is None:
        return False
    for c in snap.containers:
        names = {as_str(as_dict(x).get("name")) for x in as_list(c.spec.get("volumeMounts"))}
        if m.group(1) in names and (c.state in ("running", "terminated") or c.restart_count):
            return True
    return False


def is_config_mount_failure(e: EventView) -> bool:
    return mount_config_failure(e) is not None


@dataclass(frozen=True)
class SchedulerReason:
    nodes: int | None
    text: str


_SUMMARY = lazy(r"(\d+)/(\d+) nodes are available:?\s*")
_PART = lazy(r"^(\d+) (.*)$")


def scheduler_reasons(message: str) -> tuple[int | None, tuple[SchedulerReason, ...]]:
    """Split a FailedScheduling message into (node total, reasons), preemption note dropped."""
    text = message.split(" preemption:", 1)[0].strip()
    m = _SUMMARY.search(text)
    total = int(m.group(2)) if m else None
    body = text[m.end() :] if m else text
    body = body.rstrip(".").strip()
    reasons = []
    for part in re.split(r"[,.]\s+(?=\d+ |pod has |persistentvolumeclaim )", body):
        part = part.strip().rstrip(".")
        if not part:
            continue
        pm = _PART.match(part)
        reasons.append(
            SchedulerReason(int(pm.group(1)), pm.group(2)) if pm else SchedulerReason(None, part)
        )
    return total, tuple(reasons)
