"""Which period an instant is in, where the first guess (from the month difference on the local clock) is wrong and
the correction decides, and which clock the months are counted on.

Every boundary is written out as the instant it must be.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from fubble.pricing import Slice, period_containing, period_start, split

ST_JOHNS = "America/St_Johns"


def test_the_repeated_hour_before_a_midnight_that_falls_back_is_in_the_new_month() -> None:
    # St. John's fell back at 00:01 on 2009-11-01, to 23:01 on Oct 31: local midnight Nov 1 (NDT) is 02:30 UTC, and
    # 03:00 UTC reads Oct 31 23:30 (NST) although it is half an hour after that midnight
    anchor = datetime(2009, 11, 1, 2, 30, tzinfo=UTC)
    t = datetime(2009, 11, 1, 3, tzinfo=UTC)
    december = datetime(2009, 12, 1, 3, 30, tzinfo=UTC)
    assert period_containing(anchor, "monthly", t, tz=ST_JOHNS) == (anchor, december)
    october = datetime(2009, 10, 1, 2, 30, tzinfo=UTC)
    assert split(anchor, "monthly", t - timedelta(hours=1), t, tz=ST_JOHNS) == [
        Slice(october, anchor, t - timedelta(hours=1), anchor),
        Slice(anchor, december, anchor, t),
    ]


def test_the_first_guess_is_made_on_the_anchors_clock_in_year_1() -> None:
    # 0001-01-31 12:00 UTC is Feb 1 at +14:00: a guess from its UTC month would look at period -1, in year 0
    anchor = datetime(1, 1, 31, 10, tzinfo=UTC)  # local midnight Feb 1
    t = datetime(1, 1, 31, 12, tzinfo=UTC)
    assert period_containing(anchor, "monthly", t, tz="Etc/GMT-14") == (anchor, datetime(1, 2, 28, 10, tzinfo=UTC))
    # without a zone, on the clock t is given on (not the host's: 0001-01-01 02:00 at +14:00 is in year 0 in UTC)
    plus14 = timezone(timedelta(hours=14))
    first = datetime(1, 1, 1, tzinfo=plus14)
    t = datetime(1, 1, 1, 2, tzinfo=plus14)
    assert period_containing(first, "monthly", t) == (first, datetime(1, 2, 1, tzinfo=plus14))


def test_utc_adds_the_months_on_the_anchors_own_clock() -> None:
    # "UTC" converts nothing: an anchor of Jan 31, 01:00 at +02:00 (Jan 30 in UTC) keeps its 31st and its offset
    plus2 = timezone(timedelta(hours=2))
    start = period_start(datetime(2024, 1, 31, 1, tzinfo=plus2), "monthly", 1, tz="UTC")
    assert start == datetime(2024, 2, 29, 1, tzinfo=plus2)
    assert start.tzinfo is plus2
