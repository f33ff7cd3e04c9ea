"""Queries over invoices and their items."""

from __future__ import annotations

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session, aliased, selectinload

from fubble.db.models import BillingCoverage, Invoice, InvoiceItem, Subscription


def get(session: Session, invoice_id: int, *, for_update: bool = False) -> Invoice | None:
    """The invoice, with its items. ``for_update`` locks the row until commit (``SELECT ... FOR UPDATE`` on
    PostgreSQL; SQLite writers are serialized already) and reloads it, so concurrent changes of one invoice queue up."""
    query = select(Invoice).where(Invoice.id == invoice_id).options(selectinload(Invoice.invoice_items))
    if for_update:
        query = query.with_for_update(of=Invoice).execution_options(populate_existing=True)
    return session.scalars(query).first()


def list_page(
    session: Session, *, status: str | None = None, customer_id: int | None = None, limit: int, offset: int
) -> list[Invoice]:
    """Invoices by id, optionally only one status and/or one customer's, with their items loaded."""
    query = select(Invoice).options(selectinload(Invoice.invoice_items))
    if status is not None:
        query = query.where(Invoice.status == status)
    if customer_id is not None:
        query = query.where(Invoice.customer_id == customer_id)
    return list(session.scalars(query.order_by(Invoice.id).limit(limit).offset(offset)))


def release_coverage(session: Session, invoice_id: int) -> None:
    """Free the time a voided invoice billed, so that it can be billed again (the unique index on coverage only
    counts rows not released), and have the next billing run look at its subscriptions."""
    billed = select(BillingCoverage.subscription_id).where(BillingCoverage.invoice_id == invoice_id)
    session.execute(update(Subscription).where(Subscription.id.in_(billed)).values(next_due_at=None))
    session.execute(update(BillingCoverage).where(BillingCoverage.invoice_id == invoice_id).values(released=True))


def crediting_invoices(session: Session, invoice_id: int) -> list[int]:
    """Other invoices that credit part of the fees this invoice billed in advance (their ``credit`` coverage, not
    released, overlaps its ``advance`` coverage), by id."""
    ahead = aliased(BillingCoverage)
    credit = aliased(BillingCoverage)
    query = (
        select(credit.invoice_id)
        .join(
            ahead,
            and_(
                ahead.subscription_id == credit.subscription_id,
                ahead.start < credit.end,
                credit.start < ahead.end,
            ),
        )
        .where(
            ahead.invoice_id == invoice_id,
            ahead.kind == "advance",
            ahead.released.is_(False),
            credit.kind == "credit",
            credit.released.is_(False),
            credit.invoice_id != invoice_id,
        )
        .distinct()
        .order_by(credit.invoice_id)
    )
    return list(session.scalars(query))


def adjusting_invoices(session: Session, invoice_id: int) -> list[int]:
    """Other invoices, not void, with adjustment lines (late usage) for time this invoice billed in arrears, by id."""
    billed = aliased(BillingCoverage)
    query = (
        select(InvoiceItem.invoice_id)
        .join(Invoice, Invoice.id == InvoiceItem.invoice_id)
        .join(
            billed,
            and_(
                billed.subscription_id == InvoiceItem.subscription_id,
                billed.start < InvoiceItem.period_end,
                InvoiceItem.period_start < billed.end,
            ),
        )
        .where(
            billed.invoice_id == invoice_id,
            billed.kind == "arrears",
            billed.released.is_(False),
            InvoiceItem.kind == "adjustment",
            InvoiceItem.invoice_id != invoice_id,
            Invoice.status != "void",
        )
        .distinct()
        .order_by(InvoiceItem.invoice_id)
    )
    return list(session.scalars(query))
