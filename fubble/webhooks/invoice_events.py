"""The messages of invoices written in bulk by billing (:func:`fubble.billing.store.store`): ``invoice.created`` for
each new invoice and ``invoice.finalized`` for those created finalized, with the invoices as the API returns them.
The invoices are read back (with their lines, a query per 1,000) only when some endpoint subscribes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from fubble.db.bulk import chunks
from fubble.db.models import Invoice
from fubble.invoices.schemas import InvoiceOut
from fubble.webhooks import outbox
from fubble.webhooks.event_types import EventType


def created_in_bulk(
    session: Session, invoice_ids: Sequence[int], finalized_ids: Sequence[int], *, at: datetime
) -> None:
    """Dated by the server's now (``session.info["now"]``, set by the request or the job), else ``at`` (the dating
    clock of the run, a test clock's time for its runs)."""
    now = session.info.get("now")
    at = now if isinstance(now, datetime) else at
    if invoice_ids:
        outbox.emit_each(session, EventType.INVOICE_CREATED, lambda: _out(session, invoice_ids), at=at)
    if finalized_ids:
        outbox.emit_each(session, EventType.INVOICE_FINALIZED, lambda: _out(session, finalized_ids), at=at)


def _out(session: Session, invoice_ids: Sequence[int]) -> list[InvoiceOut]:
    found: dict[int, Invoice] = {}
    for chunk in chunks(list(invoice_ids)):
        query = select(Invoice).where(Invoice.id.in_(chunk)).options(selectinload(Invoice.invoice_items))
        found.update((invoice.id, invoice) for invoice in session.scalars(query))
    return [InvoiceOut.of(found[invoice_id]) for invoice_id in invoice_ids]
