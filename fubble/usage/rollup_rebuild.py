"""Rollups recomputed from raw events, with the metric's current definition.

* :func:`rebuild` replaces all of one metric's rollups (and distinct values). Events are streamed customer by customer
  in pages and folded in (event time, id) order into hour and day buckets, each written once, in bulk.
* :func:`recompute` rewrites the buckets of ``weighted_sum`` metrics that new events touched, whose integral an
  incremental update cannot keep (a late event in the middle of a bucket changes the integral after it): whole days of
  raw events at a time, consecutive days read together.

A bucket's integral is the time-weighted sum inside it: each event's value times the microseconds until the next
event of the bucket (the last one's weighs nothing); 0 for metrics of other aggregations.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from decimal import Context, Decimal, Inexact, localcontext
from itertools import pairwise
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlalchemy.orm import Session

from fubble.pricing.aggregation import Aggregation, Summary
from fubble.usage import repository
from fubble.usage import rollup_writes as writes
from fubble.usage.buckets import DAY, MICROSECOND, Width, floor_day, floor_hour
from fubble.usage.definitions import MetricDefinition, resolve
from fubble.usage.repository import DISTINCT, ROLLUPS, RawEvent
from fubble.usage.rollup_writes import BucketKey

__all__ = ["rebuild", "recompute"]

# Sums of quantities and value x microseconds products never round (an inexact result would raise instead).
_EXACT = Context(prec=200, traps=[Inexact])
_PAGE = 5000
_WRITE_CHUNK = 2000
_ZERO = Decimal(0)

Point = tuple[datetime, int, Decimal]  # (event_time, event id, quantity)


def rebuild(session: Session, metric_name: str) -> None:
    """Recompute the metric's rollups (and distinct values) from its raw events, with its current definition.

    Call it in the transaction that changed the metric's aggregation, property or filters (after the change is
    flushed). Memory stays bounded: events are read customer by customer in pages of a few thousand.
    """
    repository.lock_metric(session, metric_name)
    definition = resolve(session, [metric_name])[metric_name]
    repository.delete_rollups(session, metric_name)
    writer = _Writer(session)
    with localcontext(_EXACT):
        for customer_id in repository.customers_with_events(session, metric_name):
            folder = _Folder(customer_id, definition, writer)
            for page in repository.raw_event_pages(session, customer_id, definition, page_size=_PAGE):
                for event in page:
                    folder.add(event)
            folder.close()
    writer.flush()


def _combined(points: list[Point]) -> Summary:
    """The summary of a bucket's events, without the integral (see :func:`_summarize`)."""
    first = min(points)
    last = max(points)
    return Summary(
        count=len(points),
        total=sum((p[2] for p in points), _ZERO),
        maximum=max(p[2] for p in points),
        first_time=first[0],
        first_value=first[2],
        last_time=last[0],
        last_value=last[2],
        last_order=last[1],
    )


def _values(key: BucketKey, summary: Summary) -> tuple[Any, ...]:
    """A bucket's row, in the order of ``writes.ROLLUP_COLUMNS``."""
    return (
        *key,
        summary.count,
        summary.total,
        summary.maximum,
        summary.first_time,
        summary.first_value,
        summary.last_time,
        summary.last_value,
        summary.last_order,
        summary.integral,
    )


def _row(key: BucketKey, summary: Summary) -> dict[str, Any]:
    return dict(zip(writes.ROLLUP_COLUMNS, _values(key, summary), strict=True))


def recompute(session: Session, definitions: Mapping[str, MetricDefinition], keys: list[BucketKey]) -> None:
    """Rewrite the touched buckets of weighted_sum metrics from their raw events (whole days at a time)."""
    days: dict[tuple[int, str], set[datetime]] = defaultdict(set)
    touched = set(keys)
    for customer_id, metric_name, width, bucket in keys:
        if width == Width.day.value:
            days[(customer_id, metric_name)].add(bucket)
    updates: list[dict[str, Any]] = []
    for (customer_id, metric_name), day_set in sorted(days.items()):
        definition = definitions[metric_name]
        for lo, hi in _runs(sorted(day_set)):
            events = repository.raw_events(session, customer_id, definition, [(lo, hi)])
            by_bucket: dict[BucketKey, list[Point]] = defaultdict(list)
            for e in events:
                point = (e.event_time, e.id, e.quantity)
                hour = floor_hour(e.event_time)
                by_bucket[(customer_id, metric_name, Width.hour.value, hour)].append(point)
                by_bucket[(customer_id, metric_name, Width.day.value, floor_day(hour))].append(point)
            with localcontext(_EXACT):
                updates.extend(
                    _row(key, _summarize(points)) for key, points in sorted(by_bucket.items()) if key in touched
                )
    if updates:
        session.execute(_update_by_key(), [{f"k_{k}": row.pop(k) for k in writes.KEY} | row for row in updates])


def _update_by_key() -> Any:
    """``UPDATE usage_rollups SET <the other columns, from the parameters> WHERE <key> = <k_ parameters>``."""
    return update(ROLLUPS).where(*(ROLLUPS.c[k] == bindparam(f"k_{k}") for k in writes.KEY))


def _runs(days: list[datetime]) -> list[tuple[datetime, datetime]]:
    """Consecutive days merged into ``[first day, day after the last)`` ranges."""
    runs: list[tuple[datetime, datetime]] = []
    for day in days:
        if runs and runs[-1][1] == day:
            runs[-1] = (runs[-1][0], day + DAY)
        else:
            runs.append((day, day + DAY))
    return runs


def _summarize(points: list[Point]) -> Summary:
    ordered = sorted(points)
    integral = _ZERO
    for (t0, _, v0), (t1, _, _) in pairwise(ordered):
        integral += v0 * ((t1 - t0) // MICROSECOND)
    return replace(_combined(ordered), integral=integral)


def _summary(
    count: int, total: Decimal, maximum: Decimal, first: Point, last: Point, last_order: int, integral: Decimal = _ZERO
) -> Summary:
    """A bucket's summary from its running aggregates (``first``/``last`` are (time, order, value) points)."""
    return Summary(
        count=count,
        total=total,
        maximum=maximum,
        first_time=first[0],
        first_value=first[2],
        last_time=last[0],
        last_value=last[2],
        last_order=last_order,
        integral=integral,
    )


class _Running:
    """The summary of a bucket's events, fed in (event_time, id) order."""

    __slots__ = ("bucket", "count", "first", "integral", "last", "maximum", "total")

    def __init__(self, bucket: datetime, first: Point) -> None:
        self.bucket = bucket
        self.count = 1
        self.total = first[2]
        self.maximum = first[2]
        self.first = first
        self.last = first
        self.integral = _ZERO

    def add(self, point: Point, weighted: bool) -> None:
        if weighted:
            self.integral += self.last[2] * ((point[0] - self.last[0]) // MICROSECOND)
        self.count += 1
        self.total += point[2]
        if point[2] > self.maximum:
            self.maximum = point[2]
        self.last = point

    def summary(self) -> Summary:
        return _summary(self.count, self.total, self.maximum, self.first, self.last, self.last[1], self.integral)


class _Writer:
    """Buffers rebuilt rows and writes them with bulk inserts."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.rollups: list[dict[str, Any]] = []
        self.values: list[dict[str, Any]] = []

    def rollup(self, key: BucketKey, summary: Summary) -> None:
        self.rollups.append(_row(key, summary))
        if len(self.rollups) >= _WRITE_CHUNK:
            self.session.execute(insert(ROLLUPS), self.rollups)
            self.rollups = []

    def distinct(self, customer_id: int, metric_name: str, hour: datetime, values: set[str]) -> None:
        self.values.extend(
            {"customer_id": customer_id, "metric_name": metric_name, "bucket": hour, "value": v} for v in sorted(values)
        )
        if len(self.values) >= _WRITE_CHUNK:
            self.session.execute(insert(DISTINCT), self.values)
            self.values = []

    def flush(self) -> None:
        if self.rollups:
            self.session.execute(insert(ROLLUPS), self.rollups)
        if self.values:
            self.session.execute(insert(DISTINCT), self.values)
        self.rollups, self.values = [], []


class _Folder:
    """Folds one customer's events of one metric, in time order, into hour and day rollups."""

    def __init__(self, customer_id: int, definition: MetricDefinition, writer: _Writer) -> None:
        self.customer_id = customer_id
        self.definition = definition
        self.writer = writer
        self.weighted = definition.aggregation is Aggregation.weighted_sum
        self.unique = definition.aggregation is Aggregation.unique_count
        self.hour: _Running | None = None
        self.day: _Running | None = None
        self.values: set[str] = set()

    def add(self, event: RawEvent) -> None:
        if self.definition.filters and not self.definition.counts(event.properties):
            return
        point = (event.event_time, event.id, event.quantity)
        hour = floor_hour(event.event_time)
        if self.hour is not None and self.hour.bucket == hour:
            self.hour.add(point, self.weighted)
        else:
            self._close_hour()
            self.hour = _Running(hour, point)
        day = floor_day(hour)
        if self.day is not None and self.day.bucket == day:
            self.day.add(point, self.weighted)
        else:
            self._close_day()
            self.day = _Running(day, point)
        if self.unique:
            value = self.definition.distinct_value(event.properties)
            if value is not None:
                self.values.add(value)

    def _close_hour(self) -> None:
        if self.hour is not None:
            name = self.definition.name
            self.writer.rollup((self.customer_id, name, Width.hour.value, self.hour.bucket), self.hour.summary())
            if self.values:
                self.writer.distinct(self.customer_id, name, self.hour.bucket, self.values)
            self.hour, self.values = None, set()

    def _close_day(self) -> None:
        if self.day is not None:
            key = (self.customer_id, self.definition.name, Width.day.value, self.day.bucket)
            self.writer.rollup(key, self.day.summary())
            self.day = None

    def close(self) -> None:
        self._close_hour()
        self._close_day()
