"""Exact halves of the minor unit, in every currency and both signs, round away from zero.

A property drawing arbitrary decimals meets an exact half about once in 750 draws; these draw nothing else.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fubble.pricing import MINOR_UNITS, round_money, to_decimal

D = Decimal
CURRENCIES = sorted(MINOR_UNITS)


def half_above(whole: int, places: int) -> tuple[Decimal, Fraction]:
    """``whole + 1/2`` minor units of a currency with ``places`` digits, as a Decimal and as a Fraction."""
    fraction = (Fraction(whole) + Fraction(1, 2)) / 10**places
    return D(2 * whole + 1).scaleb(-places) / 2, fraction


def minor_units(count: int, places: int) -> Decimal:
    """``count`` minor units with exactly ``places`` decimal places (``Decimal('-0.13')``, ``Decimal('13')``)."""
    return D((1 if count < 0 else 0, tuple(int(c) for c in str(abs(count))), -places))


@pytest.mark.parametrize("currency", CURRENCIES)
def test_every_currency_rounds_exact_halves_away_from_zero(currency: str) -> None:
    places = MINOR_UNITS[currency]
    for whole in (0, 1, 2, 12, 999, 10**15 + 7):
        decimal, fraction = half_above(whole, places)
        assert Fraction(decimal) == fraction  # the input really is a half
        for value in (decimal, fraction):
            assert str(round_money(value, currency)) == str(minor_units(whole + 1, places))
            assert str(round_money(-value, currency)) == str(minor_units(-(whole + 1), places))
        # A hair below the half goes down, a hair above goes up (both signs).
        below, above = fraction - Fraction(1, 10**30), fraction + Fraction(1, 10**30)
        assert round_money(below, currency) == minor_units(whole, places) == -round_money(-below, currency)
        assert round_money(above, currency) == minor_units(whole + 1, places) == -round_money(-above, currency)


@settings(max_examples=400, deadline=None, database=None)
@given(
    currency=st.sampled_from(CURRENCIES),
    whole=st.integers(min_value=0, max_value=10**20),
    negative=st.booleans(),
    as_fraction=st.booleans(),
)
def test_exact_halves_round_away_from_zero(currency: str, whole: int, negative: bool, as_fraction: bool) -> None:
    places = MINOR_UNITS[currency]
    decimal, fraction = half_above(whole, places)
    value: Decimal | Fraction = fraction if as_fraction else decimal
    expected = minor_units(whole + 1, places)
    if negative:
        value, expected = -value, -expected
    result = round_money(value, currency)
    assert str(result) == str(expected)
    assert result.as_tuple().exponent == -places


@settings(max_examples=200, deadline=None, database=None)
@given(
    places=st.integers(min_value=0, max_value=15),
    whole=st.integers(min_value=0, max_value=10**18),
    negative=st.booleans(),
)
def test_display_values_round_exact_halves_away_from_zero(places: int, whole: int, negative: bool) -> None:
    """``to_decimal`` (unit prices on a line) uses the same half-up rule at its own number of places."""
    sign = -1 if negative else 1
    value = sign * (Fraction(whole) + Fraction(1, 2)) / 10**places
    expected = Fraction(sign * (whole + 1), 10**places)
    result = to_decimal(value, places)
    assert Fraction(result) == expected
    exponent = result.as_tuple().exponent
    assert isinstance(exponent, int) and -places <= exponent <= 0  # no positive exponent (never 1E+1 for 10)
    assert exponent == 0 or result.as_tuple().digits[-1] != 0  # trailing zeros removed
