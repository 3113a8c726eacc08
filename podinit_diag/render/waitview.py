"""How a ``--wait`` shows: a line per transition (JSON Lines with ``-o json``), on a
terminal a status line redrawn in place with the time waited, and the verdict with the
reports of what blocks. The caller says where the text goes (``write``, ``status``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from podinit_diag.core.progress import Outcome, Transition
from podinit_diag.render import jsonout, markdown, table, waitout
from podinit_diag.render.layout import PLAIN, Style


class WaitView:
    def __init__(
        self,
        output: str,
        start: datetime,
        write: Callable[[str], object],
        status: Callable[[str], object] | None = None,
    ) -> None:
        """``start``: when the wait began (transitions show the time since);
        ``status``: where the redrawn status line goes (a terminal), if anywhere."""
        self.output, self.start, self.write, self.status = output, start, write, status
        self._shown = False

    def transition(self, t: Transition) -> None:
        self.clear()
        if self.output == "json":
            doc = waitout.transition_dict(t, self.start)
            self.write(json.dumps(doc) + "\n")
        else:
            self.write(waitout.transition_line(t, self.start) + "\n")

    def tick(self, elapsed: float, met: int, wanted: int) -> None:
        if self.status is None:
            return
        self.status(f"\r\x1b[Kwaiting {waitout.clock(elapsed)}: {met}/{wanted} pods")
        self._shown = True

    def clear(self) -> None:
        if self.status is not None and self._shown:
            self.status("\r\x1b[K")
            self._shown = False

    def final(self, outcome: Outcome, style: Style | bool = PLAIN) -> str:
        """The verdict; the reports laid out for ``style`` (a bool: colour or not)."""
        if isinstance(style, bool):
            style = Style(colour=style)
        if self.output == "json":
            doc = jsonout.envelope(outcome.reports) | {"wait": waitout.wait_dict(outcome)}
            return json.dumps(doc) + "\n"
        headline = waitout.wait_headline(outcome)
        if outcome.state == "met":
            return headline + "\n"
        reports = list(outcome.reports)
        if self.output == "markdown":
            return headline + "\n\n" + markdown.render(reports)
        if self.output == "wide":
            style = replace(style, wide=True)
        return headline + "\n\n" + table.render(reports, style=style)
