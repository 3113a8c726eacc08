"""``initdoctor``: the command line. The only layer that prints, reads the environment or
chooses exit codes (0 nothing at or above --fail-on, 1 findings at or above it, 2 usage,
input, connection or permission failure). ``args`` holds the grammar, ``terminal`` what
the terminal can show, ``completion`` the shell scripts; this module hands the work to
the layers below: sources fetch, the engine diagnoses, render writes text.

Heavy modules (the rules, the client, tabulate) are imported where they are used, so
that ``initdoctor version``, ``--help`` and completion answer at once."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TextIO

from podinit_diag.cli.args import (
    CREDENTIAL_FACTOR,
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_USAGE,
    FAIL_ON,
    UsageError,
    parse,
    workload,
)
from podinit_diag.cli.terminal import flushing, style_for, width
from podinit_diag.core.errors import InputError
from podinit_diag.core.version import VERSION

if TYPE_CHECKING:
    from podinit_diag.core.model import Bundle, Config, Report
    from podinit_diag.core.summary import ScanSummary
    from podinit_diag.render.layout import Style
    from podinit_diag.sources.cluster import Cluster

__all__ = ["main", "run"]


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
        return _main(sys.argv[1:] if argv is None else argv)
    finally:
        if previous is not None:  # a caller's own handler (main() run in a test, a script)
            signal.signal(signal.SIGTERM, previous)


def _clean(text: str) -> str:
    from podinit_diag.render.common import clean

    return clean(text)


def _main(argv: Sequence[str]) -> int:
    try:
        return run(parse(argv), sys.stdout)
    except (UsageError, InputError) as exc:
        # API error bodies are the server's words: masked and escaped like any of its data
        print(f"initdoctor: error: {_clean(str(exc))}", file=sys.stderr)
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
        what = _clean(" ".join(str(exc).split())[:200])
        print(
            f"initdoctor: error: internal error ({type(exc).__name__}: {what}); "
            "INITDOCTOR_DEBUG=1 shows where",
            file=sys.stderr,
        )
        return EXIT_USAGE


def run(args: argparse.Namespace, out: TextIO) -> int:
    if args.command == "version" or (args.command is None and args.version):
        return _version(getattr(args, "output", None) if args.command else None, out)
    if args.command == "completion":
        from podinit_diag.cli.completion import script

        out.write(script(args.shell))
        return EXIT_OK
    if args.command == "explain":
        return _explain(args.rules, args.output, out)
    if args.list_rules or args.explain:
        return _explain([args.explain] if args.explain else [], args.output_spec.format, out)
    _template(args)
    config = _config(args)
    now = _now(args.now)
    if args.serve:
        return _serve(args.serve)
    if args.wait:
        return _wait(args, config, out)
    if args.demo:
        return _demo(args, config, out)
    workloads = [t for t in args.targets if workload(t)]
    if workloads and len(workloads) != len(args.targets):
        raise UsageError("give either pods or workloads (deploy/NAME, sts/NAME ...), not both")
    if args.sources:
        return _offline(args, config, out, now)
    if workloads or not args.targets:
        return _scan(args, config, out, now)
    return _reports(_live(args, config, now), args, out)


def _version(output: str | None, out: TextIO) -> int:
    if output is None:
        out.write(f"initdoctor {VERSION}\n")
    else:  # kubectl version -o json|yaml
        from podinit_diag.render import data

        out.write(data({"initdoctor": {"version": VERSION}}, output))
    return EXIT_OK


def _explain(rules: Sequence[str], output: str, out: TextIO) -> int:
    from podinit_diag.render import catalog

    if output not in ("table", "json", "markdown"):
        raise UsageError("explain and --list-rules print as table, json or markdown")
    docs_url = _docs_url()
    if not rules:
        out.write(catalog.render(None, output, docs_url=docs_url))
        return EXIT_OK
    for i, name in enumerate(rules):
        try:
            out.write(("\n" if i else "") + catalog.render(name, output, width(out), docs_url))
        except LookupError:
            raise UsageError(catalog.unknown(name)) from None
    return EXIT_OK


def _template(args: argparse.Namespace) -> None:
    """``-o jsonpath-file=FILE``: the template read now, so a missing file is a usage error
    before any request."""
    spec = args.output_spec
    if spec.template_file:
        args.output_spec = replace(spec, template=_read_template(spec.template_file))
    if args.output_spec.format == "jsonpath":
        from podinit_diag.render import jsonpath

        jsonpath.parse(args.output_spec.template)  # a bad template: refused before any work


def _read_template(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read(_TEMPLATE_MAX + 1)
    except OSError as exc:
        raise UsageError(f"-o jsonpath-file={path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"-o jsonpath-file={path}: not UTF-8 text") from None
    if len(text) > _TEMPLATE_MAX:
        raise UsageError(f"-o jsonpath-file={path}: a template is at most 64 KiB")
    return text


_TEMPLATE_MAX = 64 * 1024


def _offline(args: argparse.Namespace, config: Config, out: TextIO, now: datetime | None) -> int:
    from podinit_diag.engine import diagnose
    from podinit_diag.sources.files import select

    if args.save:
        raise UsageError(
            "--save writes what was fetched from a cluster; it does not go with --from"
        )
    namespace = None if args.all_namespaces else args.namespace
    if args.sources.count("-") > 1:
        raise UsageError("--from -: standard input can be read once")
    names = [t.split("/", 1)[-1] for t in args.targets]
    bundles = select([b for src in args.sources for b in _load(src)], names, namespace)
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
    from podinit_diag.sources.files import load_path, load_stream

    if source != "-":
        return load_path(source)
    if sys.stdin is None or sys.stdin.isatty():
        raise UsageError("--from -: standard input is a terminal; pipe a pod into it")
    return load_stream(sys.stdin.buffer)


def _style(args: argparse.Namespace, out: TextIO) -> Style:
    return style_for(out, wide=args.output_spec.format == "wide", headers=not args.no_headers)


def _exit(worst: int | None, fail_on: str) -> int:
    """The exit code for the worst severity rank found (None: no finding)."""
    return EXIT_FINDINGS if worst is not None and worst <= FAIL_ON[fail_on] else EXIT_OK


def _worst(reports: Sequence[Report]) -> int | None:
    return min((f.severity.rank for r in reports for f in r.findings), default=None)


def _reports(reports: list[Report], args: argparse.Namespace, out: TextIO) -> int:
    from podinit_diag.render import render

    spec = args.output_spec
    out.write(render(reports, spec.format, style=_style(args, out), template=spec.template))
    return _exit(_worst(reports), args.fail_on)


def _summarise(args: argparse.Namespace, out: TextIO, fill: Callable[[ScanSummary], object]) -> int:
    """A scan's output: reports streamed as they are final (JSON) or listed at the end."""
    from podinit_diag.core.summary import ScanSummary
    from podinit_diag.render.scanout import ScanOutput

    spec = args.output_spec
    namespaces = True if args.all_namespaces else None
    sink = ScanOutput(spec.format, out.write, _style(args, out), spec.template, namespaces)
    summary = ScanSummary(keep_healthy=args.all, sink=sink)
    fill(summary)
    sink.finish(summary)
    return _exit(summary.worst.rank if summary.worst is not None else None, args.fail_on)


def _wait(
    args: argparse.Namespace, config: Config, out: TextIO, cluster: Cluster | None = None
) -> int:
    """``-w TARGET``: transitions as they happen, then the verdict."""
    from podinit_diag.render.waitview import WaitView
    from podinit_diag.sources.wait import follow

    if args.demo and cluster is None:
        return _demo(args, config, out)
    if len(args.targets) != 1:
        raise UsageError("-w/--wait follows one live pod or workload: initdoctor -w TARGET")
    timeout = _duration(args.timeout or "5m", "--timeout").total_seconds()
    cluster = cluster or _cluster(args)
    status = flushing(sys.stderr) if sys.stderr.isatty() else None
    view = WaitView(args.output_spec.format, datetime.now(UTC), flushing(out), status)
    outcome = follow(
        cluster, args.namespace or cluster.namespace, args.targets[0], args.wait_for or "ready",
        timeout, config, FAIL_ON[args.fail_on], view.transition, view.tick,
    )  # fmt: skip
    view.clear()
    out.write(view.final(outcome, _style(args, out)))
    return EXIT_OK if outcome.state == "met" else EXIT_FINDINGS


def _demo(args: argparse.Namespace, config: Config, out: TextIO) -> int:
    """The live path against the built-in scenarios; with -w, ``--wait`` followed through
    two replayed incidents. The exit code is a real run's: 1 for findings at or above
    --fail-on (the scenarios have them), so a script sees what a user would."""
    from podinit_diag import demo
    from podinit_diag.render import render_titled
    from podinit_diag.render.common import clean

    if not args.wait:
        note = lambda line: print(clean(line), file=sys.stderr)  # noqa: E731
        results = demo.diagnose_scenarios(config, lambda kc: _cluster(args, kc), note)
        spec = args.output_spec
        out.write(render_titled(results, spec.format, _style(args, out), spec.template))
        return _exit(_worst([r for _, r in results]), args.fail_on)
    codes = []
    for heading, target, kubeconfig in demo.incidents(datetime.now(UTC)):
        # With -o json, stdout carries JSON Lines only.
        flushing(out if args.output_spec.format != "json" else sys.stderr)(heading)
        demo_args = argparse.Namespace(**vars(args) | {"targets": [target], "namespace": None})
        codes.append(_wait(demo_args, config, out, _cluster(args, kubeconfig)))
    return max(codes, default=EXIT_OK)


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
    from podinit_diag.engine import diagnose
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
             summary=summary, workers=workers, now=now,
             field_selector=args.field_selector)  # fmt: skip
        if tty:
            print(file=sys.stderr)
        if args.targets and summary.pods == 0 and namespace is not None:
            for bundle in unborn(cluster, namespace, args.targets):  # why there are none
                summary.add(diagnose(bundle, config, now))

    return _summarise(args, out, fill)


def _live(args: argparse.Namespace, config: Config, now: datetime | None) -> list[Report]:
    """Diagnose pods of a live cluster (the CLI's default mode)."""
    from pathlib import Path

    from podinit_diag.engine import diagnose
    from podinit_diag.render.common import clean
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
    from podinit_diag.core.model import Config

    return Config(
        stuck_after=_duration(args.stuck_after, "--stuck-after"),
        select=_codes(args.select, "--select"),
        ignore=_codes(args.ignore, "--ignore"),
        docs_url=_docs_url(),
    )


def _docs_url() -> str | None:
    """Where findings' and explain's "Docs:" point: the published rule docs, else (None)
    ``initdoctor explain CODE``."""
    return os.environ.get("INITDOCTOR_DOCS_URL") or None


def _duration(raw: str, flag: str) -> timedelta:
    from podinit_diag.core.kubetime import parse_duration

    try:
        return parse_duration(raw)
    except (ValueError, OverflowError) as exc:
        raise UsageError(f"{flag}: {exc}") from None


def _codes(raw: str, flag: str) -> tuple[str, ...]:
    from podinit_diag.rules import all_rules

    codes = tuple(c.strip().upper() for c in raw.split(",") if c.strip())
    rules = all_rules()  # rule packs' included
    for c in codes:
        if not any(r.code.startswith(c) for r in rules):
            raise UsageError(f"{flag}: no rule code matches {c!r} (see initdoctor explain)")
    return codes


def _now(raw: str | None) -> datetime | None:
    from podinit_diag.core.kubetime import parse_time

    if raw is None:
        return None
    when = parse_time(raw)
    if when is None:
        raise UsageError(f"--now: {raw!r} is not an RFC 3339 time such as 2024-05-01T12:00:00Z")
    return when
