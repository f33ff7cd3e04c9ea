"""Invoices: manual creation, items, listing and the status machine.

The building blocks :func:`new_item`, :func:`create_invoice` (an invoice with its lines, in one flush: one audit
entry), :func:`add_item`, :func:`recompute_total` and :func:`invoice_out` are callable on their own (the billing run
writes its drafts in bulk instead, :mod:`fubble.billing.store`). Nothing here commits; the caller's unit of work does.

Rules kept here:

* An invoice is in its customer's currency. Every line amount has at most the currency's decimal places and is stored
  with exactly that many; the sum of the lines is exact (never rounded).
* Only ``draft`` invoices gain or lose items (409 otherwise).
* Manual lines may be negative (credits), but a manual change never lowers the invoice's lines below zero. A
  generated draft whose lines add up below zero (a dynamic price may be negative, credits may exceed charges) shows
  ``total`` 0 and the difference as ``credit_carried``; finalizing it grants that difference as credit.
* An invoice's figures (``subtotal`` -> discounts -> taxes -> ``total`` -> credits -> ``amount_due``; ``amount`` is
  the total) are decided by :mod:`fubble.invoices.terms`, for every invoice, whenever its lines change and when it is
  finalized (which applies prepaid credit); voiding a finalized invoice returns the credit it used.
* Status changes follow :mod:`fubble.invoices.status`; they lock the invoice row first (``SELECT ... FOR UPDATE``)
  so concurrent changes of one invoice serialize. Every change stamps ``updated_at`` from the clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from fubble.clock import Clock
from fubble.customers import service as customers
from fubble.db.models import Customer, Invoice, InvoiceItem
from fubble.db.types import to_utc
from fubble.errors import Conflict, IllegalTransition, InvalidInput, NotFound
from fubble.invoices import repository, terms
from fubble.invoices.money import default_unit_price, exact_total, in_minor_units
from fubble.invoices.numbering import next_invoice_number
from fubble.invoices.schemas import InvoiceCreate, InvoiceOut, ItemCreate
from fubble.invoices.status import InvoiceStatus, check_transition
from fubble.payments import queue as payments
from fubble.webhooks import outbox
from fubble.webhooks.event_types import EventType


def get(session: Session, invoice_id: int, *, for_update: bool = False) -> Invoice:
    """The invoice or :class:`NotFound`; ``for_update`` locks it until the transaction ends."""
    invoice = repository.get(session, invoice_id, for_update=for_update)
    if invoice is None:
        raise NotFound(f"invoice {invoice_id} not found")
    return invoice


def list_invoices(
    session: Session, *, status: InvoiceStatus | None, customer_id: int | None = None, limit: int, offset: int
) -> list[Invoice]:
    """Invoices by id, optionally of one status; with ``customer_id``, that customer's (404 if unknown)."""
    if customer_id is not None:
        customers.get(session, customer_id)
    return repository.list_page(
        session, status=None if status is None else status.value, customer_id=customer_id, limit=limit, offset=offset
    )


# --- building blocks -----------------------------------------------------------------------------------------------


def create_invoice(
    session: Session,
    *,
    customer: Customer,
    issue_date: datetime,
    due_date: datetime | None,
    notes: str | None,
    clock: Clock,
    payment_term_days: int,
    period_start: datetime | None = None,
    period_end: datetime | None = None,
    items: Sequence[InvoiceItem] = (),
) -> Invoice:
    """Create a ``draft`` invoice for ``customer`` in the customer's currency with the lines ``items`` (made by
    :func:`new_item`; none: amount 0), written in one flush, so the audit log holds one entry for the invoice with its
    lines.

    ``due_date`` defaults to ``issue_date + payment_term_days``; a due date before the issue date is
    :class:`InvalidInput` (422, raised before anything is written). The number is ``INV-YYYYMMDD-CUSTOMERID-NNNNNN``
    from the issue date and the customer's own sequence (which row-locks the customer until commit).
    ``period_start``/``period_end`` record the billing window of a generated invoice (``None`` for manual ones).
    """
    issue_date = to_utc(issue_date)
    due = to_utc(due_date) if due_date is not None else issue_date + timedelta(days=payment_term_days)
    if due < issue_date:
        raise InvalidInput.at(("body", "due_date"), "due_date must not be before issue_date")
    now = clock.now()
    invoice = Invoice(
        invoice_number=next_invoice_number(session, customer.id, issue_date),
        customer_id=customer.id,
        status=InvoiceStatus.DRAFT.value,
        currency=customer.currency,
        issue_date=issue_date,
        due_date=due,
        amount=exact_total((item.amount for item in items), customer.currency),
        paid_date=None,
        notes=notes,
        period_start=period_start,
        period_end=period_end,
        created_at=now,
        updated_at=now,
        invoice_items=list(items),
    )
    figures, _ = terms.figures_of(session, invoice, at=now)
    for name, value in figures.columns().items():
        setattr(invoice, name, value)
    session.add(invoice)
    session.flush()
    terms.write_terms(session, [invoice.id], [figures])
    outbox.emit(session, EventType.INVOICE_CREATED, lambda: InvoiceOut.of(invoice), at=now)
    return invoice


def add_item(
    session: Session,
    invoice: Invoice,
    *,
    description: str,
    amount: Decimal,
    quantity: Decimal | None = None,
    unit_price: Decimal | None = None,
    metric_name: str | None = None,
    subscription_id: int | None = None,
    price_component_id: int | None = None,
    period_start: datetime | None = None,
    period_end: datetime | None = None,
    clock: Clock,
) -> InvoiceItem:
    """Add a line to a ``draft`` invoice (:class:`Conflict` 409 otherwise) and recompute its total.

    ``amount`` must fit the invoice currency's minor unit (:class:`InvalidInput` 422 otherwise, e.g. 10.005 USD) and
    is stored with exactly the currency's places. ``quantity`` defaults to 1. ``unit_price`` defaults to
    ``amount / quantity`` when a quantity > 0 is given (exact, then rounded half-up to at most 12 places), else to
    ``amount``. This does not check the sign of the total (manual routes do); lines may be negative.
    """
    _require_draft(invoice, "add items to")
    item = new_item(
        invoice.currency,
        description=description,
        amount=amount,
        quantity=quantity,
        unit_price=unit_price,
        metric_name=metric_name,
        subscription_id=subscription_id,
        price_component_id=price_component_id,
        period_start=period_start,
        period_end=period_end,
        now=clock.now(),
    )
    invoice.invoice_items.append(item)
    invoice.updated_at = clock.now()
    session.flush()
    recompute_total(session, invoice, at=clock.now())
    session.flush()
    return item


def new_item(
    currency: str,
    *,
    description: str,
    amount: Decimal,
    quantity: Decimal | None = None,
    unit_price: Decimal | None = None,
    metric_name: str | None = None,
    subscription_id: int | None = None,
    price_component_id: int | None = None,
    period_start: datetime | None = None,
    period_end: datetime | None = None,
    now: datetime,
    loc: tuple[str | int, ...] = ("amount",),
) -> InvoiceItem:
    """A line in ``currency`` (not yet on an invoice), by the rules of :func:`add_item`; a bad amount is
    :class:`InvalidInput` at ``loc``."""
    amount = in_minor_units(amount, currency, loc)
    return InvoiceItem(
        description=description,
        metric_name=metric_name,
        quantity=Decimal(1) if quantity is None else quantity,
        unit_price=default_unit_price(amount, quantity) if unit_price is None else unit_price,
        amount=amount,
        subscription_id=subscription_id,
        price_component_id=price_component_id,
        period_start=period_start,
        period_end=period_end,
        created_at=now,
    )


def recompute_total(session: Session, invoice: Invoice, *, at: datetime) -> None:
    """Recompute a draft's figures from its lines and the customer's terms (:mod:`fubble.invoices.terms`).

    Items appended directly (not through :func:`add_item`) must already be in the currency's minor unit
    (:func:`fubble.pricing.money.round_money`); otherwise this raises :class:`InvalidInput` rather than round."""
    exact_total((item.amount for item in invoice.invoice_items), invoice.currency)  # each line in minor units
    terms.apply(session, invoice, at=at, finalizing=False)


def invoice_out(invoice: Invoice) -> InvoiceOut:
    """The API representation of ``invoice`` (with its items, in id order)."""
    return InvoiceOut.of(invoice)


# --- manual invoices and items -------------------------------------------------------------------------------------


def create_manual_invoice(session: Session, data: InvoiceCreate, *, clock: Clock, payment_term_days: int) -> Invoice:
    """``POST /invoices/``: a draft invoice with the given items. Everything is validated before anything is written:
    unknown customer 404; an amount with too many decimal places, a due date before the issue date or a negative
    total 422."""
    customer = customers.get(session, data.customer_id)
    now = clock.now()
    lines = [
        new_item(
            customer.currency,
            description=item.description,
            amount=item.amount,
            quantity=item.quantity,
            unit_price=item.unit_price,
            metric_name=item.metric_name,
            now=now,
            loc=("body", "items", index, "amount"),
        )
        for index, item in enumerate(data.items)
    ]
    _require_non_negative(exact_total((line.amount for line in lines), customer.currency), ("body", "items"))
    return create_invoice(
        session,
        customer=customer,
        issue_date=data.issue_date if data.issue_date is not None else clock.now(),
        due_date=data.due_date,
        notes=data.notes,
        clock=clock,
        payment_term_days=payment_term_days,
        items=lines,
    )


def add_manual_item(session: Session, invoice_id: int, data: ItemCreate, *, clock: Clock) -> InvoiceItem:
    """``POST /invoices/{id}/items``: the new item; 404 unknown invoice, 409 not a draft, 422 bad amount or a credit
    that leaves the total negative."""
    invoice = get(session, invoice_id, for_update=True)
    _require_draft(invoice, "add items to")
    amount = in_minor_units(data.amount, invoice.currency, ("body", "amount"))
    if amount < 0:
        current = [item.amount for item in invoice.invoice_items]
        _require_non_negative(exact_total([*current, amount], invoice.currency), ("body", "amount"))
    return _add_manual_line(session, invoice, data, clock=clock)


def remove_item(session: Session, invoice_id: int, item_id: int, *, clock: Clock) -> Invoice:
    """``DELETE /invoices/{id}/items/{item_id}``: 404 unknown invoice or an item not on it, 409 not a draft or when
    removing a charge would leave the total negative (removing a credit, which raises the total, is always fine)."""
    invoice = get(session, invoice_id, for_update=True)
    item = next((i for i in invoice.invoice_items if i.id == item_id), None)
    if item is None:
        raise NotFound(f"item {item_id} not found on invoice {invoice_id}")
    _require_draft(invoice, "remove items from")
    remaining = [i.amount for i in invoice.invoice_items if i is not item]
    if item.amount > 0 and exact_total(remaining, invoice.currency) < 0:
        raise Conflict("removing this item would make the invoice total negative; remove the credits first")
    invoice.invoice_items.remove(item)  # delete-orphan: the row is deleted on flush
    invoice.updated_at = clock.now()
    session.flush()
    recompute_total(session, invoice, at=clock.now())
    session.flush()
    return invoice


def _add_manual_line(session: Session, invoice: Invoice, data: ItemCreate, *, clock: Clock) -> InvoiceItem:
    return add_item(
        session,
        invoice,
        description=data.description,
        amount=data.amount,
        quantity=data.quantity,
        unit_price=data.unit_price,
        metric_name=data.metric_name,
        clock=clock,
    )


# --- status ---------------------------------------------------------------------------------------------------------


def change_status(session: Session, invoice_id: int, target: InvoiceStatus, *, clock: Clock) -> Invoice:
    """Move the invoice to ``target`` if the status machine allows it (409 :class:`IllegalTransition` otherwise).

    ``paid`` sets ``paid_date`` to now. A ``void`` invoice keeps its items; its billing coverage is released, so the
    time it billed can be billed again (by a window generated by hand, or by the next billing run).
    """
    invoice = get(session, invoice_id, for_update=True)
    _transition(session, invoice, target, clock=clock)
    return invoice


def finalize(session: Session, invoice_id: int, *, clock: Clock) -> Invoice:
    """``draft -> pending``; any other current status is 409."""
    invoice = get(session, invoice_id, for_update=True)
    if invoice.status != InvoiceStatus.DRAFT:
        raise IllegalTransition(
            f"cannot finalize invoice {invoice_id}: its status is {invoice.status!r}; only 'draft' invoices can be "
            "finalized (draft -> pending)"
        )
    _transition(session, invoice, InvoiceStatus.PENDING, clock=clock)
    return invoice


def void(session: Session, invoice_id: int, *, reason: str | None, clock: Clock) -> Invoice:
    """Void a draft, pending or failed invoice (409 if paid or already void). A reason is appended to the notes on
    a new line as ``Voided: <reason>``."""
    invoice = get(session, invoice_id, for_update=True)
    if reason is not None:  # before the change, so that its webhook message shows it (a refusal rolls it back)
        line = f"Voided: {reason}"
        invoice.notes = f"{invoice.notes}\n{line}" if invoice.notes else line
    _transition(session, invoice, InvoiceStatus.VOID, clock=clock)
    return invoice


def _require_nothing_builds_on(session: Session, invoice: Invoice) -> None:
    """409 when another invoice builds on what this one billed: credits part of the fees it billed in advance, or
    adjusts the usage of a period it billed (late usage). Voiding this one would bill that time again and leave the
    credit or adjustment standing, so the other invoice is voided first."""
    crediting = repository.crediting_invoices(session, invoice.id)
    if crediting:
        numbers = ", ".join(str(i) for i in crediting)
        raise Conflict(
            f"invoice {invoice.id} billed fees in advance that invoice {numbers} credits (unused time); void that "
            "invoice first"
        )
    adjusting = repository.adjusting_invoices(session, invoice.id)
    if adjusting:
        numbers = ", ".join(str(i) for i in adjusting)
        raise Conflict(
            f"invoice {invoice.id} billed usage that invoice {numbers} adjusts (late usage); void that invoice first"
        )


# The webhook event of each status change (a failed invoice back to pending, for another payment attempt, has none).
_STATUS_EVENTS = {
    (InvoiceStatus.DRAFT, InvoiceStatus.PENDING): EventType.INVOICE_FINALIZED,
    (InvoiceStatus.PENDING, InvoiceStatus.PAID): EventType.INVOICE_PAID,
    (InvoiceStatus.FAILED, InvoiceStatus.PAID): EventType.INVOICE_PAID,
    (InvoiceStatus.PENDING, InvoiceStatus.FAILED): EventType.INVOICE_PAYMENT_FAILED,
    (InvoiceStatus.DRAFT, InvoiceStatus.VOID): EventType.INVOICE_VOIDED,
    (InvoiceStatus.PENDING, InvoiceStatus.VOID): EventType.INVOICE_VOIDED,
    (InvoiceStatus.FAILED, InvoiceStatus.VOID): EventType.INVOICE_VOIDED,
}


def _transition(session: Session, invoice: Invoice, target: InvoiceStatus, *, clock: Clock) -> None:
    check_transition(invoice.status, target)
    source = InvoiceStatus(invoice.status)
    now = clock.now()
    if target in (InvoiceStatus.PAID, InvoiceStatus.VOID) and source is not InvoiceStatus.DRAFT:
        _stop_collecting(session, invoice, target, at=now)
    if target is InvoiceStatus.VOID:
        _require_nothing_builds_on(session, invoice)
        if invoice.status != InvoiceStatus.DRAFT:
            terms.unsettle(session, invoice, at=now)
    elif invoice.status == InvoiceStatus.DRAFT:
        terms.apply(session, invoice, at=now, finalizing=True)
    invoice.status = target.value
    if target is InvoiceStatus.PAID:
        invoice.paid_date = now
    invoice.updated_at = now
    session.flush()
    if target is InvoiceStatus.VOID:
        repository.release_coverage(session, invoice.id)
    event = _STATUS_EVENTS.get((source, target))
    if event is not None:
        outbox.emit(session, event, lambda: InvoiceOut.of(invoice), at=now)
    if source is InvoiceStatus.DRAFT and target is InvoiceStatus.PENDING:
        payments.queue_finalized(session, [invoice.id], at=now)  # with a payment provider: an attempt, due now


def _stop_collecting(session: Session, invoice: Invoice, target: InvoiceStatus, *, at: datetime) -> None:
    """Its waiting payment retries canceled; 409 while a payment of the invoice may be under way at the provider:
    marking it paid or voiding it then could let the customer pay twice, or pay a void invoice. The payment worker
    records its own result after it has finished its attempt, so this never stops it."""
    why = f"invoice {target.value}"
    attempt = payments.stop_collecting(session, invoice.id, at=at, why=why, lease_now=datetime.now(UTC))
    if attempt is not None:
        intent = f", PaymentIntent {attempt.payment_intent_id}" if attempt.payment_intent_id else ""
        raise Conflict(
            f"invoice {invoice.id} has a payment in flight (attempt {attempt.id}{intent}, {attempt.state}): its "
            f"result decides the status; try again once it is recorded (GET /invoices/{invoice.id}/payment-attempts)"
        )


def _require_draft(invoice: Invoice, action: str) -> None:
    if invoice.status != InvoiceStatus.DRAFT:
        raise Conflict(
            f"cannot {action} invoice {invoice.id}: its status is {invoice.status!r}; only 'draft' invoices can be "
            "modified"
        )


def _require_non_negative(total: Decimal, loc: Sequence[str | int]) -> None:
    if total < 0:
        raise InvalidInput.at(tuple(loc), f"the invoice total would be negative ({total}); it must be at least 0")
