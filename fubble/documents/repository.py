"""Queries of the invoice documents and the finance export."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload, selectinload

from fubble.db.models import Invoice


def export_page(
    session: Session, *, status: str | None, after_id: int | None, offset: int, limit: int
) -> list[Invoice]:
    """Invoices by id (only ``status``'s, if given) after ``after_id`` (skipping ``offset`` first), with their lines;
    their discount and tax rows are not read (the export shows the invoices' sums)."""
    query = select(Invoice).options(
        selectinload(Invoice.invoice_items), lazyload(Invoice.discounts), lazyload(Invoice.taxes)
    )
    if status is not None:
        query = query.where(Invoice.status == status)
    if after_id is not None:
        query = query.where(Invoice.id > after_id)
    return list(session.scalars(query.order_by(Invoice.id).offset(offset).limit(limit)))
