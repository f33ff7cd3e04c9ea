"""Queries over raw events, usage rollups and distinct values, for the rollup maintenance and the reader."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NamedTuple, cast

from sqlalchemy import ColumnElement, Table, and_, bindparam, delete, distinct, func, literal, null, or_, select
from sqlalchemy.orm import Session

from fubble.db import bulk
from fubble.db.functions import exact_max, exact_sum
from fubble.db.models import Event, Metric, PriceComponent, Subscription
from fubble.db.models.rollup import UsageDistinct, UsageRollup
from fubble.pricing.aggregation import Aggregation, Summary
from fubble.subscriptions.repository import active_in
from fubble.usage.buckets import Width, floor_hour
from fubble.usage.definitions import MetricDefinition

EVENTS = cast(Table, Event.__table__)
ROLLUPS = cast(Table, UsageRollup.__table__)
DISTINCT = cast(Table, UsageDistinct.__table__)

Span = tuple[datetime, datetime]
FEE_ONLY_TYPES = ("flat", "subscription")  # pricing types that charge no usage


class RawEvent(NamedTuple):
    """A stored event as the rollups see it (``properties`` only loaded when the metric needs them)."""

    id: int
    event_time: datetime
    quantity: Decimal
    properties: Mapping[str, Any] | None


def needs_properties(definition: MetricDefinition) -> bool:
    return bool(definition.filters) or definition.property is not None


def _properties(definition: MetricDefinition) -> Any:
    return EVENTS.c.properties if needs_properties(definition) else null().label("properties")


def _raw_query(definition: MetricDefinition, *, with_properties: bool = False) -> Any:
    properties = EVENTS.c.properties if with_properties else _properties(definition)
    return select(EVENTS.c.id, EVENTS.c.event_time, EVENTS.c.quantity, properties)


def _in_spans(column: Any, spans: Iterable[Span]) -> list[ColumnElement[bool]]:
    return [and_(column >= lo, column < hi) for lo, hi in spans if lo < hi]


def _rollup_spans(hours: Sequence[Span], days: Sequence[Span]) -> list[ColumnElement[bool]]:
    """The hour rollups whose buckets start inside ``hours`` and the day rollups inside ``days``."""
    c = ROLLUPS.c
    ranges = [and_(c.width == Width.hour.value, r) for r in _in_spans(c.bucket, hours)]
    return ranges + [and_(c.width == Width.day.value, r) for r in _in_spans(c.bucket, days)]


def raw_events(
    session: Session,
    customer_id: int,
    definition: MetricDefinition,
    spans: Iterable[Span],
    *,
    with_properties: bool = False,
) -> list[RawEvent]:
    """The customer's events of the metric inside any of the spans that the metric counts (filters applied); their
    properties are read when the metric needs them, or ``with_properties``."""
    ranges = _in_spans(EVENTS.c.event_time, spans)
    if not ranges:
        return []
    query = _raw_query(definition, with_properties=with_properties).where(
        EVENTS.c.customer_id == customer_id, EVENTS.c.metric_name == definition.name, or_(*ranges)
    )
    return [RawEvent(*row) for row in session.execute(query) if not definition.filters or definition.counts(row[3])]


def raw_event_pages(
    session: Session, customer_id: int, definition: MetricDefinition, *, page_size: int
) -> Iterator[list[RawEvent]]:
    """All the customer's events of the metric in (event_time, id) order, in pages (keyset pagination), unfiltered."""
    base = _raw_query(definition).where(EVENTS.c.customer_id == customer_id, EVENTS.c.metric_name == definition.name)
    after: tuple[datetime, int] | None = None
    while True:
        query = base
        if after is not None:
            query = query.where(
                or_(
                    EVENTS.c.event_time > after[0],
                    and_(EVENTS.c.event_time == after[0], EVENTS.c.id > after[1]),
                )
            )
        page = [
            RawEvent(*row) for row in session.execute(query.order_by(EVENTS.c.event_time, EVENTS.c.id).limit(page_size))
        ]
        if not page:
            return
        yield page
        if len(page) < page_size:
            return
        after = (page[-1].event_time, page[-1].id)


def customers_with_events(session: Session, metric_name: str) -> list[int]:
    query = select(EVENTS.c.customer_id).where(EVENTS.c.metric_name == metric_name).distinct()
    return sorted(session.scalars(query))


def summary_of(row: Any) -> Summary:
    return Summary(
        count=row.event_count,
        total=row.total,
        maximum=row.maximum,
        first_time=row.first_time,
        first_value=row.first_value,
        last_time=row.last_time,
        last_value=row.last_value,
        last_order=row.last_event_id,
        integral=row.integral,
    )


def rollups(
    session: Session, customer_id: int, metric_name: str, *, hours: Sequence[Span], days: Sequence[Span]
) -> list[Summary]:
    """The stored summaries of the hour buckets starting inside ``hours`` and day buckets inside ``days``, by time:
    a window's layout (see :mod:`fubble.usage.reader`), at most two runs of hours and one of days."""
    hours, days = [(a, b) for a, b in hours if a < b], [(a, b) for a, b in days if a < b]
    if not hours and not days:
        return []
    params: dict[str, Any] = {"customer_id": customer_id, "metric_name": metric_name}
    for slots, spans in ((_HOUR_SLOTS, hours), (_DAY_SLOTS, days)):
        for slot, (lo, hi) in zip(slots, [*spans, *[_NO_SPAN] * (len(slots) - len(spans))], strict=True):
            params[f"{slot}_lo"], params[f"{slot}_hi"] = lo, hi
    return [summary_of(row) for row in session.execute(_ROLLUPS_IN_SPANS, params)]


# The shape of one window's rollups (see fubble.usage.reader: whole days between two runs of whole hours), and its
# edge hours' extents, as statements built once: building and keying a SQLAlchemy expression per read cost more than
# the query itself. A span not needed is empty (_NO_SPAN).
_HOUR_SLOTS, _DAY_SLOTS = ("h1", "h2"), ("d1",)
_NO_SPAN = (datetime(1970, 1, 1, tzinfo=UTC), datetime(1970, 1, 1, tzinfo=UTC))


def _rollups_in_spans() -> Any:
    c = ROLLUPS.c

    def inside(width: Width, slot: str) -> ColumnElement[bool]:
        lo, hi = bindparam(f"{slot}_lo", type_=c.bucket.type), bindparam(f"{slot}_hi", type_=c.bucket.type)
        return and_(c.width == width.value, c.bucket >= lo, c.bucket < hi)

    spans = [inside(Width.hour, slot) for slot in _HOUR_SLOTS] + [inside(Width.day, slot) for slot in _DAY_SLOTS]
    return (
        select(ROLLUPS)
        .where(c.customer_id == bindparam("customer_id"), c.metric_name == bindparam("metric_name"), or_(*spans))
        .order_by(c.bucket)
    )


_ROLLUPS_IN_SPANS = _rollups_in_spans()


def hour_extents(
    session: Session, customer_id: int, metric_name: str, first: datetime, last: datetime
) -> dict[datetime, tuple[datetime, datetime]]:
    """``{hour: (first event time, last event time)}`` of the customer's hour rollups of the metric starting at
    ``first`` or ``last`` (a window's edge hours; only those with events)."""
    params = {"customer_id": customer_id, "metric_name": metric_name, "first": first, "last": last}
    return {bucket: (lo, hi) for bucket, lo, hi in session.execute(_HOUR_EXTENTS, params)}


_HOUR_EXTENTS = select(ROLLUPS.c.bucket, ROLLUPS.c.first_time, ROLLUPS.c.last_time).where(
    ROLLUPS.c.customer_id == bindparam("customer_id"),
    ROLLUPS.c.metric_name == bindparam("metric_name"),
    ROLLUPS.c.width == Width.hour.value,
    ROLLUPS.c.bucket.in_(
        [bindparam("first", type_=ROLLUPS.c.bucket.type), bindparam("last", type_=ROLLUPS.c.bucket.type)]
    ),
)


def raw_totals(
    session: Session, customer_id: int, metric_name: str, span: Span
) -> tuple[int, Decimal, Decimal | None, datetime | None, datetime | None]:
    """(count, exact total, exact maximum, first time, last time) of the customer's events of the metric in the span,
    added up in SQL (for unfiltered sum/count/max metrics: no need to load the events)."""
    c = EVENTS.c
    query = select(
        func.count(), exact_sum(c.quantity), exact_max(c.quantity), func.min(c.event_time), func.max(c.event_time)
    ).where(c.customer_id == customer_id, c.metric_name == metric_name, c.event_time >= span[0], c.event_time < span[1])
    count, total, maximum, first, last = session.execute(query).one()
    return int(count or 0), total if total is not None else Decimal(0), maximum, first, last


def raw_events_many(
    session: Session, customer_ids: Sequence[int], definition: MetricDefinition, spans: Iterable[Span]
) -> dict[int, list[RawEvent]]:
    """:func:`raw_events` for many customers in one query: ``{customer id: events}`` (only customers with events)."""
    ranges = _in_spans(EVENTS.c.event_time, spans)
    result: dict[int, list[RawEvent]] = {}
    if not ranges or not customer_ids:
        return result
    columns = (EVENTS.c.customer_id, EVENTS.c.id, EVENTS.c.event_time, EVENTS.c.quantity, _properties(definition))
    query = select(*columns).where(
        EVENTS.c.customer_id.in_(list(customer_ids)), EVENTS.c.metric_name == definition.name, or_(*ranges)
    )
    for row in session.execute(query):
        if not definition.filters or definition.counts(row[4]):
            result.setdefault(row[0], []).append(RawEvent(*row[1:]))
    return result


def rollups_many(
    session: Session, customer_ids: Sequence[int], metric_name: str, *, hours: Sequence[Span], days: Sequence[Span]
) -> dict[int, list[Summary]]:
    """:func:`rollups` for many customers in one query: ``{customer id: summaries by time}``."""
    c = ROLLUPS.c
    ranges = _rollup_spans(hours, days)
    result: dict[int, list[Summary]] = {}
    if not ranges or not customer_ids:
        return result
    query = select(ROLLUPS).where(c.customer_id.in_(list(customer_ids)), c.metric_name == metric_name, or_(*ranges))
    for row in session.execute(query.order_by(c.customer_id, c.bucket)):
        result.setdefault(row.customer_id, []).append(summary_of(row))
    return result


def rollup_totals_many(
    session: Session, customer_ids: Sequence[int], metric_name: str, *, hours: Sequence[Span], days: Sequence[Span]
) -> dict[int, tuple[int, Decimal, Decimal | None]]:
    """``{customer id: (event count, exact total, exact maximum)}`` over the same rollups as :func:`rollups_many`,
    added up in SQL (one row per customer)."""
    c = ROLLUPS.c
    ranges = _rollup_spans(hours, days)
    if not ranges or not customer_ids:
        return {}
    query = (
        select(c.customer_id, func.sum(c.event_count), exact_sum(c.total), exact_max(c.maximum))
        .where(c.customer_id.in_(list(customer_ids)), c.metric_name == metric_name, or_(*ranges))
        .group_by(c.customer_id)
    )
    return {
        row[0]: (int(row[1] or 0), row[2] if row[2] is not None else Decimal(0), row[3])
        for row in session.execute(query)
    }


def last_value_before(session: Session, customer_id: int, metric_name: str, hour: datetime) -> Decimal | None:
    """The last counted value of the metric before ``hour`` (from the latest hour rollup before it)."""
    c = ROLLUPS.c
    query = (
        select(c.last_value)
        .where(c.customer_id == customer_id, c.metric_name == metric_name, c.width == Width.hour.value, c.bucket < hour)
        .order_by(c.bucket.desc())
        .limit(1)
    )
    value: Decimal | None = session.scalar(query)
    return value


def distinct_count(session: Session, customer_id: int, metric_name: str, hours: Sequence[Span], extra: set[str]) -> int:
    """How many distinct values the hour buckets starting inside ``hours`` hold together with ``extra``."""
    c = DISTINCT.c
    ranges = _in_spans(c.bucket, hours)
    if not ranges:
        return len(extra)
    where = (c.customer_id == customer_id, c.metric_name == metric_name, or_(*ranges))
    stored = session.scalar(select(func.count(distinct(c.value))).where(*where)) or 0
    wanted = sorted(extra)
    for chunk in bulk.chunks(wanted):
        extra = extra - set(session.scalars(select(c.value).where(*where, c.value.in_(chunk)).distinct()))
    return int(stored) + len(extra)


def distinct_counts_by_hour(session: Session, customer_id: int, metric_name: str, span: Span) -> dict[datetime, int]:
    """``{hour bucket: number of distinct values}`` for the hour buckets starting inside ``span``."""
    c = DISTINCT.c
    query = (
        select(c.bucket, func.count(literal(1)))
        .where(c.customer_id == customer_id, c.metric_name == metric_name, c.bucket >= span[0], c.bucket < span[1])
        .group_by(c.bucket)
    )
    return {bucket: int(count) for bucket, count in session.execute(query)}


class Extent(NamedTuple):
    first_time: datetime
    last_time: datetime


def extents(
    session: Session, customer_id: int, *, since_day: datetime | None, before: datetime | None
) -> dict[str, Extent]:
    """Metrics with counted events in the customer's day buckets from ``since_day`` to before ``before`` (either
    optional), with the first and last counted event time among them."""
    params = {
        "customer_id": customer_id,
        "since": _EARLIEST if since_day is None else since_day,
        "before": _LATEST if before is None else before,
    }
    return {name: Extent(first, last) for name, first, last in session.execute(_EXTENTS, params)}


# Open bounds of a statement built once (see _ROLLUPS_IN_SPANS): the earliest and latest instants.
_EARLIEST, _LATEST = datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=UTC)
_EXTENTS = (
    select(ROLLUPS.c.metric_name, func.min(ROLLUPS.c.first_time), func.max(ROLLUPS.c.last_time))
    .where(
        ROLLUPS.c.customer_id == bindparam("customer_id"),
        ROLLUPS.c.width == Width.day.value,
        ROLLUPS.c.bucket >= bindparam("since", type_=ROLLUPS.c.bucket.type),
        ROLLUPS.c.bucket < bindparam("before", type_=ROLLUPS.c.bucket.type),
    )
    .group_by(ROLLUPS.c.metric_name)
)


def lock_metric(session: Session, metric_name: str) -> None:
    """Lock the metric's row (PostgreSQL) so ingestion waits while its rollups are rebuilt."""
    session.execute(select(Metric.id).where(Metric.name == metric_name).with_for_update())


def delete_rollups(session: Session, metric_name: str) -> None:
    session.execute(delete(ROLLUPS).where(ROLLUPS.c.metric_name == metric_name))
    session.execute(delete(DISTINCT).where(DISTINCT.c.metric_name == metric_name))


def priced_metrics(session: Session, customer_id: int, start: datetime, end: datetime) -> set[str]:
    """Metrics whose usage the plans of the customer's subscriptions active in ``[start, end)`` price (every
    pricing type but the fee-only ``flat`` and ``subscription``)."""
    return set(session.scalars(_PRICED, {"customer_id": customer_id, "start": start, "end": end}))


_PRICED = (
    select(PriceComponent.metric_name)
    .join(Subscription, Subscription.plan_id == PriceComponent.plan_id)
    .where(
        Subscription.customer_id == bindparam("customer_id"),
        active_in(
            bindparam("start", type_=Subscription.start_date.type), bindparam("end", type_=Subscription.start_date.type)
        ),
        PriceComponent.pricing_type.not_in(FEE_ONLY_TYPES),
        # the components of the subscription's own plan version (fubble.plans.versions)
        PriceComponent.version_from <= Subscription.plan_version,
        or_(PriceComponent.version_to.is_(None), PriceComponent.version_to > Subscription.plan_version),
    )
    .distinct()
)


def labels(session: Session, names: Iterable[str]) -> dict[str, tuple[str | None, str | None]]:
    """``{name: (display_name, unit)}`` of the defined metrics among ``names``."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    return {name: (display_name, unit) for name, display_name, unit in session.execute(_LABELS, {"names": wanted})}


_LABELS = select(Metric.name, Metric.display_name, Metric.unit).where(
    Metric.name.in_(bindparam("names", expanding=True))
)


def gauges_held_at(session: Session, customer_id: int, moment: datetime) -> set[str]:
    """The customer's ``weighted_sum`` metrics with a value reported before ``moment``'s hour (still held then)."""
    return set(session.scalars(_GAUGES_HELD, {"customer_id": customer_id, "hour": floor_hour(moment)}))


def _gauges_held() -> Any:
    c = ROLLUPS.c
    held = (
        select(c.metric_name)
        .where(
            c.customer_id == bindparam("customer_id"),
            c.metric_name == Metric.name,
            c.width == Width.hour.value,
            c.bucket < bindparam("hour", type_=c.bucket.type),
        )
        .exists()
    )
    return select(Metric.name).where(Metric.aggregation == Aggregation.weighted_sum.value, held)


_GAUGES_HELD = _gauges_held()
