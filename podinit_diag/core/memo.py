"""A property worked out on first use and kept: for values computed once per pod."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

_T = TypeVar("_T")


class once(Generic[_T]):
    """Like ``functools.cached_property`` without its lock (Python 3.11 takes one on every
    first access, which shows at tens of thousands of pods per second). The value goes to
    the instance's ``__dict__``, where it is found before this descriptor from then on, so
    it works on frozen dataclasses without slots."""

    def __init__(self, func: Callable[[Any], _T]) -> None:
        self.func, self.name = func, func.__name__

    def __get__(self, obj: Any, owner: type | None = None) -> _T:
        value = self.func(obj)
        obj.__dict__[self.name] = value
        return value
