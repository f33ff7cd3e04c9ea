"""The events repository's bulk insert: which rows it reports inserted, with which ids (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from fubble.clock import FrozenClock
from fubble.db.models import Event
from fubble.db.session import Database
from fubble.events import repository
from fubble.events.repository import NewEvent

from ..usage.helpers import new_customers

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def _row(customer: int, key: str | None, n: int) -> NewEvent:
    return NewEvent(key, customer, "api_calls", Decimal(n), T0 + timedelta(minutes=n), None, f"fp{n}", T0)


def test_a_few_rows_get_their_own_ids_around_skipped_ones(db: Database, clock: FrozenClock) -> None:
    """Rows whose event_id is taken (stored before, or earlier among the rows) are skipped; every other row is
    reported with the id it was stored under, also rows without an event_id right after a skipped one."""
    (customer,) = new_customers(db, clock, 1)
    with db.transaction() as session:
        repository.insert_batch(session, [_row(customer, "taken", 0)])
    rows = [
        _row(customer, "taken", 1),  # stored before
        _row(customer, None, 2),
        _row(customer, "a", 3),
        _row(customer, "a", 4),  # the same event_id as the row before
        _row(customer, None, 5),
        _row(customer, "b", 6),
    ]
    with db.transaction() as session:
        inserted = repository.insert_batch(session, rows)
    assert [row.quantity for _, row in inserted] == [2, 3, 5, 6]
    assert [i for i, _ in inserted] == sorted(i for i, _ in inserted)
    with db.transaction() as session:
        stored = {e.id: e for e in session.scalars(select(Event))}
    assert len(stored) == 5
    for event_id, row in inserted:
        assert (stored[event_id].event_id, stored[event_id].quantity) == (row.event_id, row.quantity)
