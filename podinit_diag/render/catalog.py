"""The rule catalogue as documentation: ``--list-rules``, ``--explain`` and docs/rules.md."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from podinit_diag.rules import BY_CODE, RULES, Rule


def find_rule(code: str) -> Rule | None:
    return BY_CODE.get(code.upper())


def render(code: str | None, output: str) -> str:
    """``--list-rules`` (no code) or ``--explain CODE`` in one of the outputs; LookupError
    for a code no rule has."""
    if code is None:
        return render_rules(RULES, output)
    r = find_rule(code)
    if r is None:
        raise LookupError(code)
    return json.dumps(rule_dict(r), indent=2) + "\n" if output == "json" else explain(r)


def render_rules(rules: Sequence[Rule], output: str) -> str:
    """``--list-rules`` in one of the outputs."""
    if output == "markdown":
        return rules_markdown(rules)
    if output == "json":
        return json.dumps([rule_dict(r) for r in rules], indent=2) + "\n"
    from podinit_diag.render.table import render_rules as table

    return table(rules)


def rule_dict(r: Rule) -> dict[str, Any]:
    return {
        "code": r.code,
        "rule": r.name,
        "severity": r.severity.value,
        "summary": r.summary,
        **{title.lower().replace(" ", "_"): body for title, body in r.sections},
        "docs": r.anchor,
    }


def explain(r: Rule) -> str:
    out = [f"{r.code} {r.name} ({r.severity.value})", "", r.summary]
    for title, body in r.sections:
        out += ["", f"{title}:", _wrap(body, "  ")]
    out += ["", f"Docs: {r.anchor}"]
    return "\n".join(out) + "\n"


def rules_markdown(rules: Sequence[Rule] = RULES) -> str:
    out = [
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
        anchor = r.anchor.split("#", 1)[1]
        out.append(f"| [{r.code}](#{anchor}) | {r.name} | {r.severity.value} | {r.summary} |")
    for r in rules:
        out += ["", f"## {r.code} {r.name}", "", f"Severity: **{r.severity.value}**", "", r.summary]
        for title, body in r.sections:
            out += ["", f"### {title}", "", body]
    return "\n".join(out) + "\n"


def _wrap(text: str, indent: str, width: int = 96) -> str:
    lines, line = [], indent
    for word in text.split():
        if len(line) + len(word) + 1 > width and line.strip():
            lines.append(line.rstrip())
            line = indent
        line += word + " "
    lines.append(line.rstrip())
    return "\n".join(lines)
