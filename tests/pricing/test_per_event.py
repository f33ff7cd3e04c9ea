"""The per-event charges themselves (fubble.pricing.per_event): what ``percentage_charge`` counts and keeps apart,
and the events it refuses. The lines built from them are checked in ``test_charge_models.py``."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from fubble.pricing import EventAmountPricing, EventValue, PercentagePricing, parse_pricing
from fubble.pricing.per_event import PercentageCharge, event_amounts, percentage_charge

D = Decimal


def percentage(**details: object) -> PercentagePricing:
    model = parse_pricing("percentage", details)
    assert isinstance(model, PercentagePricing)
    return model


def events(*quantities: object) -> list[EventValue]:
    return [EventValue(D(str(q))) for q in quantities]


def test_events_billed_earlier_are_charged_apart() -> None:
    model = percentage(rate=10, fixed_amount="0.5", free_units_per_events=1)
    # 10 is free, 20 was billed earlier (2 + 0.5), 30 is billed now (3 + 0.5)
    assert percentage_charge(model, events(10, 20, 30), skip=2) == PercentageCharge(
        total=Fraction(7, 2),
        earlier=Fraction(5, 2),
        paid_events=1,
        free_events=0,
        paid_volume=Fraction(30),
        raised=0,
        cut=0,
    )
    assert percentage_charge(model, events(10, 20), skip=2).earlier == Fraction(5, 2)


def test_the_volume_allowance_ends_when_exactly_used_up() -> None:
    model = percentage(rate=1, fixed_amount="0.5", free_units_per_total_aggregation=200)
    # 150 and 50 use up the 200: the allowance is over, so an event of 0 after them pays the fixed amount
    result = percentage_charge(model, events(150, 50, 0))
    assert (result.total, result.free_events, result.paid_events) == (Fraction(1, 2), 2, 1)


def test_a_charge_exactly_at_a_bound_is_neither_raised_nor_cut() -> None:
    model = percentage(rate=10, per_transaction_min_amount=1, per_transaction_max_amount=3)
    assert percentage_charge(model, events(10, 30)) == PercentageCharge(
        total=Fraction(4), earlier=Fraction(0), paid_events=2, free_events=0, paid_volume=Fraction(40), raised=0, cut=0
    )


NOT_FINITE_DECIMALS = [True, 1.5, "1", D("NaN"), D("-Infinity")]


@pytest.mark.parametrize("value", NOT_FINITE_DECIMALS)
def test_an_event_quantity_must_be_a_finite_decimal(value: object) -> None:
    with pytest.raises(TypeError) as exc:
        percentage_charge(percentage(rate=1), [EventValue(value)])  # type: ignore[arg-type]
    assert str(exc.value) == f"an event quantity must be a finite Decimal, got {value!r}"


@pytest.mark.parametrize("value", NOT_FINITE_DECIMALS)
def test_an_event_amount_must_be_a_finite_decimal(value: object) -> None:
    model = parse_pricing("event_amount", {"amount_property": "cost"})
    assert isinstance(model, EventAmountPricing)
    with pytest.raises(TypeError) as exc:
        event_amounts(model, [EventValue(D(1), D(1)), EventValue(D(1), value)])  # type: ignore[arg-type]
    assert str(exc.value) == f"an event amount must be a finite Decimal, got {value!r}"
    assert event_amounts(model, [EventValue(D(1), 2), EventValue(D(1), None)]) == (Fraction(2), 1)  # an int is fine
