"""Calendar buckets of usage series (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from fubble.usage.buckets import boundaries, bucket_count, ceil_hour, floor_day, floor_hour

from .helpers import calendar_buckets

moments = st.datetimes(min_value=datetime(1950, 1, 1), max_value=datetime(2100, 1, 1)).map(
    lambda d: d.replace(tzinfo=UTC)
)


@settings(max_examples=300, database=None, derandomize=True)
@given(moments, st.integers(1, 3 * 366 * 24 * 3600), st.sampled_from(["hour", "day", "month"]))
def test_boundaries_and_counts(start: datetime, seconds: int, granularity: str) -> None:
    end = start + timedelta(seconds=seconds, microseconds=start.microsecond % 7)
    bounds = boundaries(start, end, granularity)
    assert bucket_count(start, end, granularity) == len(bounds) - 1
    if seconds < (5 if granularity == "hour" else 40) * 86400:
        assert list(pairwise(bounds)) == list(calendar_buckets(start, end, granularity))


def test_floors_and_ceilings() -> None:
    t = datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)
    assert floor_hour(t) == datetime(1969, 12, 31, 23, tzinfo=UTC)
    assert floor_day(t) == datetime(1969, 12, 31, tzinfo=UTC)
    assert ceil_hour(t) == datetime(1970, 1, 1, tzinfo=UTC)
    assert ceil_hour(datetime(2024, 1, 1, 5, tzinfo=UTC)) == datetime(2024, 1, 1, 5, tzinfo=UTC)
    assert bucket_count(t, t, "day") == 0 and boundaries(t, t, "day") == []
    assert bucket_count(datetime(2024, 1, 31, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC), "month") == 2
    assert boundaries(datetime(2023, 12, 15, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC), "month") == [
        datetime(2023, 12, 15, tzinfo=UTC),
        datetime(2024, 1, 1, tzinfo=UTC),
        datetime(2024, 1, 2, tzinfo=UTC),
    ]
