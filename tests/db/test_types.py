from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from fubble.db.functions import exact_max, exact_sum
from fubble.db.models import Customer, Event
from fubble.db.session import Database


def _customer(session: Session, now: datetime) -> Customer:
    customer = Customer(name="c", email="c@example.com", currency="USD", invoice_seq=0, created_at=now, updated_at=now)
    session.add(customer)
    session.flush()
    return customer


def test_decimals_and_times_round_trip_exactly(db: Database) -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    plus_five = timezone(timedelta(hours=5))
    quantities = [Decimal("0.1"), Decimal("0.2"), Decimal("12.345"), Decimal("123456789012345.123456789012")]
    with db.transaction() as session:
        customer = _customer(session, now)
        for i, quantity in enumerate(quantities):
            session.add(
                Event(
                    customer_id=customer.id,
                    metric_name="m",
                    quantity=quantity,
                    fingerprint=str(i),
                    event_time=datetime(2024, 1, 1, 5, tzinfo=plus_five),
                    received_at=now,
                )
            )
    with db.transaction() as session:
        stored = session.scalars(select(Event.quantity).order_by(Event.id)).all()
        assert stored == quantities
        assert all(isinstance(q, Decimal) for q in stored)
        assert session.scalar(select(Event.event_time).limit(1)) == datetime(2024, 1, 1, 0, tzinfo=UTC)
        assert session.scalar(select(exact_sum(Event.quantity))) == sum(quantities, Decimal(0))
        assert session.scalar(select(exact_max(Event.quantity))) == max(quantities)
        if db.dialect == "sqlite":  # stored as text, never as a float
            assert session.execute(text("SELECT typeof(quantity) FROM events LIMIT 1")).scalar() == "text"


def test_floats_are_refused(db: Database) -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    with pytest.raises(Exception, match="float"), db.transaction() as session:
        customer = _customer(session, now)
        session.add(
            Event(
                customer_id=customer.id,
                metric_name="m",
                quantity=0.1,
                fingerprint="f",  # type: ignore[arg-type]
                event_time=now,
                received_at=now,
            )
        )
        session.flush()


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2024, 1, 1, 5, 30, 0, 123456, tzinfo=timezone(timedelta(hours=5, minutes=30))),  # an offset
        datetime(2024, 2, 29, 23, 59, 59, 999999),  # naive: UTC
        datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),  # before 1970: a negative count
        datetime(1900, 1, 1, tzinfo=UTC),
        datetime(8999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ],
)
def test_event_times_round_trip_exactly_and_compare_as_instants(db: Database, moment: datetime) -> None:
    """events.event_time is UTCMicros: integer microseconds on SQLite, timestamptz on PostgreSQL."""
    now = datetime(2024, 1, 1, tzinfo=UTC)
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    with db.transaction() as session:
        customer = _customer(session, now)
        for i, at in enumerate([utc - timedelta(microseconds=1), moment, utc + timedelta(microseconds=1)]):
            session.add(
                Event(
                    customer_id=customer.id,
                    metric_name="m",
                    quantity=Decimal(1),
                    fingerprint=str(i),
                    event_time=at,
                    received_at=now,
                )
            )
    with db.transaction() as session:
        assert session.scalars(select(Event.event_time).order_by(Event.event_time)).all() == [
            utc - timedelta(microseconds=1),
            utc,
            utc + timedelta(microseconds=1),
        ]
        assert session.scalar(select(Event.fingerprint).where(Event.event_time == moment)) == "1"
        assert session.scalar(select(func.count()).where(Event.event_time >= moment)) == 2
        if db.dialect == "sqlite":
            assert session.execute(text("SELECT typeof(event_time) FROM events LIMIT 1")).scalar() == "integer"
