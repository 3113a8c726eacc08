"""Where a scan's reports go once final: straight out as JSON (the head is written with
the first report, so a scan refused at once prints nothing), or kept as table rows, a
few strings per pod, until the end. The caller says where the text goes (``write``)."""

from __future__ import annotations

from collections.abc import Callable

from podinit_diag.core.model import Report
from podinit_diag.core.summary import Row, ScanSummary
from podinit_diag.render import jsonout, markdown, table


class ScanOutput:
    """The sink of a :class:`ScanSummary` for one output format."""

    def __init__(self, output: str, write: Callable[[str], object], colour: bool = False):
        self.output, self.write, self.colour = output, write, colour
        self.rows: list[Row] = []
        self.stream = jsonout.ScanStream() if output == "json" else None
        self.started = False

    def render(self, report: Report) -> str | Row:
        return Row.of(report) if self.stream is None else self.stream.encode(report)

    def emit(self, rendered: str | Row) -> None:
        if isinstance(rendered, Row):
            self.rows.append(rendered)
        elif self.stream is not None:
            if not self.started:
                self.write(self.stream.start())
                self.started = True
            self.write(self.stream.item(rendered))

    def finish(self, summary: ScanSummary) -> None:
        if self.stream is not None:
            self.write(self.stream.end(summary))
        elif self.output == "markdown":
            self.write(markdown.render_scan(summary, self.rows))
        else:
            self.write(table.render_scan(summary, self.rows, self.colour))
