"""Queries of the test clocks: the clocks, and what their customers subscribe to and have in draft."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, joinedload

from fubble.db.models import BillingRun, Customer, Invoice, Subscription, TestClock
from fubble.invoices.status import InvoiceStatus


def get(session: Session, clock_id: int) -> TestClock | None:
    return session.get(TestClock, clock_id)


def list_page(session: Session, *, limit: int, offset: int) -> list[TestClock]:
    return list(session.scalars(select(TestClock).order_by(TestClock.id).limit(limit).offset(offset)))


def subscriptions_between(
    session: Session, clock_id: int, after: datetime, to: datetime
) -> list[tuple[Subscription, Customer]]:
    """The subscriptions of the clock's customers that overlap ``(after, to]``, with their plans loaded, and their
    customers; by subscription id."""
    query = (
        select(Subscription, Customer)
        .join(Customer, Customer.id == Subscription.customer_id)
        .where(
            Customer.test_clock_id == clock_id,
            Subscription.start_date <= to,
            or_(Subscription.end_date.is_(None), Subscription.end_date > after),
        )
        .options(joinedload(Subscription.plan))
        .order_by(Subscription.id)
    )
    return [(subscription, customer) for subscription, customer in session.execute(query).unique()]


def billed_as_of(session: Session, clock_id: int, t: datetime) -> bool:
    """Whether a billing run of the clock's customers has run as of ``t`` or later."""
    query = select(BillingRun.id).where(BillingRun.test_clock_id == clock_id, BillingRun.as_of >= t).limit(1)
    return session.scalar(query) is not None


def next_grace_deadline(session: Session, clock_id: int, after: datetime, to: datetime) -> datetime | None:
    """The earliest end of a grace period in ``(after, to]`` among the drafts of the clock's customers."""
    query = (
        select(func.min(Invoice.grace_until))
        .join(Customer, Customer.id == Invoice.customer_id)
        .where(
            Customer.test_clock_id == clock_id,
            Invoice.status == InvoiceStatus.DRAFT.value,
            Invoice.grace_until > after,
            Invoice.grace_until <= to,
        )
    )
    result: datetime | None = session.scalar(query)
    return result


def move_forward(session: Session, clock_id: int, to: datetime, now: datetime) -> None:
    """Set the clock's time to ``to`` unless it is already there or later (a clock never goes back, even when two
    advances overlap)."""
    session.execute(
        update(TestClock)
        .where(TestClock.id == clock_id, TestClock.frozen_time < to)
        .values(frozen_time=to, updated_at=now)
    )
