"""Fixed fees billed in advance (fubble.pricing.fees): the split of a component, and the credit of unused time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fubble.pricing.fees import fee_part, is_fee_only, unused_credit, usage_part
from fubble.pricing.models import (
    FlatPricing,
    SubscriptionPricing,
    TieredPricing,
    UsageBasedSubscriptionPricing,
    parse_pricing,
)
from fubble.pricing.periods import Slice
from fubble.pricing.rating import Line, rate

PROPERTY = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
APRIL = (datetime(2024, 4, 1, tzinfo=UTC), datetime(2024, 5, 1, tzinfo=UTC))
TIERED = parse_pricing("tiered", {"tiers": [{"start": 0, "end": None, "price": "0.01"}]})


def _slice(start_day: int, end_day: int) -> Slice:
    start, end = APRIL[0] + timedelta(days=start_day), APRIL[0] + timedelta(days=end_day)
    return Slice(*APRIL, start, end)


def test_the_split_of_each_kind_of_component() -> None:
    flat, fee = FlatPricing(amount=Decimal(10)), SubscriptionPricing(amount=Decimal(30))
    base = UsageBasedSubscriptionPricing(base_fee=Decimal(30), usage_price=Decimal("0.5"))
    assert (fee_part(flat), usage_part(flat)) == (flat, None)
    assert (fee_part(fee), usage_part(fee)) == (fee, None)
    assert fee_part(base) == SubscriptionPricing(amount=Decimal(30))
    assert usage_part(base) == UsageBasedSubscriptionPricing(base_fee=Decimal(0), usage_price=Decimal("0.5"))
    assert (fee_part(TIERED), usage_part(TIERED)) == (None, TIERED)
    assert [is_fee_only(m) for m in (flat, fee, base, TIERED)] == [True, True, False, False]
    assert isinstance(TIERED, TieredPricing)


def test_golden_credits() -> None:
    fee = SubscriptionPricing(amount=Decimal("31.00"))
    # cancelled on Apr 8: 23 of April's 30 days unused, 31.00 x 23/30 = 23.7666... -> 23.77
    credit = unused_credit(fee, _slice(7, 30), "USD", replaced=False)
    assert credit == Line(
        Decimal(-1), Decimal("31.00"), Decimal("-23.77"), "unused 23/30 of the period, paid in advance, credited"
    )
    flat = FlatPricing(amount=Decimal("25.00"))
    assert unused_credit(flat, _slice(7, 30), "USD", replaced=False) is None  # a flat fee is never prorated
    replaced = unused_credit(flat, _slice(7, 30), "USD", replaced=True)  # the new plan charges its own flat fee
    detail = "flat fee credited: the new plan charges this period's flat fee"
    assert replaced == Line(Decimal(-1), Decimal("25.00"), Decimal("-25.00"), detail)
    yen = unused_credit(SubscriptionPricing(amount=Decimal(1000)), _slice(15, 30), "JPY", replaced=False)
    assert yen is not None and yen.amount == Decimal(-500)


@PROPERTY
@given(
    fee=st.decimals(min_value=0, max_value=10**6, places=2),
    cut=st.integers(min_value=1, max_value=29),
)
def test_the_lived_part_and_the_credit_make_the_whole_fee_to_the_cent(fee: Decimal, cut: int) -> None:
    model = SubscriptionPricing(amount=fee)
    whole = rate(model, usage=Decimal(0), slice=_slice(0, 30), currency="USD")
    lived = rate(model, usage=Decimal(0), slice=_slice(0, cut), currency="USD")
    credit = unused_credit(model, _slice(cut, 30), "USD", replaced=False)
    assert whole is not None and lived is not None and credit is not None
    # each side rounds once, half-up: together they miss the whole fee by at most one cent
    assert abs(whole.amount - (lived.amount - credit.amount)) <= Decimal("0.01")
    assert credit.amount <= 0


@PROPERTY
@given(
    base=st.decimals(min_value=0, max_value=10**5, places=2),
    price=st.decimals(min_value=0, max_value=100, places=4),
    usage=st.decimals(min_value=0, max_value=10**6, places=3),
    days=st.integers(min_value=1, max_value=30),
)
def test_a_usage_based_subscription_split_in_two_charges_what_it_charges_whole(
    base: Decimal, price: Decimal, usage: Decimal, days: int
) -> None:
    model = UsageBasedSubscriptionPricing(base_fee=base, usage_price=price)
    part = _slice(0, days)
    whole = rate(model, usage=usage, slice=part, currency="USD")
    ahead = fee_part(model)
    after = usage_part(model)
    assert ahead is not None and after is not None
    fee_line = rate(ahead, usage=Decimal(0), slice=part, currency="USD")
    usage_line = rate(after, usage=usage, slice=part, currency="USD")
    assert whole is not None and fee_line is not None and usage_line is not None
    assert abs(whole.amount - (fee_line.amount + usage_line.amount)) <= Decimal("0.01")
    assert usage_line.quantity == usage
