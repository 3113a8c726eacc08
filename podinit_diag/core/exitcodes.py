"""What an exit code means, read together with the runtime's reason.

The runtime's ``reason`` outranks the number: 137 is an OOM kill only when the
reason says ``OOMKilled``; otherwise something sent SIGKILL from outside.
"""

from __future__ import annotations

import signal as _signal

from podinit_diag.core.model import Termination

_MEANING = {
    1: "general error",
    2: "misuse of a shell builtin or bad arguments",
    126: "command found but not executable (permission denied)",
    127: "command not found",
    128: "invalid exit or the runtime could not start the process",
}


def signal_name(number: int) -> str:
    try:
        return _signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def describe(t: Termination) -> str:
    """A short phrase such as ``exit code 137 (OOMKilled)`` or ``exit code 139 (SIGSEGV)``."""
    code = t.exit_code
    if code is None:
        return t.reason or "terminated"
    if t.reason == "OOMKilled":
        return f"exit code {code} (OOMKilled: memory limit reached)"
    if code == 137:
        return "exit code 137 (SIGKILL, not an OOM kill: killed from outside)"
    if code in _MEANING:
        return f"exit code {code} ({_MEANING[code]})"
    if 128 < code < 160:
        name = signal_name(code - 128)
        meaning = {"SIGSEGV": "segmentation fault", "SIGTERM": "terminated", "SIGABRT": "aborted"}
        extra = f": {meaning[name]}" if name in meaning else ""
        return f"exit code {code} ({name}{extra})"
    if t.signal:
        return f"signal {t.signal} ({signal_name(t.signal)})"
    return f"exit code {code}"
