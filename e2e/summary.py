"""Lines the session prints after pytest's own summary (``nox -s e2e`` shows them): what the
suite ran against, and what the oracles found. Tests add to :data:`LINES`; the key orders
them and lets a test replace its line."""

from __future__ import annotations

LINES: dict[str, str] = {}
