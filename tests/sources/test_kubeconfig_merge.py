"""Several kubeconfig files merged as kubectl merges them.

The rule is checked against the real kubectl on the same files: ``kubectl config view
--minify --flatten`` shows the context kubectl chose, its cluster and user, and (flattened)
the contents of the files their relative paths name, resolved as kubectl resolves them.
Then requests made with the merged config are seen to reach the server kubectl reaches."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from podinit_diag.devserver.apiserver import ApiServer
from podinit_diag.sources.cluster import ClusterError, Settings, load_kubeconfig
from podinit_diag.sources.files import load_path

from ..conftest import FIXTURES, kubeconfig_env, run_initdoctor

CASE = FIXTURES / "PI101-init-crashloop-migrate"


def _kubectl() -> str:
    found = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which(
        "kubectl"
    )
    assert found, "kubectl is installed with the test environment"
    return found


def _write(path: Path, doc: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1))
    return path


def _named(key: str, **bodies: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": name, key: body} for name, body in bodies.items()]


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """Three kubeconfig files in three directories, each naming its certificates relative
    to itself, with overlapping names and different current-contexts; and a fourth path
    that does not exist."""
    for d, names in {
        "one": ["ca.crt"],
        "two": ["ca.crt", "alice.crt", "bob.crt", "bob.key"],
    }.items():
        for name in names:
            cert = tmp_path / d / "certs" / name
            cert.parent.mkdir(parents=True, exist_ok=True)
            cert.write_text(f"{d}/{name}\n")  # a distinct content per file
    one = _write(
        tmp_path / "one" / "config",
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "first",
            "clusters": _named(
                "cluster",
                shared={
                    "server": "https://one.example:6443",
                    "certificate-authority": "certs/ca.crt",
                },
                **{"only-one": {"server": "https://only-one.example:6443"}},
            ),
            "contexts": _named(
                "context",
                first={"cluster": "shared", "user": "alice", "namespace": "one-ns"},
                both={"cluster": "only-one", "user": "alice", "namespace": "from-one"},
            ),
            "users": _named("user", alice={"token": "token-of-one"}),
        },
    )
    two = _write(
        tmp_path / "two" / "config",
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "second",
            "clusters": _named(
                "cluster",
                # The same name as one's: whichever file comes first wins it whole.
                shared={
                    "server": "https://two.example:6443",
                    "certificate-authority": "certs/ca.crt",
                },
                **{
                    "only-two": {
                        "server": "https://only-two.example:6443",
                        "certificate-authority": "certs/ca.crt",
                    }
                },
            ),
            "contexts": _named(
                "context",
                second={"cluster": "only-two", "user": "bob", "namespace": "two-ns"},
                both={"cluster": "shared", "user": "bob", "namespace": "from-two"},
                first={"cluster": "only-two", "user": "alice"},
            ),
            "users": _named(
                "user",
                # Fields one's alice lacks: discarded when one comes first, not merged in.
                alice={"token": "token-of-two", "client-certificate": "certs/alice.crt"},
                bob={"client-certificate": "certs/bob.crt", "client-key": "certs/bob.key"},
            ),
        },
    )
    three = _write(
        tmp_path / "three" / "config",
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "",  # empty: the next file's counts
            "clusters": _named(
                "cluster",
                **{
                    "only-three": {
                        "server": "https://only-three.example:6443",
                        "certificate-authority-data": base64.b64encode(b"three/ca\n").decode(),
                    }
                },
            ),
            "contexts": _named("context", third={"cluster": "only-three", "user": "carol"}),
            "users": _named("user", carol={"token": "token-of-three"}),
        },
    )
    return {"one": one, "two": two, "three": three, "missing": tmp_path / "nowhere" / "config"}


# KUBECONFIG's files (by name, in order) and the --context given, if any.
COMBINATIONS = [
    (["one", "missing", "two", "three"], None),
    (["two", "one"], None),
    (["three", "two", "one"], None),
    (["three", "one", "two"], None),
    (["one", "two", "one"], "both"),
    (["two", "one"], "both"),
    (["one", "two"], "second"),
    (["one", "two"], "first"),
    (["two", "one"], "first"),
    (["one", "three"], "third"),
]


def _file_data(body: dict[str, Any], key: str) -> str | None:
    """What kubectl's --flatten puts in ``KEY-data``: the data, or the named file's bytes."""
    if f"{key}-data" in body:
        return str(body[f"{key}-data"])
    if key in body:
        assert os.path.isabs(body[key]), body[key]
        return base64.b64encode(Path(body[key]).read_bytes()).decode()
    return None


def _ours(settings: Settings) -> dict[str, Any]:
    chosen = load_kubeconfig(settings)
    assert chosen is not None
    cluster = chosen.config["clusters"][0]["cluster"]
    user = chosen.config["users"][0]["user"] if chosen.config["users"] else {}
    return {
        "context": chosen.context,
        "cluster": chosen.cluster,
        "user": chosen.user,
        "namespace": chosen.namespace,
        "server": chosen.server,
        "ca": _file_data(cluster, "certificate-authority"),
        "cert": _file_data(user, "client-certificate"),
        "key": _file_data(user, "client-key"),
        "token": user.get("token"),
    }


def _kubectls(env: dict[str, str], args: list[str], cwd: Path) -> dict[str, Any]:
    res = subprocess.run(
        [_kubectl(), "config", "view", "--minify", "--flatten", "-o", "json", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    view = json.loads(res.stdout)
    (context,) = view["contexts"]
    (cluster,) = view["clusters"]
    users = view.get("users") or [{}]
    user = users[0].get("user") or {}
    return {
        "context": view["current-context"],
        "cluster": cluster["name"],
        "user": context["context"].get("user", ""),
        "namespace": context["context"].get("namespace") or "default",
        "server": cluster["cluster"]["server"],
        "ca": cluster["cluster"].get("certificate-authority-data"),
        "cert": user.get("client-certificate-data"),
        "key": user.get("client-key-data"),
        "token": user.get("token"),
    }


@pytest.mark.live  # runs kubectl
@pytest.mark.parametrize("order, context", COMBINATIONS)
def test_the_merge_chooses_what_kubectl_chooses(
    files: dict[str, Path], tmp_path: Path, order: list[str], context: str | None
) -> None:
    kubeconfig = os.pathsep.join(str(files[name]) for name in order)
    env = kubeconfig_env(Path(kubeconfig), tmp_path)
    flags = ["--context", context] if context else []
    theirs = _kubectls(env, flags, cwd=tmp_path)
    ours = _ours(Settings(default_kubeconfig=kubeconfig, context=context))
    assert ours == theirs


@pytest.mark.live  # runs kubectl
def test_kubeconfig_flag_reads_that_file_alone(files: dict[str, Path], tmp_path: Path) -> None:
    env = kubeconfig_env(Path(os.pathsep.join([str(files["one"]), str(files["three"])])), tmp_path)
    theirs = _kubectls(env, ["--kubeconfig", str(files["two"])], cwd=tmp_path)
    ours = _ours(
        Settings(kubeconfig=str(files["two"]), default_kubeconfig=env["KUBECONFIG"], context=None)
    )
    assert ours == theirs
    assert ours["context"] == "second"  # two's, though one comes first in KUBECONFIG


def test_the_first_files_choices_win(files: dict[str, Path]) -> None:
    """The rule itself, as the kubectl comparison above checks it: stated once plainly."""
    chosen = load_kubeconfig(
        Settings(default_kubeconfig=os.pathsep.join(str(files[n]) for n in ("one", "two")))
    )
    assert chosen is not None
    assert (chosen.context, chosen.server, chosen.namespace) == (
        "first",
        "https://one.example:6443",
        "one-ns",
    )
    assert chosen.config["users"] == [{"name": "alice", "user": {"token": "token-of-one"}}]
    assert chosen.files == (str(files["one"]), str(files["two"]))


# --- what is missing, in kubectl's words --------------------------------------------------


def _config(tmp_path: Path, **doc: Any) -> str:
    base = {"apiVersion": "v1", "kind": "Config"}
    return str(_write(tmp_path / "config", base | doc))


def _refused(settings: Settings) -> str:
    with pytest.raises(ClusterError) as caught:
        load_kubeconfig(settings)
    (line,) = str(caught.value).splitlines()
    return line


GOOD = {
    "clusters": [{"name": "k", "cluster": {"server": "https://k.example"}}],
    "users": [{"name": "u", "user": {"token": "t"}}],
}


@pytest.mark.parametrize(
    "context, message",
    [
        ({"cluster": "ghost", "user": "u"}, 'cluster "ghost" was not found for context "c"'),
        ({"cluster": "k", "user": "ghost"}, 'user "ghost" was not found for context "c"'),
        ({"user": "u"}, 'cluster was not specified for context "c"'),
        (
            {"cluster": "k", "user": "u", "namespace": "Not_A_Label"},
            'namespace "Not_A_Label" for context "c" does not conform to the kubernetes '
            "DNS_LABEL rules",
        ),
    ],
)
def test_a_context_naming_what_is_not_there(
    tmp_path: Path, context: dict[str, str], message: str
) -> None:
    # client-go's validation.go words; kubectl itself falls back to localhost:8080 here.
    path = _config(tmp_path, contexts=[{"name": "c", "context": context}], **GOOD)
    assert _refused(Settings(kubeconfig=path, context="c")) == message


def test_unknown_context_suggests_close_names(tmp_path: Path) -> None:
    contexts = [{"name": n, "context": {"cluster": "k", "user": "u"}} for n in ("prod", "staging")]
    path = _config(tmp_path, contexts=contexts, **GOOD)
    assert (
        _refused(Settings(kubeconfig=path, context="prd"))
        == "context was not found for specified context: prd; did you mean prod?"
    )
    assert (
        _refused(Settings(kubeconfig=path, context="qa"))
        == "context was not found for specified context: qa"
    )


def test_no_current_context_and_no_server(tmp_path: Path) -> None:
    contexts = [{"name": "c", "context": {"cluster": "empty"}}]
    clusters = [{"name": "empty", "cluster": {}}]
    path = _config(tmp_path, contexts=contexts, clusters=clusters)
    assert "current-context is not set" in _refused(Settings(kubeconfig=path))
    assert _refused(Settings(kubeconfig=path, context="c")) == 'no server found for cluster "empty"'


def test_a_missing_certificate_is_named_with_its_resolved_path(tmp_path: Path) -> None:
    clusters = [{"name": "k", "cluster": {"server": "https://k", "certificate-authority": "ca"}}]
    contexts = [{"name": "c", "context": {"cluster": "k"}}]
    path = _config(tmp_path, clusters=clusters, contexts=contexts, **{"current-context": "c"})
    ca = tmp_path / "ca"
    assert _refused(Settings(kubeconfig=path)) == (
        f"unable to read certificate-authority {ca} for k due to open {ca}: "
        "no such file or directory"
    )


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "absent"
    assert _refused(Settings(kubeconfig=str(missing))) == (
        f"stat {missing}: no such file or directory"
    )
    dup = _config(
        tmp_path,
        clusters=[{"name": "k", "cluster": {"server": "https://a"}}] * 2,
    )
    assert _refused(Settings(default_kubeconfig=dup)) == (
        f'error loading config file "{dup}": duplicate name "k" in clusters'
    )
    broken = tmp_path / "broken"
    broken.write_text("clusters: [\n  - name: x\n    token: s3cr3t: [\n")
    line = _refused(Settings(default_kubeconfig=f"{missing}{os.pathsep}{broken}"))
    assert line.startswith(f'error loading config file "{broken}": not valid YAML (line ')
    assert "s3cr3t" not in line


def test_no_file_at_all_is_the_in_cluster_fallbacks_turn(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("")
    paths = os.pathsep.join([str(tmp_path / "absent"), str(empty)])
    assert load_kubeconfig(Settings(default_kubeconfig=paths)) is None
    # ... unless a context is asked for, which then does not exist.
    assert _refused(Settings(default_kubeconfig=paths, context="c")) == (
        "context was not found for specified context: c"
    )


# --- requests go where kubectl's go ---------------------------------------------------------


def _ns_name() -> tuple[str, str]:
    pod = json.loads((CASE / "pod.json").read_text())
    return pod["metadata"]["namespace"], pod["metadata"]["name"]


@pytest.mark.live
@pytest.mark.slow
def test_requests_reach_the_server_kubectl_reaches(tmp_path: Path) -> None:
    """Two servers; KUBECONFIG lists A's file first, B's last. The CLI (without and with
    --context) must talk to the server kubectl talks to. A's file names its CA and token
    file relative to itself, B's its CA and a credential plugin (``./bin/plugin``): the
    CLI runs elsewhere, so each works only if resolved against its own file's directory."""
    ns, name = _ns_name()
    bundles = load_path(CASE)
    with ApiServer(bundles) as a, ApiServer(bundles) as b:
        dir_a, dir_b = tmp_path / "a", tmp_path / "b"
        (dir_b / "bin").mkdir(parents=True)
        dir_a.mkdir()
        shutil.copy(a.ca_file, dir_a / "ca.crt")
        shutil.copy(b.ca_file, dir_b / "ca.crt")
        (dir_a / "token").write_text(a.token)
        plugin = dir_b / "bin" / "plugin"
        credential = {
            "apiVersion": "client.authentication.k8s.io/v1",
            "kind": "ExecCredential",
            "status": {"token": b.token},
        }
        plugin.write_text(f"#!{sys.executable}\nprint({json.dumps(json.dumps(credential))})\n")
        plugin.chmod(0o700)
        exec_user = {
            "exec": {
                "apiVersion": "client.authentication.k8s.io/v1",
                "command": "./bin/plugin",
                "interactiveMode": "Never",
            }
        }
        for d, server, ctx, user in (
            (dir_a, a, "ctx-a", {"tokenFile": "token"}),
            (dir_b, b, "ctx-b", exec_user),
        ):
            _write(
                d / "config",
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "current-context": ctx,
                    "clusters": [
                        {
                            "name": ctx,
                            "cluster": {"server": server.url, "certificate-authority": "ca.crt"},
                        }
                    ],
                    "users": [{"name": ctx, "user": user}],
                    "contexts": [
                        {"name": ctx, "context": {"cluster": ctx, "user": ctx, "namespace": ns}}
                    ],
                },
            )
        kubeconfig = os.pathsep.join([str(dir_a / "config"), str(dir_b / "config")])
        env = kubeconfig_env(Path(kubeconfig), tmp_path)

        def served(*args: str) -> tuple[int, int]:
            before = len(a.request_log), len(b.request_log)
            res = run_initdoctor(env, name, *args)
            assert res.returncode in (0, 1), res.stderr
            got = subprocess.run(
                [_kubectl(), "get", "pod", name, *args],
                capture_output=True,
                text=True,
                env=env,
                cwd=tmp_path,
                timeout=60,
            )
            assert got.returncode == 0, got.stderr
            assert name in got.stdout
            return len(a.request_log) - before[0], len(b.request_log) - before[1]

        to_a, to_b = served()  # no -n either: the context's namespace
        assert to_a > 1 and to_b == 0
        to_a, to_b = served("--context", "ctx-b")
        assert to_a == 0 and to_b > 1
