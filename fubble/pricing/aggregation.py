"""How a metric's events become the usage ``U`` that pricing charges for. Pure: no database, no clock.

Aggregations
------------
* ``sum``: the sum of the events' quantities (the default).
* ``count``: the number of events.
* ``max``: the largest quantity (0 without events).
* ``unique_count``: the number of distinct values of a named event property (counted by the caller from the exact
  per-hour distinct sets; see :func:`fubble.usage`).
* ``latest``: the quantity of the last event in the window (by event time, ties by arrival); 0 without events.
* ``weighted_sum``: for gauges such as storage GB: each reported value holds from its event until the next one, and
  counts by the fraction of the *period* it held: ``sum(value_i x duration_i) / period length``. The value in effect
  when the window starts is the last one reported before it (``carry_in``); the last value holds to the window's end.
  The result is rounded half-up to 12 decimal places (the only aggregation that divides).

A :class:`Summary` describes the events of a stretch of time. Summaries of consecutive stretches :func:`merge` into
the summary of the whole, which is what makes rollups exact: a window's usage is read from a few stored summaries (one
per day or hour bucket) plus summaries of the raw events at its edges.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Context, Decimal, Inexact, localcontext
from enum import StrEnum
from fractions import Fraction

from fubble.pricing.money import to_decimal

__all__ = ["EMPTY", "Aggregation", "Summary", "merge", "summarize", "usage_of"]

_MICRO = timedelta(microseconds=1)
_ZERO = Decimal(0)
WEIGHTED_PLACES = 12
# Sums and value x microseconds products stay exact (an inexact result raises instead of rounding).
_EXACT = Context(prec=120, traps=[Inexact])


class Aggregation(StrEnum):
    sum = "sum"
    count = "count"  # type: ignore[assignment]  # (shadows str.count; the enum value is what matters)
    max = "max"
    unique_count = "unique_count"
    latest = "latest"
    weighted_sum = "weighted_sum"


@dataclass(frozen=True)
class Summary:
    """Exact aggregates of some events, all inside one stretch of time.

    ``integral`` is ``sum(value_i x microseconds until event i+1)`` over consecutive events of the stretch (the last
    event's value is not integrated: the next stretch or the window end decides how long it holds).
    """

    count: int = 0
    total: Decimal = _ZERO
    maximum: Decimal | None = None
    first_time: datetime | None = None
    first_value: Decimal = _ZERO
    last_time: datetime | None = None
    last_value: Decimal = _ZERO
    last_order: int = 0
    integral: Decimal = _ZERO


EMPTY = Summary()


def summarize(events: Iterable[tuple[datetime, int, Decimal]]) -> Summary:
    """The summary of raw events given as ``(event_time, arrival order, quantity)``, in any order."""
    ordered = sorted(events, key=lambda e: (e[0], e[1]))
    if not ordered:
        return EMPTY
    with localcontext(_EXACT):
        return _summarize_sorted(ordered)


def _summarize_sorted(ordered: list[tuple[datetime, int, Decimal]]) -> Summary:
    integral = _ZERO
    for (t0, _, v0), (t1, _, _) in itertools.pairwise(ordered):
        integral += v0 * ((t1 - t0) // _MICRO)
    first, last = ordered[0], ordered[-1]
    return Summary(
        count=len(ordered),
        total=sum((v for _, _, v in ordered), _ZERO),
        maximum=max(v for _, _, v in ordered),
        first_time=first[0],
        first_value=first[2],
        last_time=last[0],
        last_value=last[2],
        last_order=last[1],
        integral=integral,
    )


def merge(parts: Sequence[Summary]) -> Summary:
    """The summary of consecutive, non-overlapping stretches given in time order."""
    with localcontext(_EXACT):
        return _merge(parts)


def _merge(parts: Sequence[Summary]) -> Summary:
    result = EMPTY
    for part in parts:
        if part.count == 0:
            continue
        if result.count == 0:
            result = part
            continue
        assert result.last_time is not None and part.first_time is not None
        gap = (part.first_time - result.last_time) // _MICRO
        result = Summary(
            count=result.count + part.count,
            total=result.total + part.total,
            maximum=part.maximum
            if result.maximum is None or (part.maximum is not None and part.maximum > result.maximum)
            else result.maximum,
            first_time=result.first_time,
            first_value=result.first_value,
            last_time=part.last_time,
            last_value=part.last_value,
            last_order=part.last_order,
            integral=result.integral + result.last_value * gap + part.integral,
        )
    return result


def usage_of(
    aggregation: Aggregation | str,
    summary: Summary,
    *,
    start: datetime,
    end: datetime,
    period: timedelta | None = None,
    carry_in: Decimal | None = None,
    distinct: int = 0,
) -> Decimal:
    """The usage of a window ``[start, end)`` whose events ``summary`` describes.

    ``period`` is the length the time-weighted sum divides by (the billing period; defaults to the window itself,
    which makes it the average); ``carry_in`` the gauge value in effect at ``start``; ``distinct`` the distinct count
    for ``unique_count``.
    """
    aggregation = Aggregation(aggregation)
    if aggregation is Aggregation.sum:
        return summary.total
    if aggregation is Aggregation.count:
        return Decimal(summary.count)
    if aggregation is Aggregation.max:
        return summary.maximum if summary.maximum is not None else _ZERO
    if aggregation is Aggregation.latest:
        return summary.last_value if summary.count else _ZERO
    if aggregation is Aggregation.unique_count:
        return Decimal(distinct)
    length = ((period or (end - start)) // _MICRO) or 1
    held = carry_in or _ZERO
    with localcontext(_EXACT):
        weighted = _time_weighted(summary, start, end, held)
    return to_decimal(Fraction(weighted) / length, WEIGHTED_PLACES)


def _time_weighted(summary: Summary, start: datetime, end: datetime, held: Decimal) -> Decimal:
    if summary.count == 0:
        return held * ((end - start) // _MICRO)
    assert summary.first_time is not None and summary.last_time is not None
    return (
        held * ((summary.first_time - start) // _MICRO)
        + summary.integral
        + summary.last_value * ((end - summary.last_time) // _MICRO)
    )
