"""The pure quantity parser against the official client's, which it replaces in the core.

The differential tests compare the exact Decimal (digits, exponent, sign, NaN payload), not
just the value: the client's representation is what callers got before, and a difference in
exponent would show in any Decimal printed or quantized downstream.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, DecimalTuple
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from kubernetes.utils.quantity import parse_quantity as client_parse_quantity

from podinit_diag.core.quantity import parse_quantity
from podinit_diag.core.resources import quantity

SUFFIXES = ["", "n", "u", "m", "k", "K", "M", "G", "T", "P", "E"]
SUFFIXES += ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
# What a quantity looks like when it is almost right: stray spaces (ASCII and not), Python's
# digit separator, a non-ASCII digit, suffix letters in the wrong case or place, NUL, and the
# special values Decimal reads.
NOISE = [" ", "\t", "\n", "\u00a0", "\u2003", "_", ".", "+", "-", "e", "E", "i", "I", "k"]
NOISE += ["K", "m", "n", "u", "B", "x", "0", "9", "\u0661", "\x00", "NaN", "sNaN", "Inf"]
NOISE += ["Infinity", "Ki", "ki", "mi", "e-", "E+"]


def outcome(parse: Callable[[Any], Decimal], value: object) -> DecimalTuple | str:
    try:
        result = parse(value)
    except ValueError:
        return "ValueError"
    assert type(result) is Decimal
    return result.as_tuple()


def assert_same_as_client(value: object) -> None:
    theirs = outcome(client_parse_quantity, value)
    ours = outcome(parse_quantity, value)
    assert ours == theirs, f"{value!r}: ours {ours}, client {theirs}"


digits = st.text("0123456789", min_size=1, max_size=35)  # past the context's 28 digits
sign = st.sampled_from(["", "+", "-"])
number = st.one_of(
    digits,
    st.builds("{}.{}".format, digits, digits),
    st.builds("{}.".format, digits),
    st.builds(".{}".format, digits),
)
# Up to seven exponent digits reach the context's limits (E+999999), hence overflow and
# subnormal results.
exponent = st.builds(
    "{}{}{}".format,
    st.sampled_from(["e", "E"]),
    sign,
    st.text("0123456789", min_size=1, max_size=7),
)
grammar = st.builds("{}{}{}".format, sign, number, st.one_of(st.sampled_from(SUFFIXES), exponent))
# The client reads the number with Decimal, so an exponent may precede a suffix.
exponent_then_suffix = st.builds(
    "{}{}{}{}".format, sign, number, exponent, st.sampled_from(SUFFIXES)
)


@st.composite
def near_miss(draw: st.DrawFn) -> str:
    """A grammatical quantity with one to three characters or tokens inserted, replaced or
    deleted."""
    text = draw(grammar)
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(["insert", "replace", "delete"]))
        noise = draw(st.sampled_from(NOISE))
        if edit == "insert":
            text = text[:at] + noise + text[at:]
        elif edit == "replace":
            text = text[:at] + noise + text[at + 1 :]
        else:
            text = text[:at] + text[at + 1 :]
    return text


@given(st.one_of(grammar, exponent_then_suffix))
@settings(max_examples=1500, deadline=None)
def test_grammatical_quantities_parse_as_the_client_parses_them(text: str) -> None:
    assert_same_as_client(text)


token_soup = st.lists(st.sampled_from(NOISE), max_size=6).map("".join)


@pytest.mark.slow
@given(st.one_of(near_miss(), token_soup, st.text(max_size=8)))
@settings(max_examples=2500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example("")
@example("Ki")
@example("1ki")
@example("nan")  # "na" and the nano suffix, to the client
@example("sNaNk")  # a signalling NaN scaled: the client's multiplication raises
@example("9E+999999Ei")  # overflow
@example("1E-1000020n")  # underflow to a clamped zero
@example(" 1 Gi")
@example("1Gi ")
def test_near_misses_are_accepted_or_refused_as_the_client_does(text: str) -> None:
    assert_same_as_client(text)


@given(
    st.one_of(
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.decimals(allow_nan=True, allow_infinity=True),
        st.booleans(),
    )
)
@settings(max_examples=500, deadline=None)
def test_numbers_convert_as_the_client_converts_them(value: object) -> None:
    assert_same_as_client(value)


@pytest.mark.parametrize("value", [None, b"1", ["1"], 1j])
def test_other_objects_are_read_through_str_as_the_client_reads_them(value: object) -> None:
    assert_same_as_client(value)


@pytest.mark.parametrize(
    ("text", "want", "shown"),
    [
        ("100m", Decimal("0.1"), "0.100"),
        ("250m", Decimal("0.25"), "0.250"),
        ("1Gi", Decimal(2**30), "1073741824"),
        ("6Gi", Decimal(6 * 2**30), "6442450944"),
        ("1.5Gi", Decimal(3 * 2**29), "1610612736.0"),
        ("1Ki", Decimal(1024), "1024"),
        ("1Ei", Decimal(2**60), "1152921504606846976"),
        ("1k", Decimal(1000), "1000"),
        ("1K", Decimal(1000), "1000"),  # the client's leniency; the API server refuses it
        ("2M", Decimal(2 * 10**6), "2000000"),
        ("1E", Decimal(10**18), "1000000000000000000"),  # exa, not an exponent
        ("1e3", Decimal(1000), "1E+3"),
        ("1E3", Decimal(1000), "1E+3"),
        ("1e-3", Decimal("0.001"), "0.001"),
        ("0.5", Decimal("0.5"), "0.5"),
        ("+.5", Decimal("0.5"), "0.5"),
        ("5.", Decimal(5), "5"),
        ("-1", Decimal(-1), "-1"),
        ("-1.5m", Decimal("-0.0015"), "-0.0015"),
        ("2n", Decimal("2E-9"), "2E-9"),
        ("3u", Decimal("3E-6"), "0.000003"),
        ("0", Decimal(0), "0"),
    ],
)
def test_real_quantities(text: str, want: Decimal, shown: str) -> None:
    got = parse_quantity(text)
    assert got == want
    assert str(got) == shown


@pytest.mark.parametrize(
    "text",
    ["", "Gi", "1ki", "1mi", "1Gi ", "1e", "1.2.3", "abc", "1KiB", "--1", "1 0", "sNaNk"],
)
def test_refused_quantities_raise_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        parse_quantity(text)


def test_digits_beyond_the_context_precision_are_kept_unless_scaled() -> None:
    text = "1.2345678901234567890123456789012"
    assert str(parse_quantity(text)) == text
    assert len(parse_quantity(text + "Ki").as_tuple().digits) == 28


def test_resources_quantity_keeps_its_floats_and_none() -> None:
    assert quantity("100m") == 0.1
    assert quantity("1.5Gi") == 1.5 * 2**30
    assert quantity("1ki") is None
    assert quantity("9E+999999Ei") is None
