"""The scheduler's effective-request arithmetic, and quantities written back as kubectl does."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from podinit_diag.core.model import Bundle
from podinit_diag.core.normalize import normalize
from podinit_diag.core.resources import effective_request, format_quantity

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def _pod(init: list[dict[str, Any]], apps: list[dict[str, Any]], **spec: Any) -> Bundle:
    def c(name: str, cpu: str | None, always: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"name": name, "image": "x:1"}
        if cpu is not None:
            out["resources"] = {"requests": {"cpu": cpu}}
        if always:
            out["restartPolicy"] = "Always"
        return out

    return Bundle(
        pod={
            "kind": "Pod",
            "metadata": {"name": "p", "namespace": "ns"},
            "spec": {
                "initContainers": [c(**i) for i in init],
                "containers": [c(**a) for a in apps],
                **spec,
            },
        }
    )


@pytest.mark.parametrize(
    ("init", "apps", "spec", "total", "driver"),
    [
        # a big regular init container drives the request
        ([{"name": "i", "cpu": "3"}], [{"name": "a", "cpu": "250m"}], {}, "3", "i"),
        # apps sum up above the init container
        (
            [{"name": "i", "cpu": "500m"}],
            [{"name": "a", "cpu": "400m"}, {"name": "b", "cpu": "400m"}],
            {},
            "0.8",
            None,
        ),
        # sidecar declared before the init container adds to it; sidecars count on the app side
        (
            [{"name": "s", "cpu": "1", "always": True}, {"name": "i", "cpu": "2"}],
            [{"name": "a", "cpu": "500m"}],
            {},
            "3",
            "i",
        ),
        # a sidecar declared after the init container does not add to it
        (
            [{"name": "i", "cpu": "2"}, {"name": "s", "cpu": "1", "always": True}],
            [{"name": "a", "cpu": "500m"}],
            {},
            "2",
            "i",
        ),
        # pod overhead is added on top
        (
            [{"name": "i", "cpu": "100m"}],
            [{"name": "a", "cpu": "1"}],
            {"overhead": {"cpu": "250m"}},
            "1.25",
            None,
        ),
        # no requests, unparseable requests: zero, not a crash
        ([{"name": "i", "cpu": None}], [{"name": "a", "cpu": "lots"}], {}, "0", None),
    ],
)
def test_effective_request(
    init: list[dict[str, Any]],
    apps: list[dict[str, Any]],
    spec: dict[str, Any],
    total: str,
    driver: str | None,
) -> None:
    bundle = _pod(init, apps, **spec)
    snap = normalize(bundle, NOW)
    eff = effective_request(snap.containers, bundle.pod["spec"], "cpu")
    assert eff.total == pytest.approx(float(total))
    assert (eff.driver.name if eff.driver else None) == driver


@pytest.mark.parametrize(
    ("resource", "value", "text"),
    [
        ("cpu", 0.25, "250m"),
        ("cpu", 0.1 + 0.2, "300m"),
        ("cpu", 3.0, "3"),
        ("cpu", 1.5, "1.5"),
        ("memory", float(6 * 2**30), "6Gi"),
        ("memory", float(512 * 2**20), "512Mi"),
        ("memory", 1.5 * 2**30, "1.5Gi"),
    ],
)
def test_format_quantity(resource: str, value: float, text: str) -> None:
    assert format_quantity(resource, value) == text
