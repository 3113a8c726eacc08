"""The rule catalogue as documentation: ``initdoctor explain`` (``--list-rules``,
``--explain``) and docs/rules.md. A rule is found by its code or its name."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Sequence
from typing import Any

from podinit_diag.render.layout import wrap
from podinit_diag.rules import RULES, Rule, all_rules, find_rule

__all__ = ["find_rule", "render", "unknown"]


def unknown(wanted: str) -> str:
    """Why ``wanted`` names no rule, with the closest codes or names."""
    rules = all_rules()
    known = [r.code for r in rules] + [r.name for r in rules]
    close = difflib.get_close_matches(wanted, known, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else " (initdoctor explain lists them)"
    return f"no rule has the code or name {wanted!r}{hint}"


def render(
    code: str | None, output: str, width: int | None = None, docs_url: str | None = None
) -> str:
    """Every rule, rule packs' included (no code), or one rule's explanation, by code or
    name, in one of the outputs; LookupError for a code or name no rule has. Docs links
    point to ``docs_url``'s published rule docs when given."""
    if code is None:
        return render_rules(all_rules(), output, docs_url)
    r = find_rule(code)
    if r is None:
        raise LookupError(code)
    if output == "json":
        return json.dumps(rule_dict(r, docs_url), indent=2) + "\n"
    if output == "markdown":
        return rules_markdown([r], title=False)
    return explain(r, width, docs_url)


def render_rules(rules: Sequence[Rule], output: str, docs_url: str | None = None) -> str:
    """``--list-rules`` in one of the outputs."""
    if output == "markdown":
        return rules_markdown(rules)
    if output == "json":
        return json.dumps([rule_dict(r, docs_url) for r in rules], indent=2) + "\n"
    from podinit_diag.render.table import render_rules as table

    return table(rules)


def rule_dict(r: Rule, docs_url: str | None = None) -> dict[str, Any]:
    return {
        "code": r.code,
        "rule": r.name,
        "severity": r.severity.value,
        "summary": r.summary,
        **{title.lower().replace(" ", "_"): body for title, body in r.sections},
        "docs": r.docs_link(docs_url),
    }


def explain(r: Rule, width: int | None = None, docs_url: str | None = None) -> str:
    """One rule for the terminal: inline code without its reStructuredText backticks,
    commands on lines of their own, wrapped to ``width`` (96 when unknown)."""
    out = [f"{r.code} {r.name} ({r.severity.value})", ""]
    out += wrap(plain(r.summary), width or 96, "")
    for title, body in r.sections:
        out += ["", f"{title}:"]
        out += wrap(plain(body), width or 96, "  ")
    if r.docs_link(docs_url) != f"initdoctor explain {r.code}":  # not this very page
        out += ["", f"Docs: {r.docs_link(docs_url)}"]
    return "\n".join(out) + "\n"


# ``code`` in a docstring: a command keeps one pair of backticks (wrap() puts it on a line
# of its own); anything else is shown bare.
_RST_CODE = re.compile(r"``(.+?)``")
_COMMANDS = ("kubectl ", "helm ", "initdoctor ", "docker ", "crictl ", "curl ", "gcloud ",
             "aws ", "az ", "istioctl ", "linkerd ")  # fmt: skip


def plain(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        code = m.group(1)
        return f"`{code}`" if code.startswith(_COMMANDS) else code

    return _RST_CODE.sub(one, " ".join(text.split()))


def rules_markdown(rules: Sequence[Rule] = RULES, title: bool = True) -> str:
    """docs/rules.md: the index and every rule's section (``title=False``: the sections)."""
    out: list[str] = []
    for r in rules:
        out += ["", f"## {r.code} {r.name}", "", f"Severity: **{r.severity.value}**", "", r.summary]
        for heading, body in r.sections:
            out += ["", f"### {heading}", "", body]
    if not title:
        return "\n".join(out[1:]) + "\n"
    index = [
        "# Rules",
        "",
        "<!-- Generated from the rule docstrings by `nox -s docs`"
        " (`initdoctor --list-rules -o markdown`); do not edit by hand. -->",
        "",
        "Every finding carries one of these stable codes. Codes are never reused.",
        "",
        "| code | rule | severity | summary |",
        "|---|---|---|---|",
    ]
    for r in rules:
        index.append(f"| [{r.code}](#{r.slug}) | {r.name} | {r.severity.value} | {r.summary} |")
    return "\n".join(index + out) + "\n"
