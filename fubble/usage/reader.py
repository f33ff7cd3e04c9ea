"""A customer's usage of a metric over a window, read from the rollups, exactly as if computed from raw events.

A window ``[a, b)`` is read as: raw events for the partial hours at its edges (``[a, ceil_hour(a))`` and
``[floor_hour(b), b)``; a window that contains no whole hour is read raw), hour rollups for the partial days, day
rollups for the whole days in between. An edge hour whose events all lie inside the window (as its rollup's first and
last event times show) is read from its rollup row instead (see :func:`_widened`). The pieces'
:class:`~fubble.pricing.aggregation.Summary` objects are merged in time order and
:func:`~fubble.pricing.aggregation.usage_of` turns them into the usage, with

* for ``weighted_sum``: the value in effect at ``a`` (``carry_in``): the last counted value before ``a``, from the raw
  events of ``[floor_hour(a), a)`` or else the latest hour rollup before that hour;
* for ``unique_count``: the number of distinct values in the hour buckets' distinct sets plus the raw edge events'
  values (counted in SQL: only the edge values are compared, the stored sets are never loaded).

A month is ~80 rollup rows plus, at most, the raw events of two partial hours. Usage is exact (``Decimal``); only
``weighted_sum`` divides, rounded half-up to 12 decimal places. Every function takes the metric's
:class:`~fubble.usage.definitions.MetricDefinition` (filters are applied to raw events here, and were applied to the
rollups when they were written).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Context, Decimal, Inexact, localcontext
from itertools import pairwise

from sqlalchemy.orm import Session

from fubble.pricing.aggregation import Aggregation, Summary, merge, summarize, usage_of
from fubble.usage import repository
from fubble.usage.buckets import Granularity, boundaries, ceil_day, ceil_hour, floor_day, floor_hour
from fubble.usage.definitions import MetricDefinition
from fubble.usage.repository import RawEvent, Span

__all__ = ["Measured", "measure", "series", "usage", "usage_in", "usage_many"]

_ZERO = Decimal(0)
_EXACT = Context(prec=2000, traps=[Inexact])  # sums of quantities: exact or an error, never rounded


@dataclass(frozen=True)
class Measured:
    """The usage of a window and the summary of the counted events in it."""

    value: Decimal
    summary: Summary


def usage(
    session: Session,
    customer_id: int,
    definition: MetricDefinition,
    start: datetime,
    end: datetime,
    *,
    period: timedelta | None = None,
) -> Decimal:
    """The usage of ``[start, end)``; ``period`` is what ``weighted_sum`` divides by (default: the window length)."""
    return measure(session, customer_id, definition, start, end, period=period).value


def measure(
    session: Session,
    customer_id: int,
    definition: MetricDefinition,
    start: datetime,
    end: datetime,
    *,
    period: timedelta | None = None,
) -> Measured:
    """Like :func:`usage`, also telling how many events counted (``summary.count``)."""
    if start >= end:
        return Measured(_ZERO, Summary())
    bucket = _evaluate(session, customer_id, definition, [start, end], fine=False, period=period)[0]
    return Measured(bucket.value, bucket.summary)


# Aggregations whose usage follows from the count, total and maximum alone (first/last values unused).
_ADDITIVE_TOTALS = frozenset({Aggregation.sum, Aggregation.count, Aggregation.max})
# Aggregations whose usage follows from the merged summary alone (no carry-in value, no distinct sets).
_FROM_SUMMARY = frozenset({Aggregation.sum, Aggregation.count, Aggregation.max, Aggregation.latest})


def usage_many(
    session: Session,
    customer_ids: Sequence[int],
    definition: MetricDefinition,
    start: datetime,
    end: datetime,
    *,
    period: timedelta | None = None,
) -> dict[int, Decimal]:
    """:func:`usage` of the same window for many customers (e.g. a billing run's batch), in two queries for ``sum``,
    ``count``, ``max`` and ``latest`` (customer by customer for the other aggregations). Same results as
    :func:`usage`."""
    if definition.aggregation not in _FROM_SUMMARY:
        return {cid: usage(session, cid, definition, start, end, period=period) for cid in customer_ids}
    if start >= end:
        return dict.fromkeys(customer_ids, _ZERO)
    layout = _layout(start, end, fine=False)
    raw = repository.raw_events_many(session, customer_ids, definition, layout.raw)
    if definition.aggregation is not Aggregation.latest:
        return _totals_many(session, customer_ids, definition, layout, raw)
    rollups = repository.rollups_many(session, customer_ids, definition.name, hours=layout.hours, days=layout.days)
    result: dict[int, Decimal] = {}
    for cid in customer_ids:
        front: list[RawEvent] = []
        back: list[RawEvent] = []
        for event in raw.get(cid, ()):
            after_region = layout.region is not None and event.event_time >= layout.region[1]
            (back if after_region else front).append(event)
        summary = merge([_summarize(front), *rollups.get(cid, ()), _summarize(back)])
        result[cid] = usage_of(definition.aggregation, summary, start=start, end=end, period=period)
    return result


def _totals_many(
    session: Session,
    customer_ids: Sequence[int],
    definition: MetricDefinition,
    layout: _Layout,
    raw: Mapping[int, list[RawEvent]],
) -> dict[int, Decimal]:
    """sum, count or max: the rollups added up in SQL, plus the raw edge events."""
    totals = repository.rollup_totals_many(session, customer_ids, definition.name, hours=layout.hours, days=layout.days)
    aggregation = definition.aggregation
    result: dict[int, Decimal] = {}
    with localcontext(_EXACT):
        for cid in customer_ids:
            count, total, maximum = totals.get(cid, (0, _ZERO, None))
            for event in raw.get(cid, ()):
                count += 1
                total += event.quantity
                maximum = event.quantity if maximum is None or event.quantity > maximum else maximum
            if aggregation is Aggregation.sum:
                result[cid] = total
            elif aggregation is Aggregation.count:
                result[cid] = Decimal(count)
            else:
                result[cid] = maximum if maximum is not None else _ZERO
    return result


def usage_in(
    session: Session,
    customer_id: int,
    definition: MetricDefinition,
    spans: Sequence[Span],
    *,
    period: timedelta | None = None,
) -> Decimal:
    """The usage of the union of disjoint windows (e.g. the parts of a billing period a subscription owns).

    ``sum``, ``count`` and ``weighted_sum`` add up over the windows; ``max`` is the largest, ``latest`` the last
    counted value of the last window with events, ``unique_count`` the distinct values across all of them.
    """
    ordered = sorted((a, b) for a, b in spans if a < b)
    if not ordered:
        return _ZERO
    parts = [_evaluate(session, customer_id, definition, [a, b], fine=False, period=period)[0] for a, b in ordered]
    if len(parts) == 1:
        return parts[0].value
    aggregation = definition.aggregation
    if aggregation is Aggregation.max:
        return max(part.value for part in parts)
    if aggregation is Aggregation.latest:
        counted = [part for part in parts if part.summary.count]
        return counted[-1].value if counted else _ZERO
    if aggregation is Aggregation.unique_count:
        hours = [part.hours for part in parts if part.hours is not None]
        values = set().union(*(part.values for part in parts))
        return Decimal(repository.distinct_count(session, customer_id, definition.name, hours, values))
    return sum((part.value for part in parts), _ZERO)


def series(
    session: Session,
    customer_id: int,
    definition: MetricDefinition,
    start: datetime,
    end: datetime,
    granularity: Granularity | str,
) -> list[tuple[datetime, datetime, Decimal]]:
    """The usage of each UTC calendar hour, day or month touching ``[start, end)``, clipped to the window.

    Each point is the usage of its own bucket (``weighted_sum``: the time-weighted average over the bucket; the value
    held at its start carries over from the previous bucket).
    """
    return [(b.start, b.end, b.value) for b in _series(session, customer_id, definition, start, end, granularity)]


def series_and_total(
    session: Session,
    customer_id: int,
    definition: MetricDefinition,
    start: datetime,
    end: datetime,
    granularity: Granularity | str,
) -> tuple[list[tuple[datetime, datetime, Decimal]], Measured]:
    """:func:`series` and :func:`measure` of the whole window together: for the aggregations whose usage follows from
    the merged summary alone, the total is merged from the series' own buckets (one read of the window, not two);
    for ``weighted_sum`` and ``unique_count`` it is measured on its own."""
    buckets = _series(session, customer_id, definition, start, end, granularity)
    points = [(b.start, b.end, b.value) for b in buckets]
    if definition.aggregation not in _FROM_SUMMARY or start >= end:
        return points, measure(session, customer_id, definition, start, end)
    summary = merge([b.summary for b in buckets])
    return points, Measured(usage_of(definition.aggregation, summary, start=start, end=end), summary)


def _series(
    session: Session,
    customer_id: int,
    definition: MetricDefinition,
    start: datetime,
    end: datetime,
    granularity: Granularity | str,
) -> list[_Bucket]:
    granularity = Granularity(granularity)
    bounds = boundaries(start, end, granularity)
    if not bounds:
        return []
    return _evaluate(session, customer_id, definition, bounds, fine=granularity is Granularity.hour, period=None)


@dataclass
class _Bucket:
    start: datetime
    end: datetime
    rollups: list[Summary] = field(default_factory=list)
    front: list[RawEvent] = field(default_factory=list)  # raw events before the rollup region (or all, without one)
    back: list[RawEvent] = field(default_factory=list)  # raw events after the rollup region
    front_totals: list[Summary] = field(default_factory=list)  # instead of front/back: their totals, added up in SQL
    back_totals: list[Summary] = field(default_factory=list)
    hours: Span | None = None  # the hour buckets of the rollup region inside this bucket
    values: set[str] = field(default_factory=set)  # unique_count: the distinct values of the raw events
    summary: Summary = field(default_factory=Summary)
    value: Decimal = _ZERO


@dataclass(frozen=True)
class _Layout:
    raw: list[Span]
    hours: list[Span]
    days: list[Span]
    region: Span | None  # the whole hours read from rollups: [ceil_hour(start), floor_hour(end))


def _layout(start: datetime, end: datetime, *, fine: bool) -> _Layout:
    first_hour, last_hour = ceil_hour(start), floor_hour(end)
    if first_hour >= last_hour:
        return _Layout([(start, end)], [], [], None)
    raw = [(start, first_hour), (last_hour, end)]
    if fine:
        return _Layout(raw, [(first_hour, last_hour)], [], (first_hour, last_hour))
    first_day, last_day = ceil_day(first_hour), floor_day(last_hour)
    if first_day >= last_day:
        return _Layout(raw, [(first_hour, last_hour)], [], (first_hour, last_hour))
    hours = [(first_hour, first_day), (last_day, last_hour)]
    return _Layout(raw, hours, [(first_day, last_day)], (first_hour, last_hour))


def _widened(session: Session, customer_id: int, definition: MetricDefinition, start: datetime, end: datetime) -> Span:
    """The window to lay out for ``[start, end)``: widened to the whole hour at an edge whose counted events all lie
    inside the window (the hour's rollup starts at or after ``start``, or ends before ``end``), or that has none, so
    that hour is read from its rollup row instead of its raw events. The common cases: the hour a billing period
    starts in, at any second, and the current hour of an upcoming invoice. ``unique_count`` keeps its raw edges (its
    distinct sets are per hour), as does a window inside one hour."""
    first, last = floor_hour(start), floor_hour(end)
    no_partial_edge = first == start and last == end
    if first == last or no_partial_edge or definition.aggregation is Aggregation.unique_count:
        return start, end
    extents = repository.hour_extents(session, customer_id, definition.name, first, last)
    if first < start and (first not in extents or extents[first][0] >= start):
        start = first
    if last < end and (last not in extents or extents[last][1] < end):
        end = ceil_hour(end)
    return start, end


def _evaluate(
    session: Session,
    customer_id: int,
    definition: MetricDefinition,
    bounds: Sequence[datetime],
    *,
    fine: bool,
    period: timedelta | None,
) -> list[_Bucket]:
    """The usage of each bucket ``[bounds[i], bounds[i+1])``. With ``fine`` the rollup region is read from hour
    rollups only (for hourly series); otherwise the bounds must fall on day boundaries inside the window."""
    start, end = bounds[0], bounds[-1]
    name, aggregation = definition.name, definition.aggregation
    weighted = aggregation is Aggregation.weighted_sum
    layout = _layout(*_widened(session, customer_id, definition, start, end), fine=fine)
    carry_span = (floor_hour(start), start)
    buckets = [_Bucket(lo, hi) for lo, hi in pairwise(bounds)]
    if aggregation in _ADDITIVE_TOTALS and not definition.filters:
        # Only count, total and maximum matter: add the raw edge events up in SQL instead of loading them.
        raw: list[RawEvent] = []
        for lo, hi in layout.raw:
            if lo >= hi:
                continue
            count, total, maximum, first, last = repository.raw_totals(session, customer_id, name, (lo, hi))
            if count:
                bucket = buckets[bisect_right(bounds, lo) - 1]
                after_region = layout.region is not None and lo >= layout.region[1]
                totals = Summary(count=count, total=total, maximum=maximum, first_time=first, last_time=last)
                (bucket.back_totals if after_region else bucket.front_totals).append(totals)
    else:
        raw = repository.raw_events(
            session, customer_id, definition, [*layout.raw, *([carry_span] if weighted else [])]
        )
    for summary in repository.rollups(session, customer_id, name, hours=layout.hours, days=layout.days):
        assert summary.first_time is not None
        buckets[bisect_right(bounds, summary.first_time) - 1].rollups.append(summary)
    before: list[RawEvent] = []
    for event in raw:
        if event.event_time < start:
            before.append(event)
            continue
        bucket = buckets[bisect_right(bounds, event.event_time) - 1]
        after_region = layout.region is not None and event.event_time >= layout.region[1]
        (bucket.back if after_region else bucket.front).append(event)
    carry = _carry_in(session, customer_id, name, start, before) if weighted else None
    by_hour = _distinct_by_hour(session, customer_id, name, layout.region) if fine and _unique(definition) else {}
    for bucket in buckets:
        parts = [
            _summarize(bucket.front),
            *bucket.front_totals,
            *bucket.rollups,
            _summarize(bucket.back),
            *bucket.back_totals,
        ]
        bucket.summary = merge(parts)
        if layout.region is not None:
            lo, hi = max(bucket.start, layout.region[0]), min(bucket.end, layout.region[1])
            bucket.hours = (lo, hi) if lo < hi else None
        distinct = 0
        if _unique(definition):
            bucket.values = {v for e in (*bucket.front, *bucket.back) if (v := definition.distinct_value(e.properties))}
            distinct = _distinct(session, customer_id, name, bucket, by_hour if fine else None)
        bucket.value = usage_of(
            aggregation,
            bucket.summary,
            start=bucket.start,
            end=bucket.end,
            period=period,
            carry_in=carry,
            distinct=distinct,
        )
        if bucket.summary.count:
            carry = bucket.summary.last_value
    return buckets


def _unique(definition: MetricDefinition) -> bool:
    return definition.aggregation is Aggregation.unique_count


def _summarize(events: list[RawEvent]) -> Summary:
    return summarize((e.event_time, e.id, e.quantity) for e in events)


def _carry_in(
    session: Session, customer_id: int, metric_name: str, start: datetime, before: list[RawEvent]
) -> Decimal | None:
    """The gauge value in effect at ``start``: the last counted value before it."""
    if before:
        return max(before, key=lambda e: (e.event_time, e.id)).quantity
    return repository.last_value_before(session, customer_id, metric_name, floor_hour(start))


def _distinct_by_hour(session: Session, customer_id: int, metric_name: str, region: Span | None) -> dict[datetime, int]:
    return repository.distinct_counts_by_hour(session, customer_id, metric_name, region) if region else {}


def _distinct(
    session: Session, customer_id: int, metric_name: str, bucket: _Bucket, by_hour: dict[datetime, int] | None
) -> int:
    if bucket.hours is None:
        return len(bucket.values)
    if by_hour is not None and not bucket.values and bucket.hours[1] - bucket.hours[0] == timedelta(hours=1):
        return by_hour.get(bucket.hours[0], 0)
    return repository.distinct_count(session, customer_id, metric_name, [bucket.hours], bucket.values)
