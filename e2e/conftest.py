"""The control plane for the whole session, and what each test gets from it.

The binaries come from ``controlplane/build.py`` (built once per machine, then cached).
Without Go the session cannot run: outside CI every test is skipped with the reason in one
line (``nox -s e2e`` itself exits non-zero first, see noxfile.py); in CI (``CI=true``) a
missing toolchain or a failed build is an error, never a skip.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from e2e.cluster import ControlPlane
from e2e.controlplane.build import BuildError, build
from e2e.kubelet import TestKubelet
from e2e.rest import Rest
from e2e.summary import LINES
from tests.conftest import kubeconfig_env

_names = itertools.count(1)


@pytest.fixture(scope="session")
def control_plane() -> Iterator[ControlPlane]:
    try:
        info = build()
    except BuildError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"cannot build the control plane: {exc}", pytrace=False)
        pytest.skip(str(exc))
    cp = ControlPlane(Path(str(info["dir"])))
    try:
        cp.start()
        v = cp.versions
        LINES["0-control-plane"] = (
            f"control plane: kube-apiserver {v['kube-apiserver']}, etcd v{v['etcd']}, "
            f"kube-scheduler {v['kube-scheduler']}, "
            f"kube-controller-manager {v['kube-controller-manager']}"
        )
        yield cp
    finally:
        cp.stop()


@pytest.fixture(scope="session")
def kubelet(control_plane: ControlPlane) -> Iterator[TestKubelet]:
    node = TestKubelet(control_plane)
    node.start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="session")
def admin(control_plane: ControlPlane) -> Rest:
    return control_plane.rest("admin")


@pytest.fixture
def namespace(admin: Rest, request: pytest.FixtureRequest) -> str:
    """A fresh namespace for one test, whose default service account exists (admission
    refuses pods until the controller has made it). Left in place: deleting it costs the
    namespace controller's time while the next test runs, and the cluster is thrown away."""
    base = request.node.name.split("[")[0].removeprefix("test_").replace("_", "-")[:40]
    name = f"{base.strip('-')}-{next(_names)}"
    admin.create("/api/v1/namespaces", {"metadata": {"name": name}})
    admin.wait_for(
        lambda: admin.raw("GET", f"/api/v1/namespaces/{name}/serviceaccounts/default")[0] == 200,
        30,
        f"the default service account of {name}",
    )
    return name


@pytest.fixture(scope="session")
def env_for(
    control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., dict[str, str]]:
    """``env_for(user, namespace)``: a CLI environment whose kubeconfig is ``user``'s."""
    homes = tmp_path_factory.mktemp("homes")

    def make(user: str = "admin", namespace: str | None = None) -> dict[str, str]:
        home = homes / f"home-{user.replace(':', '-')}"
        home.mkdir(exist_ok=True)
        return kubeconfig_env(control_plane.kubeconfig(user, namespace), home)

    return make


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for _, line in sorted(LINES.items()):
        terminalreporter.write_line(line)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI nothing may be skipped: a skip there means the control plane was not tested."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter is not None else 0
    if os.environ.get("CI") == "true" and skipped and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
