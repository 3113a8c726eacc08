"""Scanning a cluster: pages of pods and events joined client-side, against the test server."""

from __future__ import annotations

import json
import math
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from podinit_diag.core.model import Bundle
from podinit_diag.devserver.apiserver import ApiServer, relocated
from podinit_diag.sources.cluster import Cluster, ClusterError, Settings
from podinit_diag.sources.files import load_path
from podinit_diag.sources.scan import ROUTINE_EVENT_REASONS

from ..conftest import cli_env, fixture_dirs, run_initdoctor, run_on_terminal

NAMESPACES = ("ns-a", "ns-b", "ns-c")
PODS = 1200


def _generated() -> list[Bundle]:
    templates = [b for d in fixture_dirs() for b in load_path(d)]
    return [
        relocated(
            templates[i % len(templates)],
            NAMESPACES[i % len(NAMESPACES)],
            f"p{i:05d}",
            str(uuid.UUID(int=i + 1)),
        )
        for i in range(PODS)
    ]


BUNDLES = _generated()
# The events a scan asks for: the apiserver leaves out a pod's routine ones.
EVENTS = sum(1 for b in BUNDLES for e in b.events if e.get("reason") not in ROUTINE_EVENT_REASONS)


@pytest.fixture(scope="module")
def server() -> Iterator[ApiServer]:
    with ApiServer(BUNDLES) as srv:
        yield srv


@pytest.fixture
def cluster(server: ApiServer, tmp_path: Path, no_proxy: None) -> Cluster:
    """An in-process connection to the module's server."""
    cfg = tmp_path / "cfg"
    server.write_kubeconfig(str(cfg))
    return Cluster(Settings(kubeconfig=str(cfg)))


initdoctor = run_initdoctor


@pytest.mark.live
def test_all_namespaces_requests_are_pages(server: ApiServer, tmp_path: Path) -> None:
    before = len(server.request_log)
    res = initdoctor(cli_env(server, tmp_path), "-A", "-o", "json", "--max-log-pods", "0")
    assert res.returncode == 1, res.stderr
    doc = json.loads(res.stdout)
    assert doc["summary"]["pods"] == PODS
    assert doc["summary"]["healthy"] + doc["summary"]["with_findings"] == PODS
    made = server.request_log[before:]
    pages = math.ceil(PODS / 500) + max(1, math.ceil(EVENTS / 500))
    assert len(made) == pages, made
    assert {p.split("?")[0] for _, p in made} == {"/api/v1/pods", "/api/v1/events"}


@pytest.mark.live
def test_namespace_and_selector_scopes(server: ApiServer, tmp_path: Path) -> None:
    env = cli_env(server, tmp_path)
    res = initdoctor(env, "-n", "ns-b", "-o", "json", "--max-log-pods", "0", "--all")
    doc = json.loads(res.stdout)
    assert doc["summary"]["pods"] == PODS // 3
    assert {r["pod"]["namespace"] for r in doc["reports"]} == {"ns-b"}
    labels = BUNDLES[0].pod["metadata"]["labels"]
    key, value = next(iter(labels.items()))
    want = sum(
        1
        for b in BUNDLES
        if b.pod["metadata"]["namespace"] == "ns-a"
        and (b.pod["metadata"].get("labels") or {}).get(key) == value
    )
    res = initdoctor(env, "-n", "ns-a", "-l", f"{key}={value}", "-o", "json", "--max-log-pods", "0")
    assert json.loads(res.stdout)["summary"]["pods"] == want


@pytest.mark.live
def test_field_selector_is_sent_with_the_pods_list(server: ApiServer, tmp_path: Path) -> None:
    """--field-selector as kubectl get's: the apiserver filters the pods."""
    env = cli_env(server, tmp_path)
    pending = sum(
        1
        for b in BUNDLES
        if b.pod["metadata"]["namespace"] == "ns-a"
        and (b.pod.get("status") or {}).get("phase") == "Pending"
    )
    assert 0 < pending < PODS // 3
    before = len(server.request_log)
    res = initdoctor(env, "-n", "ns-a", "--field-selector", "status.phase=Pending", "-o", "json",
                     "--max-log-pods", "0", "--all")  # fmt: skip
    doc = json.loads(res.stdout)
    assert doc["summary"]["pods"] == pending
    assert {r["pod"]["phase"] for r in doc["reports"]} == {"Pending"}
    pods_lists = [
        p for _, p in server.request_log[before:] if p.startswith("/api/v1/namespaces/ns-a/pods")
    ]
    assert pods_lists and all("fieldSelector=status.phase%3DPending" in p for p in pods_lists)
    bad = initdoctor(env, "-n", "ns-a", "--field-selector", "spec.bogus=x")
    assert bad.returncode == 2 and "field label not supported: spec.bogus" in bad.stderr


@pytest.mark.live
def test_logs_only_for_the_most_severe_pods(server: ApiServer, tmp_path: Path) -> None:
    before = len(server.request_log)
    res = initdoctor(cli_env(server, tmp_path), "-n", "ns-a", "--max-log-pods", "3", "-o", "json")
    assert res.returncode == 1, res.stderr
    made = [p for _, p in server.request_log[before:]]
    logs = [p for p in made if "/log" in p]
    assert 1 <= len({p.split("/log")[0] for p in logs}) <= 3
    # The kept pods' objects and events come from the scan's own pages, not read again.
    assert sum(1 for p in made if p.split("?")[0].endswith(("/pods", "/events"))) == len(
        [p for p in made if "continue=" in p or "limit=" in p]
    )
    assert not [p for p in made if "/pods/" in p and "/log" not in p]
    # Most severe first: errors, then the most restarts.
    read = {p.split("/pods/")[1].split("/")[0] for p in logs}
    doc = json.loads(res.stdout)
    kept = [r for r in doc["reports"] if r["pod"]["name"] in read]
    others = [
        r["pod"]["restart_count"]
        for r in doc["reports"]
        if r["pod"]["name"] not in read
        and r["summary"]["worst"] == "error"
        and any(f["code"].startswith(("PI1", "PI4", "PI5")) for f in r["findings"])
    ]
    assert len(kept) == len(read) and all(r["summary"]["worst"] == "error" for r in kept)
    assert min(r["pod"]["restart_count"] for r in kept) >= max(others)


@pytest.mark.live
@pytest.mark.slow
def test_partial_permissions(tmp_path: Path) -> None:
    with ApiServer(BUNDLES, namespaced_only=True, forbidden_namespaces=["ns-c"]) as srv:
        env = cli_env(srv, tmp_path)
        res = initdoctor(env, "-A", "-o", "json", "--max-log-pods", "0")
        assert res.returncode == 1, res.stderr
        doc = json.loads(res.stdout)
        assert doc["summary"]["pods"] == 2 * PODS // 3
        assert any(e.startswith("namespace ns-c:") and "forbidden" in e for e in doc["errors"])
    with ApiServer(BUNDLES, namespaced_only=True, forbidden_namespaces=NAMESPACES) as srv:
        res = initdoctor(cli_env(srv, tmp_path), "-A", "-o", "json")
        assert res.returncode == 2
        assert "no namespace could be read" in res.stderr
        assert res.stdout == ""  # the JSON stream starts with the first report


@pytest.mark.live
def test_expired_continue_token_restarts_the_list(server: ApiServer, cluster: Cluster) -> None:
    items = cluster.iter_items("/api/v1/pods", page=100)
    uids = [next(items)["metadata"]["uid"] for _ in range(150)]
    server.expire_continue_tokens()  # the server compacted: the next page answers 410
    uids += [i["metadata"]["uid"] for i in items]
    assert len(uids) == PODS and len(set(uids)) == PODS


def _workloads(key: str, value: str) -> tuple[dict[str, object], ...]:
    def obj(
        api: str, kind: str, name: str, selector: dict[str, object], **meta: object
    ) -> dict[str, object]:
        return {
            "apiVersion": api,
            "kind": kind,
            "metadata": {"name": name, "namespace": "ns-a", "uid": f"uid-{name}", **meta},
            "spec": {"selector": selector},
        }

    labels = {"matchLabels": {key: value}}
    owner = [
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "name": "nightly",
            "uid": "uid-nightly",
            "controller": True,
        }
    ]
    return (
        obj("apps/v1", "Deployment", "web", labels),
        obj(
            "apps/v1",
            "StatefulSet",
            "db",
            {"matchExpressions": [{"key": key, "operator": "In", "values": [value]}]},
        ),
        obj(
            "apps/v1",
            "DaemonSet",
            "agent",
            {"matchExpressions": [{"key": key, "operator": "Exists"}]},
        ),
        obj("apps/v1", "ReplicaSet", "web-7f9c", labels),
        obj("batch/v1", "Job", "migrate", labels),
        obj("batch/v1", "CronJob", "nightly", {}),
        obj("batch/v1", "Job", "nightly-29000000", labels, ownerReferences=owner),
    )


@pytest.mark.live
@pytest.mark.slow
def test_workload_targets_resolve_to_their_pods(tmp_path: Path) -> None:
    import dataclasses

    ns_a = [b for b in BUNDLES if b.pod["metadata"]["namespace"] == "ns-a"]
    key, value = next(iter(ns_a[0].pod["metadata"]["labels"].items()))
    matching = sum(1 for b in ns_a if (b.pod["metadata"].get("labels") or {}).get(key) == value)
    having = sum(1 for b in ns_a if key in (b.pod["metadata"].get("labels") or {}))
    bundles = [dataclasses.replace(BUNDLES[0], related=_workloads(key, value)), *BUNDLES[1:]]
    with ApiServer(bundles) as srv:
        env = cli_env(srv, tmp_path)
        for target, want in (
            ("deploy/web", matching),
            ("deployments.apps/web", matching),
            ("sts/db", matching),
            ("ds/agent", having),
            ("rs/web-7f9c", matching),
            ("job/migrate", matching),
            ("cronjob/nightly", matching),
        ):
            res = initdoctor(
                env, target, "-n", "ns-a", "-o", "json", "--max-log-pods", "0", "--all"
            )
            assert res.returncode in (0, 1), (target, res.stderr)
            doc = json.loads(res.stdout)
            assert doc["summary"]["pods"] == want, target
        res = initdoctor(env, "deploy/nope", "-n", "ns-a")
        assert res.returncode == 2 and 'deployment "nope" not found' in res.stderr
        res = initdoctor(env, "widget/x", "-n", "ns-a")
        assert res.returncode == 2 and "unknown resource type" in res.stderr


@pytest.mark.live
def test_scan_joins_every_event_to_its_pod(server: ApiServer, tmp_path: Path) -> None:
    """Each pod's scan report equals the offline diagnosis of that pod with its own events
    (and no logs, as --max-log-pods 0 reads none), judged at the same time."""
    import dataclasses

    from podinit_diag import diagnose
    from podinit_diag.core.kubetime import parse_time
    from podinit_diag.render.jsonout import report_dict

    res = initdoctor(cli_env(server, tmp_path), "-A", "-o", "json", "--max-log-pods", "0", "--all")
    by_name = {r["pod"]["name"]: r for r in json.loads(res.stdout)["reports"]}
    for i, b in enumerate(BUNDLES[:150]):
        live = by_name[f"p{i:05d}"]
        offline = report_dict(
            diagnose(dataclasses.replace(b, logs={}), now=parse_time(live["observed_at"]))
        )
        assert _findings(live) == _findings(offline), f"p{i:05d}"


def _findings(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(f["code"], f["container"], f["title"], f["evidence"]) for f in report["findings"]]


@pytest.mark.live
def test_progress_goes_to_a_terminal_on_stderr_only(server: ApiServer, tmp_path: Path) -> None:
    res, terminal = run_on_terminal(
        cli_env(server, tmp_path), "-A", "-o", "json", "--max-log-pods", "0"
    )
    assert res.returncode == 1
    updates = [u for u in terminal.split("\r") if u.startswith("initdoctor:")]
    assert updates[-1].startswith(f"initdoctor: {PODS} pods read, ")
    assert len(updates) >= PODS // 100  # redrawn in place every 100 pods
    assert "initdoctor:" not in res.stdout  # stdout keeps the JSON alone
    json.loads(res.stdout)


@pytest.mark.live
@pytest.mark.slow
def test_worker_processes_write_what_one_process_writes(server: ApiServer, tmp_path: Path) -> None:
    """The same bytes, in the same order, whatever the number of processes: the parent
    decides the log budget in list order as one process would, and reads the same logs."""
    env = cli_env(server, tmp_path)
    when = ("--now", "2026-01-01T00:00:00Z", "--max-log-pods", "5")
    one = initdoctor(env, "-A", "-o", "json", "--all", *when, "--workers", "1")
    three = initdoctor(env, "-A", "-o", "json", "--all", *when, "--workers", "3")
    assert one.returncode == three.returncode == 1, three.stderr
    assert one.stdout == three.stdout
    reports = json.loads(three.stdout)["reports"]
    assert len(reports) == PODS
    assert sum(1 for r in reports if "/pods/" in r["source"]) == 5  # completed with logs
    one = initdoctor(env, "-A", *when, "--workers", "1")
    three = initdoctor(env, "-A", *when, "--workers", "3")
    assert one.returncode == three.returncode == 1, three.stderr
    assert one.stdout == three.stdout and "NAMESPACE" in one.stdout


@pytest.mark.live
def test_parallel_scan_restarts_an_expired_list(server: ApiServer, cluster: Cluster) -> None:
    """A continue token that expires half-way through a scan in worker processes: the
    parent lists again and the workers skip what they already had, so every pod is
    diagnosed once, as without workers."""
    from datetime import UTC, datetime

    from podinit_diag.rules import Config
    from podinit_diag.sources.scan import scan

    now = datetime(2026, 1, 1, tzinfo=UTC)
    expired = []

    def compact_once(seen: int, requests: int) -> None:
        if not expired:
            expired.append(seen)
            server.expire_continue_tokens()

    before = len(server.request_log)
    parallel = scan(cluster, None, None, Config(), 0, True, compact_once, None, 2, 100, now)
    restarts = [
        p for _, p in server.request_log[before:] if "limit=100" in p and "continue" not in p
    ]
    serial = scan(cluster, None, None, Config(), 0, True, None, None, 1, 100, now)
    assert expired and len(restarts) > 2  # both lists began, and at least one began again
    names = [r.pod.name for r in parallel.reports]
    assert len(names) == len(set(names)) == PODS
    assert names == [r.pod.name for r in serial.reports]
    assert [r.findings for r in parallel.reports] == [r.findings for r in serial.reports]


@pytest.mark.live
def test_a_worker_that_dies_ends_the_scan_with_one_line(
    server: ApiServer, cluster: Cluster
) -> None:
    import multiprocessing
    import signal

    from podinit_diag.rules import Config
    from podinit_diag.sources.scan import WorkerLost, scan

    def oom_kill(seen: int, requests: int) -> None:
        for child in multiprocessing.active_children():
            os.kill(child.pid or 0, signal.SIGKILL)

    with pytest.raises(WorkerLost, match=r"exit code -9.*--workers 1"):
        scan(cluster, None, None, Config(), 0, progress=oom_kill, workers=2, page=100)
    assert not multiprocessing.active_children()


def test_a_page_reads_its_continue_token_from_the_head_and_skips_by_key() -> None:
    from podinit_diag.sources.cluster import Page

    def pod(ns: str, name: str) -> dict[str, Any]:
        return {"metadata": {"namespace": ns, "name": name}, "spec": {"volumes": []}}

    items = [pod("a", "x"), pod("b", "y"), pod("b", "z")]
    go = {"kind": "PodList", "metadata": {"continue": "tok"}, "items": items}
    assert Page(json.dumps(go, separators=(",", ":")).encode(), "u").continue_token() == "tok"
    # Another layout, with a nested ',"items":' before the list's own: decoded whole.
    nested = {"configMap": {"name": "c", "items": [{"key": "k", "path": "p"}]}}
    odd = {"items": [dict(items[0], spec={"volumes": [nested]})], "metadata": {"continue": "t2"}}
    assert Page(json.dumps(odd, separators=(",", ":")).encode(), "u").continue_token() == "t2"
    last = {"kind": "PodList", "metadata": {"resourceVersion": "9"}, "items": items}
    assert Page(json.dumps(last).encode(), "u").continue_token() == ""
    after_restart = Page(json.dumps(go).encode(), "u", skip_through="b/y")
    assert [i["metadata"]["name"] for i in after_restart.items()] == ["z"]
    assert after_restart.last_key() == "b/z"
    with pytest.raises(ClusterError, match="u: the answer is not JSON"):
        Page(b"<html>", "u").continue_token()


@pytest.mark.live
def test_workers_end_quietly_when_the_scan_is_killed(server: ApiServer, tmp_path: Path) -> None:
    """``kill -9`` of initdoctor mid-scan: its workers see the pipe close and end without a
    word (no traceback on the terminal), instead of lingering."""
    import signal
    import subprocess
    import sys
    import time

    from ..conftest import ROOT

    proc = subprocess.Popen(
        [sys.executable, "-m", "podinit_diag.cli", "-A", "--workers", "2", "-o", "json"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(server, tmp_path),
        cwd=ROOT,
    )
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        if children.exists() and len(children.read_text().split()) == 2:
            break
        time.sleep(0.005)
    forked = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate(timeout=30)  # returns once the workers let go of stderr too
    assert forked, "the scan ended before its workers could be seen"
    assert "Traceback" not in err and err == "", err


@pytest.mark.live
def test_a_workload_without_pods_says_why_none_can_be_created(tmp_path: Path) -> None:
    """A Deployment whose ReplicaSet is refused by a ResourceQuota has no pods to diagnose:
    the report stands in for its pod template and names the refusal (PI010)."""
    fixture = Path(__file__).parents[1] / "fixtures" / "PI010-deployment-quota-exceeded-no-pods"
    (stand_in,) = load_path(fixture)
    ns = "offender-management-staging"
    template = {"metadata": {"labels": {"app": "allocation-manager"}}, "spec": stand_in.pod["spec"]}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "allocation-manager", "namespace": ns, "uid": "uid-deploy"},
        "spec": {"selector": {"matchLabels": {"app": "allocation-manager"}}, "template": template},
        "status": {"conditions": stand_in.related[0]["status"]["conditions"]},
    }
    owner = {
        "kind": "Deployment",
        "name": "allocation-manager",
        "uid": "uid-deploy",
        "controller": True,
    }
    replica_sets = [
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": name,
                "namespace": ns,
                "uid": f"uid-{name}",
                "annotations": {"deployment.kubernetes.io/revision": revision},
                "ownerReferences": [owner],
            },
            "spec": {
                "selector": {"matchLabels": {"app": "allocation-manager"}},
                "template": template,
            },
        }
        for name, revision in (
            ("allocation-manager-55b8d4c7f9", "3"),
            ("allocation-manager-6597bc46dc", "4"),
        )
    ]
    other = load_path(Path(__file__).parents[1] / "fixtures" / "ok-completed-init-running-app")[0]
    served = Bundle(
        pod=other.pod,
        events=stand_in.events,
        related=(deployment, *replica_sets),
        captured_at=other.captured_at,
    )
    with ApiServer([served]) as srv:
        res = run_initdoctor(
            cli_env(srv, tmp_path), "deploy/allocation-manager", "-n", ns, "-o", "json"
        )
    assert res.returncode == 1, res.stderr
    (report,) = json.loads(res.stdout)["reports"]
    assert report["pod"]["name"] == "deployment/allocation-manager"
    (finding,) = [f for f in report["findings"] if f["code"] == "PI010"]
    assert "exceeded quota: namespace-quota" in finding["title"]
    assert "ReplicaSet allocation-manager-6597bc46dc" in finding["title"]  # the newest revision
    assert any(
        e["source"] == "cluster" and "ReplicaFailure" in e["ref"] for e in finding["evidence"]
    )
