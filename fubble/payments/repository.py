"""Queries of payment collection: the attempts and refunds due and their claims, the provider's customers, applied
events. Attempts and refunds are claimed alike: ``model`` names which (:class:`PaymentAttempt` by default)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, Table, exists, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from fubble.db.models import PaymentAttempt, PaymentCustomer, PaymentRefund, StripeEvent

PENDING = "pending"
Claimable = type[PaymentAttempt] | type[PaymentRefund]


def _due(model: Claimable, due_by: datetime, lease_now: datetime) -> Select[Any]:
    return select(model.id).where(
        model.state == PENDING,
        model.due_at <= due_by,
        or_(model.claimed_until.is_(None), model.claimed_until <= lease_now),
    )


def any_due(session: Session, *, due_by: datetime, lease_now: datetime, model: Claimable = PaymentAttempt) -> bool:
    return bool(session.scalar(select(exists(_due(model, due_by, lease_now)))))


def claim(
    session: Session,
    *,
    due_by: datetime,
    lease_now: datetime,
    until: datetime,
    holder: str,
    limit: int,
    model: Claimable = PaymentAttempt,
) -> list[int]:
    """Claim up to ``limit`` rows due by ``due_by`` (earliest first) for ``holder`` until ``until``; their ids.
    PostgreSQL locks the rows it takes and skips those another worker is taking (``FOR UPDATE SKIP LOCKED``);
    SQLite runs one writer at a time. Either way, two workers never hold the same row at once."""
    query = _due(model, due_by, lease_now).order_by(model.due_at, model.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=model)
    ids = [int(i) for i in session.scalars(query)]
    if ids:
        session.execute(
            update(model)
            .where(model.id.in_(ids))
            .values(claimed_by=holder, claimed_until=until)
            .execution_options(synchronize_session=False)
        )
    return ids


def attempts_of(session: Session, invoice_id: int) -> list[PaymentAttempt]:
    """The invoice's attempts, by id."""
    query = select(PaymentAttempt).where(PaymentAttempt.invoice_id == invoice_id).order_by(PaymentAttempt.id)
    return list(session.scalars(query))


def payment_customer(session: Session, customer_id: int, provider: str) -> PaymentCustomer | None:
    return session.get(PaymentCustomer, (customer_id, provider))


def note_event(session: Session, event_id: str, event_type: str, received_at: datetime) -> bool:
    """Record a Stripe event as applied: ``False`` if it already was. An ``INSERT ... ON CONFLICT DO NOTHING``, so two
    deliveries of one event at once never both apply it (on PostgreSQL the second waits for the first's transaction,
    then finds the row) and never fail on the key."""
    table = StripeEvent.__table__
    assert isinstance(table, Table)
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    row = {"event_id": event_id, "event_type": event_type, "received_at": received_at}
    statement = insert(table).values(row).on_conflict_do_nothing(index_elements=["event_id"])
    return session.execute(statement.returning(table.c.event_id)).first() is not None
