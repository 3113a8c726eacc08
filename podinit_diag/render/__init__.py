"""Renderers turn reports, scans, waits and the rule catalogue into text (table and wide,
JSON, YAML, names, JSONPath templates, Markdown, HTML); they never print, read the
environment or decide exit codes: whoever calls them says where the text goes and how
wide the terminal is (:class:`~podinit_diag.render.layout.Style`). May import the engine,
rules and core; ``tabulate`` is confined to ``table``, PyYAML to ``yamlout``, jsonpath-ng
to ``jsonpath``. Every renderer cleans what it is given (``common.for_text``,
``common.for_json``): text from the cluster is redacted and cannot drive the terminal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from podinit_diag.render.layout import PLAIN, Style

if TYPE_CHECKING:
    from podinit_diag.core.model import Report

# kubectl's -o values (jsonpath=TEMPLATE and jsonpath-file=FILE arrive as "jsonpath" and
# their template), and ours: markdown and a self-contained HTML page.
OUTPUTS = ("table", "wide", "json", "yaml", "name", "jsonpath", "markdown", "html")
# What a human reads, laid out for the terminal; the others are data for tools.
HUMAN = ("table", "wide")


def render_titled(
    titled: Sequence[tuple[str, Report]], output: str, style: Style = PLAIN, template: str = ""
) -> str:
    """Reports each under its heading (the demo's scenarios); data outputs have none."""
    from podinit_diag.render.common import clean

    if output not in HUMAN and output != "markdown":
        return render([r for _, r in titled], output, style=style, template=template)
    out = []
    for i, (title, report) in enumerate(titled, 1):
        heading = f"{i}/{len(titled)} {clean(title)}"
        if output == "markdown":
            out.append(f"\n# {heading}\n\n" + render([report], output))
        else:
            out.append(f"\n=== {heading} ===\n\n" + render([report], output, style=style))
    return "".join(out)


def render(
    reports: Sequence[Report],
    output: str,
    colour: bool = False,
    style: Style | None = None,
    template: str = "",
) -> str:
    """Reports in one of :data:`OUTPUTS` (``template``: the JSONPath template of
    ``jsonpath``). ``style`` lays out the human outputs; without one, nothing is cut or
    wrapped."""
    # Imported here: a JSON run never pays for tabulate's start-up, nor a table for YAML's.
    if output in HUMAN:
        from podinit_diag.render import table

        style = style or Style(colour=colour)
        if output == "wide":
            style = replace(style, wide=True)
        return table.render(reports, style=style)
    if output == "markdown":
        from podinit_diag.render import markdown

        return markdown.render(reports)
    if output == "html":
        from podinit_diag.render import html

        return html.render(reports)
    if output == "name":
        return names([r.pod.name for r in reports])
    from podinit_diag.render import jsonout

    if output == "json":
        return jsonout.render(reports)
    return data(jsonout.envelope(reports), output, template)


def data(doc: Any, output: str, template: str = "") -> str:
    """A JSON document (a report envelope, a scan's) as ``json``, ``yaml`` or ``jsonpath``."""
    if output == "yaml":
        from podinit_diag.render import yamlout

        return yamlout.render(doc)
    if output == "jsonpath":
        from podinit_diag.render import jsonpath

        return jsonpath.parse(template).render(doc)
    import json

    return json.dumps(doc, indent=2) + "\n"


def names(pods: Sequence[str]) -> str:
    """``-o name``: kubectl's ``pod/NAME``, one per line."""
    from podinit_diag.render.common import clean

    return "".join(f"pod/{clean(n)}\n" for n in pods)
