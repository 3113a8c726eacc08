"""The kubectl commands the reports tell users to run, quoted for a POSIX shell.

Names come from the cluster. A Kubernetes name is a DNS label or subdomain and needs no
quoting, but a hostile or broken API server can send anything: :func:`shlex.quote` keeps
such a name one argument of the command, and a name that starts with ``-`` is written so
that kubectl cannot read it as a flag (``pod/NAME``, ``--container=NAME``). The renderers
escape what the terminal must not see; this module only makes the shell words right.
"""

from __future__ import annotations


def _option(short: str, long: str, value: str) -> str:
    from shlex import quote

    return quote(f"{long}={value}") if value.startswith("-") else f"{short} {quote(value)}"


def logs_command(
    pod: str, namespace: str, container: str, previous: bool = False, tail: int | None = None
) -> str:
    """``kubectl logs POD -n NS -c C [--previous] [--tail=N]``. An empty namespace (a pod
    read without one) leaves ``-n`` out: kubectl then uses the context's namespace."""
    # Imported here: only a report that names a command needs it, not `import podinit_diag`.
    from shlex import quote

    words = ["kubectl", "logs", quote(f"pod/{pod}" if pod.startswith("-") else pod)]
    if namespace:
        words.append(_option("-n", "--namespace", namespace))
    words.append(_option("-c", "--container", container))
    if previous:
        words.append("--previous")
    if tail is not None:
        words.append(f"--tail={tail}")
    return " ".join(words)
