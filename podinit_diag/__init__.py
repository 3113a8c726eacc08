"""podinit_diag: why is this Kubernetes pod not starting, and what to do about it.

The core (load, normalize, rules, engine, renderers) works offline on pods and
bundles saved from a cluster::

    import podinit_diag
    for report in podinit_diag.diagnose_path("incident/"):
        for f in report.findings:
            print(f.code, f.title)

``import podinit_diag`` does not import the ``kubernetes`` client.
"""

from __future__ import annotations

__version__ = "0.1.0"

from datetime import datetime
from os import PathLike

from podinit_diag.core.errors import InputError
from podinit_diag.core.kubestatus import PodStatus, pod_status
from podinit_diag.core.model import Bundle, ContainerKind, Evidence, Finding, Report, Severity
from podinit_diag.engine import diagnose
from podinit_diag.rules import Config, all_rules
from podinit_diag.sources.files import load_path


def diagnose_path(
    path: str | PathLike[str], config: Config | None = None, now: datetime | None = None
) -> list[Report]:
    """Load every pod at ``path`` (file or bundle directory) and diagnose each."""
    return [diagnose(b, config, now) for b in load_path(path)]


__all__ = [
    "Bundle",
    "Config",
    "ContainerKind",
    "Evidence",
    "Finding",
    "InputError",
    "PodStatus",
    "Report",
    "Severity",
    "__version__",
    "all_rules",
    "diagnose",
    "diagnose_path",
    "load_path",
    "pod_status",
]
