"""Queries over subscriptions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BindParameter, ColumnElement, and_, or_, select
from sqlalchemy.orm import Session, selectinload

from fubble.db.models import BillingCoverage, Invoice, Subscription


def active_in(
    start: datetime | BindParameter[datetime], end: datetime | BindParameter[datetime]
) -> ColumnElement[bool]:
    """Subscriptions whose [start_date, end_date) overlaps the window [start, end) (instants, or parameters), and
    which are not empty (canceled at their start)."""
    return and_(
        Subscription.start_date < end,
        or_(Subscription.end_date.is_(None), Subscription.end_date > start),
        or_(Subscription.end_date.is_(None), Subscription.start_date < Subscription.end_date),
    )


def get(session: Session, subscription_id: int, *, for_update: bool = False) -> Subscription | None:
    query = select(Subscription).where(Subscription.id == subscription_id)
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).first()


def list_for_customer(
    session: Session, customer_id: int, *, active_at: datetime | None, limit: int, offset: int
) -> list[Subscription]:
    """The customer's subscriptions by id; with ``active_at``, only those with start <= active_at < end (or no end)."""
    query = select(Subscription).where(Subscription.customer_id == customer_id)
    if active_at is not None:
        query = query.where(
            Subscription.start_date <= active_at,
            (Subscription.end_date.is_(None)) | (Subscription.end_date > active_at),
        )
    query = query.options(selectinload(Subscription.plan))  # their periods need the plan's billing frequency
    return list(session.scalars(query.order_by(Subscription.id).limit(limit).offset(offset)))


def list_page(session: Session, *, limit: int, offset: int) -> list[Subscription]:
    """Every customer's subscriptions by id (the dashboard's list), with their plans loaded."""
    query = select(Subscription).options(selectinload(Subscription.plan))
    return list(session.scalars(query.order_by(Subscription.id).limit(limit).offset(offset)))


def billed_until(session: Session, subscription_id: int) -> datetime | None:
    """The end of the latest time of this subscription billed in arrears by an invoice that is not void (None if
    never). Fees billed in advance do not count: ending a subscription inside them is allowed (billing credits them)."""
    query = (
        select(BillingCoverage.end)
        .join(Invoice, Invoice.id == BillingCoverage.invoice_id)
        .where(
            BillingCoverage.subscription_id == subscription_id,
            BillingCoverage.kind == "arrears",
            BillingCoverage.released.is_(False),
            Invoice.status != "void",
        )
        .order_by(BillingCoverage.end.desc())
        .limit(1)
    )
    return session.scalars(query).first()
