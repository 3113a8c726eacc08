"""``-o yaml`` is ``-o json`` as data: for every fixture, for a scan, and for a hostile
pod, whose text must stay escaped (ASCII only, as the JSON)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from podinit_diag import diagnose_path
from podinit_diag.core.summary import ScanSummary
from podinit_diag.engine import diagnose
from podinit_diag.render import jsonout, yamlout
from tests.conftest import FIXTURES, fixture_dirs
from tests.render.test_hostile_text import ATTACKS, FORGED, NOW, hostile_bundle


def _ascii_lines(text: str) -> bool:
    return all(c == "\n" or " " <= c <= "~" for c in text)


@pytest.mark.parametrize("fixture", fixture_dirs(), ids=lambda d: d.name)
def test_yaml_is_the_json_as_data(fixture: Path) -> None:
    reports = diagnose_path(fixture)
    out = yamlout.render(jsonout.envelope(reports))
    as_json = json.loads(jsonout.render(reports))
    loaded = yaml.safe_load(out)
    assert loaded == as_json
    assert list(loaded["reports"][0]) == list(as_json["reports"][0])  # the same order
    assert _ascii_lines(out)


def test_a_scans_yaml_is_its_json() -> None:
    summary = ScanSummary()
    for name in ("PI404-init-declared-before-cloud-sql-proxy", "PI101-init-crashloop-migrate"):
        summary.extend(diagnose_path(FIXTURES / name) * 2)
    doc = {**jsonout.envelope(summary.reports), **jsonout.scan_tail(summary)}
    assert doc["groups"]
    assert yaml.safe_load(yamlout.render(doc)) == json.loads(json.dumps(doc))


def test_hostile_text_stays_escaped() -> None:
    doc = jsonout.envelope([diagnose(hostile_bundle(), now=NOW)])
    out = yamlout.render(doc)
    assert _ascii_lines(out)  # no control, bidi or other character reaches the terminal
    assert "\\e[2J" in out and "\\u202E" in out and "\\x9B2J" in out
    assert yaml.safe_load(out) == doc  # lone surrogates included
    # a log line that reads "No problems found." is shown, but as an item of its list
    assert not any(line.startswith(FORGED) for line in out.splitlines())


@pytest.mark.parametrize("attack", list(ATTACKS.values()), ids=list(ATTACKS))
def test_each_attack_round_trips_escaped(attack: str) -> None:
    doc = {"message": f"{attack}{FORGED}", "names": [attack, f"a{attack}b"]}
    out = yamlout.render(doc)
    assert _ascii_lines(out)
    assert yaml.safe_load(out) == doc


def test_multiline_text_is_a_block_and_other_text_is_exact() -> None:
    doc: dict[str, Any] = {
        "log": "Traceback (most recent call last):\n  File x, line 1\nError: boom\n",
        "trailing": "two  \nlines  ",  # trailing spaces: a block would lose them
        "newline": "\n",
        "long": "word " * 200,  # one line, not folded at 80 columns
        "accented": "café",
    }
    out = yamlout.render(doc)
    assert "log: |\n  Traceback (most recent call last):\n    File x, line 1\n" in out
    assert 'newline: "\\n"' in out
    assert any(line.startswith("long: ") and len(line) > 1000 for line in out.splitlines())
    assert _ascii_lines(out)
    assert yaml.safe_load(out) == doc


@pytest.mark.parametrize(
    "text", ["yes", "no", "on", "null", "~", "true", "1", "1e3", "0o17", "0x1F", ".inf", "-.5", ""]
)
def test_strings_that_read_as_other_types_are_quoted(text: str) -> None:
    out = yamlout.render({"s": text})
    assert yaml.safe_load(out) == {"s": text}
    value = out.split(":", 1)[1].strip()
    assert value[0] in "'\"", out  # quoted for YAML 1.1 and 1.2 readers alike


def test_lone_surrogates_take_the_pure_python_emitter() -> None:
    # libyaml cannot encode them; the output is the same kind of escape
    doc = {"a": "x\ud800y", "b": ["\udfff"]}
    out = yamlout.render(doc)
    assert '"x\\uD800y"' in out
    assert yaml.safe_load(out) == doc
