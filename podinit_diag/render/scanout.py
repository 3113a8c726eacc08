"""Where a scan's reports go once final: straight out as JSON (the head is written with
the first report, so a scan refused at once prints nothing), or kept until the end: as
table rows (a few strings per pod), as JSON text for YAML and JSONPath (which need the
whole document), as reports for an HTML page. The caller says where the text goes
(``write``) and how wide the terminal is (``style``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace

from podinit_diag.core.model import Report
from podinit_diag.core.summary import Row, ScanSummary
from podinit_diag.render import data, jsonout, markdown, names, table
from podinit_diag.render.common import listed_rows
from podinit_diag.render.layout import PLAIN, Style


class ScanOutput:
    """The sink of a :class:`ScanSummary` for one output format."""

    def __init__(
        self,
        output: str,
        write: Callable[[str], object],
        style: Style = PLAIN,
        template: str = "",
        namespaces: bool | None = None,
    ):
        self.output, self.write, self.style, self.template = output, write, style, template
        self.namespaces = namespaces  # the NAMESPACE column: None decides by the rows
        self.rows: list[Row] = []
        self.reports: list[Report] = []
        json_based = output in ("json", "yaml", "jsonpath")
        self.stream = jsonout.ScanStream() if json_based else None
        self.held: list[str] = []  # the JSON of a YAML or JSONPath output, till the end
        self.started = False

    def render(self, report: Report) -> str | Row | Report:
        if self.stream is not None:
            return self.stream.encode(report)
        return report if self.output == "html" else Row.of(report)

    def emit(self, rendered: str | Row | Report) -> None:
        if isinstance(rendered, Row):
            self.rows.append(rendered)
        elif isinstance(rendered, Report):
            self.reports.append(rendered)
        elif self.stream is not None:
            if not self.started:
                self._json(self.stream.start())
                self.started = True
            self._json(self.stream.item(rendered))

    def _json(self, text: str) -> None:
        (self.write if self.output == "json" else self.held.append)(text)

    def finish(self, summary: ScanSummary) -> None:
        if self.stream is not None:
            self._json(self.stream.end(summary))
            if self.output != "json":
                self.write(data(json.loads("".join(self.held)), self.output, self.template))
        elif self.output == "html":
            from podinit_diag.render import html

            self.write(html.render(self.reports))
        elif self.output == "name":
            self.write(names([r.name for r in listed_rows(summary, self.rows)]))
        elif self.output == "markdown":
            self.write(markdown.render_scan(summary, self.rows))
        else:
            style = replace(self.style, wide=self.output == "wide" or self.style.wide)
            self.write(
                table.render_scan(summary, self.rows, style=style, namespaces=self.namespaces)
            )
