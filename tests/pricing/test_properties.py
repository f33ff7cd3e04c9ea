"""Properties of the pricing core, checked on generated input (hypothesis)."""

from __future__ import annotations

import calendar
import itertools
import operator
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Context, Decimal, DivisionByZero, InvalidOperation, Overflow, localcontext
from fractions import Fraction
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fubble.errors import InvalidInput
from fubble.pricing import (
    BillingFrequency,
    Line,
    PricingModel,
    Slice,
    compile_formula,
    minor_unit_digits,
    parse_pricing,
    period_containing,
    period_start,
    rate,
    round_money,
    split,
)

D = Decimal
PROPERTY = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
FULL_PERIOD = split(
    datetime(2024, 1, 1, tzinfo=UTC), "monthly", datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC)
)[0]

currencies = st.sampled_from(["USD", "JPY", "KWD", "EUR", "CLF"])
usages = st.decimals(min_value=0, max_value=200_000, places=3, allow_nan=False, allow_infinity=False)
prices = st.decimals(min_value=0, max_value=5, places=4, allow_nan=False, allow_infinity=False)
frequencies = st.sampled_from(list(BillingFrequency))


@st.composite
def tier_details(draw: st.DrawFn) -> dict[str, Any]:
    bounds = sorted(set(draw(st.lists(st.decimals(min_value=D("0.5"), max_value=100_000, places=1), max_size=4))))
    starts = [D(0), *bounds]
    ends: list[Decimal | None] = [*bounds, None]
    if draw(st.booleans()):  # a finite last end
        ends[-1] = starts[-1] + draw(st.decimals(min_value=1, max_value=1000, places=0))
    tier_prices = draw(st.lists(prices, min_size=len(starts), max_size=len(starts)))
    return {"tiers": [{"start": s, "end": e, "price": p} for s, e, p in zip(starts, ends, tier_prices, strict=True)]}


def charge(model: PricingModel, usage: Decimal, currency: str = "USD", prior: Decimal = D(0)) -> Line:
    line = rate(model, usage=usage, slice=FULL_PERIOD, currency=currency, prior_usage=prior)
    assert line is not None
    for value in (line.quantity, line.unit_price, line.amount):
        assert type(value) is Decimal
    assert -line.amount.as_tuple().exponent == minor_unit_digits(currency)  # type: ignore[operator]
    return line


# --- money --------------------------------------------------------------------------------------------------------


@PROPERTY
@given(
    value=st.one_of(
        st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**30), max_value=10**30),
        st.fractions(max_denominator=10**9).filter(lambda f: abs(f) < 10**20),
        st.integers(min_value=-(10**30), max_value=10**30),
    ),
    currency=currencies,
)
def test_round_money_is_exact_half_up(value: Decimal | Fraction | int, currency: str) -> None:
    result = round_money(value, currency)
    digits = minor_unit_digits(currency)
    assert type(result) is Decimal
    assert result.as_tuple().exponent == -digits
    error = Fraction(result) - Fraction(value)
    half = Fraction(1, 2 * 10**digits)
    assert abs(error) <= half
    if abs(error) == half:  # a tie moves away from zero
        assert abs(Fraction(result)) > abs(Fraction(value))


# --- tiers, volume, package ---------------------------------------------------------------------------------------


@PROPERTY
@given(details=tier_details(), usage=usages, currency=currencies)
def test_graduated_total_at_most_usage_times_max_price(details: dict[str, Any], usage: Decimal, currency: str) -> None:
    model = parse_pricing("tiered", details)
    highest = max(Fraction(tier["price"]) for tier in details["tiers"])
    assert charge(model, usage, currency).amount <= round_money(Fraction(usage) * highest, currency)


@PROPERTY
@given(price=prices, usage=usages, prior=usages, currency=currencies)
def test_graduated_and_volume_agree_with_one_tier(
    price: Decimal, usage: Decimal, prior: Decimal, currency: str
) -> None:
    details = {"tiers": [{"start": 0, "end": None, "price": price}]}
    tiered = charge(parse_pricing("tiered", details), usage, currency, prior)
    volume = charge(parse_pricing("volume", details), usage, currency, prior)
    assert tiered.amount == volume.amount
    assert volume.amount == round_money(Fraction(prior + usage) * Fraction(price), currency) - round_money(
        Fraction(prior) * Fraction(price), currency
    )


@PROPERTY
@given(details=tier_details(), a=usages, b=usages)
def test_tiered_is_monotonic(details: dict[str, Any], a: Decimal, b: Decimal) -> None:
    model = parse_pricing("tiered", details)
    low, high = sorted((a, b))
    assert charge(model, low).amount <= charge(model, high).amount


@PROPERTY
@given(size=st.decimals(min_value=D("0.001"), max_value=1000, places=3), price=prices, a=usages, b=usages)
def test_package_is_monotonic(size: Decimal, price: Decimal, a: Decimal, b: Decimal) -> None:
    model = parse_pricing("package", {"package_size": size, "package_price": price})
    low, high = sorted((a, b))
    assert charge(model, low).amount <= charge(model, high).amount


@PROPERTY
@given(
    pricing=st.one_of(
        st.tuples(st.just("tiered"), tier_details()),
        st.tuples(st.just("volume"), tier_details()),
        st.tuples(
            st.just("package"),
            st.fixed_dictionaries(
                {"package_size": st.decimals(min_value=D("0.1"), max_value=500, places=1), "package_price": prices}
            ),
        ),
    ),
    parts=st.lists(usages, min_size=2, max_size=4),
    currency=currencies,
)
def test_billing_a_period_in_parts_sums_to_the_whole(
    pricing: tuple[str, dict[str, Any]], parts: list[Decimal], currency: str
) -> None:
    model = parse_pricing(*pricing)
    total = D(0)
    prior = D(0)
    for part in parts:
        total += charge(model, part, currency, prior).amount
        prior += part
    assert total == charge(model, prior, currency).amount


# --- periods ------------------------------------------------------------------------------------------------------


def _late_day(year: int, month: int, day: int, seconds: int) -> datetime:
    """Day 28..31 of the month, clamped to its length: anchors on days 28, 29, 30 and 31 are all generated."""
    day = min(day, calendar.monthrange(year, month)[1])
    return datetime(year, month, day, tzinfo=UTC) + timedelta(seconds=seconds)


anchors = st.one_of(
    st.datetimes(min_value=datetime(1950, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
    st.builds(_late_day, st.integers(1950, 2100), st.integers(1, 12), st.integers(28, 31), st.integers(0, 86_399)),
)
instants = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2150, 1, 1), timezones=st.just(UTC))


@PROPERTY
@given(anchor=anchors, frequency=frequencies, t=instants)
def test_period_containing_contains_t_and_periods_tile(
    anchor: datetime, frequency: BillingFrequency, t: datetime
) -> None:
    start, end = period_containing(anchor, frequency, t)
    assert start <= t < end
    assert period_containing(anchor, frequency, end)[0] == end  # the next period starts where this one ends
    assert period_containing(anchor, frequency, start - timedelta(microseconds=1))[1] == start  # and the previous
    assert (start.hour, start.minute, start.second, start.microsecond) == (
        anchor.hour,
        anchor.minute,
        anchor.second,
        anchor.microsecond,
    )
    assert start.day == anchor.day or (start.day < anchor.day and (start + timedelta(days=1)).day == 1)


@PROPERTY
@given(anchor=anchors, frequency=frequencies, k=st.integers(-300, 300))
def test_period_start_keeps_anchor_day(anchor: datetime, frequency: BillingFrequency, k: int) -> None:
    start = period_start(anchor, frequency, k)
    months = (start.year - anchor.year) * 12 + start.month - anchor.month
    assert months == k * frequency.months
    assert period_containing(anchor, frequency, start) == (start, period_start(anchor, frequency, k + 1))


@PROPERTY
@given(
    anchor=anchors,
    frequency=frequencies,
    k=st.integers(-30, 30),
    cuts=st.lists(st.fractions(min_value=0, max_value=1), max_size=5),
    amount=st.decimals(min_value=0, max_value=100_000, places=4),
    currency=currencies,
)
def test_proration_over_a_split_period(
    anchor: datetime, frequency: BillingFrequency, k: int, cuts: list[Fraction], amount: Decimal, currency: str
) -> None:
    p_start, p_end = period_start(anchor, frequency, k), period_start(anchor, frequency, k + 1)
    length = (p_end - p_start) // timedelta(microseconds=1)
    points = sorted({p_start, p_end} | {p_start + timedelta(microseconds=int(c * length)) for c in cuts})
    slices: list[Slice] = []
    for left, right in itertools.pairwise(points):
        slices.extend(split(anchor, frequency, left, right))
    assert len(slices) == len(points) - 1
    assert all((s.period_start, s.period_end) == (p_start, p_end) for s in slices)
    assert sum(s.fraction for s in slices) == 1
    assert split(anchor, frequency, p_start, p_end)[0].is_full_period
    model = parse_pricing("subscription", {"amount": amount})
    parts = [rate(model, usage=D(0), slice=s, currency=currency) for s in slices]
    whole = rate(model, usage=D(0), slice=split(anchor, frequency, p_start, p_end)[0], currency=currency)
    assert whole is not None and all(part is not None for part in parts)
    quantum = D(1).scaleb(-minor_unit_digits(currency))
    assert abs(sum(part.amount for part in parts if part is not None) - whole.amount) <= quantum * len(slices)


@PROPERTY
@given(anchor=anchors, frequency=frequencies, start=instants, length=st.integers(0, 10**15))
def test_split_covers_the_window_exactly(
    anchor: datetime, frequency: BillingFrequency, start: datetime, length: int
) -> None:
    end = start + timedelta(microseconds=length)
    slices = split(anchor, frequency, start, end)
    if length == 0:
        assert slices == []
        return
    assert slices[0].start == start and slices[-1].end == end
    for before, after in itertools.pairwise(slices):
        assert before.end == after.start == before.period_end == after.period_start
    assert all(s.period_start <= s.start < s.end <= s.period_end for s in slices)


# --- formulas -----------------------------------------------------------------------------------------------------

REFERENCE = Context(
    prec=34, rounding=ROUND_HALF_EVEN, Emax=9999, Emin=-9999, traps=[InvalidOperation, DivisionByZero, Overflow]
)
Tree = tuple[Any, ...]
literals = st.decimals(min_value=-(10**6), max_value=10**6, places=3).map(lambda d: abs(d))
VARIABLES = ["a", "b", "usage", "never_set"]
leaves = st.one_of(literals.map(lambda d: ("num", d)), st.sampled_from(VARIABLES).map(lambda n: ("var", n)))
BINARY: dict[str, Callable[[Decimal, Decimal], Decimal]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
}


def _extend(children: st.SearchStrategy[Tree]) -> st.SearchStrategy[Tree]:
    return st.one_of(
        st.tuples(st.just("bin"), st.sampled_from(sorted(BINARY)), children, children),
        st.tuples(st.just("neg"), children),
        st.tuples(st.just("call"), st.sampled_from(["min", "max"]), st.lists(children, min_size=2, max_size=4)),
        st.tuples(st.just("abs"), children),
    )


no_power_trees = st.recursive(leaves, _extend, max_leaves=6)
trees = st.recursive(
    leaves,
    lambda children: st.one_of(_extend(children), st.tuples(st.just("pow"), no_power_trees, st.integers(0, 4))),
    max_leaves=12,
)


def render(tree: Tree) -> str:
    kind = tree[0]
    if kind == "num":
        return format(tree[1], "f")
    if kind == "var":
        return str(tree[1])
    if kind == "bin":
        return f"({render(tree[2])} {tree[1]} {render(tree[3])})"
    if kind == "neg":
        return f"(-{render(tree[1])})"
    if kind == "call":
        return f"{tree[1]}({', '.join(render(arg) for arg in tree[2])})"
    if kind == "abs":
        return f"abs({render(tree[1])})"
    return f"(({render(tree[1])}) ** {tree[2]})"


def reference(tree: Tree, env: dict[str, Decimal]) -> Decimal:
    kind = tree[0]
    if kind == "num":
        return D(format(tree[1], "f"))
    if kind == "var":
        return env.get(tree[1], D(0))
    if kind == "bin":
        left, right = reference(tree[2], env), reference(tree[3], env)
        if tree[1] == "/" and right == 0:
            raise ZeroDivisionError
        return BINARY[tree[1]](left, right)
    if kind == "neg":
        return -reference(tree[1], env)
    if kind == "call":
        values = [reference(arg, env) for arg in tree[2]]
        return min(values) if tree[1] == "min" else max(values)
    if kind == "abs":
        return abs(reference(tree[1], env))
    base = reference(tree[1], env)
    return D(1) if tree[2] == 0 else base ** tree[2]


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=trees, a=literals, b=literals, usage=usages)
def test_formula_equals_direct_decimal_computation(tree: Tree, a: Decimal, b: Decimal, usage: Decimal) -> None:
    text = render(tree)
    try:
        formula = compile_formula(text)
    except InvalidInput as exc:  # generated too deep or too big: not what this property is about
        message = exc.detail[0]["msg"]
        assume("deeper" not in message and "complex" not in message)
        raise
    env = {"a": a, "b": -b, "usage": usage}
    try:
        with localcontext(REFERENCE):
            expected: Decimal | None = reference(tree, env)
    except ArithmeticError:
        expected = None
    if expected is None:
        try:
            formula.evaluate(env)
        except InvalidInput:
            return
        raise AssertionError(f"{text} should have failed")
    result = formula.evaluate(env)
    assert type(result) is Decimal
    assert result == expected and str(result) == str(expected), text
