"""Summaries of events that share instants and arrive out of order merge to a single-pass reference.

Events at the same instant are ordered by arrival (their order number); the order in which a caller hands them over
must not matter. The reference walks the events once, sorted by ``(time, arrival)``, with none of the code under
test.
"""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from fubble.pricing.aggregation import EMPTY, Summary, merge, summarize, usage_of

D = Decimal
T0 = datetime(2024, 1, 1, tzinfo=UTC)
END = T0 + timedelta(hours=6)
MICRO = timedelta(microseconds=1)
Event = tuple[datetime, int, Decimal]

# Few distinct instants, so that many events share one; quantities can repeat too.
instants = st.sampled_from([T0 + timedelta(minutes=m) for m in (0, 1, 30, 60, 61, 119, 120, 240, 359)])
quantities = st.sampled_from([D(0), D("0.5"), D(1), D(3), D("2.25"), D(7)])


@st.composite
def arrivals(draw: st.DrawFn) -> list[Event]:
    """Events with distinct arrival numbers, in a drawn (shuffled) hand-over order."""
    times = draw(st.lists(instants, max_size=30))
    values = draw(st.lists(quantities, min_size=len(times), max_size=len(times)))
    order = draw(st.permutations(range(1, len(times) + 1)))  # arrival numbers, unrelated to time order
    return list(zip(times, order, values, strict=True))


def reference(events: list[Event]) -> Summary:
    walk = sorted(events, key=lambda e: (e[0], e[1]))
    if not walk:
        return EMPTY
    integral = D(0)
    for here, there in itertools.pairwise(walk):
        integral += here[2] * ((there[0] - here[0]) // MICRO)
    return Summary(
        count=len(walk),
        total=sum((e[2] for e in walk), D(0)),
        maximum=max(e[2] for e in walk),
        first_time=walk[0][0],
        first_value=walk[0][2],
        last_time=walk[-1][0],
        last_value=walk[-1][2],
        last_order=walk[-1][1],
        integral=integral,
    )


@settings(max_examples=300, deadline=None, database=None)
@given(events=arrivals(), cuts=st.lists(st.integers(min_value=1, max_value=359), max_size=5), seed=st.integers(0, 99))
def test_shuffled_arrival_and_equal_instants_merge_to_the_reference(
    events: list[Event], cuts: list[int], seed: int
) -> None:
    expected = reference(events)
    assert summarize(events) == expected
    shuffler = random.Random(seed)
    bounds = [T0, *sorted({T0 + timedelta(minutes=c) for c in cuts}), END]
    parts = []
    for low, high in itertools.pairwise(bounds):
        inside = [e for e in events if low <= e[0] < high]
        shuffler.shuffle(inside)  # each bucket's events handed over in any order
        parts.append(summarize(inside))
    assert merge(parts) == expected
    # What pricing reads from it: the latest value is the last arrival at the last instant.
    latest = usage_of("latest", merge(parts), start=T0, end=END)
    assert latest == (expected.last_value if events else 0)
    walk = sorted(events, key=lambda e: (e[0], e[1]))
    assert usage_of("max", merge(parts), start=T0, end=END) == max((e[2] for e in events), default=D(0))
    if walk:
        weighted = usage_of("weighted_sum", merge(parts), start=T0, end=END, carry_in=D(2))
        held = D(2) * ((walk[0][0] - T0) // MICRO) + expected.integral + walk[-1][2] * ((END - walk[-1][0]) // MICRO)
        assert abs(weighted - held / ((END - T0) // MICRO)) <= D("1e-12")


def test_equal_instants_written_out() -> None:
    at = T0 + timedelta(minutes=5)
    # Handed over as 3, 1, 2: the last arrival (3) is the latest value, whatever the hand-over order.
    events = [(at, 3, D(30)), (at, 1, D(10)), (at, 2, D(20))]
    summary = summarize(events)
    assert (summary.first_value, summary.last_value, summary.last_order) == (D(10), D(30), 3)
    assert usage_of("latest", summary, start=T0, end=END) == D(30)
    assert summary.integral == 0  # no time passes between them
    later = summarize([(at + timedelta(minutes=1), 4, D(1)), (at + timedelta(minutes=1), 5, D(2))])
    merged = merge([summary, EMPTY, later])
    assert (merged.count, merged.total, merged.maximum, merged.last_value) == (5, D(63), D(30), D(2))
    assert merged.integral == D(30) * (timedelta(minutes=1) // MICRO)  # the value 30 held for one minute
    assert merge([EMPTY, later]) == later
    assert merge([later, EMPTY]) == later
    assert merge([]) == EMPTY
