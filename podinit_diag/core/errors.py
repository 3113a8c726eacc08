"""Errors the library raises for input it cannot use; the CLI turns them into exit 2."""

from __future__ import annotations


class InputError(Exception):
    """Input that cannot be read as a pod, a pod list or a bundle.

    The message is one line meant for the user, naming the file and what is wrong.
    """
