"""--save against a hostile API server and an unlucky user: nothing written outside DIR,
no symlink followed, no stale file merged, 0600/0700 whatever the umask, no secret
in any saved byte, and the saved bundle still diagnosing as the fetched one did."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from podinit_diag.core.errors import InputError
from podinit_diag.core.kubetime import parse_time
from podinit_diag.core.model import Bundle
from podinit_diag.engine import diagnose
from podinit_diag.sources import save as save_module
from podinit_diag.sources.files import load_path
from podinit_diag.sources.save import save_bundle

from ..conftest import FIXTURES

CASE = FIXTURES / "PI101-init-crashloop-migrate"
FILES = ("pod.json", "events.json", "related.json", "meta.json")
LOG = "db-migrate.previous.log"

SECRETS = {
    "last_applied": "LaZq7appliedEnvValue",
    "token_arg": "abc123TokenArgZq7",
    "password_arg": "hunter2ArgZq7",
    "env": "EnvValueZq7",
    "termination": "TermMsgZq7pw",
    "bearer": "EvtBearerZq7token99",
    "pem_body": "PemBodyZq7",
    "redis": "RelatedRedisZq7",
    "source": "SrcUrlZq7pw",
    "note": "NoteTokenZq7",
}
PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    f"MIIEpAIBAAKCAQEA{SECRETS['pem_body']}q8Vbq4s0Yh0pC9gqBv3Yd2mN1s2a3b4c5d6e7\n"
    f"{SECRETS['pem_body']}lineTwo\n"
    "-----END RSA PRIVATE KEY-----\n"
)


def fixture() -> Bundle:
    """The fixture bundle, read here rather than by ``load_path``: the fixture's files are
    symlinks into the test server's scenarios, and this test is about writing."""

    def items(name: str) -> tuple[dict[str, Any], ...]:
        doc = json.loads((CASE / name).read_text()) if (CASE / name).exists() else {}
        return tuple(doc.get("items", []))

    meta = json.loads((CASE / "meta.json").read_text())
    return Bundle(
        pod=json.loads((CASE / "pod.json").read_text()),
        events=items("events.json"),
        related=items("related.json"),
        logs={f.name: f.read_bytes() for f in sorted((CASE / "logs").iterdir())},
        captured_at=parse_time(meta["captured_at"]),
        source=str(CASE),
    )


def hostile() -> Bundle:
    """The fixture pod as a hostile server would send it: credentials in annotations,
    args, env, a termination message, an event, a log, a related object, the URL."""
    bundle = fixture()
    pod: dict[str, Any] = json.loads(json.dumps(bundle.pod))
    init = pod["spec"]["initContainers"][0]
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": pod["metadata"]["name"]},
        "spec": {
            "containers": [
                {"name": "app", "env": [{"name": "DB_PASSWORD", "value": SECRETS["last_applied"]}]}
            ]
        },
    }
    pod["metadata"].setdefault("annotations", {})[
        "kubectl.kubernetes.io/last-applied-configuration"
    ] = json.dumps(manifest) + "\n"
    init["args"] = [f"--token={SECRETS['token_arg']}", "--password", SECRETS["password_arg"]]
    init.setdefault("env", []).append({"name": "DB_PASSWORD", "value": SECRETS["env"]})
    status = pod["status"]["initContainerStatuses"][0]
    status["lastState"]["terminated"]["message"] = (
        f"could not connect: password={SECRETS['termination']}"
    )
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "x.1", "namespace": pod["metadata"]["namespace"]},
        "involvedObject": {"kind": "Pod", "name": pod["metadata"]["name"]},
        "reason": "Debug",
        "type": "Normal",
        "message": f"probe sent Authorization: Bearer {SECRETS['bearer']}",
        "count": 1,
        "lastTimestamp": "2024-06-12T08:40:00Z",
    }
    related = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cache", "namespace": pod["metadata"]["namespace"]},
        "data": {"REDIS_URL": f"redis://:{SECRETS['redis']}@redis:6379/0"},
    }
    logs = dict(bundle.logs)
    logs[LOG] = logs[LOG] + PEM.encode()
    return dataclasses.replace(
        bundle,
        pod=pod,
        events=(*bundle.events, event),
        related=(*bundle.related, related),
        logs=logs,
        source=f"https://admin:{SECRETS['source']}@k8s.example.com:6443/api/v1/x",
        notes=(f"could not read x: token={SECRETS['note']}",),
    )


def all_files(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*filenames, *dirnames]:
            yield Path(dirpath) / name


def test_no_secret_reaches_any_saved_file_and_the_bundle_diagnoses_the_same(
    tmp_path: Path,
) -> None:
    bundle = hostile()
    raw = json.dumps(bundle.pod) + json.dumps(bundle.related) + bundle.logs[LOG].decode()
    assert all(s in raw + bundle.source + bundle.notes[0] + json.dumps(bundle.events)
               for s in SECRETS.values())  # fmt: skip
    out = save_bundle(bundle, tmp_path / "saved")
    saved = [f for f in all_files(out) if f.is_file()]
    assert {f.name for f in saved} >= {*FILES, LOG}
    for f in saved:
        text = f.read_text()
        for what, secret in SECRETS.items():
            assert secret not in text, f"{what} leaked into {f}"
    pod = json.loads((out / "pod.json").read_text())
    assert pod["spec"]["initContainers"][0]["args"][1] == "--password"  # the flag stays
    assert "-----BEGIN RSA PRIVATE KEY-----" in (out / "logs" / LOG).read_text()

    (again,) = load_path(out)
    first, second = diagnose(bundle), diagnose(again)
    assert first.findings and second.findings
    assert (second.findings[0].code, second.findings[0].container) == (
        first.findings[0].code,
        first.findings[0].container,
    )


@pytest.mark.parametrize(
    "name",
    ["../../outside", "..", ".", "a/b", "/ABSOLUTE", "x\x00y", "a" * 64, "A", "-x", "x-", ""],
)
@pytest.mark.parametrize("suffix", [".log", ".previous.log"])
def test_a_container_name_that_is_no_kubernetes_name_writes_nothing(
    tmp_path: Path, name: str, suffix: str
) -> None:
    outside = tmp_path / "outside.log"
    absolute = tmp_path / "absolute"
    name = name.replace("/ABSOLUTE", str(absolute))
    bundle = dataclasses.replace(hostile(), logs={name + suffix: b"pwned\n", LOG: b"ok\n"})
    out = save_bundle(bundle, tmp_path / "a" / "b" / "saved")
    written = {f.relative_to(tmp_path).as_posix() for f in all_files(tmp_path)}
    assert written == {
        "a",
        "a/b",
        "a/b/saved",
        *(f"a/b/saved/{f}" for f in FILES),
        "a/b/saved/logs",
        f"a/b/saved/logs/{LOG}",
    }
    assert not outside.exists() and not Path(str(absolute) + suffix).exists()
    notes = json.loads((out / "meta.json").read_text())["notes"]
    assert any(n.startswith("log of container ") and "not a valid container name" in n
               for n in notes)  # fmt: skip


def test_a_long_hostile_name_is_noted_shortened(tmp_path: Path) -> None:
    bundle = dataclasses.replace(hostile(), logs={"../" * 5000 + "x.log": b"x"})
    out = save_bundle(bundle, tmp_path / "saved")
    (note,) = [n for n in json.loads((out / "meta.json").read_text())["notes"] if "../" in n]
    assert len(note) < 200 and note.startswith("log of container '../../")


def test_valid_names_are_saved(tmp_path: Path) -> None:
    logs = {"a.log": b"1\n", "a.previous.log": b"2\n", "x" * 63 + ".log": b"3\n", "0-9.log": b""}
    out = save_bundle(dataclasses.replace(hostile(), logs=logs), tmp_path / "saved")
    assert sorted(p.name for p in (out / "logs").iterdir()) == sorted(logs)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    target = tmp_path / "victim"
    target.write_text("precious\n")
    return target


@pytest.mark.parametrize("name", FILES)
def test_a_symlink_in_dir_is_never_followed(tmp_path: Path, outside: Path, name: str) -> None:
    d = tmp_path / "saved"
    d.mkdir()
    (d / name).symlink_to(outside)
    with pytest.raises(InputError, match="directory is not empty; use --force"):
        save_bundle(hostile(), d)
    assert outside.read_text() == "precious\n"
    save_bundle(hostile(), d, force=True)
    assert outside.read_text() == "precious\n"
    assert not (d / name).is_symlink() and (d / name).is_file()


def test_a_symlinked_logs_dir_is_never_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "etc"
    elsewhere.mkdir()
    (elsewhere / LOG).write_text("precious\n")
    d = tmp_path / "saved"
    d.mkdir()
    (d / "logs").symlink_to(elsewhere, target_is_directory=True)
    save_bundle(hostile(), d, force=True)
    assert (elsewhere / LOG).read_text() == "precious\n"
    assert sorted(p.name for p in elsewhere.iterdir()) == [LOG]
    assert not (d / "logs").is_symlink() and (d / "logs" / LOG).is_file()


def test_a_symlink_inside_logs_is_never_followed(tmp_path: Path, outside: Path) -> None:
    d = tmp_path / "saved"
    (d / "logs").mkdir(parents=True)
    (d / "logs" / LOG).symlink_to(outside)
    (d / "logs" / "stale.log").symlink_to(outside)  # an earlier bundle's, as a link
    save_bundle(hostile(), d, force=True)
    assert outside.read_text() == "precious\n"
    assert not (d / "logs" / LOG).is_symlink()
    assert not (d / "logs" / "stale.log").exists() and not (d / "logs" / "stale.log").is_symlink()


def test_a_symlink_swapped_in_after_the_check_is_not_followed(
    tmp_path: Path, outside: Path
) -> None:
    """The race --force cannot see coming: the entry appears between the emptiness check
    and the write. O_EXCL|O_NOFOLLOW refuse it; the target stays."""
    d = tmp_path / "saved"
    d.mkdir()
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        (d / "pod.json").symlink_to(outside)
        with pytest.raises(InputError, match=r"pod\.json"):
            save_module._write(fd, d, "pod.json", b"{}", replace=False)
        (d / "logs").symlink_to(tmp_path, target_is_directory=True)
        with pytest.raises(InputError, match="logs"):
            save_module._open_entry(fd, d, "logs", directory=True, replace=False)
    finally:
        os.close(fd)
    assert outside.read_text() == "precious\n"


def test_the_safe_path_function_takes_one_plain_component(tmp_path: Path) -> None:
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for bad in ("../x", "/etc/x", "a/b", "..", ".", "", "x\x00", "X.json"):
            with pytest.raises(InputError, match="not a plain file name"):
                save_module._open_entry(fd, tmp_path, bad, directory=False, replace=True)
    finally:
        os.close(fd)
    assert list(tmp_path.iterdir()) == []


def test_force_replaces_the_bundles_files_and_leaves_the_rest(tmp_path: Path) -> None:
    d = tmp_path / "saved"
    (d / "logs").mkdir(parents=True)
    (d / "pod.json").write_text('{"kind": "Pod", "stale": true}')
    (d / "notes.txt").write_text("mine\n")
    (d / "logs" / "old-container.log").write_text("stale\n")
    (d / "logs" / "README").write_text("mine too\n")
    (d / "logs" / "keep-dir.log").mkdir()
    with pytest.raises(InputError) as refused:
        save_bundle(hostile(), d)
    assert str(refused.value) == f"{d}: directory is not empty; use --force to overwrite it"
    assert json.loads((d / "pod.json").read_text())["stale"] is True  # nothing written
    save_bundle(hostile(), d, force=True)
    assert "stale" not in json.loads((d / "pod.json").read_text())
    assert (d / "notes.txt").read_text() == "mine\n"
    assert (d / "logs" / "README").read_text() == "mine too\n"
    assert (d / "logs" / "keep-dir.log").is_dir()
    assert not (d / "logs" / "old-container.log").exists()  # --from would read it as ours
    (again,) = load_path(d)
    assert sorted(again.logs) == sorted(hostile().logs)


def test_an_empty_existing_dir_is_used(tmp_path: Path) -> None:
    d = tmp_path / "saved"
    d.mkdir()
    assert save_bundle(hostile(), d) == d
    assert (d / "pod.json").is_file()


def test_dir_may_be_a_symlink_the_user_chose(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    save_bundle(hostile(), tmp_path / "link")
    assert (real / "pod.json").is_file()


@pytest.mark.parametrize("umask", [0o000, 0o277])
def test_modes_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        out = save_bundle(hostile(), tmp_path / "saved")
    finally:
        os.umask(old)
    modes = {p.relative_to(out).as_posix(): stat.S_IMODE(p.stat().st_mode) for p in all_files(out)}
    modes["."] = stat.S_IMODE(out.stat().st_mode)
    assert modes == {
        ".": 0o700,
        "logs": 0o700,
        **{f: 0o600 for f in FILES},
        **{f"logs/{name}": 0o600 for name in hostile().logs},
    }


def test_odd_text_is_escaped_not_fatal(tmp_path: Path) -> None:
    bundle = hostile()
    pod: dict[str, Any] = json.loads(json.dumps(bundle.pod))
    pod["metadata"]["annotations"]["odd"] = "lone \udcff surrogate \x1b]0;title\x07"
    pod["status"]["huge"] = 10**5000
    logs = {LOG: b"bad utf-8 \xff\xfe and \x00 nul\n"}
    out = save_bundle(dataclasses.replace(bundle, pod=pod, logs=logs), tmp_path / "saved")
    (again,) = load_path(out)
    assert again.pod["metadata"]["annotations"]["odd"] == "lone \udcff surrogate \x1b]0;title\x07"
    assert (out / "pod.json").read_bytes().isascii()
    assert "\ufffd" in (out / "logs" / LOG).read_text()


def test_a_file_where_dir_should_be(tmp_path: Path) -> None:
    (tmp_path / "saved").write_text("x")
    with pytest.raises(InputError, match="saved: not a directory"):
        save_bundle(hostile(), tmp_path / "saved")


def test_a_directory_where_a_file_should_be(tmp_path: Path) -> None:
    (tmp_path / "saved" / "pod.json").mkdir(parents=True)
    with pytest.raises(InputError, match=r"pod\.json: is a directory"):
        save_bundle(hostile(), tmp_path / "saved", force=True)


def test_write_errors_are_one_line_naming_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int, data: object) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(InputError) as exc:
        save_bundle(hostile(), tmp_path / "saved")
    assert (
        str(exc.value)
        == f"{tmp_path / 'saved' / 'pod.json'}: cannot write: No space left on device"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_permission_denied_is_an_input_error(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        with pytest.raises(InputError, match="locked/saved: cannot write: Permission denied"):
            save_bundle(hostile(), locked / "saved")
    finally:
        locked.chmod(0o700)
