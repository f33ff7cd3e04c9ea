"""Recurring metrics (seats, licences, storage held): values that persist into later periods until changed. Pure.

A recurring ``sum`` metric is a running total: each event adds its (signed) quantity, and the total carries from
period to period. A recurring ``unique_count`` metric is a set of units: an event with ``operation: "add"`` adds its
unit, ``"remove"`` removes it, and the set carries over.

Rules
-----
* All instants are timezone-aware UTC datetimes; time is measured in whole microseconds, so every ratio is exact.
* A slice ``[start, end)`` of a billing period ``[period_start, period_end)`` is billed either as it stands at its
  end (not prorated) or for the time each value was held (prorated).
* :func:`recurring_sum`: the running total starts at ``carry_in`` (the total at ``start``) and changes by each
  ``(instant, delta)`` of ``changes`` (in time order, inside ``[start, end)``). Not prorated: the running total at
  ``end``. Prorated: the running total weighted by the time it held inside ``[start, end)``, divided by the length
  of the period (a full period at a constant total gives the total; half the period gives half). The total is never
  billed below zero: it counts as ``max(total, 0)`` at every instant.
* :func:`unit_intervals`: operations are taken in time order (operations at the same instant in the order given).
  ``add`` of a unit not held starts an interval, ``remove`` of a held unit ends it; an ``add`` of a unit already held
  and a ``remove`` of a unit not held change nothing. An interval still open has no end (``None``).
* :func:`recurring_units`: not prorated, the number of units held at some instant of ``[start, end)`` (a unit held
  only for a moment, added and removed at the same instant, was held at no instant); prorated, the total time the
  units were held inside ``[start, end)`` divided by the length of the period.
* A prorated result is rounded half-up to 12 decimal places (like the time-weighted aggregation); no other result is
  rounded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Context, Decimal, Inexact, InvalidOperation, Overflow
from fractions import Fraction
from typing import Literal

from fubble.pricing.money import to_decimal

__all__ = ["PRORATED_PLACES", "Interval", "recurring_sum", "recurring_units", "unit_intervals"]

PRORATED_PLACES = 12
Interval = tuple[datetime, datetime | None]
_MICRO = timedelta(microseconds=1)
_EXACT = Context(prec=2000, traps=[Inexact, InvalidOperation, Overflow])
_ZERO = Decimal(0)


def _micros(later: datetime, earlier: datetime) -> int:
    return (later - earlier) // _MICRO


def _check_window(start: datetime, end: datetime, period_start: datetime, period_end: datetime) -> int:
    """The period's length in microseconds, after checking the slice lies inside the period."""
    if not period_start <= start <= end <= period_end or period_start >= period_end:
        raise ValueError(f"the slice [{start}, {end}) must lie inside the period [{period_start}, {period_end})")
    return _micros(period_end, period_start)


def recurring_sum(
    carry_in: Decimal,
    changes: Sequence[tuple[datetime, Decimal]],
    start: datetime,
    end: datetime,
    period_start: datetime,
    period_end: datetime,
    prorated: bool,
) -> Decimal:
    """What a recurring running total bills for the slice ``[start, end)`` (see the module rules)."""
    length = _check_window(start, end, period_start, period_end)
    total = carry_in
    weighted = Fraction(0)
    cursor = start
    for at, delta in changes:
        if not cursor <= at < end:
            raise ValueError(f"changes must be in time order inside [{start}, {end}): {at} is not")
        weighted += Fraction(max(total, _ZERO)) * _micros(at, cursor)
        total = _EXACT.add(total, delta)
        cursor = at
    if not prorated:
        return max(total, _ZERO) + 0  # + 0: never a negative zero
    weighted += Fraction(max(total, _ZERO)) * _micros(end, cursor)
    return to_decimal(weighted / length, PRORATED_PLACES)


def unit_intervals(ops: Sequence[tuple[datetime, str, Literal["add", "remove"]]]) -> dict[str, list[Interval]]:
    """The intervals each unit was held, from ``(instant, unit, "add" | "remove")`` operations (module rules)."""
    held: dict[str, list[Interval]] = {}
    since: dict[str, datetime] = {}
    for at, unit, operation in sorted(ops, key=lambda op: op[0]):
        if operation == "add":
            if unit not in since:
                since[unit] = at
        elif operation == "remove":
            if unit in since:
                held.setdefault(unit, []).append((since.pop(unit), at))
        else:
            raise ValueError(f"operation must be 'add' or 'remove', not {operation!r}")
    for unit, at in since.items():
        held.setdefault(unit, []).append((at, None))
    return {unit: sorted(intervals, key=lambda i: i[0]) for unit, intervals in held.items()}


def _overlap(interval: Interval, start: datetime, end: datetime) -> int:
    """Microseconds of ``interval`` inside ``[start, end)``."""
    low = max(interval[0], start)
    high = end if interval[1] is None else min(interval[1], end)
    return max(_micros(high, low), 0)


def recurring_units(
    held: Mapping[str, Sequence[Interval]],
    start: datetime,
    end: datetime,
    period_start: datetime,
    period_end: datetime,
    prorated: bool,
) -> Decimal:
    """What a recurring set of units bills for the slice ``[start, end)`` (see the module rules)."""
    length = _check_window(start, end, period_start, period_end)
    if not prorated:
        return Decimal(sum(1 for intervals in held.values() if any(_overlap(i, start, end) for i in intervals)))
    time = sum(_overlap(i, start, end) for intervals in held.values() for i in intervals)
    return to_decimal(Fraction(time, length), PRORATED_PLACES)
