"""Shared helpers of the usage tests: metrics, customers and a brute-force usage computed from raw events."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from fubble.clock import Clock
from fubble.customers import service as customers
from fubble.customers.schemas import CustomerCreate
from fubble.db.models import Event
from fubble.db.models.metric import Metric
from fubble.db.session import Database
from fubble.db.types import dumps_exact
from fubble.pricing.money import to_decimal

MICRO = timedelta(microseconds=1)


@dataclass(frozen=True)
class Spec:
    """A metric as the brute force sees it: filters are {property: allowed string values}."""

    name: str
    aggregation: str = "sum"
    property: str | None = None
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def stored_filters(self) -> list[dict[str, Any]]:
        return [
            {"property": p, "eq": values[0]} if len(values) == 1 else {"property": p, "in": list(values)}
            for p, values in self.filters
        ]

    def passes(self, properties: dict[str, Any] | None) -> bool:
        props = properties or {}
        return all(p in props and props[p] in values for p, values in self.filters)


def define(session: Session, spec: Spec, clock: Clock) -> None:
    now = clock.now()
    session.add(
        Metric(
            name=spec.name,
            display_name=spec.name.title(),
            unit="units",
            aggregation=spec.aggregation,
            property=spec.property,
            filters=spec.stored_filters(),
            created_at=now,
            updated_at=now,
        )
    )
    session.flush()


def new_customers(db: Database, clock: Clock, count: int) -> list[int]:
    with db.transaction() as session:
        made = [
            customers.create(
                session, CustomerCreate(name=f"c{i}", email=f"c{i}@example.com"), clock=clock, default_currency="USD"
            )
            for i in range(count)
        ]
        return [c.id for c in made]


def clear_usage(db: Database) -> None:
    with db.engine.begin() as conn:
        for table in ("usage_rollups", "usage_distinct", "events", "metrics"):
            conn.execute(text(f"DELETE FROM {table}"))


@dataclass(frozen=True)
class Stored:
    id: int
    customer_id: int
    metric_name: str
    quantity: Decimal
    event_time: datetime
    properties: dict[str, Any] | None


def stored_events(session: Session) -> list[Stored]:
    rows = session.execute(
        select(Event.id, Event.customer_id, Event.metric_name, Event.quantity, Event.event_time, Event.properties)
    )
    return [Stored(*row) for row in rows]


def brute_usage(
    events: Iterable[Stored],
    spec: Spec,
    customer_id: int,
    start: datetime,
    end: datetime,
    period: timedelta | None = None,
) -> Decimal:
    """The usage of ``[start, end)`` computed straight from the raw events."""
    counted = sorted(
        (
            e
            for e in events
            if e.customer_id == customer_id and e.metric_name == spec.name and spec.passes(e.properties)
        ),
        key=lambda e: (e.event_time, e.id),
    )
    inside = [e for e in counted if start <= e.event_time < end]
    if spec.aggregation == "sum":
        return sum((e.quantity for e in inside), Decimal(0))
    if spec.aggregation == "count":
        return Decimal(len(inside))
    if spec.aggregation == "max":
        return max((e.quantity for e in inside), default=Decimal(0))
    if spec.aggregation == "latest":
        return inside[-1].quantity if inside else Decimal(0)
    if spec.aggregation == "unique_count":
        assert spec.property is not None
        values = {
            dumps_exact((e.properties or {})[spec.property]) for e in inside if spec.property in (e.properties or {})
        }
        return Decimal(len(values))
    assert spec.aggregation == "weighted_sum"
    before = [e for e in counted if e.event_time < start]
    value = before[-1].quantity if before else Decimal(0)
    at = start
    with localcontext() as ctx:
        ctx.prec = 200
        total = Decimal(0)
        for e in inside:
            total += value * ((e.event_time - at) // MICRO)
            value, at = e.quantity, e.event_time
        total += value * ((end - at) // MICRO)
    length = (period or (end - start)) // MICRO
    return to_decimal(Fraction(total) / length, 12)


def snapshot(session: Session) -> tuple[list[Any], list[Any]]:
    rollups = session.execute(text("SELECT * FROM usage_rollups ORDER BY customer_id, metric_name, width, bucket"))
    distinct = session.execute(text("SELECT * FROM usage_distinct ORDER BY customer_id, metric_name, bucket, value"))
    return [tuple(r) for r in rollups], [tuple(r) for r in distinct]


def calendar_buckets(start: datetime, end: datetime, granularity: str) -> Sequence[tuple[datetime, datetime]]:
    """Brute-force calendar buckets (walks hour by hour)."""
    result: list[tuple[datetime, datetime]] = []
    cursor = start
    while cursor < end:
        if granularity == "hour":
            nxt = cursor.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        elif granularity == "day":
            nxt = cursor.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
        else:
            first = cursor.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
            nxt = (first + timedelta(days=32)).replace(day=1)
        result.append((cursor, min(nxt, end)))
        cursor = min(nxt, end)
    return result
