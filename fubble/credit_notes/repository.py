"""Queries over credit notes and their items.

Decimals are stored as text on SQLite, so what notes credited is summed in Python, never in SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fubble.db.models import CreditNote, CreditNoteItem, Customer


def next_credit_note_seq(session: Session, customer_id: int) -> int:
    """Atomically take the customer's next credit note sequence number (row-locks the customer until commit)."""
    seq = session.execute(
        update(Customer)
        .where(Customer.id == customer_id)
        .values(credit_note_seq=Customer.credit_note_seq + 1)
        .returning(Customer.credit_note_seq)
    ).scalar_one()
    return int(seq)


def get(session: Session, note_id: int) -> CreditNote | None:
    return session.get(CreditNote, note_id)


def items_of(session: Session, note_ids: Sequence[int]) -> dict[int, list[CreditNoteItem]]:
    """Each note's items, by id (every note asked for is a key)."""
    found: dict[int, list[CreditNoteItem]] = {note_id: [] for note_id in note_ids}
    if found:
        query = select(CreditNoteItem).where(CreditNoteItem.credit_note_id.in_(found)).order_by(CreditNoteItem.id)
        for item in session.scalars(query):
            found[item.credit_note_id].append(item)
    return found


def list_page(
    session: Session, *, invoice_id: int | None = None, customer_id: int | None = None, limit: int, offset: int
) -> list[CreditNote]:
    """Notes by id, of one invoice or one customer."""
    query = select(CreditNote)
    if invoice_id is not None:
        query = query.where(CreditNote.invoice_id == invoice_id)
    if customer_id is not None:
        query = query.where(CreditNote.customer_id == customer_id)
    return list(session.scalars(query.order_by(CreditNote.id).limit(limit).offset(offset)))


def credited(session: Session, invoice_id: int) -> tuple[Decimal, dict[int, Decimal]]:
    """What earlier notes credited on the invoice: in all, and per invoice item (items named by notes)."""
    total = sum(session.scalars(select(CreditNote.amount).where(CreditNote.invoice_id == invoice_id)), Decimal(0))
    per_item: dict[int, Decimal] = {}
    query = (
        select(CreditNoteItem.invoice_item_id, CreditNoteItem.amount)
        .join(CreditNote, CreditNote.id == CreditNoteItem.credit_note_id)
        .where(CreditNote.invoice_id == invoice_id)
    )
    for item_id, amount in session.execute(query):
        per_item[item_id] = per_item.get(item_id, Decimal(0)) + amount
    return total, per_item
