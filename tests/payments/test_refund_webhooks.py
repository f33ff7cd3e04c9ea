"""A refund that ends tells the webhook endpoints: ``credit_note.refunded`` when Stripe (localstripe) refunded it,
``credit_note.refund_failed`` when Stripe's webhook says it failed, each with the credit note as the API answers it;
nothing while it is pending or processing."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import stripe
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fubble.clock import FrozenClock
from fubble.config import Settings
from fubble.db.session import Database
from fubble.payments.worker import PaymentWorker
from fubble.webhooks.delivery import WebhookWorker
from tests.payments.conftest import GOOD_CARD, card, customer, finalized_invoice
from tests.payments.refund_helpers import answered_pending, refund_event
from tests.payments.test_webhooks import signed
from tests.webhooks.conftest import Receiver, endpoint, receiving

TYPES = ("credit_note.refunded", "credit_note.refund_failed")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Stripe as the payment tests configure it, and webhooks to receivers on 127.0.0.1."""
    return settings.model_copy(update={"webhook_allow_private_urls": True})


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as state:
        yield state


@pytest.fixture
def deliveries(db: Database, clock: FrozenClock, settings: Settings) -> Iterator[WebhookWorker]:
    with WebhookWorker(db, clock, settings) as running:
        yield running


def sent(receiver: Receiver, deliveries: WebhookWorker) -> list[tuple[str, dict[str, object]]]:
    deliveries.tick()
    return [(got.payload["type"], got.payload["data"]) for got in receiver.received]


def test_refunded_and_refund_failed(
    client: TestClient,
    app: FastAPI,
    db: Database,
    clock: FrozenClock,
    worker: PaymentWorker,
    deliveries: WebhookWorker,
    receiver: Receiver,
    stripe_client: stripe.StripeClient,
) -> None:
    endpoint(client, receiver.url, *TYPES)
    invoice_id = finalized_invoice(client, customer(client, card(stripe_client, GOOD_CARD)), "50.00")
    assert worker.tick() == 1  # collected
    body = {"amount": "5.00", "reason": "Outage", "method": "refund"}
    note = client.post(f"/invoices/{invoice_id}/credit-notes", json=body).json()
    assert sent(receiver, deliveries) == []  # queued: nothing has ended yet
    assert worker.tick() == 1
    [(kind, data)] = sent(receiver, deliveries)
    assert kind == "credit_note.refunded"
    assert data == json.loads(client.get(f"/credit-notes/{note['id']}").text)  # the note as the API answers it
    assert data["refund"]["state"] == "succeeded"  # type: ignore[index]

    other = client.post(f"/invoices/{invoice_id}/credit-notes", json=body).json()
    answered_pending(db, clock, worker, ["re_late"])  # nothing ends while Stripe processes it
    assert len(sent(receiver, deliveries)) == 1
    payload = refund_event("evt_late", "re_late", "failed", "lost_or_stolen_card")
    stripe_sender = TestClient(app, raise_server_exceptions=False)
    assert stripe_sender.post("/payments/stripe/webhook", content=payload, headers=signed(payload)).status_code == 200
    kind, data = sent(receiver, deliveries)[-1]
    assert kind == "credit_note.refund_failed"
    assert data["id"] == other["id"]  # type: ignore[index]
    assert data["refund"]["error"] == "refund failed: lost_or_stolen_card"  # type: ignore[index]
