"""The apiserver as the oracle for the STATUS, READY and RESTARTS columns.

``kubectl get pods`` prints what the apiserver computes: asked for a ``meta.k8s.io/v1``
Table, it runs Kubernetes' ``printPod`` (``pkg/printers/internalversion/printers.go``) on
each pod. ``podinit_diag.pod_status`` is our port of that function; here the real one
judges it, on 2,000 generated pods (:mod:`e2e.podgen`) and on a hand-picked pod per branch.

RESTARTS holds an age ("3 (5m ago)") that the server computed at some instant while it
served the page; ours is accepted when it equals the server's at an instant between the
moment before the request and the moment after it (the age changes only on whole seconds,
so those two and the whole seconds between them are every value it can have had).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from e2e import podgen
from e2e.rest import ApiError, Rest
from e2e.summary import LINES
from podinit_diag import pod_status

SEED = 15
PODS = 2000
THREADS = 4
# Small pages keep each request well under a second, the window in which RESTARTS' age may
# change (once) while the server prints it.
PAGE = 250
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"
COLUMNS = ("Status", "Ready", "Restarts")

Json = dict[str, Any]
Triple = tuple[str, str, str]


@dataclass(frozen=True)
class Row:
    """One row of the apiserver's Table: its cells by column name, the pod it printed, and
    the instants just before and just after the request that returned it."""

    cells: dict[str, Any]
    pod: Json
    before: datetime
    after: datetime

    @property
    def columns(self) -> Triple:
        status, ready, restarts = (self.cells[c] for c in COLUMNS)
        return str(status), str(ready), str(restarts)


def read_table(rest: Rest, namespace: str) -> tuple[list[Json], list[Row], list[float]]:
    """Every pod of ``namespace`` as Table rows, in pages; the column definitions of the
    first page, the rows, and how long each page took (seconds)."""
    path = f"/api/v1/namespaces/{namespace}/pods"
    columns: list[Json] = []
    rows: list[Row] = []
    took: list[float] = []
    token = ""
    while True:
        query: Json = {"limit": PAGE, "includeObject": "Object"}
        if token:
            query["continue"] = token
        before = datetime.now(UTC)
        status, body, _ = rest.raw("GET", path, query=query, accept=TABLE)
        after = datetime.now(UTC)
        took.append((after - before).total_seconds())
        if status != 200:
            raise ApiError(status, body, f"GET {path} as Table")
        table = json.loads(body)
        assert table["kind"] == "Table", table.get("kind")
        if not columns:
            columns = table["columnDefinitions"]
        names = [c["name"] for c in table["columnDefinitions"]]
        for row in table["rows"]:
            rows.append(
                Row(dict(zip(names, row["cells"], strict=True)), row["object"], before, after)
            )
        token = table["metadata"].get("continue", "")
        if not token:
            return columns, rows, took


def instants(before: datetime, after: datetime) -> Iterator[datetime]:
    """``before``, every whole second after it up to ``after``, and ``after``: an age of
    whole-second timestamps takes all its values of the interval at these instants."""
    yield before
    second = math.floor(before.timestamp()) + 1
    while second < after.timestamp():
        yield datetime.fromtimestamp(second, UTC)
        second += 1
    yield after


def ours(row: Row) -> list[Triple]:
    """Our columns for the row's pod at each instant the server may have printed it."""
    out = []
    for now in instants(row.before, row.after):
        mine = pod_status(row.pod, now)
        out.append((mine.status, mine.ready, mine.restarts))
    return out


def describe(row: Row) -> str:
    """A differing pod, for a failure message: the server's and our columns, and its status."""
    status = {k: v for k, v in row.pod.get("status", {}).items() if k not in ("hostIPs", "podIPs")}
    meta = row.pod["metadata"]
    inits = [(c["name"], c.get("restartPolicy")) for c in row.pod["spec"].get("initContainers", [])]
    return (
        f"{meta['name']}: server {row.columns} ours {ours(row)[0]}"
        f" deletionTimestamp={meta.get('deletionTimestamp')} initContainers={inits}"
        f" status={json.dumps(status, separators=(',', ':'))}"
    )


def write(admin: Rest, namespace: str, pods: list[podgen.GenPod]) -> podgen.WriteReport:
    report = podgen.write_pods(admin, namespace, pods, THREADS)
    assert not report.refusals, "the apiserver refused generated pods:\n" + "\n".join(
        f"{name} ({step}): {code} {message}" for name, step, code, message in report.refusals[:10]
    )
    return report


def test_server_side_printing_agrees(admin: Rest, namespace: str) -> None:
    started = time.monotonic()
    pods = podgen.generate(PODS, SEED, datetime.now(UTC))
    report = write(admin, namespace, pods)
    written = time.monotonic()
    columns, rows, took = read_table(admin, namespace)
    read = time.monotonic()

    assert sorted(r.pod["metadata"]["name"] for r in rows) == sorted(p.name for p in pods)
    # The columns are found by name; they must be the ones kubectl prints.
    assert {c["name"] for c in columns} >= set(COLUMNS)
    differing = [r for r in rows if r.columns not in ours(r)]
    agree, n = len(rows) - len(differing), len(rows)
    LINES["5-printing"] = f"server-side printing: {agree}/{n} pods agree"
    print(
        f"{n} pods: {report.requests} writes in {written - started:.1f}s, {len(took)} pages"
        f" in {read - written:.1f}s (slowest {max(took):.2f}s)"
    )
    assert not differing, f"{len(differing)} of {n} pods differ:\n" + "\n".join(
        describe(r) for r in differing[:5]
    )


TRICKY_IDS = [t.id for t in podgen.tricky(datetime.now(UTC))]


@pytest.fixture(scope="module")
def tricky_rows(admin: Rest) -> dict[str, tuple[podgen.Tricky, Row]]:
    """The hand-picked pods, written once into a namespace of their own, and their rows."""
    namespace = f"printing-tricky-{int(time.time())}"
    admin.create("/api/v1/namespaces", {"metadata": {"name": namespace}})
    admin.wait_for(
        lambda: (
            admin.raw("GET", f"/api/v1/namespaces/{namespace}/serviceaccounts/default")[0] == 200
        ),
        30,
        f"the default service account of {namespace}",
    )
    cases = podgen.tricky(datetime.now(UTC))
    write(admin, namespace, [c.pod for c in cases])
    _, rows, _ = read_table(admin, namespace)
    by_name = {r.pod["metadata"]["name"]: r for r in rows}
    return {c.id: (c, by_name[c.pod.name]) for c in cases}


@pytest.mark.parametrize("case_id", TRICKY_IDS)
def test_tricky_pod(case_id: str, tricky_rows: dict[str, tuple[podgen.Tricky, Row]]) -> None:
    case, row = tricky_rows[case_id]
    status, ready, restarts = row.columns
    assert status == case.status, f"the apiserver printed STATUS {status!r}"
    assert ready == case.ready, f"the apiserver printed READY {ready!r}"
    if case.restarts is not None:
        assert restarts == case.restarts, f"the apiserver printed RESTARTS {restarts!r}"
    assert row.columns in ours(row), describe(row)


def test_instants_cover_every_second() -> None:
    start = datetime(2024, 5, 1, 12, 0, 0, 700000, tzinfo=UTC)
    got = list(instants(start, start + timedelta(seconds=1.5)))
    assert got == [
        start,
        datetime(2024, 5, 1, 12, 0, 1, tzinfo=UTC),
        datetime(2024, 5, 1, 12, 0, 2, tzinfo=UTC),
        start + timedelta(seconds=1.5),
    ]
    assert list(instants(start, start)) == [start, start]
