"""Make text from the cluster or a file safe to show on a terminal or in Markdown.

Pod names, event messages, termination messages, log lines and API error bodies are
written by whoever can create a pod. Shown raw, an escape sequence in them can retitle
the terminal, erase or overwrite what the report said (a bare CR, cursor movement, a
forged "\\nNo problems found."), or reorder it with bidi overrides. :func:`escape` turns
every character that is not printable into a visible escape, so the reader sees that
something was there; it never drops one.
"""

from __future__ import annotations

import re

from podinit_diag.core.lazyre import lazy

# Everything but printable ASCII: the clean text that reaches the slow path (a tab in a
# log line, an accented name) is mostly ASCII, and runs of it are skipped in C.
_SUSPECT = lazy(r"[^ -~]")

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _visible(char: str) -> str:
    named = _NAMED.get(char)
    if named is not None:
        return named
    point = ord(char)
    if point < 0x100:
        return f"\\x{point:02x}"  # C0, DEL, C1 (\x9b is a CSI, \x85 a newline), NBSP
    if point < 0x10000:
        return f"\\u{point:04x}"  # bidi controls, zero-width characters, lone surrogates
    return f"\\U{point:08x}"  # tag characters and unassigned planes


def _one(match: re.Match[str]) -> str:
    char = match.group()
    return char if char.isprintable() else _visible(char)


def escape(text: str) -> str:
    """``text`` with every non-printable character (``str.isprintable``: controls,
    format and bidi characters, separators other than the space, surrogates, unassigned
    code points) written as a Python-style escape: ``\\x1b``, ``\\n``, ``\\u202e``,
    ``\\ud800``. The result is one line of printable characters; printable text comes
    back unchanged (one C call).

    Tabs are escaped too: their width depends on the terminal's tab stops (which an
    escape sequence can move) and they break table columns.

    Backslashes are left alone. Escaping them would make the output unambiguous, but
    nothing can be forged with one: ``\\x1b`` typed as four printable characters only
    shows what escaping shows, and the attacker could print any printable text anyway.
    Doubling them would garble every Windows path and regular expression in a message.
    """
    if text.isprintable():
        return text
    return _SUSPECT.sub(_one, text)


# Characters with a meaning anywhere in a CommonMark/GFM line: code spans, emphasis,
# links and images, raw HTML and autolinks, table cells, strikethrough, entities (an
# entity such as &#x202e; would reintroduce the bidi override escape() removed), math.
_MD_INLINE = lazy(r"[\\`*_\[\]<>|~&$]")


def escape_markdown(text: str) -> str:
    """:func:`escape`, then every Markdown metacharacter backslash-escaped, so that text
    from the cluster is shown as text in a table cell or a paragraph: it cannot open a
    code span, a link, emphasis or raw HTML, end a table cell, or start a heading.

    Of the markers that count only at the start of a line, only ``#`` is escaped: a
    leading ``-``, ``+`` or ``1.`` can at most make a list item of text that is shown in
    full anyway, and escaping them would fill every ``-`` table cell with backslashes."""
    text = _MD_INLINE.sub(r"\\\g<0>", escape(text))
    return "\\" + text if text.startswith("#") else text
