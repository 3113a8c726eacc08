"""The pod's effective resource request, computed the way the scheduler computes it.

kube-scheduler (``PodRequests`` in ``pkg/api/v1/resource``) takes, per resource, the
larger of (a) the app containers plus every native sidecar and (b) the largest regular
init container plus the sidecars declared before it, then adds the pod overhead. The
container that decides (b) is the one to name when an init container makes a pod
unschedulable. Quantity strings are parsed by :mod:`podinit_diag.core.quantity`, which
gives what the official client's ``kubernetes.utils.quantity`` gives without importing it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from podinit_diag.core.access import Json, as_dict
from podinit_diag.core.model import ContainerKind, ContainerView
from podinit_diag.core.quantity import parse_quantity


def quantity(value: object) -> float | None:
    """A Kubernetes quantity (``250m``, ``6Gi``, ``1e3``, or a JSON number) as a float; None
    if invalid, if it is no finite float (``NaN``, ``Infinity``, ``1e999999``, an integer of
    5,000 digits: no node has that much of anything) or if it is not a string or a number.

    Floats, not the parser's Decimals: comparisons and sums over a handful of requests need
    no more precision, and they run for every pod of a scan (where the same few dozen
    strings repeat: hence the cache)."""
    if isinstance(value, str):
        return _parsed(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # an int past a float's range
            return None
        return number if math.isfinite(number) else None
    return None


@lru_cache(maxsize=4096)
def _parsed(text: str) -> float | None:
    try:
        number = float(parse_quantity(text))
    except (ValueError, ArithmeticError):
        return None
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class Effective:
    resource: str
    total: float  # what the scheduler needs a node to have free
    app_side: float  # app containers + all sidecars
    init_peak: float  # largest (regular init container + sidecars before it)
    driver: ContainerView | None  # the regular init container behind init_peak
    overhead: float


def effective_request(
    containers: tuple[ContainerView, ...], pod_spec: Json, resource: str
) -> Effective:
    return effective_requests(containers, pod_spec, (resource,))[resource]


def effective_requests(
    containers: tuple[ContainerView, ...], pod_spec: Json, resources: tuple[str, ...]
) -> dict[str, Effective]:
    """The effective request for each resource: the larger of the app containers plus all
    native sidecars, and the largest regular init container plus the sidecars started
    before it; plus the pod's overhead."""
    rows = []
    for c in containers:
        requests = as_dict(as_dict(c.spec.get("resources")).get("requests"))
        if requests or c.kind is ContainerKind.INIT:  # an app without requests adds nothing
            rows.append((c, c.kind, requests))
    overheads = as_dict(pod_spec.get("overhead"))
    out = {}
    for res in resources:
        app_side = sidecars = peak = 0.0
        driver: ContainerView | None = None
        for c, kind, requests in rows:
            r = _amount(requests.get(res))
            if kind is ContainerKind.APP:
                app_side += r
            elif kind is ContainerKind.SIDECAR:
                sidecars += r
                app_side += r
                peak = max(peak, sidecars)
            elif r + sidecars > peak:
                peak, driver = r + sidecars, c
        overhead = _amount(overheads.get(res))
        d = driver if peak > app_side else None
        out[res] = Effective(res, max(app_side, peak) + overhead, app_side, peak, d, overhead)
    return out


def _amount(raw: object) -> float:
    return quantity(raw) or 0.0


def format_quantity(resource: str, value: float) -> str:
    """Human form: CPU in cores or millicores, bytes in Ki/Mi/Gi/Ti."""
    if resource == "cpu":
        if value < 1:
            return f"{round(value * 1000)}m"
        return f"{value:g}"
    if resource in ("memory", "ephemeral-storage") or resource.startswith("hugepages-"):
        for unit, size in (("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
            if value >= size:
                scaled = value / size
                text = f"{scaled:.1f}".rstrip("0").rstrip(".")
                return f"{text}{unit}"
        return f"{int(value)}"
    return f"{value:g}"
