"""What the terminal can show: its width (``COLUMNS``, then the tty), colour (a tty, not
``NO_COLOR``, not ``TERM=dumb``), and whether its encoding has the box and arrow
characters of the layout (else ASCII)."""

from __future__ import annotations

import codecs
import os
from collections.abc import Callable
from typing import TextIO

from podinit_diag.render.layout import Style

# The characters of our own layout (render.layout translates them when these fail).
_LAYOUT = "◀✓✗…·─│→█▏░×–"


def width(out: TextIO) -> int | None:
    """Columns to fit: ``COLUMNS`` when it is a positive number (what shells export and
    what a user sets to choose), else the terminal's, else None: a pipe or a file gets
    every line whole."""
    raw = os.environ.get("COLUMNS", "").strip()
    if raw.isdigit() and 0 < int(raw) < 100_000:
        return max(int(raw), 40)
    if not out.isatty():
        return None
    try:
        return max(os.get_terminal_size(out.fileno()).columns, 40)
    except (OSError, ValueError, AttributeError):
        return None


def colour(out: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    return out.isatty() and os.environ.get("TERM") != "dumb"


def can_show_layout(out: TextIO) -> bool:
    encoding = getattr(out, "encoding", None) or "ascii"
    try:
        codecs.encode(_LAYOUT, codecs.lookup(encoding).name, "strict")
    except (LookupError, UnicodeEncodeError):
        return False
    return True


def style_for(out: TextIO, wide: bool = False, headers: bool = True) -> Style:
    return Style(
        width=width(out),
        wide=wide,
        colour=colour(out),
        ascii=not can_show_layout(out),
        headers=headers,
    )


def flushing(stream: TextIO) -> Callable[[str], None]:
    def write(text: str) -> None:
        stream.write(text)
        stream.flush()

    return write
