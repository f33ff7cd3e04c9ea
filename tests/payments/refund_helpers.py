"""Set-ups shared by the refund tests: an invoice Stripe collected after credits, refunds Stripe answered
``pending`` (localstripe always refunds at once), and Stripe's ``refund.updated`` event."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import stripe
from fastapi.testclient import TestClient

from fubble.clock import FrozenClock
from fubble.db.models import PaymentRefund
from fubble.db.session import Database
from fubble.payments import refunds, repository
from fubble.payments.provider import RefundResult
from fubble.payments.worker import LEASE, PaymentWorker
from tests.payments.conftest import GOOD_CARD, card, customer, finalized_invoice


def paid_after_credits(client: TestClient, worker: PaymentWorker, stripe_client: stripe.StripeClient) -> int:
    """An invoice of 100.00 with 30.00 of credits applied, its 70.00 collected by the worker; its id."""
    customer_id = customer(client, card(stripe_client, GOOD_CARD))
    grant = {"amount": "30.00", "description": "Prepaid"}
    assert client.post(f"/customers/{customer_id}/credit-grants", json=grant).status_code == 201
    invoice_id = finalized_invoice(client, customer_id, "100.00")
    assert worker.tick() == 1
    return invoice_id


def answered_pending(db: Database, clock: FrozenClock, worker: PaymentWorker, stripe_ids: Sequence[str]) -> None:
    """The due refunds, claimed as the worker claims them, recorded as Stripe's ``pending`` answers (one id each)."""
    real_now = datetime.now(UTC)
    with db.transaction() as session:
        claimed = repository.claim(
            session,
            due_by=clock.now(),
            lease_now=real_now,
            until=real_now + LEASE,
            holder=worker.holder,
            limit=10,
            model=PaymentRefund,
        )
        for refund_id, stripe_id in zip(claimed, stripe_ids, strict=True):
            pending = RefundResult("processing", stripe_id, "pending")
            assert refunds.record(session, refund_id, pending, holder=worker.holder, at=clock.now())


def refund_event(event_id: str, refund_id: str, status: str, reason: str | None = None) -> bytes:
    """Stripe's ``refund.updated`` event about ``refund_id``."""
    refund = {"id": refund_id, "object": "refund", "status": status, "failure_reason": reason, "amount": 500}
    body = {"id": event_id, "object": "event", "type": "refund.updated", "data": {"object": refund}, "created": 1}
    return json.dumps(body).encode()
