"""``initdoctor``: the command line. The only module that prints, reads the environment
or chooses exit codes (0 nothing at or above --fail-on, 1 findings at or above it, 2
usage, input, connection or permission failure). It parses the arguments and hands the
work to the layers below: sources fetch, the engine diagnoses, render writes text."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from podinit_diag.core.errors import InputError
from podinit_diag.core.kubetime import parse_duration, parse_time
from podinit_diag.core.model import Bundle, Config, Report
from podinit_diag.core.version import VERSION
from podinit_diag.engine import diagnose
from podinit_diag.render import OUTPUTS, render
from podinit_diag.render.common import clean
from podinit_diag.rules import RULES
from podinit_diag.sources.files import load_path, load_stream, select
from podinit_diag.sources.workloads import parse_target

if TYPE_CHECKING:
    from podinit_diag.core.summary import ScanSummary
    from podinit_diag.sources.cluster import Cluster

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
# A kubeconfig's credential plugin may take this many request timeouts to hand over a
# token (30 s by default: a cloud CLI starting cold), then it is killed.
CREDENTIAL_FACTOR = 6
FAIL_ON = {"error": 0, "warning": 1, "info": 2, "never": -1}


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see initdoctor --help)")


# (flags, options) of every argument after TARGET, in --help order.
_ARGUMENTS: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (
    (("--from",), dict(dest="sources", action="append", default=[], metavar="PATH",
        help="pod JSON/YAML, v1 List/PodList, or bundle directory (repeatable); "
        "- reads standard input")),
    (("-n", "--namespace"), dict(help="namespace (default: the context's, else default)")),
    (("-A", "--all-namespaces"), dict(action="store_true", help="pods of every namespace")),
    (("-l", "--selector"), dict(help="label selector of the pods to scan (live)")),
    (("--all",), dict(action="store_true", help="list healthy pods in a scan too")),
    (("--max-log-pods",), dict(type=int, default=20, metavar="N",
        help="in a scan, read logs of at most N pods, most severe first (20)")),
    (("--workers",), dict(type=int, default=None, metavar="N",
        help="in a scan of more than 500 pods, diagnose in N processes "
        "(default: the CPUs available, at most 4; 1: in this process only)")),
    (("--context",), dict(help="kubeconfig context to use")),
    (("--kubeconfig",), dict(help="kubeconfig file (default: KUBECONFIG, ~/.kube/config)")),
    (("--request-timeout",), dict(default="5s", metavar="DURATION",
        help="how long each request to the API server may take in all, body included (5s); "
        f"a kubeconfig's credential plugin gets {CREDENTIAL_FACTOR} times as long")),
    (("--save",), dict(metavar="DIR", help="write what was fetched as a bundle that --from reads "
        "(a new or empty directory; secrets masked, files readable by you only)")),
    (("--force",), dict(action="store_true",
        help="with --save: replace the bundle files in a directory that is not empty")),
    (("-o", "--output"), dict(choices=OUTPUTS, default="table")),
    (("--fail-on",), dict(choices=tuple(FAIL_ON), default="error",
        help="lowest severity that makes the exit code 1 (default: error)")),
    (("--select",), dict(default="", metavar="CODES",
        help="comma-separated codes or prefixes to run (e.g. PI1,PI203)")),
    (("--ignore",), dict(default="", metavar="CODES", help="codes or prefixes to skip")),
    (("--stuck-after",), dict(default="5m", metavar="DURATION",
        help="how long an init container may run before it counts as stuck (5m)")),
    (("--now",), dict(metavar="TIME",
        help="judge the pod as of this RFC 3339 time (default: bundle capture time)")),
    (("--demo",), dict(action="store_true",
        help="diagnose built-in scenarios served by a local read-only test API server")),
    (("--serve",), dict(metavar="PATH",
        help="serve saved bundles read-only on loopback so kubectl can browse them")),
    (("--wait",), dict(action="store_true",
        help="follow TARGET (a pod or a workload) through initialization with the watch "
        "API; exit 0 when the condition holds, else print what blocks it and exit 1")),
    (("--for",), dict(dest="wait_for", choices=("initialized", "ready"), default="ready",
        help="with --wait: the pod condition to wait for (ready)")),
    (("--timeout",), dict(default="5m", metavar="DURATION",
        help="with --wait: how long to wait before diagnosing what blocks (5m)")),
    (("--list-rules",), dict(action="store_true", help="list the rules and exit")),
    (("--explain",), dict(metavar="CODE", help="explain one rule and exit")),
    (("--version",), dict(action="version", version=f"initdoctor {VERSION}")),
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="initdoctor",
        description="Explain why a Kubernetes pod is not starting (init containers first) "
        "and what to do about it.",
        epilog="exit codes: 0 no finding at or above --fail-on, 1 findings at or above it, "
        "2 usage, input, connection or permission error",
    )
    p.add_argument("targets", nargs="*", metavar="TARGET", help="pod name or pod/NAME")
    for flags, options in _ARGUMENTS:
        p.add_argument(*flags, **options)
    return p


class _Terminated(BaseException):
    """SIGTERM, raised where the main thread is so that ``with`` blocks and atexit run: the
    client's key files and the demo's certificates are removed as on Ctrl-C."""


def _terminate(signum: int, frame: object) -> None:
    raise _Terminated


def main(argv: Sequence[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        # A terminal that cannot show a character (latin-1, ASCII) gets an escape, not a
        # crash; so does a lone surrogate that came in a pod's JSON.
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    on_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if on_main else None
    try:
        return _main(argv)
    finally:
        if previous is not None:  # a caller's own handler (main() run in a test, a script)
            signal.signal(signal.SIGTERM, previous)


def _main(argv: Sequence[str] | None) -> int:
    try:
        return run(build_parser().parse_args(argv), sys.stdout)
    except (UsageError, InputError) as exc:
        # API error bodies are the server's words: masked and escaped like any of its data
        print(f"initdoctor: error: {clean(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except _Terminated:
        return 143
    except BrokenPipeError:
        # the reader (head, less) went away; nothing left to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except (MemoryError, RecursionError, ValueError, TypeError, LookupError, AttributeError,
            OSError, OverflowError, ArithmeticError) as exc:  # fmt: skip
        # A bug of ours, or data no check foresaw: one line, not a traceback; the
        # traceback on request.
        if os.environ.get("INITDOCTOR_DEBUG"):
            raise
        what = clean(" ".join(str(exc).split())[:200])
        print(
            f"initdoctor: error: internal error ({type(exc).__name__}: {what}); "
            "INITDOCTOR_DEBUG=1 shows where",
            file=sys.stderr,
        )
        return EXIT_USAGE


def run(args: argparse.Namespace, out: TextIO) -> int:
    if args.list_rules or args.explain:
        from podinit_diag.render import catalog

        try:
            out.write(catalog.render(args.explain, args.output))
        except LookupError:
            raise UsageError(
                f"unknown rule code {args.explain!r} (see initdoctor --list-rules)"
            ) from None
        return EXIT_OK
    config = _config(args)
    now = _now(args.now)
    if args.serve:
        return _serve(args.serve)
    if args.wait:
        return _wait(args, config, out)
    if args.demo:
        return _demo(args, config, out)
    workloads = [t for t in args.targets if parse_target(t)] if not args.sources else []
    if workloads and len(workloads) != len(args.targets):
        raise UsageError("give either pods or workloads (deploy/NAME, sts/NAME ...), not both")
    if workloads or not (args.sources or args.targets):
        return _scan(args, config, out, now)
    if not args.sources:
        return _reports(_live(args, config, now), args, out)
    if args.save:
        raise UsageError(
            "--save writes what was fetched from a cluster; it does not go with --from"
        )
    namespace = None if args.all_namespaces else args.namespace
    if args.sources.count("-") > 1:
        raise UsageError("--from -: standard input can be read once")
    bundles = select([b for src in args.sources for b in _load(src)], args.targets, namespace)
    if not bundles:
        wanted = [" ".join(args.targets)] if args.targets else []
        wanted += [f"namespace {namespace}"] if namespace else []
        raise InputError("no pod in the input matches " + (", ".join(wanted) or "the selection"))
    reports = [diagnose(b, config, now) for b in bundles]
    if len(reports) > 1 and not args.targets:
        return _summarise(args, out, lambda summary: summary.extend(reports))
    return _reports(reports, args, out)


def _load(source: str) -> list[Bundle]:
    """A path, or ``-`` for standard input (kubectl's ``-f -``)."""
    if source != "-":
        return load_path(source)
    if sys.stdin is None or sys.stdin.isatty():
        raise UsageError("--from -: standard input is a terminal; pipe a pod into it")
    return load_stream(sys.stdin.buffer)


def _reports(reports: list[Report], args: argparse.Namespace, out: TextIO) -> int:
    out.write(render(reports, args.output, _colour(out)))
    ranks = [f.severity.rank for r in reports for f in r.findings]
    return EXIT_FINDINGS if any(rank <= FAIL_ON[args.fail_on] for rank in ranks) else EXIT_OK


def _summarise(args: argparse.Namespace, out: TextIO, fill: Callable[[ScanSummary], object]) -> int:
    """A scan's output: reports streamed as they are final (JSON) or listed at the end."""
    from podinit_diag.core.summary import ScanSummary
    from podinit_diag.render.scanout import ScanOutput

    sink = ScanOutput(args.output, out.write, _colour(out))
    summary = ScanSummary(keep_healthy=args.all, sink=sink)
    fill(summary)
    sink.finish(summary)
    worst = summary.worst.rank if summary.worst is not None else 9
    return EXIT_FINDINGS if worst <= FAIL_ON[args.fail_on] else EXIT_OK


def _wait(
    args: argparse.Namespace, config: Config, out: TextIO, cluster: Cluster | None = None
) -> int:
    """``--wait TARGET``: transitions as they happen, then the verdict."""
    from podinit_diag.render.waitview import WaitView
    from podinit_diag.sources.wait import follow

    if args.demo and cluster is None:
        return _demo(args, config, out)
    if args.sources or len(args.targets) != 1:
        raise UsageError("--wait follows one live pod or workload: initdoctor --wait TARGET")
    timeout = _duration(args.timeout, "--timeout").total_seconds()
    cluster = cluster or _cluster(args)
    status = _flushing(sys.stderr) if sys.stderr.isatty() else None
    view = WaitView(args.output, datetime.now(UTC), _flushing(out), status)
    outcome = follow(
        cluster, args.namespace or cluster.namespace, args.targets[0], args.wait_for, timeout,
        config, FAIL_ON[args.fail_on], view.transition, view.tick,
    )  # fmt: skip
    view.clear()
    out.write(view.final(outcome, _colour(out)))
    return EXIT_OK if outcome.state == "met" else EXIT_FINDINGS


def _demo(args: argparse.Namespace, config: Config, out: TextIO) -> int:
    """The live path against the built-in scenarios; with --wait, ``--wait`` followed
    through two replayed incidents."""
    from podinit_diag import demo
    from podinit_diag.render import render_titled

    if not args.wait:
        note = lambda line: print(clean(line), file=sys.stderr)  # noqa: E731
        results = demo.diagnose_scenarios(config, lambda kc: _cluster(args, kc), note)
        out.write(render_titled(results, args.output, _colour(out)))
    for heading, target, kubeconfig in demo.incidents(datetime.now(UTC)) if args.wait else ():
        # With -o json, stdout carries JSON Lines only.
        _flushing(out if args.output != "json" else sys.stderr)(heading)
        demo_args = argparse.Namespace(**vars(args) | {"targets": [target], "namespace": None})
        _wait(demo_args, config, out, _cluster(args, kubeconfig))
    return EXIT_OK


def _serve(path: str) -> int:
    """Serve saved bundles read-only until interrupted (Ctrl-C or SIGTERM)."""
    from podinit_diag.devserver.apiserver import ApiServer, loopback

    bundles = _load(path)
    server = ApiServer(bundles)
    with loopback(server) as kubeconfig:
        print(
            f"initdoctor: serving {len(bundles)} pod(s) from {path} at {server.url} "
            f"(read-only, loopback; Ctrl-C stops)\n"
            f"initdoctor: export KUBECONFIG={kubeconfig}    # then: kubectl get pods -A",
            file=sys.stderr,
        )
        with contextlib.suppress(KeyboardInterrupt, _Terminated):  # the normal ways to stop
            threading.Event().wait()
    return EXIT_OK


def _scan(args: argparse.Namespace, config: Config, out: TextIO, now: datetime | None) -> int:
    """Scan a namespace (-n, else the context's), every namespace (-A), or workloads' pods."""
    from podinit_diag.sources.scan import default_workers, scan
    from podinit_diag.sources.workloads import selectors, unborn

    if args.save:
        raise UsageError("--save writes one pod's bundle; name the pod to save")
    if args.workers is not None and args.workers < 1:
        raise UsageError("--workers needs a number of processes, 1 or more")
    cluster = _cluster(args)
    namespace = None if args.all_namespaces else (args.namespace or cluster.namespace)
    selector: str | list[str] | None = args.selector
    if args.targets:  # workloads
        if namespace is None:
            raise UsageError("workload targets need one namespace (-n), not -A")
        selector = selectors(cluster, namespace, args.targets)
    tty = sys.stderr.isatty()

    def progress(pods: int, requests: int) -> None:
        if tty:
            print(f"\rinitdoctor: {pods} pods read, {requests} requests", end="", file=sys.stderr)

    workers = default_workers() if args.workers is None else args.workers

    def fill(summary: ScanSummary) -> None:
        scan(cluster, namespace, selector, config, args.max_log_pods, progress=progress,
             summary=summary, workers=workers, now=now)  # fmt: skip
        if tty:
            print(file=sys.stderr)
        if args.targets and summary.pods == 0 and namespace is not None:
            for bundle in unborn(cluster, namespace, args.targets):  # why there are none
                summary.add(diagnose(bundle, config, now))

    return _summarise(args, out, fill)


def _live(args: argparse.Namespace, config: Config, now: datetime | None) -> list[Report]:
    """Diagnose pods of a live cluster (the CLI's default mode)."""
    from pathlib import Path

    from podinit_diag.sources.fetch import fetch_bundle
    from podinit_diag.sources.save import save_bundle

    names = [t.split("/", 1)[-1] for t in args.targets]  # "pod/web" or "web"
    cluster = _cluster(args)
    namespace = args.namespace or cluster.namespace
    reports = []
    for name in names:
        bundle = fetch_bundle(cluster, namespace, name, config)
        if args.save:
            target = Path(args.save) if len(names) == 1 else Path(args.save) / f"{namespace}_{name}"
            save_bundle(bundle, target, force=args.force)
            print(f"initdoctor: saved bundle to {clean(str(target))}", file=sys.stderr)
        reports.append(diagnose(bundle, config, now))
    return reports


def _cluster(args: argparse.Namespace, demo: str | None = None) -> Cluster:
    """The cluster of the flags and the environment (the library reads neither: the
    kubeconfig, the proxies, the in-cluster fallback's variables), or the demo's."""
    import urllib.request

    from podinit_diag.sources.cluster import Cluster, Settings

    if demo:
        return Cluster(Settings(kubeconfig=demo))
    proxies = urllib.request.getproxies()
    timeout = _duration(args.request_timeout, "--request-timeout").total_seconds()
    if timeout <= 0:
        raise UsageError("--request-timeout: give a positive duration such as 5s")
    return Cluster(Settings(
        kubeconfig=args.kubeconfig,
        default_kubeconfig=os.environ.get("KUBECONFIG")
        or os.path.join(os.path.expanduser("~"), ".kube", "config"),
        context=args.context,
        timeout=timeout,
        credential_timeout=timeout * CREDENTIAL_FACTOR,
        proxy=proxies.get("https"),
        no_proxy=proxies.get("no"),
        environ=os.environ,
    ))  # fmt: skip


def _config(args: argparse.Namespace) -> Config:
    return Config(
        stuck_after=_duration(args.stuck_after, "--stuck-after"),
        select=_codes(args.select, "--select"),
        ignore=_codes(args.ignore, "--ignore"),
    )


def _duration(raw: str, flag: str) -> timedelta:
    try:
        return parse_duration(raw)
    except (ValueError, OverflowError) as exc:
        raise UsageError(f"{flag}: {exc}") from None


def _codes(raw: str, flag: str) -> tuple[str, ...]:
    codes = tuple(c.strip().upper() for c in raw.split(",") if c.strip())
    for c in codes:
        if not any(r.code.startswith(c) for r in RULES):
            raise UsageError(f"{flag}: no rule code matches {c!r} (see initdoctor --list-rules)")
    return codes


def _now(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    when = parse_time(raw)
    if when is None:
        raise UsageError(f"--now: {raw!r} is not an RFC 3339 time such as 2024-05-01T12:00:00Z")
    return when


def _colour(out: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    return out.isatty() and os.environ.get("TERM") != "dumb"


def _flushing(stream: TextIO) -> Callable[[str], None]:
    def write(text: str) -> None:
        stream.write(text)
        stream.flush()

    return write


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
