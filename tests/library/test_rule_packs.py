"""Third-party rules: a rule pack installed as a real distribution (its entry point in the
``podinit_diag.rules`` group) is seen by the CLI's table and JSON; a broken pack or a rule
that takes a built-in's code is a note, never a crash; ``register`` adds rules in a script,
and a rule added after the first diagnosis is run by the next one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from podinit_diag import Config, InputError, diagnose_path, register, rules, unregister
from podinit_diag.core.model import Evidence, Severity, Stage
from podinit_diag.rules import Draft, Rule, RuleContext, find_rule, rule

from ..conftest import FIXTURES, run_initdoctor

CRASHLOOP = FIXTURES / "PI101-init-crashloop-migrate"
DOCS = "https://acme.example/initdoctor-rules/acme001"

PACK = textwrap.dedent(
    '''
    """ACME's rules for initdoctor: every pod must say which team runs it."""

    from collections.abc import Iterator

    from podinit_diag.core.model import Evidence, Severity, Stage
    from podinit_diag.rules import Draft, RuleContext, rule


    @rule("ACME001", "team-label-missing", Severity.WARNING, Stage.SPEC, docs=DOCS)
    def team_label_missing(ctx: RuleContext) -> Iterator[Draft]:
        """The pod has no ``team`` label, so nobody is paged for it.

        What it detects:
            A pod without the ``team`` label ACME's on-call routing reads.
        Why it happens:
            The chart or manifest predates the labelling policy.
        How to fix:
            Add ``team: NAME`` to the pod template's labels.
        """
        labels = ctx.snap.pod.get("metadata", {}).get("labels") or {}
        if "team" not in labels:
            yield Draft(
                None,
                f"Pod {ctx.snap.name} has no team label",
                (Evidence(source="spec", ref="$.metadata.labels", text=str(sorted(labels))),),
                "Add a team label to the pod template.",
            )


    RULES = [team_label_missing]
    '''
).replace("docs=DOCS", f"docs={DOCS!r}")


def _distribution(site: Path, name: str, entry_points: str, modules: dict[str, str]) -> None:
    """An installed distribution as pip lays one out: its modules and a ``.dist-info``
    with METADATA and entry_points.txt (what importlib.metadata reads)."""
    for module, source in modules.items():
        (site / f"{module}.py").write_text(source)
    info = site / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(entry_points)
    (info / "RECORD").write_text("")


@pytest.fixture
def site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    _distribution(
        site,
        "acme-initdoctor-rules",
        "[podinit_diag.rules]\nacme = acme_rules\n",
        {"acme_rules": PACK},
    )
    return site


def _initdoctor(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI with the packs installed under ``site`` on its path."""
    return run_initdoctor(dict(os.environ) | {"PYTHONPATH": str(site)}, *args)


@pytest.mark.live
def test_an_installed_pack_is_seen_in_the_table_and_the_json(site: Path) -> None:
    res = _initdoctor(site, "--from", str(CRASHLOOP), "-o", "json")
    assert res.returncode == 1, res.stderr
    (report,) = json.loads(res.stdout)["reports"]
    codes = [f["code"] for f in report["findings"]]
    assert codes[0] == "PI101" and "ACME001" in codes  # the built-in root cause stays first
    (acme,) = [f for f in report["findings"] if f["code"] == "ACME001"]
    assert acme["rule"] == "team-label-missing" and acme["severity"] == "warning"
    assert acme["docs"] == DOCS  # the pack's own documentation
    assert report["errors"] == []
    table = _initdoctor(site, "--from", str(CRASHLOOP))
    assert "ACME001 team-label-missing" in table.stdout and DOCS in table.stdout
    # without the pack on the path, nothing of it
    plain = _initdoctor(site.parent / "empty", "--from", str(CRASHLOOP), "-o", "json")
    assert "ACME001" not in plain.stdout


@pytest.mark.live
def test_the_pack_is_listed_explained_and_selectable(site: Path) -> None:
    listed = _initdoctor(site, "--list-rules")
    assert "ACME001" in listed.stdout, listed.stderr
    assert "team-label-missing" in _initdoctor(site, "--explain", "ACME001").stdout
    assert "team-label-missing" in _initdoctor(site, "explain", "acme001").stdout
    only = _initdoctor(site, "--from", str(CRASHLOOP), "-o", "json", "--select", "ACME")
    assert [f["code"] for f in json.loads(only.stdout)["reports"][0]["findings"]] == ["ACME001"]


@pytest.mark.live
def test_a_broken_pack_is_a_note_and_the_others_still_run(site: Path) -> None:
    _distribution(
        site,
        "broken-rules",
        "[podinit_diag.rules]\nbroken = broken_rules:RULES\n",
        {"broken_rules": "import no_such_module_anywhere\n"},
    )
    _distribution(
        site,
        "squatter-rules",
        "[podinit_diag.rules]\nsquat = squatter_rules:RULES\n",
        {"squatter_rules": PACK.replace('"ACME001"', '"PI777"').replace("ACME's", "A")},
    )
    res = _initdoctor(site, "--from", str(CRASHLOOP), "-o", "json")
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
    (report,) = json.loads(res.stdout)["reports"]
    codes = [f["code"] for f in report["findings"]]
    assert "ACME001" in codes and "PI777" not in codes
    (broken,) = [e for e in report["errors"] if "broken-rules" in e]
    assert "not loaded: ModuleNotFoundError" in broken and "no_such_module_anywhere" in broken
    (squat,) = [e for e in report["errors"] if "squatter-rules" in e]
    assert "PI777" in squat and "built-in" in squat


@pytest.mark.live
@pytest.mark.slow
def test_a_pip_installed_pack_is_found(tmp_path: Path) -> None:
    """The pack built and installed by pip from its own pyproject.toml (no index, no
    network): the layout our fast check for the group reads is pip's."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "acme_rules.py").write_text(PACK)
    (src / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [build-system]
            requires = ["setuptools>=61"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "acme-initdoctor-rules"
            version = "1.0"

            [project.entry-points."podinit_diag.rules"]
            acme = "acme_rules"

            [tool.setuptools]
            py-modules = ["acme_rules"]
            """
        )
    )
    target = tmp_path / "site"
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
         "--no-build-isolation", "--target", str(target), str(src)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if pip.returncode != 0:
        pytest.skip(f"pip cannot build here: {pip.stderr.strip()[-200:]}")
    res = _initdoctor(target, "--from", str(CRASHLOOP), "-o", "json")
    assert "ACME001" in [f["code"] for f in json.loads(res.stdout)["reports"][0]["findings"]]


# In a script: register() and unregister().


def _rule(code: str, name: str, title: str = "seen", **kw: Any) -> Rule:
    def check(ctx: RuleContext) -> Iterator[Draft]:
        yield Draft(
            None, f"{title} {ctx.snap.name}", (Evidence(source="spec", ref="$", text="x"),), "-"
        )

    check.__doc__ = (
        "A test rule.\n\nWhat it detects:\n    x\nWhy it happens:\n    y\nHow to fix:\n    z\n"
    )
    return rule(code, name, Severity.INFO, Stage.SPEC, **kw)(check)


@pytest.fixture
def added() -> Iterator[list[str]]:
    """The codes a test registers, removed after it whatever happens."""
    codes: list[str] = []
    yield codes
    present = {r.code for r in rules.all_rules()}
    unregister(*(c for c in codes if c in present))


def _codes(config: Config | None = None) -> list[str]:
    (report,) = diagnose_path(CRASHLOOP, config)
    return [f.code for f in report.findings]


def test_a_rule_registered_after_the_first_diagnosis_runs(added: list[str]) -> None:
    before = _codes()
    assert "TEST001" not in before
    register(_rule("TEST001", "test-one"))
    added.append("TEST001")
    assert _codes() == [*before, "TEST001"]  # a spec check, after every other finding
    register([_rule("TEST002", "test-two")])
    added.append("TEST002")
    assert _codes()[-2:] == ["TEST001", "TEST002"]
    assert _codes(Config(select=("TEST002",))) == ["TEST002"]
    assert _codes(Config(ignore=("TEST",))) == before
    assert find_rule("test-two") is find_rule("test002") is rules.find_rule("TEST002")
    unregister("TEST001", "TEST002")
    added.clear()
    assert _codes() == before


def test_docs_links_of_added_rules(added: list[str]) -> None:
    register(
        _rule("TEST003", "test-three", docs="https://example.org/t3"), _rule("TEST004", "test-four")
    )
    added += ["TEST003", "TEST004"]
    (report,) = diagnose_path(CRASHLOOP, Config(docs_url="https://docs.example/initdoctor"))
    docs = {f.code: f.docs for f in report.findings}
    assert docs["TEST003"] == "https://example.org/t3"
    assert docs["TEST004"] == "initdoctor explain TEST004"  # not in the published docs
    assert docs["PI101"] == "https://docs.example/initdoctor/rules/#pi101-init-crashloop"


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: _rule("PI777", "test-pi"), "built-in"),
        (
            lambda: _rule("ACME101", "init-crashloop"),
            "name init-crashloop is already used by PI101",
        ),
        (lambda: _rule("TEST005", "test-five", verdict=True), "verdict"),
        (lambda: _rule("TEST006", "test-six", docs="docs/x.md"), "http"),
        (lambda: "PI101", "str is neither a Rule nor an iterable of Rules"),
        (lambda: [_rule("TEST007", "test-seven"), 42], "int is not a Rule"),
    ],
)
def test_register_refuses_with_one_line(make: Any, words: str, added: list[str]) -> None:
    before = [r.code for r in rules.all_rules()]
    with pytest.raises(InputError) as info:
        register(make())
    assert words in str(info.value) and "\n" not in str(info.value)
    assert [r.code for r in rules.all_rules()] == before  # all or nothing


def test_a_code_taken_by_an_added_rule_is_refused(added: list[str]) -> None:
    register(_rule("TEST008", "test-eight"))
    added.append("TEST008")
    with pytest.raises(InputError, match="TEST008: the code is already used by register"):
        register(_rule("TEST008", "test-eight-again"))
    with pytest.raises(InputError, match="no added rule"):
        unregister("PI101")


def test_codes_have_a_prefix_then_digits() -> None:
    for bad in ("acme001", "ACME", "A1", "ACME-001", "PI1234", "PI10"):
        with pytest.raises(ValueError, match="bad rule code"):
            _rule(bad, "test-bad")
    assert _rule("ACME1", "test-ok").code == "ACME1"
