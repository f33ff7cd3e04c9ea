"""Billing periods on a customer's local calendar: calendar anchors, DST, gaps and folds, and zone names.

Every boundary below is written out as the UTC instant it must be; the properties check the rules on random zones,
anchors and windows.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fubble.errors import InvalidInput
from fubble.pricing import (
    BillingFrequency,
    calendar_anchor,
    local_date_label,
    period_containing,
    period_start,
    split,
    zone,
)

PROPERTY = settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
ZONES = ["UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata", "America/Santiago"]
NY, BERLIN = "America/New_York", "Europe/Berlin"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def local(tz: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(tz)).astimezone(UTC)


# --- golden cases -------------------------------------------------------------------------------------------------


def test_calendar_anchor_is_local_midnight_of_2000() -> None:
    assert calendar_anchor() == utc(2000, 1, 1)
    assert calendar_anchor("UTC") == utc(2000, 1, 1)
    assert calendar_anchor(NY) == utc(2000, 1, 1, 5)
    assert calendar_anchor(BERLIN) == utc(1999, 12, 31, 23)
    assert calendar_anchor("Asia/Kolkata") == utc(1999, 12, 31, 18, 30)
    assert calendar_anchor(NY).tzinfo is UTC


def test_new_york_months_stay_at_local_midnight_across_dst() -> None:
    anchor = calendar_anchor(NY)
    # DST starts 2024-03-10: March starts at EST midnight and ends at EDT midnight, one hour short of 31 days
    march = period_containing(anchor, "monthly", utc(2024, 3, 15), tz=NY)
    assert march == (utc(2024, 3, 1, 5), utc(2024, 4, 1, 4))
    assert march[1] - march[0] == timedelta(days=31, hours=-1)
    # DST ends 2024-11-03: November is one hour longer than 30 days
    november = period_containing(anchor, "monthly", utc(2024, 11, 15), tz=NY)
    assert november == (utc(2024, 11, 1, 4), utc(2024, 12, 1, 5))
    assert november[1] - november[0] == timedelta(days=30, hours=1)
    assert all(t.tzinfo is UTC for t in (*march, *november))
    # the boundary instant belongs to the period it starts (half-open periods), one microsecond before to the last
    assert period_containing(anchor, "monthly", utc(2024, 4, 1, 4), tz=NY) == (utc(2024, 4, 1, 4), utc(2024, 5, 1, 4))
    before = utc(2024, 4, 1, 4) - timedelta(microseconds=1)
    assert period_containing(anchor, "monthly", before, tz=NY) == march
    # without the zone the same anchor gives periods at 05:00 UTC all year
    assert period_containing(anchor, "monthly", utc(2024, 3, 15)) == (utc(2024, 3, 1, 5), utc(2024, 4, 1, 5))


def test_berlin_march_and_its_23_hour_last_day() -> None:
    anchor = calendar_anchor(BERLIN)
    march = (utc(2024, 2, 29, 23), utc(2024, 3, 31, 22))
    assert period_containing(anchor, "monthly", utc(2024, 3, 10), tz=BERLIN) == march
    assert march[1] - march[0] == timedelta(hours=743)
    # local 2024-03-31 (clocks jump 02:00 -> 03:00) runs from 2024-03-30T23:00Z to 2024-03-31T22:00Z: 23 hours
    day_start, day_end = local(BERLIN, 2024, 3, 31), local(BERLIN, 2024, 4, 1)
    assert (day_start, day_end) == (utc(2024, 3, 30, 23), utc(2024, 3, 31, 22))
    [last_day] = split(anchor, "monthly", day_start, day_end, tz=BERLIN)
    assert (last_day.period_start, last_day.period_end) == march
    assert last_day.fraction == Fraction(23, 743)
    # a 24-hour local day of the same period is 24/743 of it
    [first_day] = split(anchor, "monthly", local(BERLIN, 2024, 3, 1), local(BERLIN, 2024, 3, 2), tz=BERLIN)
    assert first_day.fraction == Fraction(24, 743)
    assert first_day.start == first_day.period_start == utc(2024, 2, 29, 23)


def test_anniversary_anchor_keeps_local_time_and_day() -> None:
    anchor = local(NY, 2024, 1, 31, 9)  # 09:00 EST
    assert anchor == utc(2024, 1, 31, 14)
    assert period_start(anchor, "monthly", 0, tz=NY) == utc(2024, 1, 31, 14)
    assert period_start(anchor, "monthly", 1, tz=NY) == utc(2024, 2, 29, 14)  # Feb 29 09:00 EST
    assert period_start(anchor, "monthly", 2, tz=NY) == utc(2024, 3, 31, 13)  # Mar 31 09:00 EDT
    assert period_start(anchor, "monthly", 3, tz=NY) == utc(2024, 4, 30, 13)
    assert period_start(anchor, "monthly", -2, tz=NY) == utc(2023, 11, 30, 14)  # Nov 30 09:00 EST
    slices = split(anchor, "monthly", utc(2024, 2, 15), utc(2024, 4, 1), tz=NY)
    assert [(s.period_start, s.period_end, s.start, s.end) for s in slices] == [
        (utc(2024, 1, 31, 14), utc(2024, 2, 29, 14), utc(2024, 2, 15), utc(2024, 2, 29, 14)),
        (utc(2024, 2, 29, 14), utc(2024, 3, 31, 13), utc(2024, 2, 29, 14), utc(2024, 3, 31, 13)),
        (utc(2024, 3, 31, 13), utc(2024, 4, 30, 13), utc(2024, 3, 31, 13), utc(2024, 4, 1)),
    ]


def test_quarterly_and_yearly_calendar_periods_in_a_zone() -> None:
    ny = calendar_anchor(NY)
    quarters = [period_start(ny, "quarterly", k, tz=NY) for k in range(96, 101)]
    assert quarters == [
        utc(2024, 1, 1, 5),
        utc(2024, 4, 1, 4),
        utc(2024, 7, 1, 4),
        utc(2024, 10, 1, 4),
        utc(2025, 1, 1, 5),
    ]
    assert period_containing(ny, BillingFrequency.quarterly, utc(2024, 12, 31, 12), tz=NY) == (
        utc(2024, 10, 1, 4),
        utc(2025, 1, 1, 5),
    )
    berlin = calendar_anchor(BERLIN)
    assert period_containing(berlin, "yearly", utc(2024, 7, 1), tz=BERLIN) == (
        utc(2023, 12, 31, 23),
        utc(2024, 12, 31, 23),
    )
    # the first hour of 2025 in Berlin is still 2024 in UTC, and already the 2025 period
    assert period_containing(berlin, "yearly", utc(2024, 12, 31, 23, 30), tz=BERLIN)[0] == utc(2024, 12, 31, 23)


def test_half_hour_offset_zone() -> None:
    kolkata = "Asia/Kolkata"  # +05:30, no DST
    anchor = calendar_anchor(kolkata)
    assert period_containing(anchor, "monthly", utc(2024, 2, 29, 18, 29), tz=kolkata) == (
        utc(2024, 1, 31, 18, 30),
        utc(2024, 2, 29, 18, 30),
    )
    assert period_containing(anchor, "monthly", utc(2024, 2, 29, 18, 30), tz=kolkata) == (
        utc(2024, 2, 29, 18, 30),
        utc(2024, 3, 31, 18, 30),
    )
    assert period_start(anchor, "quarterly", 97, tz=kolkata) == utc(2024, 3, 31, 18, 30)  # Apr 1 00:00 IST
    assert period_start(anchor, "yearly", 25, tz=kolkata) == utc(2024, 12, 31, 18, 30)


def test_lord_howe_half_hour_dst() -> None:
    lord_howe = "Australia/Lord_Howe"  # +10:30 standard, +11:00 in summer (until the first Sunday of April)
    anchor = calendar_anchor(lord_howe)
    assert anchor == utc(1999, 12, 31, 13)
    assert period_containing(anchor, "monthly", utc(2024, 4, 15), tz=lord_howe) == (
        utc(2024, 3, 31, 13),
        utc(2024, 4, 30, 13, 30),
    )


def test_nonexistent_local_times_land_after_the_gap() -> None:
    # anchor 2024-02-10 02:30 New York; 2024-03-10 02:30 does not exist (02:00 -> 03:00): it is 03:30 EDT
    anchor = local(NY, 2024, 2, 10, 2, 30)
    assert period_start(anchor, "monthly", 1, tz=NY) == utc(2024, 3, 10, 7, 30)
    assert local_date_label(utc(2024, 3, 10, 7, 30), NY) == "2024-03-10"
    assert period_start(anchor, "monthly", 2, tz=NY) == utc(2024, 4, 10, 6, 30)  # back to 02:30 EDT
    # Santiago springs forward at midnight: local midnight 2024-09-08 does not exist, the period starts at 01:00
    santiago = "America/Santiago"
    anchor = local(santiago, 2024, 8, 8)
    assert period_start(anchor, "monthly", 1, tz=santiago) == utc(2024, 9, 8, 4)


def test_ambiguous_local_times_take_the_first_occurrence() -> None:
    # 2024-11-03 01:30 happens twice in New York (EDT, then EST): the period starts at the first
    anchor = local(NY, 2024, 10, 3, 1, 30)
    assert period_start(anchor, "monthly", 1, tz=NY) == utc(2024, 11, 3, 5, 30)
    # an anchor at the second occurrence still starts period 0 itself
    second = utc(2024, 11, 3, 6, 30)
    assert period_start(second, "monthly", 0, tz=NY) == second
    assert period_start(second, "monthly", 1, tz=NY) == utc(2024, 12, 3, 6, 30)
    assert period_start(second, "monthly", -1, tz=NY) == utc(2024, 10, 3, 5, 30)
    # and its later ambiguous starts are first occurrences too (EDT), not second ones like the anchor
    assert period_start(second, "yearly", -5, tz=NY) == utc(2019, 11, 3, 5, 30)
    assert period_start(second, "yearly", 6, tz=NY) == utc(2030, 11, 3, 5, 30)


def test_local_date_label() -> None:
    assert local_date_label(utc(2024, 2, 1, 4, 59), NY) == "2024-01-31"
    assert local_date_label(utc(2024, 2, 1, 5), NY) == "2024-02-01"
    assert local_date_label(utc(2024, 2, 1, 5), "UTC") == "2024-02-01"
    assert local_date_label(utc(2023, 12, 31, 23), BERLIN) == "2024-01-01"
    with pytest.raises(ValueError, match=r"^t must be a timezone-aware"):
        local_date_label(datetime(2024, 1, 1), NY)


def test_years_outside_the_calendar_are_refused_in_a_zone() -> None:
    with pytest.raises(InvalidInput) as exc:
        period_start(calendar_anchor(BERLIN), "yearly", 8000, tz=BERLIN)
    assert exc.value.detail[0]["loc"] == ["period"]
    # local midnight 0001-01-01 in Kolkata is before year 1 in UTC
    with pytest.raises(InvalidInput) as exc:
        period_start(calendar_anchor("Asia/Kolkata"), "yearly", -1999, tz="Asia/Kolkata")
    assert exc.value.detail[0]["loc"] == ["period"]
    # the last instant of 9999 (UTC) is already year 10000 in Kiritimati (+14:00)
    with pytest.raises(InvalidInput) as exc:
        local_date_label(datetime.max.replace(tzinfo=UTC), "Pacific/Kiritimati")
    assert exc.value.detail[0]["loc"] == ["period"]


# --- zone names ---------------------------------------------------------------------------------------------------


def test_zone_accepts_iana_names() -> None:
    assert zone("UTC") == ZoneInfo("UTC")
    assert zone(BERLIN) is zone(BERLIN)
    assert zone("America/Argentina/Buenos_Aires").key == "America/Argentina/Buenos_Aires"
    assert zone("Etc/GMT+5").key == "Etc/GMT+5"


@pytest.mark.parametrize(
    "name",
    [
        "",
        "../etc",
        "/etc/passwd",
        "Europe",
        "Europe/Nowhere",
        "utc",
        "localtime",
        "posixrules",
        "zone.tab",
        "x" * 10_000,
        "Europe/Berlin\x00",
        "Europe//Berlin",
        " Europe/Berlin",
        "right/UTC",
    ],
)
def test_zone_refuses_bad_names(name: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        zone(name)
    assert exc.value.status_code == 422
    [error] = exc.value.detail
    assert error["loc"] == ["timezone"]
    assert error["msg"].endswith("; use an IANA name such as Europe/Berlin")
    assert len(error["msg"]) < 200


# Only the exact name "UTC" skips the zone lookup: not "utc", nor a wrong spelling of that literal (as mutmut writes it)
@pytest.mark.parametrize("name", ["Mars/Olympus", "utc", "XXUTCXX"])
def test_bad_zone_message_and_every_entry_point_checks_it(name: str) -> None:
    expected = [
        {
            "loc": ["timezone"],
            "msg": f"unknown time zone {name!r}; use an IANA name such as Europe/Berlin",
            "type": "value_error",
        }
    ]
    anchor, t = utc(2024, 1, 1), utc(2024, 2, 1)
    calls = [
        lambda: zone(name),
        lambda: calendar_anchor(name),
        lambda: local_date_label(t, name),
        lambda: period_start(anchor, "monthly", 1, tz=name),
        lambda: period_containing(anchor, "monthly", t, tz=name),
        lambda: split(anchor, "monthly", anchor, t, tz=name),
        lambda: split(anchor, "monthly", t, anchor, tz=name),  # even for an empty window
    ]
    for call in calls:
        with pytest.raises(InvalidInput) as exc:
            call()
        assert exc.value.detail == expected


# --- properties ---------------------------------------------------------------------------------------------------

zones = st.sampled_from(ZONES)
frequencies = st.sampled_from(list(BillingFrequency))
local_anchors = st.one_of(
    st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2060, 1, 1)),
    # days 28..31 (clamped to the month) and the small hours, where the DST changes are
    st.builds(
        lambda y, m, d, s: datetime(y, m, 1) + timedelta(days=d - 1, seconds=s),
        st.integers(1970, 2060),
        st.integers(1, 12),
        st.integers(28, 31),
        st.integers(0, 4 * 3600),
    ).filter(lambda d: d.day >= 28),
)
instants = st.datetimes(min_value=datetime(1960, 1, 1), max_value=datetime(2070, 1, 1), timezones=st.just(UTC))


def _anchor(wall: datetime, tz: str) -> datetime:
    return wall.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)


def _expected_wall(anchor: datetime, tz: str, months: int, k: int) -> datetime:
    """The local wall time of period k's start, computed independently of the module (naive)."""
    wall = anchor.astimezone(ZoneInfo(tz)).replace(tzinfo=None)
    total = wall.year * 12 + wall.month - 1 + k * months
    year, month = total // 12, total % 12 + 1
    next_first = datetime(year + month // 12, month % 12 + 1, 1)
    day = min(wall.day, (next_first - timedelta(days=1)).day)
    return wall.replace(year=year, month=month, day=day)


@PROPERTY
@given(tz=zones, wall=local_anchors, frequency=frequencies, start=instants, hours=st.integers(0, 24 * 800))
def test_split_tiles_the_window_in_a_zone(
    tz: str, wall: datetime, frequency: BillingFrequency, start: datetime, hours: int
) -> None:
    anchor = _anchor(wall, tz)
    end = start + timedelta(hours=hours, microseconds=hours)
    slices = split(anchor, frequency, start, end, tz=tz)
    if start == end:
        assert slices == []
        return
    assert slices[0].start == start and slices[-1].end == end
    for before, after in itertools.pairwise(slices):
        assert before.end == after.start == before.period_end == after.period_start
    assert all(s.period_start <= s.start < s.end <= s.period_end for s in slices)
    assert all(s.period_start.tzinfo is UTC and s.period_end.tzinfo is UTC for s in slices)
    assert sum((s.end - s.start for s in slices), timedelta()) == end - start


@PROPERTY
@given(tz=zones, wall=local_anchors, frequency=frequencies, k=st.integers(-120, 120))
def test_boundaries_keep_the_anchor_local_time_and_increase(
    tz: str, wall: datetime, frequency: BillingFrequency, k: int
) -> None:
    anchor = _anchor(wall, tz)
    zi = ZoneInfo(tz)
    starts = [period_start(anchor, frequency, j, tz=tz) for j in (k - 1, k, k + 1)]
    assert starts[0] < starts[1] < starts[2]
    for j, start in zip((k - 1, k, k + 1), starts, strict=True):
        if j == 0:
            assert start == anchor
            continue
        expected = _expected_wall(anchor, tz, frequency.months, j)
        actual = start.astimezone(zi).replace(tzinfo=None)
        exists = expected.replace(tzinfo=zi).astimezone(UTC).astimezone(zi).replace(tzinfo=None) == expected
        if exists:
            assert actual == expected
            # an ambiguous wall time is its first occurrence
            assert start == expected.replace(tzinfo=zi, fold=0).astimezone(UTC)
        else:  # in a gap: read with the offset before the jump, so later than the wall time says
            assert start == expected.replace(tzinfo=zi, fold=0).astimezone(UTC)
            assert actual > expected


@PROPERTY
@given(tz=zones, wall=local_anchors, frequency=frequencies, t=instants)
def test_period_containing_contains_t_in_a_zone(
    tz: str, wall: datetime, frequency: BillingFrequency, t: datetime
) -> None:
    anchor = _anchor(wall, tz)
    start, end = period_containing(anchor, frequency, t, tz=tz)
    assert start <= t < end
    assert period_containing(anchor, frequency, end, tz=tz)[0] == end
    assert period_containing(anchor, frequency, start - timedelta(microseconds=1), tz=tz)[1] == start


@PROPERTY
@given(anchor=instants, frequency=frequencies, t=instants, k=st.integers(-120, 120), hours=st.integers(0, 24 * 800))
def test_utc_zone_equals_no_zone(
    anchor: datetime, frequency: BillingFrequency, t: datetime, k: int, hours: int
) -> None:
    assert period_start(anchor, frequency, k, tz="UTC") == period_start(anchor, frequency, k)
    assert period_containing(anchor, frequency, t, tz="UTC") == period_containing(anchor, frequency, t)
    end = t + timedelta(hours=hours)
    assert split(anchor, frequency, t, end, tz="UTC") == split(anchor, frequency, t, end)
    # and equal to the explicit Etc/UTC zone, which takes the converting path
    assert split(anchor, frequency, t, end, tz="Etc/UTC") == split(anchor, frequency, t, end)
