"""Summaries merged across buckets equal the summary of all events at once (what makes rollups exact)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from fubble.pricing.aggregation import Aggregation, merge, summarize, usage_of

T0 = datetime(2024, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)

events_strategy = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=72 * 3600 - 1).map(lambda s: T0 + timedelta(seconds=s)),
        st.decimals(min_value=Decimal("0.001"), max_value=Decimal("100000"), places=3),
    ),
    max_size=60,
)


def _with_order(events: list[tuple[datetime, Decimal]]) -> list[tuple[datetime, int, Decimal]]:
    return [(t, i, v) for i, (t, v) in enumerate(events)]


@settings(max_examples=200, database=None)
@given(events_strategy, st.lists(st.integers(min_value=1, max_value=71), max_size=6))
def test_merging_bucket_summaries_equals_summarizing_everything(
    events: list[tuple[datetime, Decimal]], cuts: list[int]
) -> None:
    ordered = _with_order(events)
    bounds = [T0, *sorted({T0 + h * HOUR for h in cuts}), T0 + 72 * HOUR]
    parts = [summarize([e for e in ordered if lo <= e[0] < hi]) for lo, hi in itertools.pairwise(bounds)]
    assert merge(parts) == summarize(ordered)


@settings(max_examples=200, database=None)
@given(events_strategy, st.decimals(min_value=0, max_value=1000, places=2))
def test_usage_matches_brute_force(events: list[tuple[datetime, Decimal]], carry: Decimal) -> None:
    ordered = _with_order(events)
    start, end = T0, T0 + 72 * HOUR
    summary = summarize(ordered)
    assert usage_of("sum", summary, start=start, end=end) == sum((v for _, v in events), Decimal(0))
    assert usage_of("count", summary, start=start, end=end) == len(events)
    assert usage_of("max", summary, start=start, end=end) == max((v for _, v in events), default=Decimal(0))
    last = max(ordered, key=lambda e: (e[0], e[1]))[2] if ordered else Decimal(0)
    assert usage_of("latest", summary, start=start, end=end) == last
    # Brute force time weighting, second by second is too slow: integrate over the sorted change points instead.
    points = sorted(ordered, key=lambda e: (e[0], e[1]))
    total = Decimal(0)
    value, at = carry, start
    for t, _, v in points:
        total += value * Decimal((t - at) // timedelta(microseconds=1))
        value, at = v, t
    total += value * Decimal((end - at) // timedelta(microseconds=1))
    expected = total / Decimal((end - start) // timedelta(microseconds=1))
    got = usage_of("weighted_sum", summary, start=start, end=end, carry_in=carry)
    assert abs(got - expected) <= Decimal("1e-12")


def test_weighted_sum_golden() -> None:
    # 100 GB for the first 10 days of a 30-day period, then 400 GB: (100*10 + 400*20) / 30 = 300 GB-months.
    start, end = datetime(2024, 4, 1, tzinfo=UTC), datetime(2024, 5, 1, tzinfo=UTC)
    summary = summarize([(start, 1, Decimal(100)), (start + timedelta(days=10), 2, Decimal(400))])
    assert usage_of(Aggregation.weighted_sum, summary, start=start, end=end) == Decimal(300)
    # The same over only the first half of the period, divided by the whole period: (100*10 + 400*5) / 30 = 100.
    half = start + timedelta(days=15)
    first_half = summarize([(start, 1, Decimal(100)), (start + timedelta(days=10), 2, Decimal(400))])
    assert usage_of("weighted_sum", first_half, start=start, end=half, period=end - start) == Decimal(100)
    # Without events, the carried-in value holds for the whole window.
    assert usage_of("weighted_sum", summarize([]), start=start, end=end, carry_in=Decimal(50)) == Decimal(50)
