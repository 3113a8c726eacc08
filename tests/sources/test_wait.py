"""``--wait``: following pods through initialization with the watch API, against the test
server replaying scripted incidents (the real client, the real CLI in a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import jsonschema
import pytest

from podinit_diag.core.model import Bundle
from podinit_diag.devserver.apiserver import ApiServer, Step
from podinit_diag.devserver.replay import missing_secret, rollout

from ..conftest import ROOT, cli_env, run_initdoctor, run_on_terminal

ROLLOUT = [Step(at, bundles) for at, bundles in rollout()]
MISSING = [Step(at, bundles) for at, bundles in missing_secret()]
FAILING_POD = MISSING[0].bundles[0].pod["metadata"]["name"]

# Every test follows pods through the test API server's watch API.
pytestmark = pytest.mark.live


def _env(srv: ApiServer, tmp: Path) -> dict[str, str]:
    return cli_env(srv, tmp, namespace="shop")


def _start(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "podinit_diag.cli", "--wait", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )


def _replay(
    srv: ApiServer, env: dict[str, str], *args: str, watches: int = 2
) -> tuple[int, str, str]:
    """Run ``--wait ARGS`` and replay the timeline once it watches (pods and events), so
    that the wait sees the whole incident whatever the machine's speed."""
    proc = _start(env, *args)
    try:
        _until(lambda: srv.open_watches == watches or proc.poll() is not None, "the watches")
        srv.play()
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    return proc.returncode, out, err


def _until(
    predicate: Callable[[], object],
    what: str,
    timeout: float = 30,
    seen: Callable[[], object] | None = None,
) -> None:
    """Poll ``predicate`` until it holds; after ``timeout`` seconds, fail naming ``what`` was
    awaited and, with ``seen``, the state last seen."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            last = f"; last seen: {seen()!r}" if seen is not None else ""
            pytest.fail(f"gave up after {timeout:g}s waiting for {what}{last}")
        time.sleep(0.02)


class _Shown:
    """What a running ``--wait`` has shown so far: its stdout and stderr, read line by line
    by threads as they come (the wait flushes every line), so that a test can wait until it
    has shown something, then let it finish."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(stream, lines), daemon=True)
            for stream, lines in ((proc.stdout, self.out), (proc.stderr, self.err))
        ]
        for t in self._readers:
            t.start()

    @staticmethod
    def _read(stream: IO[str] | None, lines: list[str]) -> None:
        for line in stream or ():
            lines.append(line)

    def until(self, predicate: Callable[[str], bool], what: str, timeout: float = 30) -> None:
        """Wait until the stdout shown so far satisfies ``predicate``; fail at once if the wait
        ends first."""
        _until(
            lambda: predicate("".join(self.out)) or self.proc.poll() is not None,
            what,
            timeout,
            seen=lambda: "".join(self.out)[-2000:],
        )
        if not predicate("".join(self.out)):
            pytest.fail(
                f"the wait ended (exit {self.proc.returncode}) before showing {what}: "
                f"{''.join(self.err)[-2000:]}{''.join(self.out)[-2000:]}"
            )

    def communicate(self, timeout: float) -> tuple[str, str]:
        """Wait for the process to end, as ``Popen.communicate`` does; its whole output."""
        self.proc.wait(timeout=timeout)
        for t in self._readers:
            t.join(timeout=10)
        return "".join(self.out), "".join(self.err)


def _watches(srv: ApiServer) -> list[str]:
    return [p for _, p in srv.request_log if "watch=true" in p]


@pytest.fixture
def manual() -> Iterator[ApiServer]:
    with ApiServer([], timeline=ROLLOUT, clock="manual") as srv:
        yield srv


def _transitions(out: str) -> dict[str, list[str]]:
    """pod suffix -> its STATUS changes, from the plain progress lines."""
    by_pod: dict[str, list[str]] = {}
    for line in out.splitlines():
        if line.startswith("+") and "  pod/" in line:
            pod = line.split("  pod/")[1].split()[0]
            by_pod.setdefault(pod[-5:], []).append(line.split(pod, 1)[1].strip())
    return by_pod


@pytest.mark.slow
def test_deployment_rollout_succeeds_with_one_watch_per_kind(tmp_path: Path) -> None:
    with ApiServer([], timeline=ROLLOUT, clock="manual", speed=20) as srv:  # 57 s in ~3 s
        code, out, err = _replay(srv, _env(srv, tmp_path), "deploy/web", "--timeout", "1m")
        made = [p.split("?")[0] for _, p in srv.request_log]
    assert code == 0, err + out
    steps = _transitions(out)
    assert set(steps) == {"x7k2p", "q4m9z"}
    for changes in steps.values():
        assert changes[0].startswith("Init:0/2")
        assert "Init:0/2 -> Init:1/2  (init container wait-for-db took 10s)" in changes
        assert "Init:1/2 -> PodInitializing  (init container migrate took 26s)" in changes
        assert changes[-1] in ("PodInitializing -> Running", "Running")
    assert out.splitlines()[-1].startswith("deploy/web: Ready after ")
    assert "(2/2 pods Ready)" in out
    # GET the Deployment, list its ReplicaSets, list pods and events, watch both: no polling.
    assert sorted(made) == sorted(
        [
            "/apis/apps/v1/namespaces/shop/deployments/web",
            "/apis/apps/v1/namespaces/shop/replicasets",
            "/api/v1/namespaces/shop/pods",
            "/api/v1/namespaces/shop/events",
            "/api/v1/namespaces/shop/pods",
            "/api/v1/namespaces/shop/events",
        ]
    )


def _old_revision(suffix: str = "zz9kq") -> Bundle:
    """A Ready pod of the Deployment's previous ReplicaSet (revision 1), still running
    during the rollout: it must not count towards the new revision's replicas."""
    final = ROLLOUT[-1].bundles[0]
    pod = json.loads(json.dumps(final.pod))
    old_rs = "web-7c6b5a4d3f"
    uid = f"0d7c1a2b-0000-4000-8000-0000000{suffix}"
    pod["metadata"] |= {"name": f"{old_rs}-{suffix}", "uid": uid}
    pod["metadata"]["labels"]["pod-template-hash"] = "7c6b5a4d3f"
    pod["metadata"]["ownerReferences"][0] |= {"name": old_rs, "uid": "old-rs-uid"}
    deploy = next(r for r in final.related if r["kind"] == "Deployment")
    rs = json.loads(json.dumps(next(r for r in final.related if r["kind"] == "ReplicaSet")))
    rs["metadata"] |= {"name": old_rs, "uid": "old-rs-uid"}
    rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = "1"
    rs["metadata"]["labels"]["pod-template-hash"] = "7c6b5a4d3f"
    assert rs["metadata"]["ownerReferences"][0]["uid"] == deploy["metadata"]["uid"]
    return Bundle(pod=pod, related=(rs,))


def test_pods_of_the_previous_revision_do_not_count(tmp_path: Path) -> None:
    with ApiServer([_old_revision()], timeline=ROLLOUT, clock="manual") as srv:
        srv.advance_to(len(ROLLOUT) - 2)  # one new pod Ready, the other not yet
        res = run_initdoctor(_env(srv, tmp_path), "--wait", "deploy/web", "--timeout", "1s")
    assert res.returncode == 1, res.stderr
    assert "zz9kq" not in res.stdout
    assert "deploy/web: still not Ready after 0:01 (1/2 pods Ready)" in res.stdout


@pytest.mark.slow
def test_a_wait_right_after_apply_follows_the_new_revision(tmp_path: Path) -> None:
    """Step 0 is the moment after ``kubectl apply``: the Deployment's generation is ahead
    of what its controller observed, only the old ReplicaSet exists and both of its pods
    are Ready. The wait must not take them for the rollout."""
    old = [_old_revision("aaaaa"), _old_revision("bbbbb")]
    applied = json.loads(json.dumps(ROLLOUT[0].bundles[0].related[0]))
    assert applied["kind"] == "Deployment"
    applied["status"]["observedGeneration"] = applied["metadata"]["generation"] - 1
    first = Bundle(pod=old[0].pod, related=(applied, *old[0].related))
    steps = [Step(0, [first, old[1]]), *(Step(s.at + 1, [*s.bundles, *old]) for s in ROLLOUT)]
    with ApiServer([], timeline=steps, clock="manual", speed=20) as srv:
        # One watch: the Deployment's, until its controller has seen the new spec.
        code, out, err = _replay(
            srv, _env(srv, tmp_path), "deploy/web", "--timeout", "1m", watches=1
        )
    assert code == 0, err + out
    assert set(_transitions(out)) == {"x7k2p", "q4m9z"}  # the new pods only
    assert "aaaaa" not in out and "bbbbb" not in out


def test_statefulset_counts_the_pods_of_its_update_revision(tmp_path: Path) -> None:
    """A rolling update of sts/db: db-1 already runs the new revision (Ready), db-0 still
    the old one (Ready too). One of two replicas is updated: not done yet."""
    base = ROLLOUT[-1].bundles[0]
    pods = []
    for i, revision in enumerate(("db-5f7b9c8d6", "db-84d6c5b9f7")):
        pod = json.loads(json.dumps(base.pod))
        pod["metadata"] = {
            "name": f"db-{i}",
            "namespace": "shop",
            "uid": f"5e7c0000-0000-4000-8000-00000000000{i}",
            "labels": {"app": "db", "controller-revision-hash": revision},
            "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db", "uid": "sts-db"}
            ],
            "creationTimestamp": pod["metadata"]["creationTimestamp"],
        }
        pods.append(Bundle(pod=pod))
    sts = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db", "namespace": "shop", "uid": "sts-db", "generation": 3},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "db"}}},
        "status": {
            "observedGeneration": 3,
            "currentRevision": "db-5f7b9c8d6",
            "updateRevision": "db-84d6c5b9f7",
            "replicas": 2,
            "readyReplicas": 2,
            "updatedReplicas": 1,
        },
    }
    pods[0] = Bundle(pod=pods[0].pod, related=(sts,))
    with ApiServer(pods) as srv:
        res = run_initdoctor(_env(srv, tmp_path), "--wait", "sts/db", "--timeout", "1s")
    assert res.returncode == 1, res.stderr
    assert "pod/db-1" in res.stdout and "pod/db-0" not in res.stdout
    assert "sts/db: still not Ready after 0:01 (1/2 pods Ready)" in res.stdout


@pytest.mark.slow
def test_missing_secret_stops_early_with_the_report(tmp_path: Path) -> None:
    with ApiServer([], timeline=MISSING, clock="manual", speed=20) as srv:
        started = time.monotonic()
        code, out, err = _replay(srv, _env(srv, tmp_path), f"pod/{FAILING_POD}", "--timeout", "2m")
        took = time.monotonic() - started
    assert code == 1, err + out
    assert took < 30  # long before the 2-minute deadline
    assert f"pod/{FAILING_POD}: a finding makes success impossible (0/1 pod Ready)" in out
    assert "PI302" in out and 'secret "payment-gateway" not found' in out
    assert "PodInitializing -> CreateContainerConfigError" in out


@pytest.mark.slow
def test_timeout_prints_what_blocks(manual: ApiServer, tmp_path: Path) -> None:
    manual.advance_to(4)  # the first pod is in Init:1/2, running its migration
    res = run_initdoctor(
        _env(manual, tmp_path), "--wait", "deploy/web", "--timeout", "2s", "--for", "initialized"
    )
    assert res.returncode == 1, res.stderr
    assert "deploy/web: still not Initialized after 0:02 (0/2 pods Initialized)" in res.stdout
    assert "Blocked at init container migrate" in res.stdout
    assert "Blocked at init container wait-for-db" in res.stdout


def test_dropped_streams_resume_from_the_last_version(manual: ApiServer, tmp_path: Path) -> None:
    proc = _start(_env(manual, tmp_path), "deploy/web", "--timeout", "1m")
    shown = _Shown(proc)
    try:
        _until(lambda: manual.open_watches == 2, "both watches")
        manual.advance_to(5)
        # Step 5 is the second pod's Init:1/2 (step 4 the first's): once both are shown, the
        # wait has read the pods stream up to step 5, and the cut comes after it.
        shown.until(
            lambda out: out.count("Init:0/2 -> Init:1/2") >= 2,
            "both pods shown in Init:1/2 (step 5)",
        )
        assert manual.drop_watches() == 2
        _until(lambda: len(_watches(manual)) == 4, "the watches to come back")
        resumed = _watches(manual)[2:]
        assert all("resourceVersion=" in p and "resourceVersion=0" not in p for p in resumed)
        manual.advance_to(len(ROLLOUT) - 1)
        out, err = shown.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    steps = _transitions(out)
    # Each change shown once, although the streams were cut in the middle.
    for changes in steps.values():
        assert len(changes) == len(set(changes))
        assert sum("Init:0/2 -> Init:1/2" in c for c in changes) == 1


def test_gone_after_compaction_lists_again(manual: ApiServer, tmp_path: Path) -> None:
    proc = _start(_env(manual, tmp_path), "deploy/web", "--timeout", "1m", "-o", "json")
    shown = _Shown(proc)
    try:
        _until(lambda: manual.open_watches == 2, "both watches")
        manual.advance_to(3)
        # The second pod comes at step 2: once shown, the wait follows the streams.
        shown.until(lambda out: "q4m9z" in out, "the second pod shown (step 2)")
        manual.compact()
        # Cut the streams before anything newer than the compaction happens: the wait cannot
        # have read past it, so it comes back from a version the server has forgotten (410).
        # (Cut after step 6, a stream could first deliver step 4 and resume from there.)
        manual.drop_watches()
        manual.advance_to(6)
        _until(lambda: len(_watches(manual)) >= 4, "the watches to come back")
        manual.advance_to(len(ROLLOUT) - 1)
        out, err = shown.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    lists = [p for _, p in manual.request_log if "watch=true" not in p and p.startswith("/api/v1")]
    assert len(lists) >= 3  # pods and events at the start, then at least one list again
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[-1]["wait"]["outcome"] == "met"
    assert all(line["type"] == "transition" for line in lines[:-1])


@pytest.mark.slow
def test_json_lines_and_final_envelope(tmp_path: Path, report_schema: dict[str, Any]) -> None:
    with ApiServer([], timeline=MISSING, clock="manual", speed=20) as srv:
        code, out, err = _replay(
            srv, _env(srv, tmp_path), f"pod/{FAILING_POD}", "-o", "json", "--timeout", "1m"
        )
    assert code == 1, err
    *transitions, final = [json.loads(line) for line in out.splitlines()]
    assert [(t["from"], t["to"]) for t in transitions][-2:] == [
        ("Init:1/2", "PodInitializing"),
        ("PodInitializing", "CreateContainerConfigError"),
    ]
    done = [c for t in transitions for c in t["init_containers_done"]]
    assert done == [
        {"name": "wait-for-db", "duration_seconds": 10.0},
        {"name": "migrate", "duration_seconds": 26.0},
    ]
    assert final["wait"] | {"elapsed_seconds": 0} == {
        "target": f"pod/{FAILING_POD}",
        "condition": "Ready",
        "outcome": "failed",
        "verdict": "cannot be met",
        "elapsed_seconds": 0,
        "pods_met": 0,
        "pods_wanted": 1,
    }
    jsonschema.validate(final, report_schema, format_checker=jsonschema.FormatChecker())
    assert final["reports"][0]["findings"][0]["code"] == "PI302"


@pytest.mark.slow
def test_an_hour_long_incident_costs_one_watch_per_kind(tmp_path: Path) -> None:
    """An incident stretched over an hour (60 steps, a pod that never gets ready): the
    wait holds its two watches; it never polls."""
    base = ROLLOUT[4].bundles
    hour = [Step(60.0 * i, base) for i in range(60)]
    with ApiServer([], timeline=hour, clock="manual", speed=1200) as srv:  # an hour in 3 s
        code, _, err = _replay(
            srv, _env(srv, tmp_path), "deploy/web", "--timeout", "5s", "-o", "json"
        )
        watches = _watches(srv)
        made = [p for _, p in srv.request_log]
        assert srv.step == len(hour) - 1  # the whole hour went by during the wait
    assert code == 1, err
    # Two lists and two watches for the whole hour; the rest are the final report's reads
    # (logs, the owner, the Service the init container waits for).
    following = [p for p in made if p.split("?")[0].endswith(("/pods", "/events"))]
    assert len(watches) == 2 and len(following) == 4, made


@pytest.mark.slow
def test_bad_wait_usage_is_one_line_and_exit_2(manual: ApiServer, tmp_path: Path) -> None:
    env = _env(manual, tmp_path)
    for args, words in (
        (["--wait"], "--wait follows one live pod or workload"),
        (["--wait", "a", "b"], "--wait follows one live pod or workload"),
        (["--wait", "deploy/web", "--timeout", "soon"], "--timeout"),
        (["--wait", "deploy/nope"], 'deployment "nope" not found'),
        (
            ["--wait", "web-5d8f7c9b6d-x7k2q"],
            'pods "web-5d8f7c9b6d-x7k2q" not found in namespace "shop"; did you mean '
            "web-5d8f7c9b6d-x7k2p",
        ),
        (["--wait", "cronjob/nightly"], "name one of the CronJob's Jobs"),
    ):
        res = run_initdoctor(env, *args)
        assert res.returncode == 2, (args, res.stderr)
        assert words in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr


@pytest.mark.slow
def test_status_line_redrawn_on_a_terminal_only(manual: ApiServer, tmp_path: Path) -> None:
    res, terminal = run_on_terminal(
        _env(manual, tmp_path), "--wait", "deploy/web", "--timeout", "2s"
    )
    assert res.returncode == 1
    assert "\r\x1b[Kwaiting 0:00: 0/2 pods" in terminal and "waiting 0:01: 0/2 pods" in terminal
    assert terminal.endswith("\r\x1b[K")  # erased before the verdict
    assert "\x1b" not in res.stdout and "waiting 0:0" not in res.stdout


def test_connection_and_permission_problems_exit_2(tmp_path: Path) -> None:
    import shutil

    with ApiServer([], timeline=ROLLOUT, clock="manual", forbidden_namespaces=["shop"]) as srv:
        env = _env(srv, tmp_path)
        res = run_initdoctor(env, "--wait", "pod/web-5d8f7c9b6d-x7k2p")
        ca = shutil.copy(srv.ca_file, tmp_path / "ca.crt")
        config = Path(env["KUBECONFIG"])
        config.write_text(config.read_text().replace(srv.ca_file, str(ca)))
    assert res.returncode == 2 and "forbidden" in res.stderr, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and res.stdout == ""
    # The server is gone: nothing listens on its port any more.
    res = run_initdoctor(env, "--wait", "deploy/web", "--request-timeout", "2s")
    assert res.returncode == 2 and "was refused" in res.stderr, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    Path(ca).unlink()  # a kubeconfig that does not load says why, not "no kubeconfig"
    res = run_initdoctor(env, "--wait", "deploy/web")
    assert res.returncode == 2 and "unable to read certificate-authority" in res.stderr, res.stderr


@pytest.mark.slow
def test_demo_replays_a_rollout_and_a_missing_secret(report_schema: dict[str, Any]) -> None:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    res = run_initdoctor(env | {"NO_PROXY": "127.0.0.1"}, "--demo", "--wait", "-o", "json")
    assert res.returncode == 1, res.stderr  # the second incident never gets Ready
    lines = [json.loads(line) for line in res.stdout.splitlines()]  # JSON Lines only
    finals = [line for line in lines if "wait" in line]
    assert [(f["wait"]["target"], f["wait"]["outcome"]) for f in finals] == [
        ("deploy/web", "met"),
        (f"pod/{FAILING_POD}", "failed"),
    ]
    for final in finals:
        jsonschema.validate(final, report_schema, format_checker=jsonschema.FormatChecker())
    assert res.stderr.count("=== ") == 2  # the scenario headings stay off stdout
