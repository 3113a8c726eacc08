"""Errors the library raises for input it cannot use; the CLI turns them into exit 2."""

from __future__ import annotations


class InputError(Exception):
    """Input that cannot be read as a pod, a pod list or a bundle, or an argument a
    diagnosis cannot use (a naive ``now``, a :class:`~podinit_diag.Config` that is not one).

    The one exception the offline API raises for bad input: odd data inside a pod, its
    events, logs or related objects is read as absent instead (the pod still gets a report).
    The message is one line meant for the user, naming the file or argument and what is
    wrong.
    """
