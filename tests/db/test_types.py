from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select, text
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
