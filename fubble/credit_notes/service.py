"""Credit notes: corrections of a finalized invoice, which itself is never edited.

Rules
-----
* A note credits either given amounts against the invoice's items (``items``) or a plain ``amount`` against the
  invoice: exactly one of the two (422 otherwise). Only ``pending`` and ``paid`` invoices take notes (409 otherwise).
* Limits (:func:`fubble.pricing.terms.check_credit_note`): every amount > 0 with at most the currency's decimal
  places; each item is an item of this invoice (422), named once (422), credited at most its amount (422) and at most
  what earlier notes left of it (409); the note's amount never exceeds the invoice's ``total`` (its ``amount`` for
  invoices from before totals existed) at all (422), nor what earlier notes left of it (409). Items are credited as
  given: no discount or tax is re-derived.
* Concurrency: the customer row, then the invoice row are locked (``FOR UPDATE`` on PostgreSQL; SQLite serializes
  writers) before what remains creditable is read, so two notes made at once can never credit more than the total.
  (The customer first, as billing runs lock it before its invoices.)
* Numbered ``CN-YYYYMMDD-CUSTOMERID-NNNNNN``: the day it was made (the customer's now: its test clock's time, if
  it has one) and the customer's own ``credit_note_seq``, taken atomically on the locked customer row.
* ``credit``: the amount is granted to the customer's credit balance (source ``credit_note``, no expiry, priority
  50, described ``Credit note CN-...``), stamped like the note. ``refund``: for an invoice paid through the payment
  provider, the amount goes back there (:mod:`fubble.payments.refunds`: queued here, made by the payment worker;
  409 beyond what the provider collected and has not refunded yet); otherwise only recorded, for the payment side.

Nothing here commits; the request's unit of work does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from fubble.clock import Clock
from fubble.credit_notes import repository
from fubble.credit_notes.schemas import CreditNoteCreate, CreditNoteMethod, CreditNoteOut
from fubble.credits import service as credits
from fubble.customers import repository as customers_repository
from fubble.customers import service as customers
from fubble.db.models import CreditNote, CreditNoteItem, Invoice, PaymentRefund
from fubble.errors import Conflict, InvalidInput, NotFound
from fubble.invoices import service as invoices
from fubble.invoices.money import in_minor_units
from fubble.payments import refunds
from fubble.pricing.terms import check_credit_note
from fubble.test_clocks.now import customer_now
from fubble.webhooks import outbox
from fubble.webhooks.event_types import EventType

CREDITABLE = ("pending", "paid")


@dataclass(frozen=True)
class Note:
    note: CreditNote
    items: list[CreditNoteItem]
    refund: PaymentRefund | None = None


def credit_note_number(customer_id: int, made_on: datetime, seq: int) -> str:
    """The number of the customer's ``seq``-th credit note, made on ``made_on``."""
    return f"CN-{made_on:%Y%m%d}-{customer_id}-{seq:06d}"


def create(session: Session, invoice_id: int, data: CreditNoteCreate, *, clock: Clock) -> Note:
    """``POST /invoices/{id}/credit-notes`` (rules in the module docstring): 404 unknown invoice; 409 an invoice
    neither pending nor paid, or more than earlier notes left; 422 the request's values."""
    requested = _requested(data)
    customer_id = invoices.get(session, invoice_id).customer_id
    customer = customers_repository.get(session, customer_id, for_update=True)
    assert customer is not None  # a foreign key
    invoice = invoices.get(session, invoice_id, for_update=True)
    if invoice.status not in CREDITABLE:
        raise Conflict(
            f"invoice {invoice_id} is {invoice.status!r}; only 'pending' and 'paid' invoices take credit notes"
        )
    amount = _checked(session, invoice, requested, data.amount)
    now = customer_now(session, customer, clock)
    number = credit_note_number(customer.id, now, repository.next_credit_note_seq(session, customer.id))
    note = CreditNote(
        number=number,
        invoice_id=invoice.id,
        customer_id=customer.id,
        amount=amount,
        method=data.method.value,
        reason=data.reason,
        created_at=now,
    )
    session.add(note)
    session.flush()
    items = [
        CreditNoteItem(
            credit_note_id=note.id,
            invoice_item_id=item_id,
            amount=in_minor_units(asked, invoice.currency, ("body", "items", position, "amount")),
        )
        for position, (item_id, asked) in enumerate(requested.items())
    ]
    session.add_all(items)
    session.flush()
    refund = None
    if data.method is CreditNoteMethod.REFUND:
        refund = refunds.queue(session, note, invoice, at=clock.now())
    if data.method is CreditNoteMethod.CREDIT:
        credits.grant_from(
            session,
            customer=customer,
            amount=amount,
            at=now,
            source="credit_note",
            credit_note_id=note.id,
            description=f"Credit note {number}",
        )
    outbox.emit(session, EventType.CREDIT_NOTE_CREATED, lambda: CreditNoteOut.of(note, items, refund), at=clock.now())
    return Note(note, items, refund)


def get(session: Session, note_id: int) -> Note:
    note = repository.get(session, note_id)
    if note is None:
        raise NotFound(f"credit note {note_id} not found")
    return Note(
        note, repository.items_of(session, [note.id])[note.id], refunds.of_notes(session, [note.id]).get(note.id)
    )


def list_for_invoice(session: Session, invoice_id: int, *, limit: int, offset: int) -> list[Note]:
    """The invoice's notes by id (404 unknown invoice)."""
    invoices.get(session, invoice_id)
    return _with_items(session, repository.list_page(session, invoice_id=invoice_id, limit=limit, offset=offset))


def list_for_customer(session: Session, customer_id: int, *, limit: int, offset: int) -> list[Note]:
    """The customer's notes by id (404 unknown customer)."""
    customers.get(session, customer_id)
    return _with_items(session, repository.list_page(session, customer_id=customer_id, limit=limit, offset=offset))


def _with_items(session: Session, notes: Sequence[CreditNote]) -> list[Note]:
    ids = [note.id for note in notes]
    items, refunded = repository.items_of(session, ids), refunds.of_notes(session, ids)
    return [Note(note, items[note.id], refunded.get(note.id)) for note in notes]


def _requested(data: CreditNoteCreate) -> dict[int, Decimal]:
    """The items asked for (item id -> amount, in request order); 422 unless exactly one of items and amount is
    given, or for an item named twice."""
    given = data.model_fields_set
    for name in ("items", "amount"):
        if name in given and getattr(data, name) is None:
            raise InvalidInput.at(("body", name), f"{name} cannot be null; leave it out")
    if (data.items is None) == (data.amount is None):
        raise InvalidInput.at(("body",), "give exactly one of items (amounts per invoice item) and amount")
    requested: dict[int, Decimal] = {}
    for position, item in enumerate(data.items or ()):
        if item.invoice_item_id in requested:
            raise InvalidInput.at(
                ("body", "items", position, "invoice_item_id"),
                f"item {item.invoice_item_id} is named more than once; give its whole amount in one entry",
            )
        requested[item.invoice_item_id] = item.amount
    return requested


def _checked(session: Session, invoice: Invoice, requested: dict[int, Decimal], amount: Decimal | None) -> Decimal:
    """The note's amount, by :func:`fubble.pricing.terms.check_credit_note`, its 422s located in the body."""
    credited, item_credited = repository.credited(session, invoice.id)
    invoice_total = invoice.total if invoice.total is not None else invoice.amount
    try:
        return check_credit_note(
            requested,
            {item.id: item.amount for item in invoice.invoice_items},
            item_credited,
            amount,
            invoice_total,
            credited,
            invoice.currency,
        )
    except InvalidInput as exc:
        raise InvalidInput(exc.entries_under(("body",))) from None
