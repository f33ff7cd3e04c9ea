"""Each event type is emitted where its change happens, with the object as the API returns it: invoices (made by
hand and by billing runs), credit notes, subscriptions, billing runs, refused event batches."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from fubble.clock import FrozenClock
from fubble.db.session import Database
from fubble.webhooks.delivery import WebhookWorker
from fubble.webhooks.event_types import EventType
from tests.webhooks.conftest import Receiver, customer, draft_invoice, endpoint

EVERY_TYPE = [t.value for t in EventType]


def plan(client: TestClient, name: str, fee: str) -> int:
    component = {"metric_name": "platform_fee", "pricing_type": "subscription", "pricing_details": {"amount": fee}}
    body = {"name": name, "billing_frequency": "monthly", "price_components": [component]}
    response = client.post("/plans/", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


class Sent:
    """What the worker sends after each step: the messages new since the last look, by type."""

    def __init__(self, receiver: Receiver, worker: WebhookWorker) -> None:
        self.receiver, self.worker, self.seen = receiver, worker, 0

    def __call__(self) -> dict[str, list[dict[str, Any]]]:
        self.worker.tick()
        new = self.receiver.received[self.seen :]
        self.seen = len(self.receiver.received)
        by_type: dict[str, list[dict[str, Any]]] = {}
        for message in new:
            by_type.setdefault(message.payload["type"], []).append(message.payload["data"])
        return by_type


def test_invoice_and_credit_note_events(client: TestClient, receiver: Receiver, worker: WebhookWorker) -> None:
    endpoint(client, receiver.url, *EVERY_TYPE)
    sent = Sent(receiver, worker)
    invoice = draft_invoice(client, customer(client), amount="100.00")
    path = f"/invoices/{invoice['id']}"
    assert sent() == {"invoice.created": [invoice]}
    assert sent() == {}
    finalized = client.put(f"{path}/finalize").json()
    assert sent() == {"invoice.finalized": [finalized]}
    failed = client.put(f"{path}/status", json={"status": "failed"}).json()
    assert sent() == {"invoice.payment_failed": [failed]}
    client.put(f"{path}/status", json={"status": "pending"})  # another payment attempt: no event
    assert sent() == {}
    paid = client.put(f"{path}/status", json={"status": "paid"}).json()
    assert sent() == {"invoice.paid": [paid]}
    assert paid["paid_date"] == "2024-01-15T12:00:00Z"
    note = client.post(f"{path}/credit-notes", json={"amount": "20.50", "reason": "outage", "method": "refund"})
    assert note.status_code == 201, note.text
    assert sent() == {"credit_note.created": [note.json()]}
    assert note.json()["amount"] == 20.5
    other = draft_invoice(client, invoice["customer_id"])
    voided = client.put(f"/invoices/{other['id']}/void", json={"reason": "duplicate"}).json()
    assert sent() == {"invoice.created": [other], "invoice.voided": [voided]}
    assert voided["notes"] == "Voided: duplicate"


def test_subscription_and_billing_run_events(
    client: TestClient, receiver: Receiver, worker: WebhookWorker, clock: FrozenClock
) -> None:
    endpoint(client, receiver.url, *EVERY_TYPE)
    sent = Sent(receiver, worker)
    basic, pro = plan(client, "Basic", "10.00"), plan(client, "Pro", "20.00")
    customer_id = customer(client)
    subs = f"/customers/{customer_id}/subscriptions"
    first = client.post(subs, json={"plan_id": basic, "start_date": "2023-12-15T12:00:00Z"}).json()
    assert sent() == {"subscription.created": [first]}

    run = client.post("/billing/runs", json={}).json()  # bills [Dec 15, Jan 15): created finalized (no grace)
    got = sent()
    (invoice_id,) = run["invoice_ids"]
    invoice = client.get(f"/invoices/{invoice_id}").json()
    assert got == {"invoice.created": [invoice], "invoice.finalized": [invoice], "billing_run.completed": [run]}
    assert invoice["amount_due"] == 10.0 and invoice["status"] == "pending"

    second = client.post(f"{subs}/{first['id']}/change", json={"plan_id": pro}).json()
    assert sent() == {"subscription.changed": [second]}
    assert second["previous_subscription_id"] == first["id"]
    canceled = client.put(f"{subs}/{second['id']}/cancel", json={"end_date": "2024-01-15T13:00:00Z"}).json()
    assert sent() == {"subscription.canceled": [canceled]}
    assert canceled["status"] == "canceled"

    clock.set(clock.now().replace(hour=14))
    run = client.post("/billing/runs", json={}).json()  # sees Pro's end (not Basic's: a plan change ended it)
    got = sent()
    assert sorted(got) == ["billing_run.completed", "subscription.ended"]
    assert got["subscription.ended"] == [client.get(f"{subs}/{second['id']}").json()]
    assert got["subscription.ended"][0]["status"] == "ended"
    assert got["billing_run.completed"] == [run]

    clock.set(clock.now().replace(hour=15))
    client.post("/billing/runs", json={})  # a run by hand that found nothing: still completed; no end again
    assert sorted(sent()) == ["billing_run.completed"]

    late = client.post(subs, json={"plan_id": basic, "start_date": "2024-01-10T00:00:00Z"}).json()
    ended = client.put(f"{subs}/{late['id']}/cancel", json={"end_date": "2024-01-14T00:00:00Z"}).json()
    got = sent()  # canceled in the past: it has ended already
    assert got == {"subscription.created": [late], "subscription.canceled": [ended], "subscription.ended": [ended]}
    clock.set(clock.now().replace(hour=16))
    client.post("/billing/runs", json={})
    assert "subscription.ended" not in sent()  # announced once


def test_refused_event_batches_are_announced_only_when_subscribed(
    client: TestClient, receiver: Receiver, worker: WebhookWorker, db: Database
) -> None:
    customer_id = customer(client)
    assert client.post("/metrics/", json={"name": "api_calls", "aggregation": "sum"}).status_code == 201
    good = {"customer_id": customer_id, "metric_name": "api_calls", "quantity": 1}
    bad = [good, {"customer_id": customer_id, "metric_name": "api_cals", "quantity": 2}]
    assert client.post("/events/batch", json={"events": bad}).status_code == 422
    with db.engine.connect() as conn:  # nobody subscribes: nothing is written
        assert conn.execute(text("SELECT COUNT(*) FROM webhook_messages")).scalar() == 0

    endpoint(client, receiver.url, "events.rejected")
    sent = Sent(receiver, worker)
    refused = client.post("/events/batch", json={"events": bad})  # the fast path
    assert refused.status_code == 422
    got = sent()
    assert got == {
        "events.rejected": [
            {
                "status_code": 422,
                "event_count": 2,
                "message": refused.json()["detail"]["message"],
                "errors": refused.json()["detail"]["errors"],
                "error_count": 1,
            }
        ]
    }
    assert got["events.rejected"][0]["errors"][0]["index"] == 1
    keyed = client.post("/events/batch", json={"events": bad}, headers={"Idempotency-Key": "k1"})  # the full route
    assert keyed.status_code == 422
    assert [d["event_count"] for d in sent()["events.rejected"]] == [2]
    assert client.post("/events/batch", json={"events": [good, good]}).status_code in (200, 201)
    assert client.post("/events/", json=good).status_code == 201
    assert sent() == {}  # accepted events announce nothing
    assert len(client.get(f"/events/customers/{customer_id}").json()) == 3  # nothing of the refused batches
