"""The pod's effective resource request, computed the way the scheduler computes it.

kube-scheduler (``PodRequests`` in ``pkg/api/v1/resource``) takes, per resource, the
larger of (a) the app containers plus every native sidecar and (b) the largest regular
init container plus the sidecars declared before it, then adds the pod overhead. The
container that decides (b) is the one to name when an init container makes a pod
unschedulable. Quantity strings are parsed by the official client's
``kubernetes.utils.quantity`` (imported on first use only, so that ``import
podinit_diag`` stays free of the client).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from .model import ContainerKind, ContainerView, Json
from .normalize import as_dict


@lru_cache(maxsize=4096)
def quantity(text: str) -> Decimal | None:
    """A Kubernetes quantity (``250m``, ``6Gi``, ``1e3``) as a number; None if invalid."""
    from kubernetes.utils.quantity import parse_quantity

    try:
        return Decimal(parse_quantity(text))  # type: ignore[no-untyped-call]
    except (ValueError, ArithmeticError, TypeError):
        return None


def request(c: ContainerView, resource: str) -> Decimal:
    raw = as_dict(as_dict(c.spec.get("resources")).get("requests")).get(resource)
    if raw is None:
        return Decimal(0)
    value = quantity(str(raw))
    return value if value is not None else Decimal(0)


@dataclass(frozen=True)
class Effective:
    resource: str
    total: Decimal  # what the scheduler needs a node to have free
    app_side: Decimal  # app containers + all sidecars
    init_peak: Decimal  # largest (regular init container + sidecars before it)
    driver: ContainerView | None  # the regular init container behind init_peak
    overhead: Decimal

    @property
    def init_dominates(self) -> bool:
        return self.driver is not None and self.init_peak > self.app_side


def effective_request(
    containers: tuple[ContainerView, ...], pod_spec: Json, resource: str
) -> Effective:
    app_side = Decimal(0)
    sidecars = Decimal(0)
    peak, driver = Decimal(0), None
    for c in containers:
        r = request(c, resource)
        if c.kind is ContainerKind.APP:
            app_side += r
        elif c.kind is ContainerKind.SIDECAR:
            sidecars += r
            app_side += r
            peak = max(peak, sidecars)
        elif r + sidecars > peak:
            peak, driver = r + sidecars, c
    raw_overhead = as_dict(pod_spec.get("overhead")).get(resource)
    overhead = (
        (quantity(str(raw_overhead)) or Decimal(0)) if raw_overhead is not None else Decimal(0)
    )
    if driver is not None and peak <= app_side:
        driver = None
    return Effective(resource, max(app_side, peak) + overhead, app_side, peak, driver, overhead)


def format_quantity(resource: str, value: Decimal) -> str:
    """Human form: CPU in cores or millicores, bytes in Ki/Mi/Gi/Ti."""
    if resource == "cpu":
        if value < 1:
            return f"{int(value * 1000)}m"
        return f"{value.normalize():f}"
    if resource in ("memory", "ephemeral-storage") or resource.startswith("hugepages-"):
        for unit, size in (("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
            if value >= size:
                scaled = value / size
                text = f"{scaled:.1f}".rstrip("0").rstrip(".")
                return f"{text}{unit}"
        return f"{int(value)}"
    return f"{value.normalize():f}"
