"""podinit_diag: why is this Kubernetes pod not starting, and what to do about it.

The pipeline, one folder per layer (each may import only those after it)::

    cli.py      the initdoctor command: arguments, environment, terminal, exit codes
    render/     reports, scans, waits and the catalogue as table, JSON or Markdown
    sources/    pods from files, bundles or a live cluster; scans; --wait
    devserver/  the read-only test API server and demo scenarios (never imported here)
    engine.py   runs the rules over a pod and orders the findings, root cause first
    rules/      the catalogue: one family module per part of a pod's start
    core/       the model, normalization, kubectl's STATUS, timelines (stdlib only)

Offline, on pods and bundles saved from a cluster::

    import podinit_diag
    for report in podinit_diag.diagnose_path("incident/"):
        for f in report.findings:
            print(f.code, f.title)
    print(podinit_diag.render(reports, "markdown"))

A pod a script already holds: the dict of ``kubectl get pod -o json``, or the official
client's ``V1Pod``, with the events and logs it has read (see :func:`diagnose`)::

    pod = kubernetes.client.CoreV1Api().read_namespaced_pod("web-0", "shop")
    report = podinit_diag.diagnose(pod, events=event_list, logs={"migrate.previous": text})
    report.to_dict()   # exactly one element of `initdoctor -o json`'s "reports"

Live (imports the ``kubernetes`` client, which ``import podinit_diag`` does not)::

    cluster = podinit_diag.Cluster(podinit_diag.Settings(context="prod"))
    report = podinit_diag.diagnose(podinit_diag.fetch_bundle(cluster, "shop", "web-0"))

Own rules: a rule pack (an installed distribution with a ``podinit_diag.rules`` entry
point, docs/adding-a-rule.md) or :func:`register`; their codes have their own prefix.

Errors: for bad input the offline functions (``load_path``, ``diagnose_path``, ``diagnose``,
``pod_status``, ``Config``) raise :class:`InputError` and nothing else, with a one-line
message. A file that is not a pod, a pod list or a bundle is one; so are a naive ``now``
(``datetime.now()`` is local time: pass ``datetime.now(UTC)``) and a ``Config`` or ``Bundle``
that is not one. Odd data *inside* a pod is not: a field of the wrong type, a number too
large for its field (an exit code of 2**80, a 5,000-digit restart count, a quantity of
``1e999999``), a ``None`` among the events, a log that is not bytes or text, lone surrogates
in strings, all read as absent, and the pod gets a report.
"""

from __future__ import annotations

import importlib
from datetime import datetime
from os import PathLike
from typing import TYPE_CHECKING, Any

from podinit_diag.core.version import VERSION as __version__

# Imported now, not lazily: importing the render package (as any renderer does) would set
# this name to the package and shadow the function. It costs little: the package imports
# its renderers when one is asked for.
from podinit_diag.render import render

if TYPE_CHECKING:
    from podinit_diag.api import diagnose
    from podinit_diag.core.errors import InputError
    from podinit_diag.core.kubestatus import PodStatus, pod_status
    from podinit_diag.core.model import (
        Bundle,
        Config,
        ContainerKind,
        Evidence,
        Finding,
        Report,
        Severity,
        Stage,
    )
    from podinit_diag.engine import diagnose as diagnose_bundle
    from podinit_diag.rules import RULES, Rule, all_rules, find_rule, register, rule, unregister
    from podinit_diag.sources.cluster import Cluster, Settings
    from podinit_diag.sources.fetch import fetch_bundle
    from podinit_diag.sources.files import load_path


def diagnose_path(
    path: str | PathLike[str], config: Config | None = None, now: datetime | None = None
) -> list[Report]:
    """Load every pod at ``path`` (file or bundle directory) and diagnose each.

    Raises :class:`InputError` for a path that holds no usable pod, and as ``diagnose``."""
    from podinit_diag.engine import diagnose as diagnose_bundle
    from podinit_diag.sources.files import load_path

    return [diagnose_bundle(b, config, now) for b in load_path(path)]


# Every public name, loaded when first used: `import podinit_diag` (and the CLI's version,
# help and completion, which import the package) costs no rule, no client, no YAML.
_LAZY = {
    "diagnose": "podinit_diag.api",
    "diagnose_bundle": "podinit_diag.engine:diagnose",  # the engine's, Bundles only
    "InputError": "podinit_diag.core.errors",
    "PodStatus": "podinit_diag.core.kubestatus",
    "pod_status": "podinit_diag.core.kubestatus",
    **dict.fromkeys(
        ("Bundle", "Config", "ContainerKind", "Evidence", "Finding", "Report", "Severity",
         "Stage"),
        "podinit_diag.core.model",
    ),
    **dict.fromkeys(
        ("RULES", "Rule", "all_rules", "find_rule", "register", "rule", "unregister"),
        "podinit_diag.rules",
    ),
    "load_path": "podinit_diag.sources.files",
    # the live path loads the kubernetes client: only when a script asks for it
    "Cluster": "podinit_diag.sources.cluster",
    "Settings": "podinit_diag.sources.cluster",
    "fetch_bundle": "podinit_diag.sources.fetch",
}  # fmt: skip


def __getattr__(name: str) -> Any:
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module 'podinit_diag' has no attribute {name!r}")
    module, _, attr = where.partition(":")
    value = getattr(importlib.import_module(module), attr or name)
    globals()[name] = value  # the next access is a plain lookup
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "RULES",
    "Bundle",
    "Cluster",
    "Config",
    "ContainerKind",
    "Evidence",
    "Finding",
    "InputError",
    "PodStatus",
    "Report",
    "Rule",
    "Settings",
    "Severity",
    "Stage",
    "__version__",
    "all_rules",
    "diagnose",
    "diagnose_bundle",
    "diagnose_path",
    "fetch_bundle",
    "find_rule",
    "load_path",
    "pod_status",
    "register",
    "render",
    "rule",
    "unregister",
]
