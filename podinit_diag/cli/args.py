"""The command line's grammar: flags, subcommands, kubectl's TYPE NAME forms, and the
checks that refuse a combination that would be ignored or misread, each with one line
that says what to do instead. Pure: reads nothing but the arguments it is given."""

from __future__ import annotations

import argparse
import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from podinit_diag.core.kinds import ALIASES, BY_NAME, short_names

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
# A kubeconfig's credential plugin may take this many request timeouts to hand over a
# token (30 s by default: a cloud CLI starting cold), then it is killed.
CREDENTIAL_FACTOR = 6
FAIL_ON = {"error": 0, "warning": 1, "info": 2, "never": -1}
# -o values; jsonpath=TEMPLATE and jsonpath-file=FILE carry their template.
OUTPUTS = ("table", "wide", "json", "yaml", "name", "markdown", "html")
TEMPLATED = ("jsonpath", "jsonpath-file")
SUBCOMMANDS = ("explain", "completion", "version")
SHELLS = ("bash", "zsh", "fish")


class UsageError(Exception):
    pass


# kubectl's names for what initdoctor can diagnose: (kind, its short, singular and plural
# names, an example). A pod is diagnosed; a workload's pods are scanned.
_EXAMPLES = {
    "Pod": "initdoctor pod web-7d9f-x2kqp",
    "Deployment": "initdoctor deploy/web -n shop",
    "StatefulSet": "initdoctor sts postgres",
    "DaemonSet": "initdoctor ds/node-agent -n kube-system",
    "ReplicaSet": "initdoctor rs/web-7d9f",
    "Job": "initdoctor job/db-migrate",
    "CronJob": "initdoctor cronjob/nightly-report",
}
KINDS: tuple[tuple[str, tuple[str, ...], str], ...] = tuple(
    (kind, short_names(kind), _EXAMPLES[kind]) for kind in ALIASES
)


def _targets_help() -> str:
    width = max(len(kind) for kind, _, _ in KINDS)
    lines = [f"  {kind:<{width}}  {', '.join(names):<34} {ex}" for kind, names, ex in KINDS]
    return (
        "targets (TYPE/NAME or TYPE NAME, kubectl's names; a bare NAME is a pod):\n"
        + "\n".join(lines)
        + "\n  (none)      scan the namespace (-n, else the context's), or every one with -A"
    )


EPILOG = f"""{_targets_help()}

subcommands:
  initdoctor explain CODE|NAME      what a finding means (initdoctor explain PI101)
  initdoctor completion SHELL       shell completion for bash, zsh or fish
  initdoctor version                the version

examples:
  initdoctor web-7d9f-x2kqp -n shop         why this pod does not start
  initdoctor -A                             every failing pod of the cluster
  initdoctor -w deploy/web --timeout 10m    follow a rollout, then say what blocks it
  initdoctor --from bundle/ -o markdown     a saved pod, for a ticket
  initdoctor --from pod.json -o jsonpath='{{.reports[0].findings[*].code}}'

exit codes: 0 no finding at or above --fail-on, 1 findings at or above it,
2 usage, input, connection or permission error"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


# (flags, options) of every argument after TARGET, in --help order. Defaults that a
# check must tell from "not given" are None.
_ARGUMENTS: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (
    (("--from",), dict(dest="sources", action="append", default=[], metavar="PATH",
        help="pod JSON/YAML, v1 List/PodList, or bundle directory (repeatable); "
        "- reads standard input")),
    (("-n", "--namespace"), dict(help="namespace (default: the context's, else default)")),
    (("-A", "--all-namespaces"), dict(action="store_true", help="pods of every namespace")),
    (("-l", "--selector"), dict(help="label selector of the pods to scan, e.g. app=web (live)")),
    (("--field-selector",), dict(metavar="SELECTOR",
        help="field selector of the pods to scan, e.g. status.phase=Pending (live)")),
    (("--all",), dict(action="store_true", help="list healthy pods in a scan too")),
    (("--max-log-pods",), dict(type=int, default=20, metavar="N",
        help="in a scan, read logs of at most N pods, most severe first (20)")),
    (("--workers",), dict(type=int, default=None, metavar="N",
        help="in a scan of more than 500 pods, diagnose in N processes "
        "(default: the CPUs available, at most 4; 1: in this process only)")),
    (("--context",), dict(help="kubeconfig context to use")),
    (("--kubeconfig",), dict(help="kubeconfig file (default: the files of KUBECONFIG, "
        "merged as kubectl merges them, else ~/.kube/config)")),
    (("--request-timeout",), dict(default="5s", metavar="DURATION",
        help="how long each request to the API server may take in all, body included (5s); "
        f"a kubeconfig's credential plugin gets {CREDENTIAL_FACTOR} times as long")),
    (("--save",), dict(metavar="DIR", help="write what was fetched as a bundle that --from reads "
        "(a new or empty directory; secrets masked, files readable by you only)")),
    (("--force",), dict(action="store_true",
        help="with --save: replace the bundle files in a directory that is not empty")),
    (("-o", "--output"), dict(default="table", metavar="FORMAT",
        help="table (default, fitted to the terminal), wide (every column), json, yaml, "
        "name, markdown, html (one page with a timeline, for tickets), "
        "jsonpath=TEMPLATE, jsonpath-file=FILE")),
    (("--no-headers",), dict(action="store_true",
        help="table and wide outputs: no column headers")),
    (("--fail-on",), dict(choices=tuple(FAIL_ON), default="error",
        help="lowest severity that makes the exit code 1 (default: error)")),
    (("--select",), dict(default="", metavar="CODES",
        help="rule codes or prefixes to run, comma-separated (e.g. PI1,PI203); "
        "pods by label: -l/--selector")),
    (("--ignore",), dict(default="", metavar="CODES", help="rule codes or prefixes to skip")),
    (("--stuck-after",), dict(default="5m", metavar="DURATION",
        help="how long an init container may run before it counts as stuck (5m)")),
    (("--now",), dict(metavar="TIME",
        help="judge the pod as of this RFC 3339 time (default: bundle capture time)")),
    (("--demo",), dict(action="store_true",
        help="diagnose built-in scenarios served by a local read-only test API server")),
    (("--serve",), dict(metavar="PATH",
        help="serve saved bundles read-only on loopback so kubectl can browse them")),
    (("-w", "--watch", "--wait"), dict(dest="wait", action="store_true",
        help="follow TARGET (a pod or a workload) through initialization with the watch "
        "API; exit 0 when the condition holds, else print what blocks it and exit 1")),
    (("--for",), dict(dest="wait_for", choices=("initialized", "ready"), default=None,
        help="with -w: the pod condition to wait for (ready)")),
    (("--timeout",), dict(default=None, metavar="DURATION",
        help="with -w: how long to wait before diagnosing what blocks (5m)")),
    (("--list-rules",), dict(action="store_true", help="list the rules and exit")),
    (("--explain",), dict(metavar="CODE", help="explain one rule and exit "
        "(as initdoctor explain CODE)")),
    (("--version",), dict(action="store_true", help="print the version and exit")),
)  # fmt: skip

FLAGS = tuple(flag for flags, _ in _ARGUMENTS for flag in flags if flag.startswith("--"))


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="initdoctor",
        description="Explain why a Kubernetes pod is not starting (init containers first) "
        "and what to do about it.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,  # kubectl takes no abbreviations: --select is not --selector
    )
    p.add_argument("targets", nargs="*", metavar="TARGET",
                   help="what to diagnose: NAME, TYPE/NAME or TYPE NAME (see below)")  # fmt: skip
    for flags, options in _ARGUMENTS:
        p.add_argument(*flags, **options)
    return p


def sub_parser(command: str) -> argparse.ArgumentParser:
    p = _Parser(prog=f"initdoctor {command}", allow_abbrev=False)
    if command == "explain":
        p.description = "Explain a rule: what it detects, why it happens, how to fix it."
        p.add_argument(
            "rules", nargs="*", metavar="CODE|NAME",
            help="a code (PI101) or a name (init-crashloop); none: list every rule",
        )  # fmt: skip
        p.add_argument("-o", "--output", choices=("table", "json", "markdown"), default="table")
    elif command == "completion":
        p.description = (
            "Print a shell completion script. bash: source <(initdoctor completion bash); "
            "zsh: source <(initdoctor completion zsh); "
            "fish: initdoctor completion fish | source"
        )
        p.add_argument("shell", choices=SHELLS)
    else:
        p.description = "Print the version."
        p.add_argument("-o", "--output", choices=("json", "yaml"), default=None)
    return p


@dataclass(frozen=True)
class Output:
    """``-o``: the format, and the JSONPath template or the file holding it."""

    format: str
    template: str = ""
    template_file: str = ""


def parse_output(raw: str) -> Output:
    """``-o`` as kubectl reads it: ``jsonpath=TEMPLATE``, ``jsonpath-file=FILE``, or a name."""
    raw = raw[1:] if raw.startswith("=") else raw  # -o=json: argparse keeps the "="
    name, eq, rest = raw.partition("=")
    if name in TEMPLATED:
        if not rest:  # kubectl's words
            raise UsageError("template format specified but no template given")
        if name == "jsonpath":
            return Output("jsonpath", template=rest)
        return Output("jsonpath", template_file=rest)
    if not eq and raw in OUTPUTS:
        return Output(raw)
    allowed = ",".join((*OUTPUTS, "jsonpath", "jsonpath-file"))
    raise UsageError(
        f'unable to match a printer suitable for the output format "{raw}", '
        f"allowed formats are: {allowed}"
    )


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """The arguments after ``initdoctor``, checked: a subcommand's, or the main ones with
    targets in TYPE/NAME form and the output parsed. Raises :class:`UsageError`."""
    argv = list(argv)
    if argv and argv[0] in SUBCOMMANDS:
        args = sub_parser(argv[0]).parse_args(argv[1:])
        args.command = argv[0]
        return args
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        raise UsageError(_unknown(unknown[0]))
    args.command = None
    args.output_spec = parse_output(args.output)
    args.targets = targets(args.targets)
    check(args)
    return args


def _unknown(arg: str) -> str:
    """kubectl's ``unknown flag``, with the flag the user probably meant."""
    if not arg.startswith("-"):
        return f"unexpected argument {arg!r} (see initdoctor --help)"
    flag = arg.split("=", 1)[0]
    close = difflib.get_close_matches(flag, FLAGS, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]}?" if close else " (see initdoctor --help)"
    return f"unknown flag: {flag}{hint}"


def targets(raw: Sequence[str]) -> list[str]:
    """Targets as TYPE/NAME: kubectl's ``TYPE NAME [NAME...]`` is turned into one
    TYPE/NAME per name; a TYPE alone (``pods``) is the namespace's scan, given as no
    target for pods. A bare NAME stays: a pod. A TYPE/NAME of a type initdoctor does
    not diagnose is refused."""
    for t in raw:
        kind, slash, name = t.partition("/")
        if slash and (kind.lower() not in BY_NAME or not name):
            known = ", ".join(names[0] for _, names, _ in KINDS)
            what = f"unknown resource type {kind!r}" if kind.lower() not in BY_NAME else "no name"
            raise UsageError(f"{t}: {what} (use NAME, or TYPE/NAME with TYPE one of {known})")
    if not raw or "/" in raw[0] or raw[0].lower() not in BY_NAME:
        return list(raw)
    kind = BY_NAME[raw[0].lower()]
    names = raw[1:]
    if any("/" in n for n in names):
        raise UsageError(
            f"there is no need to specify a resource type as a separate argument when "
            f"passing arguments in resource/name form (e.g. 'initdoctor {names[0]}')"
        )
    if not names:
        if kind == "Pod":
            return []  # `initdoctor pods`: kubectl get pods
        raise UsageError(
            f"name the {kind}: initdoctor {raw[0]} NAME (or scan the namespace's pods: "
            "initdoctor -n NAMESPACE)"
        )
    return [f"{raw[0]}/{n}" for n in names]


def workload(target: str) -> bool:
    """Whether a TYPE/NAME target names a workload (its pods are scanned)."""
    kind = target.split("/", 1)[0].lower() if "/" in target else "pod"
    return BY_NAME.get(kind, "") not in ("", "Pod")


# A label selector given to --select (rule codes): app=web, tier!=db, env in (a,b), !canary
_LABELISH = re.compile(r"[=!]|\s(not)?in\s*\(", re.IGNORECASE)


def check(args: argparse.Namespace) -> None:
    """Refuse combinations that would be ignored or misread."""
    if args.select and _LABELISH.search(args.select):
        raise UsageError(
            f"--select takes rule codes (e.g. PI1,PI203); to select pods by label use "
            f"-l/--selector {args.select}"
        )
    modes = [
        flag
        for flag, given in (
            ("--demo", args.demo),
            ("--serve", args.serve),
            ("--from", args.sources),
            ("--list-rules", args.list_rules),
            ("--explain", args.explain),
            ("--version", args.version),
        )
        if given
    ]
    if len(modes) > 1:
        raise UsageError(f"{modes[0]} and {modes[1]} cannot be used together")
    mode = modes[0] if modes else None
    if mode in ("--serve", "--list-rules", "--explain", "--version", "--demo") and args.targets:
        raise UsageError(f"{mode} takes no TARGET (got {args.targets[0]!r})")
    if mode in ("--serve", "--list-rules", "--explain", "--version") and args.wait:
        raise UsageError(f"{mode} and -w/--wait cannot be used together")
    if args.wait and mode == "--from":
        raise UsageError("-w/--wait follows a live pod or workload; it does not go with --from")
    if args.wait and args.output_spec.format not in ("table", "wide", "json", "markdown"):
        raise UsageError("-w/--wait prints as table, wide, json (JSON Lines) or markdown")
    if not args.wait:
        for flag, value in (("--timeout", args.timeout), ("--for", args.wait_for)):
            if value is not None:
                raise UsageError(f"{flag} goes with -w/--wait (initdoctor -w TARGET {flag} ...)")
    if mode == "--from":
        for flag, value in (("-l/--selector", args.selector),
                            ("--field-selector", args.field_selector)):  # fmt: skip
            if value:
                raise UsageError(
                    f"{flag} selects pods of a live cluster; with --from, name the pods"
                )
    if args.no_headers and args.output_spec.format not in ("table", "wide"):
        raise UsageError("--no-headers goes with the table and wide outputs")
