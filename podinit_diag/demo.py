"""``--demo`` and ``--demo --wait``: the normal live code path (kubeconfig, TLS, token, the
fetch, ``--wait``) run against the built-in scenarios, served read-only on loopback by the
test API server. Composes the devserver, the sources and the engine; the CLI says how to
connect and where the words go."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from podinit_diag.core.access import as_dict
from podinit_diag.core.model import Config, Report
from podinit_diag.devserver.apiserver import ApiServer, loopback
from podinit_diag.devserver.replay import demo_incidents
from podinit_diag.devserver.scenarios import TITLES, scenario_dirs
from podinit_diag.engine import diagnose
from podinit_diag.sources.cluster import Cluster
from podinit_diag.sources.fetch import fetch_bundle
from podinit_diag.sources.files import load_path


def diagnose_scenarios(
    config: Config, connect: Callable[[str], Cluster], note: Callable[[str], object]
) -> list[tuple[str, Report]]:
    """Each scenario's title and its report, fetched through ``connect(kubeconfig)``."""
    dirs = scenario_dirs()
    captured = [load_path(d)[0] for d in dirs]
    server = ApiServer(captured)
    results = []
    with loopback(server) as kubeconfig:
        note(
            f"initdoctor: demo cluster at {server.url} (read-only, loopback); diagnosing "
            f"{len(dirs)} pods through the live path"
        )
        cluster = connect(kubeconfig)
        for d, bundle in zip(dirs, captured, strict=True):
            meta = as_dict(bundle.pod.get("metadata"))
            live = fetch_bundle(cluster, str(meta.get("namespace")), str(meta.get("name")), config)
            # Judged at capture time, so that ages read as they did during the incident.
            results.append((TITLES.get(d.name, d.name), diagnose(live, config, bundle.captured_at)))
        note(f"initdoctor: {cluster.requests} requests in all")
    return results


def incidents(now: datetime) -> Iterator[tuple[str, str, str]]:
    """Two incidents replayed ten times faster than they happened: for each, a heading,
    the target to ``--wait`` for and a kubeconfig, valid until the next is asked for."""
    replayed = demo_incidents(now)
    for i, (title, target, server) in enumerate(replayed, 1):
        with loopback(server, namespace="shop") as kubeconfig:
            yield (
                f"\n=== {i}/{len(replayed)} {title}: initdoctor --wait {target} ===\n\n",
                target,
                kubeconfig,
            )
