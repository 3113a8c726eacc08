"""Regenerate the generated docs: ``python docs/generate.py [--check] [DOCS_DIR]``.

``docs/rules.md`` comes from the rule docstrings and ``docs/report.schema.json``
from :mod:`podinit_diag.render.schema`. With ``--check`` nothing is written and the exit
code is 1 when a file differs from what would be generated (drift).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from podinit_diag.render.catalog import rules_markdown
from podinit_diag.render.schema import SCHEMA


def generated() -> dict[str, str]:
    return {
        "rules.md": rules_markdown(),
        "report.schema.json": json.dumps(SCHEMA, indent=2) + "\n",
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    check = "--check" in args
    rest = [a for a in args if a != "--check"]
    docs = Path(rest[0]) if rest else Path("docs")
    stale = []
    for name, text in generated().items():
        path = docs / name
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        if check:
            stale.append(str(path))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if stale:
        print("out of date (run `nox -s docs`): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
