"""Kubernetes resource quantities (``250m``, ``6Gi``, ``1e3``) as exact decimals.

The result is the one ``kubernetes.utils.quantity.parse_quantity`` gives, value and
representation alike (``"100m"`` is ``Decimal("0.100")``), and the inputs it refuses raise
ValueError here too, so that the scheduler arithmetic does not change with the parser. The
client is looser than the API server's grammar (an optional sign, digits with at most one
decimal point, then nothing, one of ``n u m k M G T P E`` or ``Ki .. Ei``, or ``e``/``E`` and
a signed integer), and so is this parser, on purpose:

- the number before the suffix is whatever :class:`decimal.Decimal` reads: surrounding
  whitespace, ``_`` separators, non-ASCII digits, ``NaN`` and ``Infinity`` included, and an
  exponent may precede a suffix (``1e3Ki``);
- ``K`` is read as ``k``; ``ki``, ``mi``, ``ni`` and ``ui`` are refused, as are trailing
  characters after a suffix;
- a number without a suffix keeps every digit given; a scaled one is rounded to the precision
  of the current decimal context, where overflow and signalling NaNs raise ValueError;
- ints, floats and Decimals are converted exactly, and any other object by ``str()``.

Standard library only, so that offline diagnosis needs neither the client nor its import time.
"""

from __future__ import annotations

from decimal import Decimal, DecimalException, InvalidOperation

# The client computes these as `base ** Decimal(power)`; the tuples must be the same as
# its results (1E-9, not 0.000000001 with trailing zeros), since a product's exponent is
# the sum of its factors' exponents and shows in the result's representation. Written out
# exactly, they equal the client's in any decimal context of at least 19 digits (1024**6).
_DECIMAL_SUFFIXES = {
    "n": Decimal("1E-9"),
    "u": Decimal("1E-6"),
    "m": Decimal("1E-3"),
    "k": Decimal(10**3),
    "K": Decimal(10**3),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "T": Decimal(10**12),
    "P": Decimal(10**15),
    "E": Decimal(10**18),
}
# "ki", "mi", "ni" and "ui" need no case of their own: left whole, they are not numbers.
_BINARY_SUFFIXES = {
    f"{prefix}i": Decimal(1024**power) for power, prefix in enumerate("KMGTPE", start=1)
}


def parse_quantity(value: str | int | float | Decimal) -> Decimal:
    """The quantity as a Decimal; ValueError if it is not one."""
    if isinstance(value, (int, float, Decimal)):
        return Decimal(value)
    text = str(value)
    if text[-2:] in _BINARY_SUFFIXES:
        number, multiplier = _number(text[:-2], text), _BINARY_SUFFIXES[text[-2:]]
    elif text[-1:] in _DECIMAL_SUFFIXES:
        number, multiplier = _number(text[:-1], text), _DECIMAL_SUFFIXES[text[-1:]]
    else:
        return _number(text, text)
    try:
        return number * multiplier
    except DecimalException as exc:
        raise ValueError(f"invalid quantity {text!r}: {type(exc).__name__}") from None


def _number(part: str, text: str) -> Decimal:
    try:
        return Decimal(part)
    except InvalidOperation:
        raise ValueError(f"invalid quantity {text!r}: {part!r} is not a number") from None
