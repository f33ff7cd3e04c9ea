"""Rollups summarized in one pass from events given in order (the hot path of plain batches, see
:func:`summarize_in_order`).

An hour is a run of consecutive events, a day a run of consecutive hours, and per customer and metric the days come
before the hours, so the rows come out in key order without comparing events. They are the rows
:func:`fubble.usage.rollups.summarize` makes, already converted for the driver (SQLite: as the column types would,
with one batch's caches; PostgreSQL: numbers as binary ``COPY`` takes them fastest).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Context, Decimal, Inexact, localcontext
from typing import Any, Protocol

from sqlalchemy.engine import Dialect

from fubble.db import bulk
from fubble.db.types import decimal_text
from fubble.usage import rollup_writes as writes
from fubble.usage.buckets import DAY, HOUR, Width, floor_day, floor_hour
from fubble.usage.rollups import NewBuckets

__all__ = ["Measured", "summarize_in_order"]

# Sums of quantities never round (an inexact result would raise instead).
_EXACT = Context(prec=200, traps=[Inexact])
_HOUR, _DAY = Width.hour.value, Width.day.value


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
    """:func:`~fubble.usage.rollups.summarize` for events of metrics that roll up like the default sum (see
    :func:`~fubble.usage.rollups.plain`), given in (customer, metric, event time) order, whose ids will increase in
    that order: each event's position stands in for its id. Every bucket is then a run of consecutive events, its
    first and last event are the run's first and last, and the buckets come out in key order, so one pass does it,
    without comparing events (several times cheaper than :func:`~fubble.usage.rollups.summarize`, which takes events
    in any order). On SQLite the rows are converted as they are made."""
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
