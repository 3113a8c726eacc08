"""Defensive reads of JSON from pods, events and servers that may be malformed: a field of
the wrong type reads as empty, never as an exception. The one set used everywhere."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Json = Mapping[str, Any]  # a JSON object as read: never modified
JsonDict = dict[str, Any]  # a JSON object being built

_EMPTY: Json = {}


def as_dict(value: object) -> Json:
    """A JSON object, or an empty one."""
    if type(value) is dict:  # the common case, several times cheaper than the ABC check
        return value
    # None (an absent field) is the next most common: spare it the ABC check too
    return value if value is not None and isinstance(value, Mapping) else _EMPTY


def as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def as_str(value: object) -> str:
    return value if isinstance(value, str) else ""


def as_objects(value: object) -> list[Json]:
    """The object entries of a JSON array; anything else in it is ignored."""
    if not isinstance(value, (list, tuple)):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def int_or(value: object, default: int = 0) -> int:
    """A JSON integer (or the decimal string some servers send), else ``default``: never a
    bool, a float or a number too long to be a count."""
    if type(value) is int:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return default
