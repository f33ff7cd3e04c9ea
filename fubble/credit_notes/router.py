"""HTTP routes of the credit notes: corrections of finalized invoices, which are never edited themselves."""

from __future__ import annotations

from typing import Annotated

from fubble.api.deps import ClockDep, CustomerId, PageDep, SessionDep, id_path
from fubble.api.routing import new_router
from fubble.credit_notes import service
from fubble.credit_notes.schemas import CreditNoteCreate, CreditNoteOut
from fubble.errors_doc import responses

router = new_router(tag="credit notes")

InvoiceId = Annotated[int, id_path("The invoice's id")]
CreditNoteId = Annotated[int, id_path("The credit note's id")]


def _out(note: service.Note) -> CreditNoteOut:
    return CreditNoteOut.of(note.note, note.items, note.refund)


@router.post(
    "/invoices/{invoice_id}/credit-notes",
    status_code=201,
    summary="Issue a credit note for a pending or paid invoice",
    responses=responses(404, 409, 422),
)
def create_credit_note(
    invoice_id: InvoiceId, body: CreditNoteCreate, session: SessionDep, clock: ClockDep
) -> CreditNoteOut:
    """Returns 201 with the note; the invoice itself is never edited. Give exactly one of `items` (amounts against
    the invoice's items) and `amount` (against the invoice as a whole), else 422.

    * Only `pending` and `paid` invoices take notes (409 otherwise; 404 if the invoice does not exist).
    * Every amount is more than 0 with at most the currency's decimal places (422). Each item must be an item of this
      invoice, named once (422), and is credited at most its amount (422) and at most what earlier notes left of it
      (409). The note never credits more than the invoice's `total` (422), nor more than earlier notes left of it
      (409). Items are credited as given: no discount or tax is re-derived.
    * `method` `credit` adds the amount to the customer's credit balance (a grant with source `credit_note`, no
      expiry, priority 50, that later invoices use). `refund`: when the invoice was paid through the payment provider
      (`FUBBLE_STRIPE_SECRET_KEY`), the payment worker refunds the amount there (`refund` in the answer follows it);
      more than the provider collected and has not refunded yet is 409 (give the rest as `credit`). Otherwise (paid
      by hand, still pending, no provider) the note is only recorded, for the payment side.
    * The number is `CN-YYYYMMDD-CUSTOMERID-NNNNNN`: the day it was made (the customer's now) and the customer's own
      sequence of credit notes."""
    return _out(service.create(session, invoice_id, body, clock=clock))


@router.get(
    "/invoices/{invoice_id}/credit-notes",
    summary="List an invoice's credit notes (by id)",
    responses=responses(404, 422),
)
def list_invoice_credit_notes(invoice_id: InvoiceId, session: SessionDep, page: PageDep) -> list[CreditNoteOut]:
    """404 if the invoice does not exist."""
    return [_out(note) for note in service.list_for_invoice(session, invoice_id, limit=page.limit, offset=page.offset)]


@router.get(
    "/customers/{customer_id}/credit-notes",
    summary="List a customer's credit notes (by id)",
    responses=responses(404, 422),
)
def list_customer_credit_notes(customer_id: CustomerId, session: SessionDep, page: PageDep) -> list[CreditNoteOut]:
    """Every note of the customer's invoices; 404 if the customer does not exist."""
    notes = service.list_for_customer(session, customer_id, limit=page.limit, offset=page.offset)
    return [_out(note) for note in notes]


@router.get("/credit-notes/{credit_note_id}", summary="Get a credit note", responses=responses(404, 422))
def get_credit_note(credit_note_id: CreditNoteId, session: SessionDep) -> CreditNoteOut:
    return _out(service.get(session, credit_note_id))
