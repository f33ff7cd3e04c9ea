"""Exact usage rollups, maintained in the same transaction as the events they summarize.

For every customer, metric and UTC hour and day with events the metric counts (its filters pass), ``usage_rollups``
holds a :class:`~fubble.pricing.aggregation.Summary` of those events: count, total, maximum, first and last
(time, value), and for ``weighted_sum`` metrics the time-weighted integral inside the bucket (0 for the others). For
``unique_count`` metrics, ``usage_distinct`` holds the distinct values of the counted property per hour.

:func:`apply` adds newly inserted events. Each bucket is upserted with ONE ``INSERT ... ON CONFLICT DO UPDATE``
executed with many parameter sets, whose ``SET`` does the combining in SQL (exact ``+``, greatest, the first and last
by (event time, event id)), so concurrent transactions never lose an update: PostgreSQL re-evaluates the ``SET``
against the latest committed row after waiting for its lock. Buckets are written in key order, so two batches
touching the same buckets cannot deadlock. A late event in the middle of a bucket makes an incremental integral wrong,
so for ``weighted_sum`` metrics the touched buckets are then recomputed from their raw events
(:func:`fubble.usage.rollup_rebuild.recompute`; the rows are locked by the upsert, so this is race-free too).

A batch given in order is summarized in one pass by :mod:`fubble.usage.rollup_in_order`; a metric's rollups are
rebuilt by :mod:`fubble.usage.rollup_rebuild`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Context, Decimal, Inexact, localcontext
from typing import Any, NamedTuple

from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from fubble.pricing.aggregation import Aggregation
from fubble.usage import rollup_rebuild
from fubble.usage import rollup_writes as writes
from fubble.usage.buckets import Width, floor_day, floor_hour
from fubble.usage.definitions import MetricDefinition, resolve
from fubble.usage.rollup_writes import BucketKey

__all__ = ["EventRow", "NewBuckets", "apply", "plain", "summarize", "write"]

# Sums of quantities never round (an inexact result would raise instead).
_EXACT = Context(prec=200, traps=[Inexact])
_ZERO = Decimal(0)


class EventRow(NamedTuple):
    """An event as stored, as event ingestion hands it to :func:`apply`."""

    id: int
    customer_id: int
    metric_name: str
    quantity: Decimal
    event_time: datetime
    properties: Mapping[str, Any] | None


def apply(
    session: Session, events: Sequence[EventRow], definitions: Mapping[str, MetricDefinition] | None = None
) -> None:
    """Add events just inserted in this transaction (never duplicates) to the rollups. ``definitions`` holds those
    of their metric names, if the caller read them in this transaction already (``FOR SHARE``, see
    :func:`~fubble.usage.definitions.resolve`)."""
    if not events:
        return
    if definitions is None:
        definitions = resolve(session, {e.metric_name for e in events}, lock=True)
    write(session, summarize(session.get_bind().dialect, definitions, events), definitions)


class NewBuckets(NamedTuple):
    """New events summarized per bucket and bound for one dialect's statements (:func:`summarize`), ready to be
    written by :func:`write`."""

    rollups: writes.Bound  # a row per bucket, in key order
    distinct: writes.Bound  # the new distinct values of unique_count metrics
    weighted: list[BucketKey]  # the buckets of weighted_sum metrics (recomputed from their raw events)
    order_at: int  # where each rollup row holds its last event's ``order`` (see write)

    def __bool__(self) -> bool:
        return bool(self.rollups.values)


def summarize(dialect: Dialect, definitions: Mapping[str, MetricDefinition], events: Sequence[EventRow]) -> NewBuckets:
    """What :func:`write` adds to the rollups for ``events``: pure computation, no database access, so it can run
    before the transaction that writes (outside SQLite's write lock). An event's ``id`` only has to order the events
    like their ids will: :func:`write` can map it to the real id afterwards."""
    hours, days, values = _summarize_new(definitions, events)
    groups = {(c, m, Width.hour.value, b): bucket for (c, m, b), bucket in hours.items()}
    groups.update(((c, m, Width.day.value, b), bucket) for (c, m, b), bucket in days.items())
    keys = sorted(groups)
    rollups = writes.bind(
        dialect, writes.upsert(dialect.name), writes.ROLLUP_COLUMNS, [groups[key].values(key) for key in keys]
    )
    distinct = writes.bind(dialect, writes.insert_distinct(dialect.name), writes.DISTINCT_COLUMNS, sorted(values))
    weighted = [key for key in keys if definitions[key[1]].aggregation is Aggregation.weighted_sum]
    return NewBuckets(rollups, distinct, weighted, rollups.prepared.names.index("last_event_id"))


def write(
    session: Session,
    summary: NewBuckets,
    definitions: Mapping[str, MetricDefinition],
    ids: Sequence[int] | None = None,
) -> None:
    """Add the buckets :func:`summarize` made to the rollups, in this transaction. ``ids``, if given, maps each event's
    ``id`` as summarized (its position) to its real id, in place: a summary is written once."""
    if not summary:
        return
    rollups = summary.rollups
    if ids is not None:  # in place (the rows are lists): a summary is written once
        at = summary.order_at
        for row in rollups.values:
            row[at] = ids[row[at]]
    writes.run(session, rollups)
    if summary.distinct.values:
        writes.run(session, summary.distinct)
    if summary.weighted:
        rollup_rebuild.recompute(session, definitions, summary.weighted)


def plain(definition: MetricDefinition) -> bool:
    """Whether the metric's rollups are the same as the default sum's (every event counts, nothing more to keep), so
    a summary made with default definitions holds for it."""
    return not definition.filters and definition.aggregation not in (
        Aggregation.unique_count,
        Aggregation.weighted_sum,
    )


_BucketsByKey = dict[tuple[int, str, datetime], "_Bucket"]  # (customer_id, metric_name, bucket start) -> summary


def _summarize_new(
    definitions: Mapping[str, MetricDefinition], events: Sequence[EventRow]
) -> tuple[_BucketsByKey, _BucketsByKey, set[tuple[int, str, datetime, str]]]:
    """New events summarized in one pass: per hour, the days from the hours, and the distinct values of
    ``unique_count`` metrics per hour."""
    hours: _BucketsByKey = {}
    values: set[tuple[int, str, datetime, str]] = set()
    floors: dict[datetime, datetime] = {}  # event time -> its hour (events often share their time)
    with localcontext(_EXACT):
        for event in events:
            definition = definitions[event.metric_name]
            if definition.filters and not definition.counts(event.properties):
                continue
            moment = event.event_time
            hour = floors.get(moment)
            if hour is None:
                hour = floors[moment] = floor_hour(moment)
            key = (event.customer_id, event.metric_name, hour)
            bucket = hours.get(key)
            if bucket is None:
                hours[key] = _Bucket(moment, event.id, event.quantity)
            else:
                bucket.add(moment, event.id, event.quantity)
            if definition.aggregation is Aggregation.unique_count:
                value = definition.distinct_value(event.properties)
                if value is not None:
                    values.add((event.customer_id, event.metric_name, hour, value))
        days: _BucketsByKey = {}
        for (customer_id, metric_name, hour), bucket in hours.items():
            day_key = (customer_id, metric_name, floor_day(hour))
            day = days.get(day_key)
            if day is None:
                days[day_key] = bucket.copy()
            else:
                day.merge(bucket)
    return hours, days, values


class _Bucket:
    """The summary of a bucket's new events (without the integral, see the module docstring), fed in any order."""

    __slots__ = ("count", "first", "last", "maximum", "total")

    def __init__(self, moment: datetime, order: int, value: Decimal) -> None:
        self.count = 1
        self.total = value
        self.maximum = value
        self.first = self.last = (moment, order, value)

    def add(self, moment: datetime, order: int, value: Decimal) -> None:
        self.count += 1
        self.total += value
        if value > self.maximum:
            self.maximum = value
        point = (moment, order, value)
        if point < self.first:
            self.first = point
        elif point > self.last:
            self.last = point

    def copy(self) -> _Bucket:
        twin = _Bucket.__new__(_Bucket)
        twin.count, twin.total, twin.maximum, twin.first, twin.last = (
            self.count,
            self.total,
            self.maximum,
            self.first,
            self.last,
        )
        return twin

    def merge(self, other: _Bucket) -> None:
        self.count += other.count
        self.total += other.total
        self.maximum = max(self.maximum, other.maximum)
        self.first = min(self.first, other.first)
        self.last = max(self.last, other.last)

    def values(self, key: BucketKey) -> tuple[Any, ...]:
        """The bucket's row, in the order of ``writes.ROLLUP_COLUMNS`` (what a summary's row in
        :mod:`~fubble.usage.rollup_rebuild` is, without building the summary: this runs for every bucket a batch
        touches)."""
        first, last = self.first, self.last
        return (*key, self.count, self.total, self.maximum, first[0], first[2], last[0], last[2], last[1], _ZERO)
