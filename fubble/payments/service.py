"""Payment collection: what the payment worker and the Stripe webhook route do in the database. Nothing here talks
to the provider or commits; the worker (:mod:`fubble.payments.worker`) calls the provider between transactions.

* :func:`prepare` reads what one claimed attempt needs (``None``, and the attempt ``canceled``, when its invoice is
  no longer ``pending`` or ``failed``; marking an invoice paid or voiding it cancels its waiting attempts at once, and
  is refused (409) while one is in flight, see :func:`fubble.payments.queue.stop_collecting`);
* :func:`record` applies an attempt's immediate result: ``succeeded`` moves the invoice to ``paid`` (``paid_date``
  from the clock); ``failed`` moves a ``pending`` invoice to ``failed`` and queues the next attempt per the dunning
  schedule; ``processing`` waits for the webhook. Status changes go through :func:`fubble.invoices.service
  .change_status`, so the audit log and the webhooks (``invoice.paid``, ``invoice.payment_failed``) see them as
  they see manual ones;
* :func:`apply_event` applies a verified Stripe webhook event once (by event id), the same way; an event about a
  refund finishes it (:func:`fubble.payments.refunds.apply_update`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from fubble.clock import Clock
from fubble.db.models import Customer, Invoice, PaymentAttempt, PaymentCustomer
from fubble.invoices import service as invoices
from fubble.invoices.status import InvoiceStatus
from fubble.payments import dunning, refunds, repository
from fubble.payments.provider import ChargeResult, CustomerRef, PaymentEvent
from fubble.payments.queue import finish
from fubble.pricing.money import minor_unit_digits

log = logging.getLogger("fubble.payments")

COLLECTABLE = (InvoiceStatus.PENDING.value, InvoiceStatus.FAILED.value)
UNAVAILABLE_RETRY = timedelta(minutes=1)  # the provider could not be reached: the same attempt again after this


@dataclass(frozen=True)
class Work:
    """What one claimed attempt needs: the customer as the provider sees it and the invoice's figures."""

    attempt_id: int
    invoice_id: int
    amount_minor: int
    currency: str
    customer: CustomerRef | None  # None: the customer has no payment method any more


def attempts(session: Session, invoice_id: int) -> list[PaymentAttempt]:
    """The invoice's payment attempts, oldest first (404 for an unknown invoice)."""
    invoices.get(session, invoice_id)
    return repository.attempts_of(session, invoice_id)


def minor_units(amount: Decimal, currency: str) -> int:
    """``amount`` in ``currency``'s minor units, exactly (42.49 USD -> 4249; 500 JPY -> 500); an amount finer than
    the minor unit is a ``ValueError`` (invoices never hold one)."""
    scaled = amount.scaleb(minor_unit_digits(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} {currency} is not a whole number of minor units")
    return int(scaled)


def prepare(session: Session, attempt_id: int, *, provider: str, holder: str, at: datetime) -> Work | None:
    """The work of a claimed attempt, or ``None`` when there is nothing to collect any more (the attempt is then
    ``canceled``) or the claim was lost."""
    attempt = session.get(PaymentAttempt, attempt_id)
    if attempt is None or attempt.state != repository.PENDING or attempt.claimed_by != holder:
        return None
    # Locked, so that a hand-made status change and this claim are ordered: one that commits first is seen here (the
    # attempt is canceled), and one that comes after sees the claim and waits for the result (409).
    invoice = invoices.get(session, attempt.invoice_id, for_update=True)
    amount = invoice.amount_due or Decimal(0)
    if invoice.status not in COLLECTABLE or amount <= 0:
        finish(attempt, "canceled", at=at, error=f"invoice is {invoice.status}")
        return None
    customer = session.get(Customer, invoice.customer_id)
    assert customer is not None
    ref = None
    if customer.payment_method_id:
        known = repository.payment_customer(session, customer.id, provider)
        ref = CustomerRef(
            customer_id=customer.id,
            name=customer.name,
            email=customer.email,
            provider_customer_id=known.provider_customer_id if known else None,
            attached_payment_method_id=known.payment_method_id if known else None,
            payment_method_id=customer.payment_method_id,
        )
    return Work(attempt.id, invoice.id, minor_units(amount, invoice.currency), invoice.currency, ref)


def save_customer(
    session: Session,
    customer_id: int,
    *,
    provider: str,
    provider_customer_id: str,
    payment_method_id: str,
    at: datetime,
) -> None:
    """Remember the provider's customer id and the payment method attached to it."""
    known = repository.payment_customer(session, customer_id, provider)
    if known is None:
        session.add(
            PaymentCustomer(
                customer_id=customer_id,
                provider=provider,
                provider_customer_id=provider_customer_id,
                payment_method_id=payment_method_id,
                created_at=at,
            )
        )
    else:
        known.provider_customer_id = provider_customer_id
        known.payment_method_id = payment_method_id
    session.flush()


def record(
    session: Session,
    attempt_id: int,
    result: ChargeResult,
    *,
    holder: str,
    clock: Clock,
    schedule: Sequence[float],
) -> bool:
    """Apply the immediate result of a claimed attempt (see the module's docstring); ``False`` when the claim was
    lost (nothing is written)."""
    attempt = session.get(PaymentAttempt, attempt_id)
    if attempt is None or attempt.claimed_by != holder or attempt.state != repository.PENDING:
        return False
    invoice = invoices.get(session, attempt.invoice_id, for_update=True)
    session.refresh(attempt)  # the invoice row lock orders this with the webhook handler
    if attempt.state != repository.PENDING:
        return False
    now = clock.now()
    attempt.payment_intent_id = result.intent_id
    attempt.intent_status = result.intent_status
    if result.outcome == "succeeded":
        finish(attempt, "succeeded", at=now)
        if invoice.status not in COLLECTABLE:  # paid or voided by hand while the charge was in flight
            log.warning(
                "invoice %s is %s but payment %s succeeded: refund it", invoice.id, invoice.status, result.intent_id
            )
        _mark_paid(session, invoice, clock=clock)
    elif result.outcome == "processing":
        finish(attempt, "processing", at=now)
    else:
        finish(attempt, "failed", at=now, error=result.error)
        _fail(session, invoice, attempt, clock=clock, schedule=schedule)
    return True


def record_unavailable(session: Session, attempt_id: int, error: str, *, holder: str, at: datetime) -> None:
    """The provider could not be reached: the same attempt (same idempotency key) is due again shortly."""
    attempt = session.get(PaymentAttempt, attempt_id)
    if attempt is None or attempt.claimed_by != holder or attempt.state != repository.PENDING:
        return
    attempt.error = error[:500]
    attempt.attempted_at = at
    attempt.due_at = at + UNAVAILABLE_RETRY
    attempt.claimed_by = None
    attempt.claimed_until = None


def apply_event(session: Session, event: PaymentEvent, *, clock: Clock, schedule: Sequence[float]) -> bool:
    """Apply a verified Stripe event once: ``False`` when its id was seen before (nothing happens). An event about
    an invoice that is no longer ``pending``/``failed`` (already paid, voided) changes nothing."""
    now = clock.now()
    if not repository.note_event(session, event.event_id, event.event_type[:128], now):
        return False
    if event.refund_id is not None:
        if event.outcome is not None:
            refunds.apply_update(session, event.refund_id, event.outcome, event.error, at=now)
        return True
    if event.outcome is None or event.invoice_id is None:
        return True
    invoice = session.get(Invoice, event.invoice_id)
    if invoice is None:
        log.warning("Stripe event %s names unknown invoice %s", event.event_id, event.invoice_id)
        return True
    invoice = invoices.get(session, invoice.id, for_update=True)
    attempts = repository.attempts_of(session, invoice.id)
    mine = next((a for a in attempts if event.intent_id and a.payment_intent_id == event.intent_id), None)
    if event.outcome == "succeeded":
        if mine is not None and mine.state in ("processing", "failed", repository.PENDING):
            finish(mine, "succeeded", at=now)
        _mark_paid(session, invoice, clock=clock)
    elif event.outcome == "failed":
        if mine is not None and mine.state == "processing":
            finish(mine, "failed", at=now, error=event.error)
        last = mine or (attempts[-1] if attempts else None)
        if invoice.status == InvoiceStatus.PENDING and last is not None and last.state == "failed":
            _fail(session, invoice, last, clock=clock, schedule=schedule)
        elif invoice.status == InvoiceStatus.PENDING:
            invoices.change_status(session, invoice.id, InvoiceStatus.FAILED, clock=clock)
    return True


def _mark_paid(session: Session, invoice: Invoice, *, clock: Clock) -> None:
    """``paid`` when still collectable (else nothing: paid or voided meanwhile); the change cancels its waiting
    attempts (:func:`fubble.payments.queue.stop_collecting`)."""
    if invoice.status not in COLLECTABLE:
        return
    invoices.change_status(session, invoice.id, InvoiceStatus.PAID, clock=clock)


def _fail(
    session: Session, invoice: Invoice, attempt: PaymentAttempt, *, clock: Clock, schedule: Sequence[float]
) -> None:
    """A declined attempt: the invoice ``failed`` (from ``pending``) and the next attempt queued, if any is left."""
    if invoice.status not in COLLECTABLE:
        return
    if invoice.status == InvoiceStatus.PENDING:
        invoices.change_status(session, invoice.id, InvoiceStatus.FAILED, clock=clock)
    if any(a.state == repository.PENDING for a in repository.attempts_of(session, invoice.id)):
        return
    failed_at = attempt.attempted_at or clock.now()
    next_at = dunning.next_attempt_at(attempt.step, failed_at, schedule)
    attempt.next_attempt_at = next_at
    if next_at is not None:
        session.add(
            PaymentAttempt(
                invoice_id=invoice.id,
                provider=attempt.provider,
                step=attempt.step + 1,
                state=repository.PENDING,
                due_at=next_at,
                created_at=clock.now(),
            )
        )
    session.flush()
