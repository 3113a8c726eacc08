"""The timeline's geometry (render.bars): bars in proportion to the times in the pod's
status, running containers to now, restarts counted and not invented, and text lines that
fit the terminal's width in Unicode and in pure ASCII."""

from __future__ import annotations

import dataclasses
import json
import unicodedata
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from podinit_diag import diagnose_path
from podinit_diag.core.model import Bundle, Report
from podinit_diag.engine import diagnose
from podinit_diag.render.bars import axis, text_bars

from ..conftest import FIXTURES, ROOT

T0 = datetime(2024, 9, 16, 14, 0, tzinfo=UTC)
NOW = T0 + timedelta(seconds=100)
BLOCKS = "█▉▊▋▌▍▎▏"
EIGHTHS = {"█": 8, "▉": 7, "▊": 6, "▋": 5, "▌": 4, "▍": 3, "▎": 2, "▏": 1}


def ts(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def terminated(start: float, end: float, code: int = 0) -> dict[str, Any]:
    reason = "Completed" if code == 0 else "Error"
    return {
        "terminated": {
            "exitCode": code,
            "reason": reason,
            "startedAt": ts(start),
            "finishedAt": ts(end),
        }
    }


def running(start: float) -> dict[str, Any]:
    return {"running": {"startedAt": ts(start)}}


def waiting(reason: str) -> dict[str, Any]:
    return {"waiting": {"reason": reason}}


def status(
    name: str,
    state: dict[str, Any] | None,
    last: dict[str, Any] | None = None,
    restarts: int = 0,
) -> dict[str, Any] | None:
    if state is None:
        return None
    started = "running" in state
    return {
        "name": name,
        "image": "busybox:1.36",
        "imageID": "",
        "ready": started,
        "started": started,
        "restartCount": restarts,
        "state": state,
        **({"lastState": last} if last else {}),
    }


def make_pod(
    inits: list[tuple[str, dict[str, Any] | None]],
    conditions: dict[str, tuple[str, float]],
    sidecars: frozenset[str] = frozenset(),
    name: str = "web-0",
    namespace: str = "shop",
) -> dict[str, Any]:
    """A Deployment's pod as ``kubectl get pod -o json`` shows it, created at T0, with the
    init containers ``inits`` (name, status entry or None when the kubelet has not
    reported it) and the pod conditions ``{type: (status, seconds after T0)}``."""
    ready = conditions.get("Ready", ("False", 0))[0] == "True"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": "0b4e2b5e-0000-4000-8000-00000000beef",
            "creationTimestamp": ts(0),
        },
        "spec": {
            "nodeName": "node-1",
            "restartPolicy": "Always",
            "initContainers": [
                {"name": n, "image": "busybox:1.36"}
                | ({"restartPolicy": "Always"} if n in sidecars else {})
                for n, _ in inits
            ],
            "containers": [{"name": "app", "image": "nginx:1.27"}],
        },
        "status": {
            "phase": "Running" if ready else "Pending",
            "conditions": [
                {"type": kind, "status": st, "lastTransitionTime": ts(at)}
                for kind, (st, at) in conditions.items()
            ],
            "initContainerStatuses": [s for _, s in inits if s is not None],
            "containerStatuses": [
                {
                    "name": "app",
                    "image": "nginx:1.27",
                    "imageID": "",
                    "ready": ready,
                    "started": ready,
                    "restartCount": 0,
                    "state": running(90) if ready else waiting("PodInitializing"),
                }
            ],
        },
    }


def report_of(pod: dict[str, Any], now: datetime = NOW) -> Report:
    return diagnose(Bundle(pod=pod, captured_at=now), now=now)


STARTING = {
    "PodScheduled": ("True", 0),
    "PodReadyToStartContainers": ("True", 0),
    "Initialized": ("False", 0),
    "ContainersReady": ("False", 0),
    "Ready": ("False", 0),
}


def two_steps() -> Report:
    """alpha ran from 10s to 30s and exited 0; beta has run since 30s; now is 100s."""
    return report_of(
        make_pod(
            [
                ("alpha", status("alpha", terminated(10, 30))),
                ("beta", status("beta", running(30))),
            ],
            STARTING,
        )
    )


def crashloop() -> Report:
    """migrate could start at 5s (the sandbox was ready), restarted 5 times; its last run
    was from 80s to 83s (exit 1) and it is in back-off since."""
    conditions = STARTING | {"PodReadyToStartContainers": ("True", 5)}
    return report_of(
        make_pod(
            [
                (
                    "migrate",
                    status(
                        "migrate", waiting("CrashLoopBackOff"), terminated(80, 83, 1), restarts=5
                    ),
                ),
                ("proxy", status("proxy", waiting("PodInitializing"))),
            ],
            conditions,
            sidecars=frozenset({"proxy"}),
        )
    )


def bar_area(line: str, start: int, width: int) -> str:
    return line[start : start + width]


def test_axis_places_each_run_in_proportion_to_its_times() -> None:
    ax = axis(two_steps())
    assert ax is not None
    assert (ax.start, ax.end, ax.now) == (T0, NOW, NOW)
    alpha, beta = ax.bars
    assert [(s.kind, s.span.start, s.span.end) for s in alpha.segments] == [
        ("wait", 0.0, pytest.approx(0.1)),  # the sandbox was ready at 0s, alpha ran at 10s
        ("run", pytest.approx(0.1), pytest.approx(0.3)),
    ]
    assert alpha.run_time == timedelta(seconds=20)
    # beta could start when alpha was done, started at once, and runs to now
    assert [(s.kind, s.span.start, s.span.end) for s in beta.segments] == [
        ("run", pytest.approx(0.3), 1.0)
    ]
    assert beta.span is not None and beta.span.end == 1.0
    assert {m.name: m.pos for m in ax.marks} == {"scheduled": 0.0, "now": 1.0}


def test_text_bars_are_proportional_and_running_ones_reach_now() -> None:
    lines = text_bars(two_steps(), 80)
    assert lines[0] == "Timeline (100s to now): scheduled 0s · initialized – · ready –"
    alpha, beta = lines[1:]
    assert alpha.startswith("  alpha ") and beta.startswith("  beta  ")
    assert alpha.endswith(" 20s") and beta.endswith(" running 70s")
    start = len("  alpha ")
    # beta runs to now: its last block is the bar area's last column
    width = beta.rstrip().rindex("█") + 1 - start
    assert width >= 40
    beta_cells = bar_area(beta, start, width)
    assert beta_cells.lstrip(" ") == "█" * len(beta_cells.lstrip(" "))
    assert abs(beta_cells.index("█") - 0.3 * width) <= 1
    cells = bar_area(alpha, start, width)
    run = [i for i, c in enumerate(cells) if c in BLOCKS]
    assert run == list(range(run[0], run[-1] + 1)), "one run, in one piece"
    eighths = sum(EIGHTHS[cells[i]] for i in run)
    assert abs(run[0] - 0.1 * width) <= 1
    assert abs(eighths - 0.2 * width * 8) <= 8
    assert set(cells[: run[0]]) == {"─"}  # waiting from 0s (its image pulled) to 10s
    assert set(cells[run[-1] + 1 :]) <= {" "}


def test_restarts_are_counted_and_earlier_runs_not_invented() -> None:
    r = crashloop()
    ax = axis(r)
    assert ax is not None
    migrate, proxy = ax.bars
    kinds = [(s.kind, s.span.start, s.span.end) for s in migrate.segments]
    assert kinds == [
        ("earlier", pytest.approx(0.05), pytest.approx(0.8)),
        ("run", pytest.approx(0.8), pytest.approx(0.83)),
        ("wait", pytest.approx(0.83), 1.0),
    ]
    assert migrate.step.blocking and migrate.step.restarts == 5
    assert not proxy.reached and proxy.segments == ()

    head, row, stub = text_bars(r, 80)
    assert head.startswith("Timeline (100s to now): ")
    assert row.endswith(" ×5 ◀ CrashLoopBackOff")
    cells = row[len("  migrate ") : -len(" ×5 ◀ CrashLoopBackOff")]
    runs = [i for i, c in enumerate(cells) if c in BLOCKS]
    assert runs and runs == list(range(runs[0], runs[-1] + 1)), "only the last run is drawn"
    before, after = cells[: runs[0]], cells[runs[-1] + 1 :]
    assert set(before.strip()) == {"░"} and set(after) == {"─"}
    assert stub.endswith(" not started") and set(stub[len("  migrate ") : -12]) == {" "}

    ascii_row = text_bars(r, 80, ascii=True)[1]
    assert ascii_row.endswith(" x5 < CrashLoopBackOff")
    assert set(ascii_row[len("  migrate ") : -len(" x5 < CrashLoopBackOff")].strip()) == set(".#-")


def test_running_init_container_extends_to_now_in_a_stuck_pod() -> None:
    conditions = STARTING | {"PodReadyToStartContainers": ("True", 2)}
    r = report_of(make_pod([("wait-for-db", status("wait-for-db", running(4)))], conditions))
    ax = axis(r)
    assert ax is not None and not ax.clipped
    (bar,) = ax.bars
    assert bar.segments[-1].kind == "run" and bar.segments[-1].span.end == 1.0
    assert bar.run_time == timedelta(seconds=96)
    assert text_bars(r, 60)[-1].endswith("█ ◀ running 96s")


def test_axis_ends_at_the_start_up_of_a_pod_ready_long_ago() -> None:
    """Ready for two days after 19s of start-up: the axis shows the 19s, not two days of
    nothing with the init containers squashed into its first column."""
    (r,) = diagnose_path(FIXTURES / "ok-completed-init-running-app")
    ax = axis(r)
    assert ax is not None and ax.clipped
    assert ax.length < timedelta(minutes=1) < ax.now - ax.end
    assert [m.name for m in ax.marks] == ["scheduled", "initialized", "ready"]
    assert max(m.pos for m in ax.marks) == 1.0
    head = text_bars(r, 100)[0]
    assert head.startswith("Timeline (first ") and " of 2d" in head


def test_a_start_time_at_the_epoch_is_unknown() -> None:
    """A container that failed to start has startedAt 1970-01-01 in its status: the
    timeline reads it as unknown (no 54-year DURATION), and so does the axis."""
    (r,) = diagnose_path(FIXTURES / "PI104-init-starterror-executable-not-found")
    pod = json.loads(
        (FIXTURES / "PI104-init-starterror-executable-not-found" / "pod.json").read_text()
    )
    assert "1970-01-01T00:00:00Z" in json.dumps(pod)
    assert not any(s.started_at and s.started_at.year == 1970 for s in r.timeline)
    assert all(s.duration is None or s.duration < timedelta(days=1) for s in r.timeline)
    ax = axis(r)
    assert ax is not None and ax.length < timedelta(hours=1)
    assert "y" not in text_bars(r, 80)[0].split(":")[0]


def test_no_init_containers_no_timeline() -> None:
    r = report_of(make_pod([], STARTING))
    assert r.timeline == ()
    assert axis(r) is None
    assert text_bars(r, 80) == []


def test_too_narrow_for_a_timeline_gives_nothing() -> None:
    assert text_bars(crashloop(), 12) == []
    assert text_bars(crashloop(), 24)  # narrow, cut, but there


def test_long_and_wide_names_are_cut_to_fit() -> None:
    long = "x" * 60
    wide = "数据库迁移" * 4  # 20 characters, 40 columns
    r = report_of(
        make_pod(
            [(long, status(long, terminated(10, 30))), (wide, status(wide, running(30)))],
            STARTING,
        )
    )
    for width in (30, 40, 80):
        lines = text_bars(r, width)
        assert all(columns(line) <= width for line in lines), lines
        assert any(columns(line) == width for line in lines[-2:])
        assert all("…" in line for line in lines[-2:])
    ascii_lines = text_bars(r, 200, ascii=True)
    assert all(line.isascii() for line in ascii_lines)
    assert "\\u6570" in ascii_lines[-1]  # 数, escaped as the terminal's encoder would


def columns(text: str) -> int:
    """Terminal columns, counted here independently of the code under test."""
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in text
    )


@cache
def corpus() -> tuple[Report, ...]:
    """Every fixture and incident pod with init or sidecar containers."""
    dirs = [
        d
        for base in (FIXTURES, ROOT / "tests" / "incidents")
        for d in sorted(base.iterdir())
        if (d / "pod.json").exists()
    ]
    reports = [r for d in dirs for r in diagnose_path(Path(d)) if r.timeline]
    assert len(reports) > 50
    return tuple(reports)


@pytest.mark.parametrize("width", [40, 80, 200])
@pytest.mark.parametrize("ascii", [False, True])
def test_every_pod_fits_the_width_exactly(width: int, ascii: bool) -> None:
    drawn = 0
    for r in corpus():
        lines = text_bars(r, width, ascii)
        ax = axis(r)
        if ax is None or not any(b.reached for b in ax.bars):
            # no time known at all (a stand-in pod), or no container reached yet (an
            # unscheduled pod): nothing to place
            assert lines == []
            continue
        drawn += 1
        rows = lines[-len(r.timeline) :]
        assert all(columns(line) <= width for line in lines), (r.pod.name, lines)
        # the widest bar line takes the whole width: names and labels whole or cut to it
        assert max(map(columns, rows)) == width, (r.pod.name, lines)
        if ascii:
            assert all(line.isascii() for line in lines), (r.pod.name, lines)
        else:
            assert not any(c in line for line in lines for c in "#<"), (r.pod.name, lines)
    assert drawn > 50


def test_text_from_the_cluster_is_cleaned() -> None:
    name = "init\x1b]0;pwned\x07\u202e"
    r = report_of(make_pod([(name, status(name, running(4)))], STARTING))
    (row,) = text_bars(r, 120)[1:]
    assert "\x1b" not in row and "\u202e" not in row and "\x07" not in row
    assert "\\x1b]0;pwned\\x07\\u202e" in row


def test_any_width_and_odd_clocks_never_overflow() -> None:
    """Now before the pod was created (a wrong --now), or years after: the bars are clamped
    to the axis and every line still fits, at every width from too narrow to very wide."""
    for r in corpus()[::5]:
        for now in (r.observed_at, T0.replace(year=2001), r.observed_at + timedelta(days=3650)):
            odd = dataclasses.replace(r, observed_at=now)
            ax = axis(odd)
            if ax is None:
                continue
            assert ax.start < ax.end
            for bar in ax.bars:
                for seg in bar.segments:
                    assert 0 <= seg.span.start <= seg.span.end <= 1
            for width in range(10, 241, 13):
                for ascii in (False, True):
                    lines = text_bars(odd, width, ascii)
                    assert all(columns(line) <= width for line in lines), (width, lines)
