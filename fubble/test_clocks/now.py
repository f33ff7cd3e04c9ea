"""What time it is for a customer: the server's clock, or the frozen time of the customer's test clock."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from fubble.clock import Clock
from fubble.db.models import Customer, TestClock


def customer_now(session: Session, customer: Customer, clock: Clock) -> datetime:
    """Now for ``customer``: its test clock's time if it has one, else ``clock.now()``."""
    if customer.test_clock_id is None:
        return clock.now()
    test_clock = session.get(TestClock, customer.test_clock_id)
    assert test_clock is not None  # a foreign key
    return test_clock.frozen_time
