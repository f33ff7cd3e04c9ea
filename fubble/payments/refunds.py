"""Refunds: a ``refund`` credit note of an invoice collected through the payment provider returns its amount there.

* :func:`queue` runs in the transaction that creates the note (:func:`fubble.credit_notes.service.create`). With a
  provider configured, and the invoice ``paid`` by a succeeded attempt (its PaymentIntent known), it queues one
  refund of the note's amount from that payment, due now. The provider can return at most what it collected (the
  invoice's ``amount_due``) less the refunds queued or made before (failed ones excepted): a note asking more is a
  409 naming what is left, and nothing is written. Otherwise (no provider, an invoice paid by hand, a pending
  invoice) the note is only recorded, as before: the money goes back out of band.
* The payment worker makes due refunds (:func:`prepare`, the provider, :func:`record`): claimed like payment
  attempts, so two workers never make one refund at once, and a repeated call with the same idempotency key never
  refunds twice. A provider that cannot be reached leaves the refund due again shortly. A refund the provider answered
  ``processing`` is finished by its webhook (:func:`apply_update`).
* A refund that ends ``succeeded`` or ``failed`` sends ``credit_note.refunded`` or ``credit_note.refund_failed`` to
  the webhook endpoints subscribed (the credit note as the API answers it, its ``refund`` included), in the
  transaction that records it.

Nothing here talks to the provider or commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from fubble.credit_notes import repository as credit_notes
from fubble.credit_notes.schemas import CreditNoteOut
from fubble.db.models import CreditNote, Invoice, PaymentAttempt, PaymentRefund
from fubble.errors import Conflict
from fubble.invoices.status import InvoiceStatus
from fubble.payments import queue as collection
from fubble.payments.provider import Outcome, Refund, RefundResult
from fubble.pricing.money import minor_unit_digits
from fubble.webhooks import outbox
from fubble.webhooks.event_types import EventType

PENDING = "pending"
SUCCEEDED = "succeeded"
FAILED = "failed"


def queue(session: Session, note: CreditNote, invoice: Invoice, *, at: datetime) -> PaymentRefund | None:
    """The refund of ``note`` through the provider that collected ``invoice``, queued due at ``at``; ``None`` when
    the note is only recorded (see the module rules). 409 when the provider cannot return that much."""
    if invoice.status != InvoiceStatus.PAID or not collection.collection_enabled(session):
        return None
    paid_by = session.scalars(
        select(PaymentAttempt)
        .where(PaymentAttempt.invoice_id == invoice.id, PaymentAttempt.state == SUCCEEDED)
        .where(PaymentAttempt.payment_intent_id.is_not(None))
        .order_by(PaymentAttempt.id.desc())
        .limit(1)
    ).first()
    if paid_by is None or paid_by.payment_intent_id is None:
        return None
    collected = invoice.amount_due or Decimal(0)
    earlier = session.scalars(
        select(PaymentRefund.amount).where(PaymentRefund.invoice_id == invoice.id, PaymentRefund.state != FAILED)
    )
    left = collected - sum(earlier, Decimal(0))
    if note.amount > left:
        raise Conflict(
            f"invoice {invoice.id} was paid {collected:f} {invoice.currency} through {paid_by.provider}, of which "
            f"{left:f} is left to refund there; a refund note may return at most that (give the rest as method "
            "credit)"
        )
    refund = PaymentRefund(
        credit_note_id=note.id,
        invoice_id=invoice.id,
        provider=paid_by.provider,
        payment_intent_id=paid_by.payment_intent_id,
        amount=note.amount,
        currency=invoice.currency,
        state=PENDING,
        due_at=at,
        created_at=at,
    )
    session.add(refund)
    session.flush()
    return refund


def of_notes(session: Session, note_ids: Sequence[int]) -> dict[int, PaymentRefund]:
    """The refund of each of these notes that has one, by note id."""
    if not note_ids:
        return {}
    query = select(PaymentRefund).where(PaymentRefund.credit_note_id.in_(note_ids))
    return {refund.credit_note_id: refund for refund in session.scalars(query)}


def prepare(session: Session, refund_id: int, *, holder: str) -> Refund | None:
    """What the provider needs for a claimed refund, or ``None`` when the claim was lost."""
    row = session.get(PaymentRefund, refund_id)
    if row is None or row.state != PENDING or row.claimed_by != holder:
        return None
    note = session.get(CreditNote, row.credit_note_id)
    assert note is not None  # a foreign key
    minor = row.amount.scaleb(minor_unit_digits(row.currency))
    return Refund(
        refund_id=row.id,
        payment_intent_id=row.payment_intent_id,
        amount_minor=int(minor),
        credit_note_number=note.number,
    )


def record(session: Session, refund_id: int, result: RefundResult, *, holder: str, at: datetime) -> bool:
    """Apply the provider's answer to a claimed refund; ``False`` when the claim was lost (nothing is written)."""
    row = session.get(PaymentRefund, refund_id)
    if row is None or row.state != PENDING or row.claimed_by != holder:
        return False
    row.state = result.outcome
    row.refund_id = result.provider_refund_id
    row.refund_status = result.status
    row.error = result.error[:500] if result.error else None
    row.attempted_at = at
    row.claimed_by = row.claimed_until = None
    _announce(session, row, at=at)
    return True


def record_unavailable(
    session: Session, refund_id: int, error: str, *, holder: str, at: datetime, retry_at: datetime
) -> None:
    """The provider could not be reached: the same refund (same idempotency key) is due again at ``retry_at``."""
    row = session.get(PaymentRefund, refund_id)
    if row is None or row.state != PENDING or row.claimed_by != holder:
        return
    row.error = error[:500]
    row.attempted_at = at
    row.due_at = retry_at
    row.claimed_by = row.claimed_until = None


def apply_update(
    session: Session, provider_refund_id: str, outcome: Outcome, error: str | None, *, at: datetime
) -> None:
    """The provider's news of one of its refunds: a refund made here and not finished yet (``processing``) becomes
    ``succeeded`` or ``failed``; anything else (a refund not made here, already finished, still processing) changes
    nothing."""
    row = session.scalars(select(PaymentRefund).where(PaymentRefund.refund_id == provider_refund_id)).first()
    if row is None or row.state != "processing" or outcome == "processing":
        return
    row.state = outcome
    row.error = error[:500] if error else None
    row.attempted_at = at
    _announce(session, row, at=at)


_ENDED = {SUCCEEDED: EventType.CREDIT_NOTE_REFUNDED, FAILED: EventType.CREDIT_NOTE_REFUND_FAILED}


def _announce(session: Session, row: PaymentRefund, *, at: datetime) -> None:
    """The webhook message of a refund that has ended (none while it is processing)."""
    event_type = _ENDED.get(row.state)
    if event_type is None:
        return
    note = session.get(CreditNote, row.credit_note_id)
    assert note is not None  # a foreign key

    def payload() -> CreditNoteOut:
        return CreditNoteOut.of(note, credit_notes.items_of(session, [note.id])[note.id], row)

    outbox.emit(session, event_type, payload, at=at)
