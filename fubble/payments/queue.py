"""Queuing payment attempts when invoices are finalized: written in the transaction that finalizes them, never sent
from it (the payment worker, :mod:`fubble.payments.worker`, makes the attempts). And the one question invoices ask of
payments when they are marked paid or voided: :func:`stop_collecting`.

Called by :func:`fubble.invoices.service.finalize` (every ``draft -> pending``, billing runs' included) and by the
billing runs' bulk writer (:func:`fubble.billing.store.store`, invoices created finalized). Nothing is queued unless
``FUBBLE_STRIPE_SECRET_KEY`` is set; then one attempt, due now, for each invoice with ``amount_due`` > 0 whose
customer has a ``payment_method_id``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fubble.config import Settings, get_settings
from fubble.db.bulk import chunks
from fubble.db.models import Customer, Invoice, PaymentAttempt

PROVIDER = "stripe"
PENDING = "pending"
PROCESSING = "processing"


def collection_enabled(session: Session) -> bool:
    """Whether a payment provider is configured (``FUBBLE_STRIPE_SECRET_KEY``): in the settings of the server or job
    that opened ``session`` (``session.info["settings"]``), else the process's (the CLI)."""
    settings = session.info.get("settings")
    return bool((settings if isinstance(settings, Settings) else get_settings()).stripe_secret_key)


def queue_finalized(session: Session, invoice_ids: Sequence[int], *, at: datetime) -> int:
    """Queue the first payment attempt of each finalized invoice of ``invoice_ids`` that has something to collect;
    how many were queued. Due at ``at``, or at the request's (job's) now when a test clock dates ``at`` ahead."""
    if not invoice_ids or not collection_enabled(session):
        return 0
    now = session.info.get("now")
    due = min(at, now) if isinstance(now, datetime) else at
    collectable: list[int] = []
    for chunk in chunks(list(invoice_ids)):
        query = (
            select(Invoice.id, Invoice.amount_due)
            .join(Customer, Customer.id == Invoice.customer_id)
            .where(Invoice.id.in_(chunk), Customer.payment_method_id.is_not(None))
        )
        # amount_due is compared here, exactly (SQLite stores exact decimals as text).
        collectable.extend(int(i) for i, due in session.execute(query) if due is not None and due > 0)
    session.add_all(
        PaymentAttempt(invoice_id=i, provider=PROVIDER, step=1, state=PENDING, due_at=due, created_at=at)
        for i in collectable
    )
    if collectable:
        session.flush()
    return len(collectable)


def stop_collecting(
    session: Session, invoice_id: int, *, at: datetime, why: str, lease_now: datetime
) -> PaymentAttempt | None:
    """Before the invoice is marked paid or voided: the attempt whose charge may be under way at the provider, if
    any (nothing changes then); otherwise its attempts still waiting (a retry not made yet) are canceled, since
    nothing is left to collect, and ``None``. One read of the invoice's open attempts.

    Under way: ``processing`` (the provider accepted it and its result comes by webhook), or ``pending`` and claimed
    by a worker whose claim lasts past ``lease_now`` (the workers' leases run on real time, like the claim itself). A
    worker that died leaves its claim to expire (:data:`fubble.payments.worker.LEASE`); then the attempt only waits."""
    query = select(PaymentAttempt).where(
        PaymentAttempt.invoice_id == invoice_id, PaymentAttempt.state.in_((PENDING, PROCESSING))
    )
    open_attempts = list(session.scalars(query.order_by(PaymentAttempt.id)))
    for attempt in open_attempts:
        claimed = attempt.claimed_until is not None and attempt.claimed_until > lease_now
        if attempt.state == PROCESSING or claimed:
            return attempt
    for attempt in open_attempts:
        finish(attempt, "canceled", at=at, error=why)
    return None


def finish(attempt: PaymentAttempt, state: str, *, at: datetime, error: str | None = None) -> None:
    """End ``attempt`` in ``state`` (made, or canceled) at ``at``: its claim released, ``error`` kept (500 chars)."""
    attempt.state = state
    attempt.attempted_at = at
    attempt.claimed_by = None
    attempt.claimed_until = None
    if error is not None:
        attempt.error = error[:500]
