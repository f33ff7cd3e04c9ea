"""Queries of the analytics routes: GROUP BY over invoices, and over the usage rollups (never over raw events).

Rollup windows handed in here are whole hours ``[start, end)``. They are read as day rows for the whole UTC days inside
the window and hour rows for the hours at its edges (:func:`_rollup_cover`), so each event is counted once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, distinct, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import GenericFunction

from fubble.db.functions import exact_max, exact_sum
from fubble.db.models import Customer, Invoice, InvoiceItem, Plan, Subscription, UsageDistinct, UsageRollup
from fubble.db.session import snapshot
from fubble.usage.buckets import ceil_day, floor_day

STREAM_BATCH = 2000


# --- UTC calendar keys of timestamp columns ('YYYY-MM-DD' and 'YYYY-MM'), for GROUP BY on both databases ----------


class utc_day(GenericFunction[str]):
    type = String()
    inherit_cache = True
    name = "fubble_utc_day"


class utc_month(GenericFunction[str]):
    type = String()
    inherit_cache = True
    name = "fubble_utc_month"


@compiles(utc_day)
def _utc_day_default(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"to_char({compiler.process(element.clauses, **kw)} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


@compiles(utc_month)
def _utc_month_default(element: utc_month, compiler: SQLCompiler, **kw: Any) -> str:
    return f"to_char({compiler.process(element.clauses, **kw)} AT TIME ZONE 'UTC', 'YYYY-MM')"


# SQLite stores UTC timestamps as 'YYYY-MM-DD HH:MM:SS.ffffff' text.
@compiles(utc_day, "sqlite")
def _utc_day_sqlite(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 10)"


@compiles(utc_month, "sqlite")
def _utc_month_sqlite(element: utc_month, compiler: SQLCompiler, **kw: Any) -> str:
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 7)"


def calendar_key(column: Any, granularity: str) -> ColumnElement[str]:
    """``'YYYY-MM-DD'`` (granularity ``day``) or ``'YYYY-MM'`` (``month``) of a UTC timestamp column."""
    return utc_day(column) if granularity == "day" else utc_month(column)


def _mapping(session: Session, query: Select[Any, Any]) -> dict[Any, Any]:
    """The two-column result as ``{first: second}``."""
    return {key: value for key, value in session.execute(query)}


# --- revenue ----------------------------------------------------------------------------------------------------------


SERVICE_TIME: ColumnElement[datetime] = func.coalesce(
    InvoiceItem.period_start, Invoice.period_start, Invoice.issue_date
)
"""The time an invoice line's amount belongs to by service: the start of the time it bills (a generated line's
slice), else its invoice's period start, else (a manual invoice) the invoice's issue date."""


@dataclass(frozen=True)
class InvoiceFilter:
    """What counts: invoices with these statuses, one currency or all, and a time in ``[start, end)`` (either bound
    optional). The time is the invoice's ``issue_date``, or with ``by_service`` each line's :data:`SERVICE_TIME`:
    amounts are then summed per line (an invoice billing two months counts in both)."""

    statuses: Sequence[str]
    start: datetime | None
    end: datetime | None
    currency: str | None
    by_service: bool = False

    @property
    def time(self) -> ColumnElement[datetime]:
        return SERVICE_TIME if self.by_service else Invoice.issue_date.expression

    def amounts(self, *keys: Any, by_line: bool = False) -> Select[*tuple[Any, ...]]:
        """``SELECT keys..., currency, sum of amounts, number of distinct invoices`` over the counted invoices (over
        their lines with ``by_service`` or ``by_line``); the caller adds joins and ``GROUP BY keys..., currency``."""
        if by_line or self.by_service:
            query = select(*keys, Invoice.currency, exact_sum(InvoiceItem.amount), func.count(distinct(Invoice.id)))
            query = query.select_from(InvoiceItem).join(Invoice, Invoice.id == InvoiceItem.invoice_id)
        else:
            query = select(*keys, Invoice.currency, exact_sum(Invoice.amount), func.count(Invoice.id))
        query = query.where(Invoice.status.in_(list(self.statuses)))
        if self.start is not None:
            query = query.where(self.time >= self.start)
        if self.end is not None:
            query = query.where(self.time < self.end)
        if self.currency is not None:
            query = query.where(Invoice.currency == self.currency)
        return query.group_by(*keys, Invoice.currency)


def revenue_totals(session: Session, where: InvoiceFilter) -> list[tuple[str, Decimal, int]]:
    """(currency, sum of amounts, invoice count) per currency."""
    return [(c, a, int(n)) for c, a, n in session.execute(where.amounts())]


def revenue_by_month(session: Session, where: InvoiceFilter) -> list[tuple[str, str, Decimal, int]]:
    """(month 'YYYY-MM' of the filter's time, currency, sum of amounts, invoice count) per month and currency."""
    month = calendar_key(where.time, "month").label("month")
    return [(m, c, a, int(n)) for m, c, a, n in session.execute(where.amounts(month))]


def revenue_by_customer(session: Session, where: InvoiceFilter) -> list[tuple[int, str, Decimal, int]]:
    """(customer id, currency, sum of amounts, invoice count) per customer and currency."""
    return [(cid, c, a, int(n)) for cid, c, a, n in session.execute(where.amounts(Invoice.customer_id))]


def revenue_by_plan(session: Session, where: InvoiceFilter) -> list[tuple[int | None, str, Decimal, int]]:
    """(plan id or None for lines without a subscription, currency, sum of line amounts, distinct invoice count)."""
    query = where.amounts(Subscription.plan_id, by_line=True).outerjoin(
        Subscription, Subscription.id == InvoiceItem.subscription_id
    )
    return [(pid, c, a, int(n)) for pid, c, a, n in session.execute(query)]


def customer_names(session: Session, ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return _mapping(session, select(Customer.id, Customer.name).where(Customer.id.in_(wanted)))


def plan_names(session: Session, ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return _mapping(session, select(Plan.id, Plan.name).where(Plan.id.in_(wanted)))


# --- usage rollups ----------------------------------------------------------------------------------------------------


def _rollup_cover(start: datetime, end: datetime) -> ColumnElement[bool]:
    """Rollup rows that tile the whole-hour window exactly once: day rows for its whole days, hour rows elsewhere."""
    bucket = UsageRollup.bucket
    first_day, last_day = ceil_day(start), floor_day(end)
    if first_day >= last_day:
        return and_(UsageRollup.width == "hour", bucket >= start, bucket < end)
    return or_(
        and_(UsageRollup.width == "day", bucket >= first_day, bucket < last_day),
        and_(
            UsageRollup.width == "hour",
            or_(and_(bucket >= start, bucket < first_day), and_(bucket >= last_day, bucket < end)),
        ),
    )


def _rollups(metric: str, start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(UsageRollup.metric_name == metric, _rollup_cover(start, end))


def _distinct(metric: str, start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(UsageDistinct.metric_name == metric, UsageDistinct.bucket >= start, UsageDistinct.bucket < end)


def series_total(session: Session, metric: str, start: datetime, end: datetime, granularity: str) -> dict[str, Any]:
    """Calendar key -> sum of event quantities of every customer."""
    key = calendar_key(UsageRollup.bucket, granularity).label("key")
    query = select(key, exact_sum(UsageRollup.total)).where(_rollups(metric, start, end)).group_by(key)
    return _mapping(session, query)


def series_count(session: Session, metric: str, start: datetime, end: datetime, granularity: str) -> dict[str, Any]:
    """Calendar key -> number of events of every customer."""
    key = calendar_key(UsageRollup.bucket, granularity).label("key")
    query = select(key, func.sum(UsageRollup.event_count)).where(_rollups(metric, start, end)).group_by(key)
    return _mapping(session, query)


def series_max(session: Session, metric: str, start: datetime, end: datetime, granularity: str) -> dict[str, Any]:
    """Calendar key -> sum over customers of each customer's largest quantity in the bucket."""
    key = calendar_key(UsageRollup.bucket, granularity).label("key")
    per_customer = (
        select(key, exact_max(UsageRollup.maximum).label("peak"))
        .where(_rollups(metric, start, end))
        .group_by(UsageRollup.customer_id, key)
        .subquery()
    )
    query = select(per_customer.c.key, exact_sum(per_customer.c.peak)).group_by(per_customer.c.key)
    return _mapping(session, query)


def series_unique(session: Session, metric: str, start: datetime, end: datetime, granularity: str) -> dict[str, Any]:
    """Calendar key -> sum over customers of each customer's distinct values in the bucket."""
    key = calendar_key(UsageDistinct.bucket, granularity).label("key")
    per_customer = (
        select(key, func.count(distinct(UsageDistinct.value)).label("n"))
        .where(_distinct(metric, start, end))
        .group_by(UsageDistinct.customer_id, key)
        .subquery()
    )
    query = select(per_customer.c.key, func.sum(per_customer.c.n)).group_by(per_customer.c.key)
    return _mapping(session, query)


def customer_totals(session: Session, metric: str, start: datetime, end: datetime, aggregation: str) -> dict[int, Any]:
    """Customer id -> its sum / count / max / distinct count over the window (``aggregation`` picks which)."""
    if aggregation == "unique_count":
        query = (
            select(UsageDistinct.customer_id, func.count(distinct(UsageDistinct.value)))
            .where(_distinct(metric, start, end))
            .group_by(UsageDistinct.customer_id)
        )
        return _mapping(session, query)
    value: ColumnElement[Any]
    if aggregation == "sum":
        value = exact_sum(UsageRollup.total)
    elif aggregation == "count":
        value = func.sum(UsageRollup.event_count)
    else:
        value = exact_max(UsageRollup.maximum)
    query = select(UsageRollup.customer_id, value).where(_rollups(metric, start, end)).group_by(UsageRollup.customer_id)
    return _mapping(session, query)


def rollup_rows(session: Session, metric: str, start: datetime, end: datetime) -> Iterator[Any]:
    """The rollup rows tiling the window, every customer's in time order (ordered by customer, then bucket);
    streamed in batches."""
    r = UsageRollup
    query = (
        select(
            r.customer_id,
            r.bucket,
            r.event_count,
            r.total,
            r.maximum,
            r.first_time,
            r.first_value,
            r.last_time,
            r.last_value,
            r.last_event_id,
            r.integral,
        )
        .where(_rollups(metric, start, end))
        .order_by(r.customer_id, r.bucket)
    )
    with snapshot(session):  # a server-side cursor needs a transaction
        yield from session.execute(query, execution_options={"yield_per": STREAM_BATCH})


def values_before(session: Session, metric: str, moment: datetime) -> dict[int, Decimal]:
    """Customer id -> the quantity of its last event before ``moment`` (an hour boundary): the gauge value in effect
    at ``moment``. Customers without an earlier event are absent."""
    latest = (
        select(UsageRollup.customer_id, func.max(UsageRollup.bucket).label("bucket"))
        .where(UsageRollup.metric_name == metric, UsageRollup.width == "hour", UsageRollup.bucket < moment)
        .group_by(UsageRollup.customer_id)
        .subquery()
    )
    query = select(UsageRollup.customer_id, UsageRollup.last_value).join(
        latest,
        and_(
            UsageRollup.customer_id == latest.c.customer_id,
            UsageRollup.bucket == latest.c.bucket,
            UsageRollup.metric_name == metric,
            UsageRollup.width == "hour",
        ),
    )
    return _mapping(session, query)
