"""Billing periods at the ends of the calendar, and what a bad period input is told.

Which period a moment falls in decides what usage an invoice bills, so the index must be right even where a
miscounted estimate would step outside years 1..9999.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal

import pytest

from fubble.errors import InvalidInput
from fubble.pricing import minor_unit_digits, period_containing, period_start, round_money


def utc(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def test_periods_in_the_first_and_last_calendar_year() -> None:
    # t before the anchor in the last year: eleven periods back, not eleven forward past 9999
    assert period_containing(utc(9999, 12, 1), "monthly", utc(9999, 1, 15)) == (utc(9999, 1, 1), utc(9999, 2, 1))
    # a day before the anchor in year 1: the period before, which still starts in year 1
    assert period_containing(utc(1, 2, 15), "monthly", utc(1, 2, 10)) == (utc(1, 1, 15), utc(1, 2, 15))
    # exactly at the anchor: period 0, never a look at period -1 (which would be in year 0)
    assert period_containing(utc(1, 1, 1), "monthly", utc(1, 1, 1)) == (utc(1, 1, 1), utc(1, 2, 1))
    assert period_containing(utc(1, 1, 1), "yearly", utc(1, 12, 31)) == (utc(1, 1, 1), utc(2, 1, 1))
    # exactly at a later period start: that period (half-open periods)
    assert period_containing(utc(2024, 1, 31), "monthly", utc(2024, 2, 29)) == (utc(2024, 2, 29), utc(2024, 3, 31))


def test_out_of_range_periods_are_refused_with_a_location() -> None:
    with pytest.raises(InvalidInput) as exc:
        period_start(utc(9999, 12, 1), "monthly", 1)
    assert exc.value.detail == [
        {
            "loc": ["period"],
            "msg": "billing period 1 of 9999-12-01T00:00:00+00:00 is outside years 1..9999",
            "type": "value_error",
        }
    ]


def test_unknown_frequency_names_the_valid_ones() -> None:
    with pytest.raises(InvalidInput) as exc:
        period_start(utc(2024, 1, 1), "weekly", 0)
    assert exc.value.detail == [
        {
            "loc": ["billing_frequency"],
            "msg": "unknown billing frequency 'weekly'; expected one of monthly, quarterly, yearly",
            "type": "value_error",
        }
    ]


class NoOffset(tzinfo):
    """A time zone that does not know its offset: as unusable as none."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str | None:
        return None


def test_times_must_be_aware_and_are_named() -> None:
    naive = datetime(2024, 1, 1)
    with pytest.raises(ValueError, match=r"^anchor must be a timezone-aware \(UTC\) datetime, got naive"):
        period_start(naive, "monthly", 0)
    with pytest.raises(ValueError, match=r"^t must be a timezone-aware \(UTC\) datetime, got naive"):
        period_containing(utc(2024, 1, 1), "monthly", naive)
    with pytest.raises(ValueError, match=r"^t must be a timezone-aware"):
        period_containing(utc(2024, 1, 1), "monthly", datetime(2024, 1, 1, tzinfo=NoOffset()))


def test_money_input_messages() -> None:
    with pytest.raises(InvalidInput) as exc:
        minor_unit_digits("usd")
    assert exc.value.detail == [
        {"loc": ["currency"], "msg": "unknown currency 'usd': expected an ISO 4217 code", "type": "value_error"}
    ]
    with pytest.raises(TypeError, match=r"^expected Decimal, Fraction or int, got float$"):
        round_money(0.5, "USD")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^cannot round non-finite Decimal\('Infinity'\)$"):
        round_money(Decimal("Infinity"), "USD")
