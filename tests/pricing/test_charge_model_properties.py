"""Properties of the issue-18 charge models, checked on generated input (hypothesis).

* Every model: a period billed in parts sums to exactly the one-part total.
* Additive models (grouping the events changes nothing but the rounding): ``event_amount``, and ``percentage``
  without free allowances (each event's charge, ``rate`` plus ``fixed_amount`` within the per-transaction bounds,
  depends on that event alone). Their exact charges add up over any partition of the events; the rounded group
  lines differ from the ungrouped line by at most half a minor unit per line (and not at all for event amounts
  already in the currency's minor units). ``percentage`` WITH allowances, the tier models and ``package`` are not
  additive (a group has its own allowances, tiers and packages).
* Monotone: ``tiered``, ``graduated_percentage`` and ``package`` never charge less for more usage; ``percentage``
  never charges less for a larger or an additional event.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fubble.pricing import (
    EventValue,
    GraduatedPercentagePricing,
    Line,
    PercentagePricing,
    PricingModel,
    TieredPricing,
    minor_unit_digits,
    parse_pricing,
    rate,
    round_money,
    split,
)
from fubble.pricing.per_event import percentage_charge

D = Decimal
PROPERTY = settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
FULL = split(
    datetime(2024, 1, 1, tzinfo=UTC), "monthly", datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC)
)[0]

currencies = st.sampled_from(["USD", "JPY", "KWD", "EUR"])
usages = st.decimals(min_value=0, max_value=50_000, places=3, allow_nan=False, allow_infinity=False)
money = st.decimals(min_value=0, max_value=50, places=3, allow_nan=False, allow_infinity=False)
quantities = st.decimals(min_value=0, max_value=5_000, places=2, allow_nan=False, allow_infinity=False)


@st.composite
def tiers(draw: st.DrawFn, price_key: str) -> dict[str, Any]:
    bounds = sorted(set(draw(st.lists(st.decimals(min_value=D("0.5"), max_value=20_000, places=1), max_size=3))))
    starts = [D(0), *bounds]
    ends: list[Decimal | None] = [*bounds, None]
    result = []
    for start, end in zip(starts, ends, strict=True):
        tier: dict[str, Any] = {"start": start, "end": end, price_key: draw(money)}
        if draw(st.booleans()):
            tier["flat_amount"] = draw(money)
        result.append(tier)
    return {"tiers": result}


@st.composite
def percentage_details(draw: st.DrawFn, allowances: bool = True) -> dict[str, Any]:
    details: dict[str, Any] = {"rate": draw(st.decimals(min_value=0, max_value=30, places=2))}
    if draw(st.booleans()):
        details["fixed_amount"] = draw(money)
    if allowances and draw(st.booleans()):
        details["free_units_per_events"] = draw(st.integers(min_value=0, max_value=6))
    if allowances and draw(st.booleans()):
        details["free_units_per_total_aggregation"] = draw(quantities)
    low = draw(st.one_of(st.none(), money))
    high = draw(st.one_of(st.none(), money))
    if low is not None and high is not None and low > high:
        low, high = high, low
    if low is not None:
        details["per_transaction_min_amount"] = low
    if high is not None:
        details["per_transaction_max_amount"] = high
    return details


event_lists = st.lists(quantities.map(EventValue), max_size=12)


def line(
    model: PricingModel,
    usage: Decimal = D(0),
    currency: str = "USD",
    *,
    prior: Decimal = D(0),
    billed: bool = False,
    events: list[EventValue] | None = None,
    prior_events: list[EventValue] | None = None,
) -> Line:
    result = rate(
        model,
        usage=usage,
        slice=FULL,
        currency=currency,
        prior_usage=prior,
        period_already_billed=billed,
        events=events,
        prior_events=prior_events or (),
    )
    assert result is not None
    assert result.amount.as_tuple().exponent == -minor_unit_digits(currency)
    return result


def cut(items: list[Any], cuts: list[int]) -> list[list[Any]]:
    points = sorted({min(c, len(items)) for c in cuts})
    bounds = [0, *points, len(items)]
    return [items[a:b] for a, b in itertools.pairwise(bounds)]


# --- a period billed in parts sums to the one-part total -----------------------------------------------------------


@PROPERTY
@given(
    pricing_type=st.sampled_from(["tiered", "volume", "graduated_percentage"]),
    data=st.data(),
    parts=st.lists(usages, min_size=1, max_size=4),
    currency=currencies,
)
def test_tiers_with_flat_amounts_billed_in_parts(
    pricing_type: str, data: st.DataObject, parts: list[Decimal], currency: str
) -> None:
    details = data.draw(tiers("rate" if pricing_type == "graduated_percentage" else "price"))
    model = parse_pricing(pricing_type, details)
    prior, charged = D(0), D(0)
    for index, usage in enumerate(parts):
        charged += line(model, usage, currency, prior=prior, billed=index > 0).amount
        prior += usage
    assert charged == line(model, prior, currency).amount


@PROPERTY
@given(
    size=st.decimals(min_value=D("0.5"), max_value=500, places=1),
    price=money,
    free=st.one_of(st.none(), usages),
    parts=st.lists(usages, min_size=1, max_size=4),
    currency=currencies,
)
def test_package_with_free_units_billed_in_parts(
    size: Decimal, price: Decimal, free: Decimal | None, parts: list[Decimal], currency: str
) -> None:
    details: dict[str, Any] = {"package_size": size, "package_price": price}
    if free is not None:
        details["free_units"] = free
    model = parse_pricing("package", details)
    prior, charged = D(0), D(0)
    for usage in parts:
        charged += line(model, usage, currency, prior=prior, billed=prior > 0).amount
        prior += usage
    total = line(model, prior, currency).amount
    assert charged == total
    if free is not None and prior <= free:
        assert total == 0


@PROPERTY
@given(
    details=percentage_details(), events=event_lists, cuts=st.lists(st.integers(0, 12), max_size=3), currency=currencies
)
def test_percentage_billed_in_parts(
    details: dict[str, Any], events: list[EventValue], cuts: list[int], currency: str
) -> None:
    model = parse_pricing("percentage", details)
    earlier: list[EventValue] = []
    charged = D(0)
    for part in cut(events, cuts):
        result = line(model, currency=currency, events=part, prior_events=earlier)
        assert result.quantity == sum((e.quantity for e in part), D(0))
        charged += result.amount
        earlier += part
    assert charged == line(model, currency=currency, events=events).amount


amounts = st.one_of(st.none(), st.decimals(min_value=-100, max_value=100, places=4, allow_nan=False))


@PROPERTY
@given(
    events=st.lists(amounts.map(lambda a: EventValue(D(1), a)), max_size=12),
    cuts=st.lists(st.integers(0, 12), max_size=3),
    currency=currencies,
)
def test_event_amount_billed_in_parts(events: list[EventValue], cuts: list[int], currency: str) -> None:
    model = parse_pricing("event_amount", {"amount_property": "cost"})
    earlier: list[EventValue] = []
    charged = D(0)
    for part in cut(events, cuts):
        charged += line(model, D(len(part)), currency, events=part, prior_events=earlier).amount
        earlier += part
    exact = sum((Fraction(e.amount) for e in events if e.amount is not None), Fraction(0))
    assert charged == line(model, D(len(events)), currency, events=events).amount == round_money(exact, currency)


# --- additive models: grouped lines sum to the ungrouped charge ----------------------------------------------------


@PROPERTY
@given(
    details=percentage_details(allowances=False),
    events=event_lists,
    groups=st.lists(st.integers(0, 3), min_size=12, max_size=12),
    currency=currencies,
)
def test_percentage_without_allowances_is_additive(
    details: dict[str, Any], events: list[EventValue], groups: list[int], currency: str
) -> None:
    model = parse_pricing("percentage", details)
    assert isinstance(model, PercentagePricing)
    grouped: dict[int, list[EventValue]] = {}
    for event, group in zip(events, groups, strict=False):
        grouped.setdefault(group, []).append(event)
    exact = sum((percentage_charge(model, part).total for part in grouped.values()), Fraction(0))
    assert exact == percentage_charge(model, events).total
    lines = sum((line(model, currency=currency, events=part).amount for part in grouped.values()), D(0))
    whole = line(model, currency=currency, events=events).amount
    assert abs(Fraction(lines - whole)) <= Fraction(len(grouped), 2 * 10 ** minor_unit_digits(currency))


@PROPERTY
@given(
    data=st.data(),
    groups=st.lists(st.integers(0, 3), min_size=12, max_size=12),
    currency=currencies,
)
def test_event_amounts_in_minor_units_are_additive(data: st.DataObject, groups: list[int], currency: str) -> None:
    places = minor_unit_digits(currency)
    amount = st.decimals(min_value=-100, max_value=100, places=places, allow_nan=False)
    events = data.draw(st.lists(st.one_of(st.none(), amount).map(lambda a: EventValue(D(1), a)), max_size=12))
    model = parse_pricing("event_amount", {"amount_property": "cost"})
    grouped: dict[int, list[EventValue]] = {}
    for event, group in zip(events, groups, strict=False):
        grouped.setdefault(group, []).append(event)
    lines = [line(model, D(len(part)), currency, events=part).amount for part in grouped.values()]
    assert sum(lines, D(0)) == line(model, D(len(events)), currency, events=events).amount


def test_percentage_with_allowances_is_not_additive() -> None:
    model = parse_pricing("percentage", {"rate": 10, "free_units_per_events": 1})
    events = [EventValue(D(100)), EventValue(D(100))]
    whole = line(model, events=events).amount
    grouped = line(model, events=events[:1]).amount + line(model, events=events[1:]).amount
    assert (whole, grouped) == (D("10.00"), D("0.00"))  # each group has its own free event


# --- monotone ------------------------------------------------------------------------------------------------------


@PROPERTY
@given(
    pricing_type=st.sampled_from(["tiered", "graduated_percentage"]),
    data=st.data(),
    a=usages,
    b=usages,
    currency=currencies,
)
def test_graduated_models_are_monotone(
    pricing_type: str, data: st.DataObject, a: Decimal, b: Decimal, currency: str
) -> None:
    model = parse_pricing(pricing_type, data.draw(tiers("rate" if pricing_type == "graduated_percentage" else "price")))
    low, high = sorted((a, b))
    assert line(model, low, currency).amount <= line(model, high, currency).amount
    assert isinstance(model, TieredPricing | GraduatedPercentagePricing)
    flat = model.tiers[0].flat_amount or D(0)
    assert line(model, D(0), currency).amount == round_money(flat, currency)


@PROPERTY
@given(
    size=st.decimals(min_value=D("0.5"), max_value=500, places=1),
    price=money,
    free=usages,
    a=usages,
    b=usages,
)
def test_package_is_monotone(size: Decimal, price: Decimal, free: Decimal, a: Decimal, b: Decimal) -> None:
    model = parse_pricing("package", {"package_size": size, "package_price": price, "free_units": free})
    low, high = sorted((a, b))
    assert line(model, low).amount <= line(model, high).amount


@PROPERTY
@given(details=percentage_details(), events=event_lists, index=st.integers(0, 11), extra=quantities)
def test_percentage_is_monotone(details: dict[str, Any], events: list[EventValue], index: int, extra: Decimal) -> None:
    model = parse_pricing("percentage", details)
    assert isinstance(model, PercentagePricing)
    before = percentage_charge(model, events).total
    assert before >= 0
    assert percentage_charge(model, [*events, EventValue(extra)]).total >= before
    if events:
        bigger = list(events)
        position = index % len(events)
        bigger[position] = EventValue(bigger[position].quantity + extra)
        assert percentage_charge(model, bigger).total >= before


# --- percentage: the allowances, checked against their plain statements ------------------------------------------


@PROPERTY
@given(
    rate_=st.decimals(min_value=0, max_value=30, places=2),
    free_volume=quantities,
    events=event_lists,
)
def test_percentage_volume_allowance_alone(rate_: Decimal, free_volume: Decimal, events: list[EventValue]) -> None:
    model = PercentagePricing(rate=rate_, free_units_per_total_aggregation=free_volume)
    volume = sum((Fraction(e.quantity) for e in events), Fraction(0))
    result = percentage_charge(model, events)
    assert result.paid_volume == (max(volume - Fraction(free_volume), Fraction(0)) if free_volume else volume)
    assert result.total == result.paid_volume * Fraction(rate_) / 100


@PROPERTY
@given(
    fixed=money,
    free_events=st.integers(min_value=1, max_value=6),
    events=event_lists,
)
def test_percentage_event_allowance_alone(fixed: Decimal, free_events: int, events: list[EventValue]) -> None:
    model = PercentagePricing(rate=D(1), fixed_amount=fixed, free_units_per_events=free_events)
    paid = events[free_events:]
    result = percentage_charge(model, events)
    assert (result.free_events, result.paid_events) == (min(free_events, len(events)), len(paid))
    assert result.total == sum((Fraction(e.quantity) / 100 + Fraction(fixed) for e in paid), Fraction(0))
