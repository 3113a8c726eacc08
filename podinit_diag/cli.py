"""``initdoctor``: the command line. The only module that prints, reads the
environment or chooses exit codes (0 nothing at or above --fail-on, 1 findings at
or above it, 2 usage, input, connection or permission failure)."""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import signal
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO

from podinit_diag import __version__
from podinit_diag.core.errors import InputError
from podinit_diag.core.kubetime import parse_duration, parse_time
from podinit_diag.core.model import Bundle, Report
from podinit_diag.core.summary import Row, ScanSummary
from podinit_diag.engine import diagnose
from podinit_diag.render import jsonout, markdown, table, waitout
from podinit_diag.render.catalog import explain, find_rule, rule_dict, rules_markdown
from podinit_diag.rules import Config, all_rules
from podinit_diag.sources.files import load_path
from podinit_diag.sources.workloads import parse_target

if TYPE_CHECKING:
    from podinit_diag.core.progress import Outcome, Transition
    from podinit_diag.devserver.apiserver import ApiServer
    from podinit_diag.sources.cluster import Cluster

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
FAIL_ON = {"error": 0, "warning": 1, "info": 2, "never": -1}


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see initdoctor --help)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="initdoctor",
        description="Explain why a Kubernetes pod is not starting (init containers first) "
        "and what to do about it.",
        epilog="exit codes: 0 no finding at or above --fail-on, 1 findings at or above it, "
        "2 usage, input, connection or permission error",
    )
    p.add_argument("targets", nargs="*", metavar="TARGET", help="pod name or pod/NAME")
    p.add_argument(
        "--from",
        dest="sources",
        action="append",
        default=[],
        metavar="PATH",
        help="pod JSON/YAML, v1 List/PodList, or bundle directory (repeatable)",
    )
    p.add_argument("-n", "--namespace", help="namespace (default: the context's, else default)")
    p.add_argument("-A", "--all-namespaces", action="store_true", help="pods of every namespace")
    p.add_argument("-l", "--selector", help="label selector of the pods to scan (live)")
    p.add_argument("--all", action="store_true", help="list healthy pods in a scan too")
    p.add_argument(
        "--max-log-pods",
        type=int,
        default=20,
        metavar="N",
        help="in a scan, read logs of at most N pods, most severe first (20)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="in a scan of more than 500 pods, diagnose in N processes "
        "(default: the CPUs available, at most 4; 1: in this process only)",
    )
    p.add_argument("--context", help="kubeconfig context to use")
    p.add_argument("--kubeconfig", help="kubeconfig file (default: KUBECONFIG, ~/.kube/config)")
    p.add_argument(
        "--request-timeout",
        default="5s",
        metavar="DURATION",
        help="timeout of each request to the API server (5s)",
    )
    p.add_argument(
        "--save", metavar="DIR", help="write what was fetched as a bundle that --from reads"
    )
    p.add_argument("-o", "--output", choices=("table", "json", "markdown"), default="table")
    p.add_argument(
        "--fail-on",
        choices=tuple(FAIL_ON),
        default="error",
        help="lowest severity that makes the exit code 1 (default: error)",
    )
    p.add_argument(
        "--select",
        default="",
        metavar="CODES",
        help="comma-separated codes or prefixes to run (e.g. PI1,PI203)",
    )
    p.add_argument("--ignore", default="", metavar="CODES", help="codes or prefixes to skip")
    p.add_argument(
        "--stuck-after",
        default="5m",
        metavar="DURATION",
        help="how long an init container may run before it counts as stuck (5m)",
    )
    p.add_argument(
        "--now",
        metavar="TIME",
        help="judge the pod as of this RFC 3339 time (default: bundle capture time)",
    )
    p.add_argument(
        "--demo",
        action="store_true",
        help="diagnose built-in scenarios served by a local read-only test API server",
    )
    p.add_argument(
        "--serve",
        metavar="PATH",
        help="serve saved bundles read-only on loopback so kubectl can browse them",
    )
    p.add_argument(
        "--wait",
        action="store_true",
        help="follow TARGET (a pod or a workload) through initialization with the watch API; "
        "exit 0 when the condition holds, else print what blocks it and exit 1",
    )
    p.add_argument(
        "--for",
        dest="wait_for",
        choices=("initialized", "ready"),
        default="ready",
        help="with --wait: the pod condition to wait for (ready)",
    )
    p.add_argument(
        "--timeout",
        default="5m",
        metavar="DURATION",
        help="with --wait: how long to wait before diagnosing what blocks (5m)",
    )
    p.add_argument("--list-rules", action="store_true", help="list the rules and exit")
    p.add_argument("--explain", metavar="CODE", help="explain one rule and exit")
    p.add_argument("--version", action="version", version=f"initdoctor {__version__}")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return run(build_parser().parse_args(argv), sys.stdout)
    except (UsageError, InputError) as exc:
        print(f"initdoctor: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader (head, less) went away; nothing left to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def run(args: argparse.Namespace, out: TextIO) -> int:
    if args.list_rules:
        out.write(_list_rules(args.output))
        return EXIT_OK
    if args.explain:
        r = find_rule(args.explain)
        if r is None:
            raise UsageError(f"unknown rule code {args.explain!r} (see initdoctor --list-rules)")
        out.write(
            json.dumps(rule_dict(r), indent=2) + "\n" if args.output == "json" else explain(r)
        )
        return EXIT_OK
    config = _config(args)
    now = _now(args.now)
    if args.serve:
        return _serve(args.serve)
    if args.wait:
        return _wait(args, config, out)
    if args.demo:
        return _demo(args, config, out)
    if not args.sources and not args.targets:
        return _scan(args, config, out, now=now)
    workloads = (
        [w for w in map(parse_target, args.targets) if w is not None] if not args.sources else []
    )
    if workloads:
        if len(workloads) != len(args.targets):
            raise UsageError("give either pods or workloads (deploy/NAME, sts/NAME ...), not both")
        return _scan(args, config, out, workloads, now)
    if not args.sources:
        reports = _live(args, config, now)
        out.write(_render(reports, args.output, _colour(out)))
        return _exit_code(reports, args.fail_on)
    if args.save:
        raise UsageError(
            "--save writes what was fetched from a cluster; it does not go with --from"
        )
    reports = [
        diagnose(b, config, now)
        for src in args.sources
        for b in load_path(src)
        if _wanted(b.pod, args)
    ]
    if not reports:
        raise InputError("no pod in the input matches " + _selection(args))
    if len(reports) > 1 and not args.targets:
        output = _ScanOutput(args.output, out)
        summary = ScanSummary(keep_healthy=args.all, sink=output)
        summary.extend(reports)
        return output.finish(summary, args.fail_on)
    out.write(_render(reports, args.output, _colour(out)))
    return _exit_code(reports, args.fail_on)


def _wait(
    args: argparse.Namespace, config: Config, out: TextIO, cluster: Cluster | None = None
) -> int:
    """``--wait TARGET``: transitions as they happen, then the verdict."""
    from podinit_diag.sources.wait import Waiter, resolve

    if args.demo and cluster is None:
        return _demo_wait(args, config, out)
    if args.sources or len(args.targets) != 1:
        raise UsageError("--wait follows one live pod or workload: initdoctor --wait TARGET")
    try:
        timeout = parse_duration(args.timeout).total_seconds()
    except ValueError as exc:
        raise UsageError(f"--timeout: {exc}") from None
    cluster = cluster or _cluster(args)
    namespace = args.namespace or cluster.namespace
    workload = parse_target(args.targets[0])
    kind, name = workload if workload else (None, args.targets[0].split("/", 1)[-1])
    started = time.monotonic()
    target = resolve(cluster, namespace, kind, name, timeout)
    view = _WaitView(args.output, out, sys.stderr if sys.stderr.isatty() else None)
    waiter = Waiter(
        cluster,
        target,
        args.wait_for,
        timeout,
        config,
        FAIL_ON[args.fail_on],
        view.transition,
        view.tick,
        started,
    )
    outcome = waiter.run()
    view.clear()
    out.write(view.final(outcome, _colour(out)))
    return EXIT_OK if outcome.state == "met" else EXIT_FINDINGS


class _WaitView:
    """How a wait shows: a line per transition (JSON Lines with -o json), and on a
    terminal a status line on stderr, redrawn in place, with the time waited."""

    def __init__(self, output: str, out: TextIO, tty: TextIO | None) -> None:
        self.output, self.out, self.tty = output, out, tty
        self.start = datetime.now(UTC)
        self._shown = False

    def transition(self, t: Transition) -> None:
        self.clear()
        if self.output == "json":
            self.out.write(
                json.dumps(waitout.transition_dict(t, self.start), ensure_ascii=False) + "\n"
            )
        else:
            self.out.write(waitout.transition_line(t, self.start) + "\n")
        self.out.flush()

    def tick(self, elapsed: float, met: int, wanted: int) -> None:
        if self.tty is None:
            return
        self.tty.write(f"\r\x1b[Kwaiting {waitout.clock(elapsed)}: {met}/{wanted} pods")
        self.tty.flush()
        self._shown = True

    def clear(self) -> None:
        if self.tty is not None and self._shown:
            self.tty.write("\r\x1b[K")
            self.tty.flush()
            self._shown = False

    def final(self, outcome: Outcome, colour: bool) -> str:
        if self.output == "json":
            doc = jsonout.envelope(outcome.reports) | {"wait": waitout.wait_dict(outcome)}
            return json.dumps(doc, ensure_ascii=False) + "\n"
        headline = waitout.wait_headline(outcome)
        if outcome.state == "met":
            return headline + "\n"
        reports = list(outcome.reports)
        if self.output == "markdown":
            return headline + "\n\n" + markdown.render(reports)
        return headline + "\n\n" + table.render(reports, colour=colour)


def _demo_wait(args: argparse.Namespace, config: Config, out: TextIO) -> int:
    """``--demo --wait``: two incidents replayed ten times faster than they happened, each
    followed by ``--wait`` through the live path."""
    from podinit_diag.devserver.apiserver import ApiServer, Step
    from podinit_diag.devserver.replay import missing_secret, rebase, rollout
    from podinit_diag.sources.cluster import Cluster, Settings

    def now_ending(steps: list[tuple[float, list[Bundle]]]) -> list[tuple[float, list[Bundle]]]:
        # Dated so that the incident ends now: no time in it lies in the future.
        return rebase(steps, datetime.now(UTC) - timedelta(seconds=steps[-1][0]))

    failing = now_ending(missing_secret())
    scenarios = (
        ("A Deployment rolling out two pods", "deploy/web", now_ending(rollout())),
        (
            "A pod whose app container needs a Secret that does not exist",
            "pod/" + failing[0][1][0].pod["metadata"]["name"],
            failing,
        ),
    )
    for i, (title, target, steps) in enumerate(scenarios, 1):
        timeline = [Step(at, bundles) for at, bundles in steps]
        server = ApiServer([], timeline=timeline, speed=10)
        with _on_loopback(server, namespace="shop") as kubeconfig:
            # With -o json, stdout carries JSON Lines only.
            heading = out if args.output != "json" else sys.stderr
            heading.write(f"\n=== {i}/{len(scenarios)} {title}: initdoctor --wait {target} ===\n\n")
            heading.flush()
            demo_args = argparse.Namespace(**vars(args) | {"targets": [target], "namespace": None})
            _wait(demo_args, config, out, Cluster(Settings(kubeconfig=str(kubeconfig))))
    return EXIT_OK


def _demo(args: argparse.Namespace, config: Config, out: TextIO) -> int:
    """Run the live path against built-in scenarios served on loopback."""
    from podinit_diag.devserver.apiserver import ApiServer
    from podinit_diag.devserver.scenarios import TITLES, scenario_dirs
    from podinit_diag.sources.cluster import Cluster, Settings
    from podinit_diag.sources.fetch import fetch_bundle

    dirs = scenario_dirs()
    captured = [load_path(d)[0] for d in dirs]
    server = ApiServer(captured)
    with _on_loopback(server) as kubeconfig:
        print(
            f"initdoctor: demo cluster at {server.url} (read-only, loopback); diagnosing "
            f"{len(dirs)} pods through the live path",
            file=sys.stderr,
        )
        cluster = Cluster(Settings(kubeconfig=str(kubeconfig)))
        results = []
        for d, bundle in zip(dirs, captured, strict=True):
            meta = bundle.pod.get("metadata") or {}
            live = fetch_bundle(cluster, str(meta.get("namespace")), str(meta.get("name")), config)
            # Judged at capture time, so that ages read as they did during the incident.
            results.append((TITLES.get(d.name, d.name), diagnose(live, config, bundle.captured_at)))
        print(f"initdoctor: {cluster.requests} requests in all", file=sys.stderr)
    reports = [r for _, r in results]
    if args.output == "json":
        out.write(jsonout.render(reports))
        return EXIT_OK
    for i, (title, report) in enumerate(results, 1):
        heading = f"{i}/{len(results)} {title}"
        if args.output == "markdown":
            out.write(f"\n# {heading}\n\n" + markdown.render([report]))
        else:
            out.write(f"\n=== {heading} ===\n\n" + table.render([report], colour=_colour(out)))
    return EXIT_OK


def _serve(path: str) -> int:
    """Serve saved bundles read-only until interrupted (Ctrl-C or SIGTERM)."""
    from podinit_diag.devserver.apiserver import ApiServer

    bundles = load_path(path)

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    server = ApiServer(bundles)
    with _on_loopback(server) as kubeconfig:
        print(
            f"initdoctor: serving {len(bundles)} pod(s) from {path} at {server.url} "
            f"(read-only, loopback; Ctrl-C stops)\n"
            f"initdoctor: export KUBECONFIG={kubeconfig}    # then: kubectl get pods -A",
            file=sys.stderr,
        )
        with contextlib.suppress(KeyboardInterrupt):  # the normal way to stop serving
            threading.Event().wait()
    return EXIT_OK


@contextlib.contextmanager
def _on_loopback(server: ApiServer, namespace: str | None = None) -> Iterator[Path]:
    """Run the package's test API server; yields a kubeconfig for it, deleted afterwards."""
    with server, tempfile.TemporaryDirectory() as tmp:
        kubeconfig = Path(tmp) / "kubeconfig"
        server.write_kubeconfig(str(kubeconfig), namespace=namespace)
        yield kubeconfig


def _cluster(args: argparse.Namespace) -> Cluster:
    from podinit_diag.sources.cluster import Cluster, Settings

    try:
        timeout = parse_duration(args.request_timeout).total_seconds()
    except ValueError as exc:
        raise UsageError(f"--request-timeout: {exc}") from None
    proxies = urllib.request.getproxies()
    return Cluster(
        Settings(
            kubeconfig=args.kubeconfig,
            context=args.context,
            timeout=timeout,
            proxy=proxies.get("https"),
            no_proxy=proxies.get("no"),
        )
    )


def _scan(
    args: argparse.Namespace,
    config: Config,
    out: TextIO,
    workloads: list[tuple[str, str]] | None = None,
    now: datetime | None = None,
) -> int:
    """Scan a namespace (-n, else the context's), every namespace (-A), or workloads' pods."""
    from podinit_diag.sources.scan import default_workers, scan
    from podinit_diag.sources.workloads import pod_selectors

    if args.save:
        raise UsageError("--save writes one pod's bundle; name the pod to save")
    if args.workers is not None and args.workers < 1:
        raise UsageError("--workers needs a number of processes, 1 or more")
    cluster = _cluster(args)
    namespace = None if args.all_namespaces else (args.namespace or cluster.namespace)
    selector: str | list[str] | None = args.selector
    if workloads:
        if namespace is None:
            raise UsageError("workload targets need one namespace (-n), not -A")
        selector = [
            s for kind, name in workloads for s in pod_selectors(cluster, namespace, kind, name)
        ]
        if not selector:
            raise InputError(f"{args.targets[0]}: no pods (the workload owns no Jobs)")
    tty = sys.stderr.isatty()

    def progress(pods: int, requests: int) -> None:
        if tty:
            print(f"\rinitdoctor: {pods} pods read, {requests} requests", end="", file=sys.stderr)

    output = _ScanOutput(args.output, out)
    summary = ScanSummary(keep_healthy=args.all, sink=output)
    with _fewer_collections():
        scan(
            cluster,
            namespace,
            selector,
            config,
            args.max_log_pods,
            progress=progress,
            summary=summary,
            workers=default_workers() if args.workers is None else args.workers,
            now=now,
        )
    if tty:
        print(file=sys.stderr)
    return output.finish(summary, args.fail_on)


class _ScanOutput:
    """Where a scan's reports go once final: straight out as JSON (the head is written
    with the first report, so a scan refused at once prints nothing), or kept as table
    rows, a few strings per pod, until the end."""

    def __init__(self, output: str, out: TextIO) -> None:
        self.output, self.out = output, out
        self.rows: list[Row] = []
        self.stream = jsonout.ScanStream() if output == "json" else None
        self.started = False

    def render(self, report: Report) -> str | Row:
        return Row.of(report) if self.stream is None else self.stream.encode(report)

    def emit(self, rendered: str | Row) -> None:
        if isinstance(rendered, Row):
            self.rows.append(rendered)
        elif self.stream is not None:
            if not self.started:
                self.out.write(self.stream.start())
                self.started = True
            self.out.write(self.stream.item(rendered))

    def finish(self, summary: ScanSummary, fail_on: str) -> int:
        if self.stream is not None:
            self.out.write(self.stream.end(summary))
        elif self.output == "markdown":
            self.out.write(markdown.render_scan(summary, self.rows))
        else:
            self.out.write(table.render_scan(summary, self.rows, _colour(self.out)))
        worst = summary.worst.rank if summary.worst is not None else 9
        return EXIT_FINDINGS if worst <= FAIL_ON[fail_on] else EXIT_OK


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """Each list page allocates ~100k objects, all freed with the page; at the default
    thresholds the cycle collector re-scans the heap so often that it took a fifth of a
    10k-pod scan. The objects are JSON trees without cycles."""
    gc.freeze()  # the imported modules: never garbage
    before = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def _live(args: argparse.Namespace, config: Config, now: datetime | None) -> list[Report]:
    """Diagnose pods of a live cluster (the CLI's default mode)."""
    names = [t.split("/", 1)[-1] for t in args.targets]  # "pod/web" or "web"
    from podinit_diag.sources.fetch import fetch_bundle, save_bundle

    cluster = _cluster(args)
    namespace = args.namespace or cluster.namespace
    reports = []
    for name in names:
        bundle = fetch_bundle(cluster, namespace, name, config)
        if args.save:
            target = Path(args.save) if len(names) == 1 else Path(args.save) / f"{namespace}_{name}"
            save_bundle(bundle, target)
            print(f"initdoctor: saved bundle to {target}", file=sys.stderr)
        reports.append(diagnose(bundle, config, now))
    return reports


def _config(args: argparse.Namespace) -> Config:
    try:
        stuck = parse_duration(args.stuck_after)
    except ValueError as exc:
        raise UsageError(f"--stuck-after: {exc}") from None
    return Config(
        stuck_after=stuck,
        select=_codes(args.select, "--select"),
        ignore=_codes(args.ignore, "--ignore"),
    )


def _codes(raw: str, flag: str) -> tuple[str, ...]:
    codes = tuple(c.strip().upper() for c in raw.split(",") if c.strip())
    known = [r.code for r in all_rules()]
    for c in codes:
        if not any(k.startswith(c) for k in known):
            raise UsageError(f"{flag}: no rule code matches {c!r} (see initdoctor --list-rules)")
    return codes


def _now(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    when = parse_time(raw)
    if when is None:
        raise UsageError(f"--now: {raw!r} is not an RFC 3339 time such as 2024-05-01T12:00:00Z")
    return when


def _wanted(pod: object, args: argparse.Namespace) -> bool:
    meta = pod.get("metadata") if isinstance(pod, dict) else None
    meta = meta if isinstance(meta, dict) else {}
    names = {
        t.split("/", 1)[1] if t.startswith(("pod/", "pods/", "po/")) else t for t in args.targets
    }
    if names and meta.get("name") not in names:
        return False
    return args.all_namespaces or not args.namespace or meta.get("namespace") == args.namespace


def _selection(args: argparse.Namespace) -> str:
    parts = [" ".join(args.targets)] if args.targets else []
    if args.namespace and not args.all_namespaces:
        parts.append(f"namespace {args.namespace}")
    return ", ".join(parts) or "the selection"


def _colour(out: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    return out.isatty() and os.environ.get("TERM") != "dumb"


def _render(reports: list[Report], output: str, colour: bool) -> str:
    if output == "json":
        return jsonout.render(reports)
    if output == "markdown":
        return markdown.render(reports)
    return table.render(reports, colour=colour)


def _exit_code(reports: list[Report], fail_on: str) -> int:
    threshold = FAIL_ON[fail_on]
    ranks = [f.severity.rank for r in reports for f in r.findings]
    return EXIT_FINDINGS if any(rank <= threshold for rank in ranks) else EXIT_OK


def _list_rules(output: str) -> str:
    if output == "markdown":
        return rules_markdown()
    if output == "json":
        return json.dumps([rule_dict(r) for r in all_rules()], indent=2) + "\n"
    return table.render_rules(all_rules())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
