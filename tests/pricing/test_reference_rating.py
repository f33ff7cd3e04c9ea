"""``rate()`` for tiered, volume and package pricing equals an independent calculator, line for line.

The reference below is written from the pricing rules in ``fubble.pricing.rating``, not from its code: exact
``Decimal`` arithmetic in a context that traps any rounding, tiers walked unit range by unit range, and the currency
rounding done with ``Decimal.quantize(ROUND_HALF_UP)``. Usage and prior usage are drawn on tier edges (and a hair to
either side) as often as inside tiers, and every field of the line is compared: amount, unit price and quantity.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Context, Decimal, Inexact, localcontext
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fubble.pricing import MINOR_UNITS, Line, parse_pricing, rate
from tests.pricing.test_properties import FULL_PERIOD

D = Decimal
EXACT = Context(prec=200, traps=[Inexact])
WIDE = Context(prec=200)  # for the one deliberate rounding: wide enough that only the quantize itself rounds
REFERENCE = settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
currencies = st.sampled_from(sorted(MINOR_UNITS))


@dataclass(frozen=True)
class Expected:
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal


def money(value: Decimal, currency: str) -> Decimal:
    """Half-up (away from zero) to the currency's minor unit: ``value`` is exact, so this is the only rounding."""
    return value.quantize(D(1).scaleb(-MINOR_UNITS[currency]), rounding=ROUND_HALF_UP, context=WIDE)


def per_unit(amount: Decimal, quantity: Decimal) -> Decimal:
    """``amount / quantity`` half-up to 12 places (the amount itself for no quantity)."""
    if quantity == 0:
        return amount
    with localcontext(Context(prec=400)) as context:
        quotient = context.divide(amount, quantity)  # 400 digits: far more than 12 places need, no double rounding
    return quotient.quantize(D("1e-12"), rounding=ROUND_HALF_UP, context=WIDE)


def tiers_of(details: dict[str, Any]) -> list[tuple[Decimal, Decimal | None, Decimal]]:
    rows = details["tiers"]
    table = [(D(t["start"]), None if t["end"] is None else D(t["end"]), D(t["price"])) for t in rows]
    start, _, price = table[-1]
    table[-1] = (start, None, price)  # the last tier takes every unit past its end
    return table


def graduated(table: list[tuple[Decimal, Decimal | None, Decimal]], x: Decimal) -> Decimal:
    with localcontext(EXACT):
        total = D(0)
        for start, end, price in table:
            top = x if end is None else min(x, end)
            if top > start:
                total += (top - start) * price
        return total


def volume(table: list[tuple[Decimal, Decimal | None, Decimal]], x: Decimal) -> tuple[Decimal, Decimal]:
    """``(x * price, price)`` of the tier with ``start <= x < end``."""
    price = next(price for start, end, price in table if start <= x and (end is None or x < end))
    with localcontext(EXACT):
        return x * price, price


def packages(x: Decimal, size: Decimal) -> Decimal:
    with localcontext(Context(prec=200, rounding=ROUND_CEILING)) as context:
        return context.divide(x, size).to_integral_value(rounding=ROUND_CEILING)


def reference(pricing_type: str, details: dict[str, Any], usage: Decimal, prior: Decimal, currency: str) -> Expected:
    with localcontext(EXACT):
        end = prior + usage
    if pricing_type == "tiered":
        table = tiers_of(details)
        amount = money(graduated(table, end), currency) - money(graduated(table, prior), currency)
        return Expected(usage, per_unit(amount, usage), amount)
    if pricing_type == "volume":
        table = tiers_of(details)
        total, price = volume(table, end)
        amount = money(total, currency) - money(volume(table, prior)[0], currency)
        return Expected(usage, price, amount)
    size, price = D(details["package_size"]), D(details["package_price"])
    with localcontext(EXACT):
        amount = money(packages(end, size) * price, currency) - money(packages(prior, size) * price, currency)
    return Expected(usage, per_unit(amount, usage), amount)


def assert_line_equals(line: Line, expected: Expected, currency: str) -> None:
    assert (line.quantity, line.unit_price, line.amount) == (expected.quantity, expected.unit_price, expected.amount)
    assert str(line.amount) == str(expected.amount)  # exactly the currency's places, e.g. 12.50 USD, 13 JPY
    assert -line.amount.as_tuple().exponent == MINOR_UNITS[currency]  # type: ignore[operator]
    assert "E" not in str(line.unit_price) and "E" not in str(line.quantity)


# --- drawing tier tables and usage on their edges -----------------------------------------------------------------

prices = st.one_of(st.just(D(0)), st.decimals(min_value=0, max_value=50, places=4), st.sampled_from([D("0.005")]))


@st.composite
def tier_tables(draw: st.DrawFn) -> dict[str, Any]:
    edges = sorted(set(draw(st.lists(st.decimals(min_value=D("0.01"), max_value=5000, places=2), max_size=5))))
    starts = [D(0), *edges]
    ends: list[Decimal | None] = [*edges, None]
    if draw(st.booleans()):  # a finite last end: usage past it is still priced by the last tier
        ends[-1] = starts[-1] + draw(st.decimals(min_value=D("0.01"), max_value=500, places=2))
    tier_prices = draw(st.lists(prices, min_size=len(starts), max_size=len(starts)))
    return {"tiers": [{"start": s, "end": e, "price": p} for s, e, p in zip(starts, ends, tier_prices, strict=True)]}


@st.composite
def near_edges(draw: st.DrawFn, edges: list[Decimal]) -> Decimal:
    """A usage level: exactly on an edge, a hair either side of one, or anywhere up to past the last edge."""
    anywhere = st.decimals(min_value=0, max_value=(edges[-1] + 100), places=3)
    on_edge = st.sampled_from(edges)
    hair = st.sampled_from([D("-0.001"), D("0.001"), D("-0.01"), D("0.01")])
    kind = draw(st.sampled_from(["edge", "edge", "near", "anywhere"]))
    if kind == "anywhere":
        return draw(anywhere)
    edge = draw(on_edge)
    return edge if kind == "edge" else max(D(0), edge + draw(hair))


@st.composite
def tiered_cases(draw: st.DrawFn) -> tuple[dict[str, Any], Decimal, Decimal]:
    details = draw(tier_tables())
    edges = sorted({D(0), *(t["start"] for t in details["tiers"]), *(t["end"] for t in details["tiers"] if t["end"])})
    a, b = draw(near_edges(edges)), draw(near_edges(edges))
    prior, end = min(a, b), max(a, b)  # the period so far ends on or near an edge, and so may the earlier part
    if draw(st.booleans()):
        prior = D(0)
    return details, end - prior, prior


@st.composite
def package_cases(draw: st.DrawFn) -> tuple[dict[str, Any], Decimal, Decimal]:
    size = draw(st.one_of(st.decimals(min_value=D("0.001"), max_value=1000, places=3), st.sampled_from([D(1), D(3)])))
    price = draw(prices)
    multiples = [size * k for k in range(6)]
    a, b = draw(near_edges(multiples)), draw(near_edges(multiples))
    prior, end = min(a, b), max(a, b)
    if draw(st.booleans()):
        prior = D(0)
    return {"package_size": size, "package_price": price}, end - prior, prior


def rated(pricing_type: str, details: dict[str, Any], usage: Decimal, prior: Decimal, currency: str) -> Line:
    line = rate(
        parse_pricing(pricing_type, details), usage=usage, slice=FULL_PERIOD, currency=currency, prior_usage=prior
    )
    assert line is not None
    return line


@REFERENCE
@given(case=tiered_cases(), currency=currencies)
def test_tiered_equals_reference(case: tuple[dict[str, Any], Decimal, Decimal], currency: str) -> None:
    details, usage, prior = case
    line = rated("tiered", details, usage, prior, currency)
    assert_line_equals(line, reference("tiered", details, usage, prior, currency), currency)


@REFERENCE
@given(case=tiered_cases(), currency=currencies)
def test_volume_equals_reference(case: tuple[dict[str, Any], Decimal, Decimal], currency: str) -> None:
    details, usage, prior = case
    line = rated("volume", details, usage, prior, currency)
    assert_line_equals(line, reference("volume", details, usage, prior, currency), currency)


@REFERENCE
@given(case=package_cases(), currency=currencies)
def test_package_equals_reference(case: tuple[dict[str, Any], Decimal, Decimal], currency: str) -> None:
    details, usage, prior = case
    line = rated("package", details, usage, prior, currency)
    assert_line_equals(line, reference("package", details, usage, prior, currency), currency)


# --- the same on hand-picked edges, written out ---------------------------------------------------------------------

GRADUATED = {
    "tiers": [
        {"start": 0, "end": 100, "price": "0.10"},
        {"start": 100, "end": 1000, "price": "0.08"},
        {"start": 1000, "end": 2000, "price": "0.05"},
    ]
}


def test_graduated_on_and_across_tier_edges_written_out() -> None:
    # usage exactly up to an edge: all of tier 1, none of tier 2
    line = rated("tiered", GRADUATED, D(100), D(0), "USD")
    assert (line.quantity, line.unit_price, line.amount) == (D(100), D("0.1"), D("10.00"))
    # one unit past the edge is priced by the next tier
    line = rated("tiered", GRADUATED, D(101), D(0), "USD")
    assert (line.quantity, line.unit_price, line.amount) == (D(101), D("0.099801980198"), D("10.08"))
    # prior usage ends on an edge: the next part starts in tier 2
    line = rated("tiered", GRADUATED, D(900), D(100), "USD")
    assert (line.quantity, line.unit_price, line.amount) == (D(900), D("0.08"), D("72.00"))
    # past the finite end of the last tier: still the last tier's price
    line = rated("tiered", GRADUATED, D(1000), D(2000), "USD")
    assert (line.quantity, line.unit_price, line.amount) == (D(1000), D("0.05"), D("50.00"))
    # a line's unit price is amount / quantity to 12 places, never the amount
    line = rated("tiered", GRADUATED, D(3), D(0), "USD")
    assert (line.quantity, line.unit_price, line.amount) == (D(3), D("0.1"), D("0.30"))


def test_package_unit_price_is_amount_per_unit_written_out() -> None:
    details = {"package_size": 10, "package_price": "5"}
    line = rated("package", details, D(11), D(0), "USD")  # 2 packages
    assert (line.quantity, line.unit_price, line.amount) == (D(11), D("0.909090909091"), D("10.00"))
    line = rated("package", details, D(9), D(11), "USD")  # to 20: still 2 packages, nothing more to pay
    assert (line.quantity, line.unit_price, line.amount) == (D(9), D(0), D("0.00"))
    line = rated("package", details, D(1), D(20), "USD")  # the 21st unit opens a third package
    assert (line.quantity, line.unit_price, line.amount) == (D(1), D(5), D("5.00"))
    line = rated("package", details, D(0), D(20), "USD")  # no usage: the unit price is the (zero) amount
    assert (line.quantity, line.unit_price, line.amount) == (D(0), D(0), D("0.00"))


def test_volume_unit_price_is_the_tier_price_of_the_period_so_far() -> None:
    details = {"tiers": [{"start": 0, "end": 100, "price": "0.10"}, {"start": 100, "price": "0.08"}]}
    line = rated("volume", details, D(100), D(0), "USD")  # exactly on the edge: the upper tier prices everything
    assert (line.quantity, line.unit_price, line.amount) == (D(100), D("0.08"), D("8.00"))
    line = rated("volume", details, D(1), D(99), "USD")  # 100 x 0.08 = 8.00 less 99 x 0.10 = 9.90 billed earlier
    assert (line.quantity, line.unit_price, line.amount) == (D(1), D("0.08"), D("-1.90"))
