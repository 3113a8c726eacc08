"""Score the diagnosis against the real-incident corpus in this directory.

Each sub-directory is a bundle rebuilt from a public bug report, with ``incident.json``
saying where it comes from and which first finding (code and container) the thread's
confirmed cause calls for, or ``"expected": null`` for a healthy pod that must get no
error or warning. ``python tests/incidents/score.py`` prints top-1 accuracy, the
confusion table and every miss; ``nox -s accuracy`` runs it; the tests assert on it.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from podinit_diag import diagnose_path
from podinit_diag.core.model import Severity

HERE = Path(__file__).resolve().parent
_LOUD = (Severity.ERROR, Severity.WARNING)


@dataclass(frozen=True)
class Outcome:
    name: str
    klass: str
    want: tuple[str, str | None] | None  # None: healthy
    got: tuple[str, str | None] | None  # the first error or warning finding
    loud: int  # error and warning findings

    @property
    def right(self) -> bool:
        return self.got == self.want if self.want is not None else self.loud == 0


def incidents() -> list[Path]:
    return sorted(d for d in HERE.iterdir() if (d / "incident.json").is_file())


def outcome(d: Path) -> Outcome:
    meta = json.loads((d / "incident.json").read_text())
    exp = meta.get("expected")
    want = (exp["code"], exp.get("container")) if exp else None
    (report,) = diagnose_path(d)
    loud = [f for f in report.findings if f.severity in _LOUD]
    first = report.findings[0] if report.findings else None
    got = (first.code, first.container) if first is not None else None
    if want is None:
        got = (loud[0].code, loud[0].container) if loud else None
    return Outcome(d.name, str(meta.get("class", "")), want, got, len(loud))


def score(dirs: list[Path] | None = None) -> list[Outcome]:
    return [outcome(d) for d in (incidents() if dirs is None else dirs)]


def summary(results: list[Outcome]) -> str:
    failing = [r for r in results if r.want is not None]
    healthy = [r for r in results if r.want is None]
    right = sum(r.right for r in failing)
    quiet = sum(r.right for r in healthy)
    silent = [r.name for r in failing if r.loud == 0]
    classes = {r.klass for r in failing}
    lines = [
        f"corpus: {len(results)} pods ({len(failing)} failing in {len(classes)} classes, "
        f"{len(healthy)} healthy)",
        f"top-1 (code and container) on failing pods: {right}/{len(failing)} "
        f"= {100 * right / max(len(failing), 1):.1f}%",
        f"healthy pods without an error or warning: {quiet}/{len(healthy)}",
        f"failing pods without an error or warning: {len(silent)}",
        f"overall: {right + quiet}/{len(results)} = "
        f"{100 * (right + quiet) / max(len(results), 1):.1f}%",
        "",
        "confusion (expected code -> first finding's code, container mismatches marked *):",
    ]
    pairs = Counter(
        (
            r.want[0] if r.want else "healthy",
            (r.got[0] if r.got else "none")
            + ("*" if r.want and r.got and r.got[0] == r.want[0] and not r.right else ""),
        )
        for r in results
    )
    for (want, got), n in sorted(pairs.items()):
        mark = "" if want == got or (want == "healthy" and got == "none") else "   <- miss"
        lines.append(f"  {want:8} -> {got:8} {n:3}{mark}")
    misses = [r for r in results if not r.right]
    if misses:
        lines += ["", "misses:"]
        lines += [f"  {r.name}: expected {r.want}, got {r.got}" for r in misses]
    return "\n".join(lines)


if __name__ == "__main__":
    print(summary(score([Path(a) for a in sys.argv[1:]] or None)))
