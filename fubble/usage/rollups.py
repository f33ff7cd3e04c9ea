"""Exact usage rollups, maintained in the same transaction as the events they summarize.

For every customer, metric and UTC hour and day with events the metric counts (its filters pass), ``usage_rollups``
holds a :class:`~fubble.pricing.aggregation.Summary` of those events: count, total, maximum, first and last
(time, value), and for ``weighted_sum`` metrics the time-weighted integral inside the bucket (0 for the others). For
``unique_count`` metrics, ``usage_distinct`` holds the distinct values of the counted property per hour.

* :func:`apply` adds newly inserted events. Each bucket is upserted with ONE ``INSERT ... ON CONFLICT DO UPDATE``
  executed with many parameter sets, whose ``SET`` does the combining in SQL (exact ``+``, greatest, the first and
  last by (event time, event id)), so concurrent transactions never lose an update: PostgreSQL re-evaluates the
  ``SET`` against the latest committed row after waiting for its lock. Buckets are written in key order, so two
  batches touching the same buckets cannot deadlock. A late event in the middle of a bucket makes an incremental
  integral wrong, so for ``weighted_sum`` metrics the touched buckets are then recomputed from their raw events (the
  rows are locked by the upsert, so this is race-free too).
* :func:`rebuild` recomputes one metric's rollups from its raw events, streaming them customer by customer in pages.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Context, Decimal, Inexact, localcontext
from itertools import pairwise
from typing import Any, NamedTuple, Protocol

from sqlalchemy import bindparam, insert, update
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from fubble.db import bulk
from fubble.db.types import decimal_text
from fubble.pricing.aggregation import Aggregation, Summary
from fubble.usage import repository
from fubble.usage import rollup_writes as writes
from fubble.usage.buckets import DAY, HOUR, MICROSECOND, Width, floor_day, floor_hour
from fubble.usage.definitions import MetricDefinition, resolve
from fubble.usage.repository import DISTINCT, ROLLUPS, RawEvent

__all__ = [
    "EventRow",
    "Measured",
    "NewBuckets",
    "apply",
    "plain",
    "rebuild",
    "summarize",
    "summarize_in_order",
    "write",
]

# Sums of quantities and value x microseconds products never round (an inexact result would raise instead).
_EXACT = Context(prec=200, traps=[Inexact])
_PAGE = 5000
_WRITE_CHUNK = 2000
_ZERO = Decimal(0)

BucketKey = tuple[int, str, str, datetime]  # (customer_id, metric_name, width, bucket)
Point = tuple[datetime, int, Decimal]  # (event_time, event id, quantity)


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


class Measured(Protocol):
    """What :func:`summarize_in_order` reads of an event."""

    @property
    def customer_id(self) -> int: ...
    @property
    def metric_name(self) -> str: ...
    @property
    def quantity(self) -> Decimal: ...
    @property
    def event_time(self) -> datetime: ...


def summarize_in_order(dialect: Dialect, events: Sequence[Measured]) -> NewBuckets:
    """:func:`summarize` for events of metrics that roll up like the default sum (see :func:`plain`), given in
    (customer, metric, event time) order, whose ids will increase in that order: each event's position stands in for
    its id. Every bucket is then a run of consecutive events, its first and last event are the run's first and last,
    and the buckets come out in key order, so one pass does it, without comparing events (several times cheaper
    than :func:`summarize`, which takes events in any order). On SQLite the rows are converted as they are made."""
    floors: dict[datetime, datetime] = {}  # an instant -> its hour (events often share their time)
    convert = _SqliteRow() if dialect.name != "postgresql" else _PostgresRow()
    hours: list[list[Any]] = []  # per hour: customer, metric, "hour", start, count, total, maximum, first time,
    # first value, last time, last value, last position (the columns of writes.ROLLUP_COLUMNS, integral aside)
    current: list[Any] | None = None
    ends = datetime.min  # the end of the current hour (an event of its customer and metric before it is in it)
    with localcontext(_EXACT):
        for position, event in enumerate(events):
            moment = event.event_time
            quantity = event.quantity
            if (
                current is not None
                and moment < ends  # in time order within a customer and metric: not before the hour's start
                and current[0] == event.customer_id
                and current[1] == event.metric_name
            ):
                current[4] += 1
                current[5] += quantity
                if quantity > current[6]:
                    current[6] = quantity
                current[9], current[10], current[11] = moment, quantity, position
            else:
                hour = floors.get(moment)
                if hour is None:
                    hour = floors[moment] = floor_hour(moment)
                ends = hour + HOUR
                current = [
                    event.customer_id,
                    event.metric_name,
                    _HOUR,
                    hour,
                    1,
                    quantity,
                    quantity,
                    moment,
                    quantity,
                    moment,
                    quantity,
                    position,
                ]
                hours.append(current)
        rows: list[list[Any]] = []
        group: list[list[Any]] = []  # the hours of one customer and metric
        for hour_row in hours:
            if group and (hour_row[0] != group[0][0] or hour_row[1] != group[0][1]):
                _add_days_then_hours(rows, group, convert)
                group = []
            group.append(hour_row)
        if group:
            _add_days_then_hours(rows, group, convert)
    bound = writes.bind(dialect, writes.upsert(dialect.name), writes.ROLLUP_COLUMNS, rows, converted=True)
    no_values = writes.bind(dialect, writes.insert_distinct(dialect.name), writes.DISTINCT_COLUMNS, [])
    return NewBuckets(bound, no_values, [], bound.prepared.names.index("last_event_id"))


_HOUR, _DAY = Width.hour.value, Width.day.value


def _add_days_then_hours(rows: list[list[Any]], hours: list[list[Any]], convert: _Converter) -> None:
    """The rows of one customer and metric in key order: its days (made from its hours), then its hours."""
    days: list[list[Any]] = []
    for hour in hours:  # in time order: an hour before the last day's end is in that day
        if days and hour[3] < days[-1][3] + DAY:
            last = days[-1]
            last[4] += hour[4]
            last[5] += hour[5]
            if hour[6] > last[6]:
                last[6] = hour[6]
            last[9], last[10], last[11] = hour[9], hour[10], hour[11]
        else:
            days.append([hour[0], hour[1], _DAY, floor_day(hour[3]), *hour[4:]])
    rows.extend(map(convert, (*days, *hours)))


class _Converter(Protocol):
    def __call__(self, bucket: list[Any]) -> list[Any]: ...


class _SqliteRow:
    """A bucket (the columns of ``ROLLUP_COLUMNS``, integral aside) as SQLite binds it, with one batch's caches."""

    def __init__(self) -> None:
        self.times: dict[datetime, str] = {}
        self.quantities: dict[int, tuple[Decimal, str]] = {}

    def __call__(self, bucket: list[Any]) -> list[Any]:
        times, quantities = self.times, self.quantities
        instant, decimal = bulk.sqlite_instant, bulk.sqlite_decimal
        return [
            bucket[0],
            bucket[1],
            bucket[2],
            instant(bucket[3], times),
            bucket[4],
            decimal_text(bucket[5]),  # a new total: no cache
            decimal(bucket[6], quantities),
            instant(bucket[7], times),
            decimal(bucket[8], quantities),
            instant(bucket[9], times),
            decimal(bucket[10], quantities),
            bucket[11],
            "0",
        ]


class _PostgresRow:
    """A bucket as binary ``COPY`` takes it fastest (:func:`fubble.db.bulk.pg_number`), with one batch's cache."""

    def __init__(self) -> None:
        self.numbers: dict[int, tuple[Decimal, int | Decimal]] = {}

    def __call__(self, bucket: list[Any]) -> list[Any]:
        numbers, number = self.numbers, bulk.pg_number
        return [
            *bucket[:5],
            number(bucket[5], numbers),
            number(bucket[6], numbers),
            bucket[7],
            number(bucket[8], numbers),
            bucket[9],
            number(bucket[10], numbers),
            bucket[11],
            0,
        ]


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
        _recompute(session, definitions, summary.weighted)


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
        """The bucket's row, in the order of ``writes.ROLLUP_COLUMNS`` (what ``_values(key, summary)`` gives, without
        building the summary: this runs for every bucket a batch touches)."""
        first, last = self.first, self.last
        return (*key, self.count, self.total, self.maximum, first[0], first[2], last[0], last[2], last[1], _ZERO)


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
    """The summary of a bucket's new events, without the integral (maintained separately, see module docstring)."""
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


def _recompute(session: Session, definitions: Mapping[str, MetricDefinition], keys: list[BucketKey]) -> None:
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
