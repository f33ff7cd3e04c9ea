"""Invoice routes: manual invoices, their items, listing and status changes.

(``POST /invoices/generate`` lives in :mod:`fubble.billing.router`.)
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, TypeVar

from fastapi import Body, Query
from fastapi.responses import Response

from fubble.api.deps import ClockDep, CustomerId, PageDep, SessionDep, SettingsDep, id_path
from fubble.api.routing import new_router
from fubble.documents import service as documents
from fubble.errors import InvalidInput
from fubble.errors_doc import responses
from fubble.invoices import service
from fubble.invoices.schemas import (
    InvoiceCreate,
    InvoiceItemOut,
    InvoiceOut,
    ItemCreate,
    StatusUpdate,
    VoidReason,
    VoidRequest,
)
from fubble.invoices.status import InvoiceStatus

router = new_router("/invoices", tag="invoices")
T = TypeVar("T")

InvoiceId = Annotated[int, id_path("The invoice's id")]
ItemId = Annotated[int, id_path("The invoice item's id")]
StatusFilter = Annotated[InvoiceStatus | None, Query(description="Only invoices in this status.")]

_STATUS_DOC = """Allowed changes: draft -> pending | void; pending -> paid | failed | void; failed -> pending | paid |
void. `paid` and `void` are final, and asking for the current status is also refused (409, naming the allowed targets).
Setting `paid` sets `paid_date` to now; `void` frees the subscription time the invoice billed. An invoice whose total
is negative (a generated one can be: a dynamic price may be negative) cannot leave `draft` (409) until customer credits
exist: add lines that bring its total to 0 or more, or void it. With payment collection on, `paid` and `void` are
409 while a payment of the invoice is in flight (a worker is charging it, or Stripe is processing it): its result
decides; once it is recorded they are allowed, and they cancel the retries still waiting."""


@router.post(
    "/",
    status_code=201,
    summary="Create an invoice manually (status draft)",
    responses=responses(404, 422),
    description="""The invoice is in the customer's currency, with status `draft`.

* `issue_date` defaults to now; `due_date` to `issue_date` + the payment term (30 days by default). A due date before
  the issue date is 422.
* Each item's `amount` is its line total; it may be negative (a credit) but the invoice total may not be, and it must
  not have more decimal places than the currency (10.005 USD is 422). `quantity` defaults to 1; `unit_price` defaults
  to `amount / quantity` when a quantity > 0 is given (exact, rounded half-up to at most 12 decimal places), otherwise
  to `amount`.
* The number is `INV-YYYYMMDD-CUSTOMERID-NNNNNN`: the issue date, the customer id and the customer's own sequence.""",
)
def create_invoice(body: InvoiceCreate, session: SessionDep, clock: ClockDep, settings: SettingsDep) -> InvoiceOut:
    invoice = service.create_manual_invoice(session, body, clock=clock, payment_term_days=settings.payment_term_days)
    return service.invoice_out(invoice)


class InvoiceListFormat(StrEnum):
    json = "json"
    csv = "csv"


_LIST_DOC = """All invoices in id order; `status` keeps only those in that status (an unknown status is 422).

With `format=csv`: the page of invoices as CSV (`text/csv`), for finance: a header row, then a row per invoice line
(an invoice without lines has one row, its line columns empty), each with its invoice's fields and sums: `invoice_id,
invoice_number, customer_id, status, currency, issue_date, due_date, period_start, period_end, line_id, description,
metric_name, quantity, unit_price, line_amount, subtotal, discount_amount, tax_amount, total, credits_applied,
amount_due`. Amounts are plain decimals with the currency's places (`12.50`); times UTC ISO 8601. `limit` and `offset`
count invoices, not rows. Text a spreadsheet would take for a formula (starting with `=`, `+`, `-`, `@`) is written
with a leading `'`. `fubble invoices export` writes the same file."""


@router.get(
    "/",
    summary="List invoices (by id), optionally by status; as JSON or CSV",
    description=_LIST_DOC,
    response_model=list[InvoiceOut],
    responses={
        200: {
            "description": "The invoices (JSON), or their lines as CSV with `format=csv`.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        **responses(422),
    },
)
def list_invoices(
    session: SessionDep,
    page: PageDep,
    status: StatusFilter = None,
    format_: Annotated[
        InvoiceListFormat, Query(alias="format", description="`json` (the default) or `csv` (a row per line).")
    ] = InvoiceListFormat.json,
) -> list[InvoiceOut] | Response:
    if format_ is InvoiceListFormat.csv:
        text = documents.invoices_csv(session, status=status, limit=page.limit, offset=page.offset)
        disposition = {"Content-Disposition": 'attachment; filename="invoices.csv"'}
        return Response(text, media_type="text/csv; charset=utf-8", headers=disposition)
    invoices = service.list_invoices(session, status=status, limit=page.limit, offset=page.offset)
    return [service.invoice_out(i) for i in invoices]


@router.get(
    "/customer/{customer_id}",
    summary="List a customer's invoices (by id), optionally by status",
    responses=responses(404, 422),
)
def list_customer_invoices(
    customer_id: CustomerId, session: SessionDep, page: PageDep, status: StatusFilter = None
) -> list[InvoiceOut]:
    """The customer's invoices in id order (404 if the customer does not exist)."""
    invoices = service.list_invoices(
        session, status=status, customer_id=customer_id, limit=page.limit, offset=page.offset
    )
    return [service.invoice_out(i) for i in invoices]


@router.get("/{invoice_id}", summary="Get an invoice with its items", responses=responses(404, 422))
def get_invoice(invoice_id: InvoiceId, session: SessionDep) -> InvoiceOut:
    return service.invoice_out(service.get(session, invoice_id))


@router.post(
    "/{invoice_id}/items",
    status_code=201,
    summary="Add an item to a draft invoice",
    responses=responses(404, 409, 422),
)
def add_item(invoice_id: InvoiceId, body: ItemCreate, session: SessionDep, clock: ClockDep) -> InvoiceItemOut:
    """Adds the line and returns the **created item** (its `id` is what `DELETE /invoices/{invoice_id}/items/{item_id}`
    takes). The invoice's total is updated at once; read it with `GET /invoices/{invoice_id}`. Only `draft` invoices
    can change (409). Same item rules as in `POST /invoices/`, except that a draft whose total is already negative
    accepts any line that raises it."""
    return InvoiceItemOut.of(service.add_manual_item(session, invoice_id, body, clock=clock))


@router.delete(
    "/{invoice_id}/items/{item_id}",
    summary="Remove an item from a draft invoice",
    responses=responses(404, 409, 422),
)
def remove_item(invoice_id: InvoiceId, item_id: ItemId, session: SessionDep, clock: ClockDep) -> InvoiceOut:
    """Returns the invoice with its new total. The item must belong to this invoice (404 otherwise); only `draft`
    invoices can change, and removing a charge must not leave the total negative (409); removing a credit always may."""
    return service.invoice_out(service.remove_item(session, invoice_id, item_id, clock=clock))


@router.put(
    "/{invoice_id}/status",
    summary="Change an invoice's status",
    responses=responses(404, 409, 422),
    description='Give the new status as `?status=paid` or as the body `{"status": "paid"}` (one is required; both\n'
    "must agree: 422).\n\n" + _STATUS_DOC,
)
def update_status(
    invoice_id: InvoiceId,
    session: SessionDep,
    clock: ClockDep,
    status: Annotated[InvoiceStatus | None, Query(description="The new status.")] = None,
    body: Annotated[StatusUpdate | None, Body()] = None,
) -> InvoiceOut:
    target = _one_of(status, None if body is None else body.status, "status")
    if target is None:
        raise InvalidInput.at(("query", "status"), "give the new status as ?status=... or in the body")
    return service.invoice_out(service.change_status(session, invoice_id, target, clock=clock))


@router.put(
    "/{invoice_id}/finalize", summary="Finalize a draft invoice (draft -> pending)", responses=responses(404, 409, 422)
)
def finalize_invoice(invoice_id: InvoiceId, session: SessionDep, clock: ClockDep) -> InvoiceOut:
    """Only `draft` invoices can be finalized, and only with a total of 0 or more; otherwise 409 (a negative total
    cannot be carried until customer credits exist: add lines that raise it, or void the invoice)."""
    return service.invoice_out(service.finalize(session, invoice_id, clock=clock))


@router.put("/{invoice_id}/void", summary="Void an invoice", responses=responses(404, 409, 422))
def void_invoice(
    invoice_id: InvoiceId,
    session: SessionDep,
    clock: ClockDep,
    reason: Annotated[VoidReason | None, Query(description="Why; appended to the notes as `Voided: <reason>`.")] = None,
    body: Annotated[VoidRequest | None, Body()] = None,
) -> InvoiceOut:
    """Draft, pending and failed invoices can be voided; paid or already void ones cannot (409). The reason
    (`?reason=...` or the body `{"reason": "..."}`; both must agree when both are given) is appended to the notes
    on a new line as `Voided: <reason>`. Voiding frees the subscription time the invoice billed, so it can be billed
    again. While a payment of the invoice is in flight (being charged, or processing at Stripe): 409."""
    why = _one_of(reason, None if body is None else body.reason, "reason")
    return service.invoice_out(service.void(session, invoice_id, reason=why, clock=clock))


def _one_of(query: T | None, body: T | None, name: str) -> T | None:
    if query is not None and body is not None and query != body:
        raise InvalidInput.at(("query", name), f"{name} is given in both the query and the body, with different values")
    return query if query is not None else body
