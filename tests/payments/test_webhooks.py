"""Stripe's webhooks at POST /payments/stripe/webhook: verified with the webhook secret (Stripe-Signature, as Stripe
documents it), applied once per event id, ignored for invoices already paid; public (no API key)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from fubble.clock import FrozenClock
from fubble.db.models import AuditEntry, PaymentAttempt
from fubble.db.session import Database
from tests.payments.conftest import WEBHOOK_SECRET, customer, finalized_invoice

PATH = "/payments/stripe/webhook"


@pytest.fixture
def stripe_sender(app: FastAPI) -> Iterator[TestClient]:
    """Stripe: no API key."""
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def event(event_id: str, event_type: str, invoice_id: int, *, error: str | None = None) -> bytes:
    intent: dict[str, Any] = {
        "id": f"pi_{event_id}",
        "object": "payment_intent",
        "amount": 4249,
        "currency": "usd",
        "metadata": {"invoice_id": str(invoice_id)},
        "last_payment_error": {"code": "card_declined", "message": error} if error else None,
    }
    body = {"id": event_id, "object": "event", "type": event_type, "data": {"object": intent}, "created": 1}
    return json.dumps(body).encode()


def signed(payload: bytes, secret: str = WEBHOOK_SECRET, at: int | None = None) -> dict[str, str]:
    """The ``Stripe-Signature`` header: ``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<payload>">``."""
    t = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={t},v1={mac}", "Content-Type": "application/json"}


def send(sender: TestClient, payload: bytes, headers: dict[str, str]) -> Any:
    return sender.post(PATH, content=payload, headers=headers)


def test_a_succeeded_event_pays_the_invoice_once(
    client: TestClient, stripe_sender: TestClient, db: Database, clock: FrozenClock
) -> None:
    invoice_id = finalized_invoice(client, customer(client, None), "42.49")
    payload = event("evt_1", "payment_intent.succeeded", invoice_id)
    response = send(stripe_sender, payload, signed(payload))
    assert response.status_code == 200, response.text
    assert response.json() == {"received": True, "duplicate": False}
    invoice = client.get(f"/invoices/{invoice_id}").json()
    assert (invoice["status"], invoice["paid_date"]) == ("paid", "2024-01-15T12:00:00Z")

    with db.transaction() as session:
        entries = session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1))
    replay = send(stripe_sender, payload, signed(payload))
    assert replay.status_code == 200
    assert replay.json() == {"received": True, "duplicate": True}
    with db.transaction() as session:  # the replay wrote nothing
        assert session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1)) == entries

    other = event("evt_2", "payment_intent.payment_failed", invoice_id, error="Your card was declined.")
    response = send(stripe_sender, other, signed(other))
    assert response.json() == {"received": True, "duplicate": False}
    assert client.get(f"/invoices/{invoice_id}").json()["status"] == "paid"  # already paid: nothing happens


def test_a_failed_event_fails_a_pending_invoice_and_schedules_a_retry(
    client: TestClient, stripe_sender: TestClient, db: Database, clock: FrozenClock
) -> None:
    invoice_id = finalized_invoice(client, customer(client, None), "42.49")
    payload = event("evt_f", "payment_intent.payment_failed", invoice_id, error="Your card was declined.")
    assert send(stripe_sender, payload, signed(payload)).status_code == 200
    assert client.get(f"/invoices/{invoice_id}").json()["status"] == "failed"
    assert send(stripe_sender, payload, signed(payload)).json()["duplicate"] is True
    with db.transaction() as session:
        assert list(session.scalars(select(PaymentAttempt))) == []  # no attempt of ours to retry: none queued


def test_other_events_are_acknowledged_and_ignored(client: TestClient, stripe_sender: TestClient) -> None:
    invoice_id = finalized_invoice(client, customer(client, None), "1.00")
    payload = event("evt_c", "customer.created", invoice_id)
    assert send(stripe_sender, payload, signed(payload)).json() == {"received": True, "duplicate": False}
    assert client.get(f"/invoices/{invoice_id}").json()["status"] == "pending"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Stripe-Signature": "t=1,v1=00"},
        "wrong secret",
        "too old",
    ],
)
def test_a_bad_signature_is_400_and_changes_nothing(
    client: TestClient, stripe_sender: TestClient, headers: dict[str, str] | str
) -> None:
    invoice_id = finalized_invoice(client, customer(client, None), "42.49")
    payload = event("evt_bad", "payment_intent.succeeded", invoice_id)
    if headers == "wrong secret":
        headers = signed(payload, secret="whsec_other")
    elif headers == "too old":
        headers = signed(payload, at=int(time.time()) - 3600)
    assert isinstance(headers, dict)
    response = send(stripe_sender, payload, headers)
    assert response.status_code == 400, response.text
    assert "detail" in response.json()
    assert client.get(f"/invoices/{invoice_id}").json()["status"] == "pending"
    good = send(stripe_sender, payload, signed(payload))  # the same event, signed, is still applied (not "seen")
    assert good.json()["duplicate"] is False


def test_a_tampered_payload_is_400(client: TestClient, stripe_sender: TestClient) -> None:
    invoice_id = finalized_invoice(client, customer(client, None), "42.49")
    payload = event("evt_t", "payment_intent.succeeded", invoice_id)
    headers = signed(payload)
    assert send(stripe_sender, payload.replace(b"4249", b"1"), headers).status_code == 400
