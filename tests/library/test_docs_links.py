"""Where a finding sends the reader: ``initdoctor explain CODE`` (which every installation
can run) unless the published rule docs' address is configured, then that page's section
of the rule."""

from __future__ import annotations

import re

import pytest

from podinit_diag import Config, InputError, diagnose_path
from podinit_diag.rules import all_rules

from ..conftest import DOCS, FIXTURES, fixture_dirs

CASES = fixture_dirs()[::7]


def _slugs() -> set[str]:
    """The anchors of docs/rules.md's rule headings, as GitHub and MkDocs make them."""
    text = (DOCS / "rules.md").read_text()
    return {
        re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
        for h in re.findall(r"^## (.+)$", text, re.M)
    }


def test_without_a_docs_url_findings_point_to_explain() -> None:
    for d in CASES:
        for r in diagnose_path(d):
            for f in r.findings:
                assert f.docs == f"initdoctor explain {f.code}"


def test_a_docs_url_gives_each_rule_its_section() -> None:
    slugs = _slugs()
    assert {r.slug for r in all_rules()} <= slugs
    for base in ("https://docs.example/initdoctor", "https://docs.example/initdoctor/"):
        config = Config(docs_url=base)
        for d in CASES:
            for r in diagnose_path(d, config):
                for f in r.findings:
                    head, _, anchor = f.docs.partition("/rules/#")
                    assert head == "https://docs.example/initdoctor" and anchor in slugs
                    assert anchor.startswith(f.code.lower() + "-")


def test_a_docs_url_with_placeholders_is_filled_in() -> None:
    url = "https://github.com/acme/podinit-diag/blob/v1/docs/rules.md#{anchor}"
    (report,) = diagnose_path(FIXTURES / "PI101-init-crashloop-migrate", Config(docs_url=url))
    assert report.findings[0].docs == url.replace("{anchor}", "pi101-init-crashloop")
    per_code = "https://wiki.example/initdoctor/{code}?rule={name}"
    (report,) = diagnose_path(FIXTURES / "PI101-init-crashloop-migrate", Config(docs_url=per_code))
    assert report.findings[0].docs == "https://wiki.example/initdoctor/PI101?rule=init-crashloop"


@pytest.mark.parametrize(
    "url",
    [
        "docs.example/initdoctor",
        "ftp://docs.example/initdoctor",
        "https://",
        "https://docs.example/a b",
        "https://docs.example/\x1b]8;;evil\x07",
        "https://docs.example/{bogus}",
        "https://docs.example/{0}",
        "https://docs.example/{anchor",
        42,
    ],
)
def test_a_bad_docs_url_is_a_one_line_input_error(url: object) -> None:
    with pytest.raises(InputError) as info:
        Config(docs_url=url)  # type: ignore[arg-type]
    assert "docs_url" in str(info.value) and "\n" not in str(info.value)


def test_configs_differing_only_in_docs_url_are_different_plans() -> None:
    case = FIXTURES / "PI101-init-crashloop-migrate"
    a = diagnose_path(case, Config(docs_url="https://a.example"))[0].findings[0].docs
    b = diagnose_path(case, Config(docs_url="https://b.example"))[0].findings[0].docs
    c = diagnose_path(case)[0].findings[0].docs
    assert a.startswith("https://a.example/") and b.startswith("https://b.example/")
    assert c == "initdoctor explain PI101"
    assert hash(Config(docs_url="https://a.example")) == hash(Config(docs_url="https://a.example"))
