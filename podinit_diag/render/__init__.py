"""Renderers turn reports, scans, waits and the rule catalogue into text (table, JSON,
Markdown); they never print, read the environment or decide exit codes: whoever calls
them says where the text goes. May import the engine, rules and core; ``tabulate`` is
confined to ``table``. Every renderer cleans what it is given (``common.for_text``,
``common.for_json``): text from the cluster is redacted and cannot drive the terminal."""

from __future__ import annotations

from collections.abc import Sequence

from podinit_diag.core.model import Report

OUTPUTS = ("table", "json", "markdown")


def render_titled(titled: Sequence[tuple[str, Report]], output: str, colour: bool) -> str:
    """Reports each under its heading (the demo's scenarios); JSON has no headings."""
    from podinit_diag.render import jsonout
    from podinit_diag.render.common import clean

    if output == "json":
        return jsonout.render([r for _, r in titled])
    out = []
    for i, (title, report) in enumerate(titled, 1):
        heading = f"{i}/{len(titled)} {clean(title)}"
        if output == "markdown":
            out.append(f"\n# {heading}\n\n" + render([report], output))
        else:
            out.append(f"\n=== {heading} ===\n\n" + render([report], output, colour))
    return "".join(out)


def render(reports: Sequence[Report], output: str, colour: bool = False) -> str:
    """Reports in one of :data:`OUTPUTS`."""
    # Imported here: JSON and Markdown runs never pay for tabulate's start-up.
    from podinit_diag.render import jsonout, markdown, table

    if output == "json":
        return jsonout.render(reports)
    if output == "markdown":
        return markdown.render(reports)
    return table.render(reports, colour=colour)
