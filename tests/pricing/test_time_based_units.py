"""``time_based`` with events in another unit than the price (``event_unit``): exact conversion, one rounding."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D
from typing import Any

import pytest

from fubble.errors import InvalidInput
from fubble.pricing import Line, Slice, parse_pricing, rate

JAN = Slice(
    datetime(2024, 1, 1, tzinfo=UTC),
    datetime(2024, 2, 1, tzinfo=UTC),
    datetime(2024, 1, 1, tzinfo=UTC),
    datetime(2024, 2, 1, tzinfo=UTC),
)


def line(details: dict[str, Any], usage: str | int, currency: str = "USD") -> Line:
    result = rate(parse_pricing("time_based", details), usage=D(usage), slice=JAN, currency=currency)
    assert result is not None
    return result


@pytest.mark.parametrize(
    ("details", "usage", "currency", "amount", "quantity"),
    [
        # 5,400 seconds on a plan priced 2.50 an hour: 1.5 hours = 3.75 (not 5,400 x 2.50 = 13,500.00).
        ({"rate_per_unit": "2.50", "unit": "hour", "event_unit": "second"}, 5400, "USD", "3.75", "1.5"),
        # 3,599 seconds: 2.50 x 3599/3600 = 2.499305... -> 2.50.
        ({"rate_per_unit": "2.50", "unit": "hour", "event_unit": "second"}, 3599, "USD", "2.50", "0.999722222222"),
        # 1 second: 2.50/3600 = 0.000694... -> 0.00; the quantity 1/3600 shown to 12 places.
        ({"rate_per_unit": "2.50", "unit": "hour", "event_unit": "second"}, 1, "USD", "0.00", "0.000277777778"),
        # 20 minutes at 0.015 an hour is exactly 0.005 -> 0.01 (a third truncated to 28 digits would give 0.00).
        ({"rate_per_unit": "0.015", "unit": "hour", "event_unit": "minute"}, 20, "USD", "0.01", "0.333333333333"),
        # 36 hours at 24.00 a day: 1.5 days = 36.00.
        ({"rate_per_unit": 24, "unit": "day", "event_unit": "hour"}, 36, "USD", "36.00", "1.5"),
        # Events in days on a per-second price: 2 days = 172,800 seconds x 0.0001 = 17.28.
        ({"rate_per_unit": "0.0001", "unit": "second", "event_unit": "day"}, 2, "USD", "17.28", "172800"),
        # Fractional events: 90.5 seconds at 100 JPY a minute = 150.8333... -> 151 JPY.
        ({"rate_per_unit": 100, "unit": "minute", "event_unit": "second"}, "90.5", "JPY", "151", "1.508333333333"),
        # 45 minutes at 1.234 KWD an hour: 0.9255 -> 0.926 (half-up at the third place).
        ({"rate_per_unit": "1.234", "unit": "hour", "event_unit": "minute"}, 45, "KWD", "0.926", "0.75"),
        # event_unit equal to unit: no conversion.
        ({"rate_per_unit": "2.5", "unit": "hour", "event_unit": "hour"}, 5, "USD", "12.50", "5"),
    ],
)
def test_golden(details: dict[str, Any], usage: str | int, currency: str, amount: str, quantity: str) -> None:
    result = line(details, usage, currency)
    assert str(result.amount) == amount
    assert result.quantity == D(quantity)
    assert result.unit_price == D(str(details["rate_per_unit"]))


def test_detail_says_the_conversion() -> None:
    assert line({"rate_per_unit": "2.50", "unit": "hour", "event_unit": "second"}, 5400).detail == (
        "5400 second(s) = 1.5 hour(s) x 2.5"
    )
    assert line({"rate_per_unit": "2.50", "unit": "hour", "event_unit": "second"}, 1).detail == (
        "1 second(s) \N{ALMOST EQUAL TO} 0.000277777778 hour(s) x 2.5"
    )
    assert line({"rate_per_unit": "2.5", "unit": "hour"}, 5).detail == "5 hour(s) x 2.5"


def test_the_amount_uses_the_exact_quantity_not_the_shown_one() -> None:
    # 1,000,000,000 seconds = 277,777.777... hours; at 3,600 an hour that is exactly 1,000,000,000.00, whereas the
    # shown quantity 277777.777777777778 x 3600 would be 1,000,000,000.0000000000008.
    result = line({"rate_per_unit": 3600, "unit": "hour", "event_unit": "second"}, 10**9)
    assert result.amount == D("1000000000.00")
    assert result.quantity == D("277777.777777777778")


def test_event_unit_is_stored_only_when_given_and_validated() -> None:
    with_unit = parse_pricing("time_based", {"rate_per_unit": "2.5", "unit": "hour", "event_unit": "second"})
    assert with_unit.to_json() == {"rate_per_unit": D("2.5"), "unit": "hour", "event_unit": "second"}
    assert parse_pricing("time_based", {"rate_per_unit": "2.5", "unit": "hour"}).to_json() == {
        "rate_per_unit": D("2.5"),
        "unit": "hour",
    }
    with pytest.raises(InvalidInput) as exc:
        parse_pricing("time_based", {"rate_per_unit": 1, "unit": "hour", "event_unit": "fortnight"})
    assert [entry["loc"] for entry in exc.value.detail] == [["pricing_details", "event_unit"]]


@pytest.mark.parametrize(
    "details", [{"rate_per_unit": 2, "unit": "hour"}, {"rate_per_unit": 2, "unit": "hour", "event_unit": "hour"}]
)
def test_without_a_conversion_the_quantity_is_the_usage_itself(details: dict[str, Any]) -> None:
    """No unit to convert: the line shows U exactly as given, even past 12 decimal places (nothing is rounded but the
    amount)."""
    usage = "1.00000000000005"
    result = line(details, usage)
    assert (str(result.quantity), str(result.amount)) == (usage, "2.00")
