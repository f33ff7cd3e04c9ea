"""Property tests of the pure interval arithmetic, checked point by point on small integer intervals."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from fubble.billing.intervals import Claim, intersect, normalize, owned, subtract, total_length

LIMIT = 40
points = st.integers(min_value=0, max_value=LIMIT)
intervals = st.tuples(points, points)  # may be empty or reversed: those are dropped
interval_lists = st.lists(intervals, max_size=8)


def members(pieces: list[tuple[int, int]]) -> set[int]:
    """The unit cells [x, x+1) covered, as their left ends."""
    return {x for start, end in pieces for x in range(start, end)}


def is_normalized(pieces: list[tuple[int, int]]) -> bool:
    ok = all(start < end for start, end in pieces)
    return ok and all(a[1] < b[0] for a, b in itertools.pairwise(pieces))


@given(interval_lists)
def test_normalize_keeps_the_same_points(pieces: list[tuple[int, int]]) -> None:
    result = normalize(pieces)
    assert is_normalized(result)
    assert members(result) == members(pieces)
    assert normalize(result) == result


@given(interval_lists, interval_lists)
def test_subtract_is_set_difference(base: list[tuple[int, int]], removed: list[tuple[int, int]]) -> None:
    result = subtract(base, removed)
    assert is_normalized(result)
    assert members(result) == members(base) - members(removed)


@given(interval_lists, interval_lists)
def test_intersect_is_set_intersection(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> None:
    result = intersect(a, b)
    assert is_normalized(result)
    assert members(result) == members(a) & members(b)
    assert total_length(subtract(a, b)) + total_length(result) == total_length(a)


@given(st.lists(st.tuples(points, interval_lists), max_size=6, unique_by=lambda c: c[0]))
def test_owned_gives_each_point_to_the_highest_active_priority(claims_data: list[tuple[int, list]]) -> None:  # type: ignore[type-arg]
    claims = [Claim(key=f"s{p}", priority=p, active=active) for p, active in claims_data]
    result = owned(claims)
    assert set(result) == {claim.key for claim in claims}
    for x in range(LIMIT):
        active = [claim for claim in claims if x in members(claim.active)]
        holders = [key for key, pieces in result.items() if x in members(pieces)]
        if active:
            assert holders == [max(active, key=lambda c: c.priority).key]
        else:
            assert holders == []
    for pieces in result.values():
        assert is_normalized(pieces)


def test_subtract_on_datetimes_with_touching_cuts() -> None:
    jan, feb = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC)
    mid = datetime(2024, 1, 16, tzinfo=UTC)
    assert subtract([(jan, feb)], [(jan, mid)]) == [(mid, feb)]
    assert subtract([(jan, feb)], [(jan, mid), (mid, feb)]) == []
    assert subtract([(jan, feb)], []) == [(jan, feb)]


def test_owned_latest_start_wins_ties_by_id() -> None:
    jan, feb = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC)
    mid = datetime(2024, 1, 16, tzinfo=UTC)
    claims = [
        Claim(key=1, priority=(jan, 1), active=[(jan, feb)]),
        Claim(key=2, priority=(mid, 2), active=[(mid, feb)]),
        Claim(key=3, priority=(mid, 3), active=[(mid, feb)]),
    ]
    assert owned(claims) == {1: [(jan, mid)], 2: [], 3: [(mid, feb)]}
