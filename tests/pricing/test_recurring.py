"""Recurring metrics: running totals and units held across periods (fubble.pricing.recurring)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fubble.pricing import recurring_sum, recurring_units, unit_intervals
from fubble.pricing.recurring import Interval

D = Decimal
PROPERTY = settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def jan(day: int, hour: int = 0) -> datetime:
    return datetime(2024, 1, day, hour, tzinfo=UTC)


START, END = jan(1), datetime(2024, 2, 1, tzinfo=UTC)  # January: 31 days


def total(
    carry: str, changes: list[tuple[datetime, str]], prorated: bool, start: datetime = START, end: datetime = END
) -> str:
    result = recurring_sum(D(carry), [(at, D(delta)) for at, delta in changes], start, end, START, END, prorated)
    assert type(result) is Decimal
    return str(result)


def test_running_total_at_the_end_of_the_slice() -> None:
    assert total("5", [(jan(3), "3"), (jan(20), "-1.5")], prorated=False) == "6.5"
    assert total("5", [], prorated=False) == "5"
    assert total("5", [(jan(3), "3"), (jan(20), "-10")], prorated=False) == "0"  # never below zero
    assert total("-2", [(jan(3), "1")], prorated=False) == "0"
    assert total("2", [(jan(3), "-2")], prorated=False) == "0"
    assert total("-0", [], prorated=False) == "0"  # never a negative zero


def test_prorated_running_total() -> None:
    assert total("10", [], prorated=True) == "10"  # the whole period at 10
    assert total("10", [(jan(16), "5")], prorated=True) == "12.58064516129"  # (10 x 15 + 15 x 16) / 31
    assert total("10", [], prorated=True, end=jan(16)) == "4.838709677419"  # 15 of 31 days at 10
    # Below zero counts as zero while it lasts: 5 for 10 days, -5 (0) for 10 days, 5 for 11 days = 105 / 31
    assert total("5", [(jan(11), "-10"), (jan(21), "10")], prorated=True) == "3.387096774194"
    assert total("5", [(jan(16), "1"), (jan(16), "-1")], prorated=True) == "5"  # two changes at one instant
    assert total("0", [(jan(1), "31")], prorated=True) == "31"
    assert total("10", [], prorated=True, start=jan(5), end=jan(5)) == "0"  # an empty slice


def test_changes_must_be_in_order_inside_the_slice() -> None:
    with pytest.raises(ValueError, match="time order"):
        total("0", [(jan(5), "1"), (jan(4), "1")], prorated=False)
    with pytest.raises(ValueError, match="time order"):
        total("0", [(END, "1")], prorated=False)
    with pytest.raises(ValueError, match="inside the period"):
        total("0", [], prorated=True, start=jan(1) - timedelta(days=1))


def test_a_period_of_no_length_is_refused() -> None:
    message = (
        r"^the slice \[2024-01-01 00:00:00\+00:00, 2024-01-01 00:00:00\+00:00\) must lie inside the period "
        r"\[2024-01-01 00:00:00\+00:00, 2024-01-01 00:00:00\+00:00\)$"
    )
    with pytest.raises(ValueError, match=message):
        recurring_sum(D(1), [], START, START, START, START, prorated=False)
    with pytest.raises(ValueError, match=message):
        recurring_units({"a": [(START, None)]}, START, START, START, START, prorated=False)


def test_unit_intervals() -> None:
    ops = [
        (jan(1), "a", "add"),
        (jan(2), "a", "add"),  # already held: ignored
        (jan(3), "b", "remove"),  # not held: ignored
        (jan(4), "b", "add"),
        (jan(5), "a", "remove"),
        (jan(6), "a", "add"),
        (jan(7), "c", "add"),
        (jan(7), "c", "remove"),  # held for no time at all
    ]
    assert unit_intervals(ops) == {  # type: ignore[arg-type]
        "a": [(jan(1), jan(5)), (jan(6), None)],
        "b": [(jan(4), None)],
        "c": [(jan(7), jan(7))],
    }
    assert unit_intervals([(jan(2), "a", "remove"), (jan(1), "a", "add")]) == {"a": [(jan(1), jan(2))]}  # sorted
    # at one instant, in the order given: removed and added again, or held for a moment and then added for good
    again = [(jan(1), "a", "add"), (jan(5), "a", "remove"), (jan(5), "a", "add")]
    assert unit_intervals(again) == {"a": [(jan(1), jan(5)), (jan(5), None)]}  # type: ignore[arg-type]
    moment = [(jan(5), "a", "add"), (jan(5), "a", "remove"), (jan(5), "a", "add")]
    assert unit_intervals(moment) == {"a": [(jan(5), jan(5)), (jan(5), None)]}  # type: ignore[arg-type]
    assert unit_intervals([]) == {}
    with pytest.raises(ValueError, match="'add' or 'remove'"):
        unit_intervals([(jan(1), "a", "set")])  # type: ignore[list-item]


HELD: dict[str, list[Interval]] = {
    "a": [(jan(1), jan(5)), (jan(6), None)],  # 4 days, then 26 days
    "b": [(jan(10, 12), jan(11))],  # half a day
    "c": [(jan(7), jan(7))],  # no time
    "d": [(datetime(2023, 12, 1, tzinfo=UTC), jan(1))],  # removed exactly at the start
    "e": [(END, None)],  # added exactly at the end
}


def test_units_held_in_a_slice() -> None:
    assert recurring_units(HELD, START, END, START, END, prorated=False) == 2  # a and b
    assert recurring_units(HELD, jan(5), jan(6), START, END, prorated=False) == 0  # a's gap
    assert recurring_units(HELD, jan(10), jan(11), START, END, prorated=False) == 2  # a and b
    assert recurring_units(HELD, jan(2), jan(3), START, END, prorated=False) == 1
    assert recurring_units({}, START, END, START, END, prorated=False) == 0


def test_units_prorated_by_the_time_held() -> None:
    assert str(recurring_units(HELD, START, END, START, END, prorated=True)) == "0.983870967742"  # 30.5 / 31
    assert str(recurring_units(HELD, jan(1), jan(3), START, END, prorated=True)) == "0.064516129032"  # 2 / 31
    whole = {"a": [(datetime(2023, 1, 1, tzinfo=UTC), None)]}
    assert recurring_units(whole, START, END, START, END, prorated=True) == 1
    assert str(recurring_units({"a": [(jan(16, 1), None)]}, START, END, START, END, prorated=True)) == (
        "0.514784946237"  # 15 days and 23 hours of 31 days: 383 / 744
    )


# --- properties ---------------------------------------------------------------------------------------------------

instants = st.integers(min_value=0, max_value=31 * 86400 - 1).map(lambda s: START + timedelta(seconds=s))
deltas = st.decimals(min_value=-50, max_value=50, places=2, allow_nan=False, allow_infinity=False)


@PROPERTY
@given(
    carry=st.decimals(min_value=-20, max_value=100, places=2, allow_nan=False, allow_infinity=False),
    changes=st.lists(st.tuples(instants, deltas), max_size=8),
    cut=instants,
)
def test_prorated_slices_add_up_to_the_period(
    carry: Decimal, changes: list[tuple[datetime, Decimal]], cut: datetime
) -> None:
    changes = sorted(changes, key=lambda c: c[0])
    whole = recurring_sum(carry, changes, START, END, START, END, True)
    before = [c for c in changes if c[0] < cut]
    after = [c for c in changes if c[0] >= cut]
    at_cut = recurring_sum(carry, before, START, cut, START, END, False)
    carry_at_cut = carry + sum((d for _, d in before), D(0))
    first = recurring_sum(carry, before, START, cut, START, END, True)
    second = recurring_sum(carry_at_cut, after, cut, END, START, END, True)
    assert abs(Fraction(first + second) - Fraction(whole)) <= Fraction(1, 10**12)
    assert at_cut == max(carry_at_cut, D(0))
    assert whole >= 0
    assert recurring_sum(carry, changes, START, END, START, END, False) == max(
        carry + sum((d for _, d in changes), D(0)), D(0)
    )


@PROPERTY
@given(
    ops=st.lists(st.tuples(instants, st.sampled_from("abc"), st.sampled_from(["add", "remove"])), max_size=12),
    cut=instants,
)
def test_units_slices_add_up_and_stay_bounded(ops: list[tuple[datetime, str, str]], cut: datetime) -> None:
    held = unit_intervals(ops)  # type: ignore[arg-type]
    for intervals in held.values():  # disjoint, in order, only the last open
        for (_, end), (start, _) in itertools.pairwise(intervals):
            assert end is not None and end <= start
    whole = recurring_units(held, START, END, START, END, True)
    first = recurring_units(held, START, cut, START, END, True)
    second = recurring_units(held, cut, END, START, END, True)
    assert abs(Fraction(first + second) - Fraction(whole)) <= Fraction(1, 10**12)
    assert 0 <= whole <= recurring_units(held, START, END, START, END, False) <= 3
