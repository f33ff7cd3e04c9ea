from __future__ import annotations

from sqlalchemy import bindparam, func, literal, select, update
from sqlalchemy.orm import Session

from fubble.db.models import BillingCoverage, Customer, Subscription


def get(session: Session, customer_id: int, *, for_update: bool = False) -> Customer | None:
    if for_update:
        # FOR NO KEY UPDATE: serializes billing per customer without blocking event inserts (their FK check takes
        # FOR KEY SHARE, which this lock does not conflict with).
        query = select(Customer).where(Customer.id == customer_id).with_for_update(key_share=True)
        return session.scalars(query).first()
    return session.get(Customer, customer_id)


def exists(session: Session, customer_id: int) -> bool:
    """Whether the customer exists (a statement built once: cheaper than loading the customer)."""
    return session.execute(_EXISTS, {"customer_id": customer_id}).first() is not None


_EXISTS = select(literal(1)).where(Customer.id == bindparam("customer_id"))


def list_page(session: Session, *, limit: int, offset: int) -> list[Customer]:
    return list(session.scalars(select(Customer).order_by(Customer.id).limit(limit).offset(offset)))


def email_taken(session: Session, email: str, *, except_id: int | None = None) -> bool:
    query = select(Customer.id).where(func.lower(Customer.email) == email.lower())
    if except_id is not None:
        query = query.where(Customer.id != except_id)
    return session.scalars(query.limit(1)).first() is not None


def external_id_taken(session: Session, external_id: str, *, except_id: int | None = None) -> bool:
    query = select(Customer.id).where(Customer.external_id == external_id)
    if except_id is not None:
        query = query.where(Customer.id != except_id)
    return session.scalars(query.limit(1)).first() is not None


def next_invoice_seq(session: Session, customer_id: int) -> int:
    """Atomically take the customer's next invoice sequence number (row-locks the customer until commit)."""
    seq = session.execute(
        update(Customer)
        .where(Customer.id == customer_id)
        .values(invoice_seq=Customer.invoice_seq + 1)
        .returning(Customer.invoice_seq)
    ).scalar_one()
    return int(seq)


def has_billed_time(session: Session, customer_id: int) -> bool:
    """Whether an invoice not void bills some of the customer's subscription time (billing coverage not released)."""
    query = (
        select(BillingCoverage.id)
        .join(Subscription, Subscription.id == BillingCoverage.subscription_id)
        .where(Subscription.customer_id == customer_id, BillingCoverage.released.is_(False))
        .limit(1)
    )
    return session.scalar(query) is not None


def forget_next_due(session: Session, customer_id: int) -> None:
    """Have the next billing run look at the customer's subscriptions (``next_due_at`` NULL)."""
    session.execute(update(Subscription).where(Subscription.customer_id == customer_id).values(next_due_at=None))
