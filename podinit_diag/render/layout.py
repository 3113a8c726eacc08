"""How the human output fits a terminal: the :class:`Style` the CLI chooses (width, wide,
colour, ASCII, headers), kubectl-like columns that shrink to the width, and prose wrapped
at word boundaries that never splits what the user is meant to copy.

Pure text: the width is an argument (the CLI reads ``COLUMNS`` and the terminal). What
may be cut to fit is decided per column by the caller; names never are (a user copies
them), and a command in backticks is never broken: when its sentence does not fit, it
gets a line of its own, whole, even if that line is longer than the terminal.
"""

from __future__ import annotations

import re
import textwrap
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

# kubectl's printers use text/tabwriter with a padding of 3 between columns.
GAP = 3


@dataclass(frozen=True)
class Style:
    """How the human output is laid out.

    ``width`` None means no limit (a file, a pipe read by a script): nothing is cut or
    wrapped. ``wide`` is ``-o wide``: every column, nothing in a cell cut."""

    width: int | None = None
    wide: bool = False
    colour: bool = False
    ascii: bool = False
    headers: bool = True


# No limit, no colour: what a library caller gets unless it asks for a terminal's layout.
PLAIN = Style()

# Characters of our own layout, for a terminal whose encoding cannot show them. Text from
# the cluster is not translated: the stream escapes what it cannot encode.
_ASCII = str.maketrans(
    {
        "◀": "<",
        "✓": "+",
        "✗": "x",
        "…": "...",
        "·": "|",
        "─": "-",
        "→": "->",
        "█": "#",
        "▏": "#",
        "▎": "#",
        "▍": "#",
        "▌": "#",
        "▋": "#",
        "▊": "#",
        "▉": "#",
        "–": "-",
        "│": "|",
        "░": ".",
        "×": "x",
    }
)


def ascii_only(text: str) -> str:
    """``text`` with the layout's box and arrow characters in ASCII."""
    return text.translate(_ASCII)


def display_width(text: str) -> int:
    """Columns ``text`` takes on a terminal: East Asian wide characters take two,
    combining marks none (escapes are already ASCII)."""
    if text.isascii():
        return len(text)
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in "WF" else 1
    return width


def cut(text: str, width: int) -> str:
    """``text`` in at most ``width`` columns, ending with … when cut."""
    if display_width(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        w = display_width(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def column_widths(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[int]:
    """Each column's width: its widest cell or header."""
    return [
        max([display_width(h)] + [display_width(r[i]) for r in rows]) for i, h in enumerate(headers)
    ]


def table_width(widths: Sequence[int]) -> int:
    """The columns a table of these column widths takes, GAP between columns."""
    return sum(widths) + GAP * (len(widths) - 1)


def fit(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    width: int | None,
    shrink: Sequence[int] = (),
    floor: int = 8,
) -> list[list[str]]:
    """``rows`` with the cells of the ``shrink`` columns (indexes, the first cut first)
    cut so that the table fits ``width`` columns, none narrower than ``floor`` or its
    header. The other columns are kept whole: when they alone do not fit, the table is
    wider than the terminal, as kubectl's is."""
    if width is None or not rows:
        return [list(r) for r in rows]
    widths = column_widths(headers, rows)
    excess = table_width(widths) - width
    limits = list(widths)
    for i in shrink:
        if excess <= 0:
            break
        least = max(floor, display_width(headers[i]))
        take = min(excess, max(0, widths[i] - least))
        limits[i] = widths[i] - take
        excess -= take
    return [[cut(c, limits[i]) for i, c in enumerate(r)] for r in rows]


_CODE = re.compile(r"`([^`]+)`")


def wrap(text: str, width: int | None, indent: str, hanging: str | None = None) -> list[str]:
    """``text`` as lines starting with ``indent`` (then ``hanging``), broken at spaces to
    fit ``width``. Words are never split (a JSONPath, a URL, an image name stays whole).
    When the text does not fit on one line, each command in backticks goes on a line of
    its own, indented two more and without the backticks, so that it can be copied as is."""
    hanging = indent if hanging is None else hanging
    one = indent + text
    if width is None or display_width(one) <= width:
        return [one]
    lines: list[str] = []
    lead = indent
    for i, part in enumerate(_CODE.split(text)):
        if i % 2:  # a command
            lines.append(hanging + "  " + part)
            lead = hanging
            continue
        part = part.strip()
        if not part:
            continue
        lines += textwrap.wrap(
            part,
            width=max(width, len(lead) + 20),
            initial_indent=lead,
            subsequent_indent=hanging,
            break_long_words=False,
            break_on_hyphens=False,
        )
        lead = hanging
    return lines


def join_fitting(
    parts: Sequence[str], width: int | None, lead: str, sep: str, hanging: str
) -> list[str]:
    """``parts`` joined by ``sep`` after ``lead``, a new line (starting with ``hanging``)
    wherever the next part would not fit: a line of steps broken between steps."""
    if width is None:
        return [lead + sep.join(parts)]
    lines: list[str] = []
    line = lead
    for i, part in enumerate(parts):
        piece = part if i == 0 else sep + part
        if i and display_width(line + piece.rstrip()) > width:
            lines.append(line + sep.rstrip())
            line = hanging + part
        else:
            line += piece
    lines.append(line)
    return lines
