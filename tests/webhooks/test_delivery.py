"""Delivery to real receivers: signed per Standard Webhooks (checked with the ``standardwebhooks`` package), retried on
the configured schedule, logged per attempt, replayed; the SSRF guard at connect time."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from standardwebhooks import Webhook

from fubble.clock import FrozenClock
from fubble.config import Settings
from fubble.db.session import Database
from fubble.webhooks.delivery import WebhookWorker
from tests.webhooks.conftest import Receiver, customer, draft_invoice, endpoint


def test_a_finalized_invoice_is_delivered_signed_with_the_invoice(
    client: TestClient, receiver: Receiver, worker: WebhookWorker
) -> None:
    hook = endpoint(client, receiver.url, "invoice.finalized")
    invoice = draft_invoice(client, customer(client))
    assert worker.tick() == 0  # a draft is not finalized: nothing to send
    finalized = client.put(f"/invoices/{invoice['id']}/finalize")
    assert finalized.status_code == 200
    assert receiver.received == []  # never sent on the request's path
    assert worker.tick() == 1
    assert worker.tick() == 0  # delivered once

    (got,) = receiver.received
    payload = Webhook(hook["secret"]).verify(got.body, got.headers)  # raises unless signed with the secret
    assert payload["type"] == "invoice.finalized"
    assert got.payload == {
        "type": "invoice.finalized",
        "timestamp": "2024-01-15T12:00:00Z",
        "data": client.get(f"/invoices/{invoice['id']}").json(),
    }
    assert got.payload["data"]["status"] == "pending" and got.payload["data"]["amount_due"] == 120.5
    assert b'"amount_due":120.50' in got.body  # exact digits, as the API writes them
    assert got.headers["webhook-id"].startswith("msg_")
    assert got.headers["content-type"] == "application/json"
    forged = {**got.headers, "webhook-signature": "v1," + "A" * 44}
    try:
        Webhook(hook["secret"]).verify(got.body, forged)
        raise AssertionError("a wrong signature verified")
    except Exception as exc:
        assert "signature" in str(exc).lower()

    (entry,) = client.get(f"/webhook-endpoints/{hook['id']}/deliveries").json()
    assert entry == {
        "id": entry["id"],
        "message_id": got.headers["webhook-id"],
        "event_type": "invoice.finalized",
        "attempt": 1,
        "status_code": 200,
        "error": None,
        "at": "2024-01-15T12:00:00Z",
        "next_attempt_at": None,
    }


def test_a_failed_attempt_is_retried_on_the_schedule_then_logged(
    client: TestClient, receiver: Receiver, worker: WebhookWorker, clock: FrozenClock
) -> None:
    hook = endpoint(client, receiver.url, "invoice.created")
    receiver.answers = [500]
    draft_invoice(client, customer(client))
    assert worker.tick() == 1
    log = f"/webhook-endpoints/{hook['id']}/deliveries"
    (first,) = client.get(log).json()
    assert (first["attempt"], first["status_code"], first["error"]) == (1, 500, "HTTP 500")
    assert first["next_attempt_at"] == "2024-01-15T12:00:01Z"  # the first delay: 1 s
    assert worker.tick() == 0  # not due yet
    clock.advance(timedelta(seconds=1))
    assert worker.tick() == 1
    second, again = client.get(log).json()  # newest first
    assert again == first
    assert {k: second[k] for k in ("attempt", "status_code", "error", "at", "next_attempt_at")} == {
        "attempt": 2,
        "status_code": 200,
        "error": None,
        "at": "2024-01-15T12:00:01Z",
        "next_attempt_at": None,
    }
    assert second["message_id"] == first["message_id"]
    assert [r.headers["webhook-id"] for r in receiver.received] == [first["message_id"]] * 2
    assert client.get(log, params={"limit": 1, "offset": 1}).json() == [first]


def test_after_the_last_retry_the_delivery_has_failed(
    client: TestClient, receiver: Receiver, worker: WebhookWorker, clock: FrozenClock
) -> None:
    hook = endpoint(client, receiver.url, "invoice.created")
    receiver.answers = [503, 404, 302]  # a redirect is not followed: it fails too
    draft_invoice(client, customer(client))
    for _ in range(6):
        worker.tick()
        clock.advance(timedelta(seconds=2))
    log = client.get(f"/webhook-endpoints/{hook['id']}/deliveries").json()
    assert [(e["attempt"], e["status_code"], e["next_attempt_at"]) for e in log] == [
        (3, 302, None),
        (2, 404, "2024-01-15T12:00:04Z"),  # made at 12:00:02, then 2 s
        (1, 503, "2024-01-15T12:00:01Z"),
    ]
    assert len(receiver.received) == 3


def test_replay_sends_the_message_again_once(
    client: TestClient, receiver: Receiver, worker: WebhookWorker, clock: FrozenClock
) -> None:
    hook = endpoint(client, receiver.url, "invoice.created")
    draft_invoice(client, customer(client))
    worker.tick()
    log = f"/webhook-endpoints/{hook['id']}/deliveries"
    (delivered,) = client.get(log).json()
    clock.advance(timedelta(minutes=5))
    receiver.answers = [500]
    replay = client.post(f"{log}/{delivered['id']}/replay")
    assert replay.status_code == 202, replay.text
    assert replay.json() == {
        "id": replay.json()["id"],
        "message_id": delivered["message_id"],
        "event_type": "invoice.created",
        "attempt": 2,
        "due_at": "2024-01-15T12:05:00Z",
    }
    assert len(client.get(log).json()) == 1  # queued, not made yet
    assert worker.tick() == 1
    clock.advance(timedelta(hours=1))
    assert worker.tick() == 0  # a failed replay is not retried
    replayed, first = client.get(log).json()
    assert first == delivered
    assert (replayed["id"], replayed["attempt"], replayed["status_code"]) == (replay.json()["id"], 2, 500)
    assert replayed["next_attempt_at"] is None
    assert receiver.received[0].body == receiver.received[1].body
    assert receiver.received[0].headers["webhook-id"] == receiver.received[1].headers["webhook-id"]
    for bad in (f"{log}/{replayed['id'] + 1}/replay", f"/webhook-endpoints/{hook['id'] + 1}/deliveries/1/replay"):
        assert client.post(bad).status_code == 404


def test_private_addresses_are_refused_when_connecting(
    client: TestClient, receiver: Receiver, db: Database, clock: FrozenClock, settings: Settings
) -> None:
    """An endpoint saved while private URLs were allowed (or a name whose address changed) is refused at connect
    time once they are not."""
    hook = endpoint(client, receiver.url.replace("127.0.0.1", "localhost"), "invoice.created")
    draft_invoice(client, customer(client))
    strict = settings.model_copy(update={"webhook_allow_private_urls": False})
    with WebhookWorker(db, clock, strict) as guarded:
        assert guarded.tick() == 1
    assert receiver.received == []
    (entry,) = client.get(f"/webhook-endpoints/{hook['id']}/deliveries").json()
    assert entry["status_code"] is None
    assert "not a public address" in entry["error"] and entry["next_attempt_at"] == "2024-01-15T12:00:01Z"


def test_disabled_and_deleted_endpoints_get_nothing(
    client: TestClient, receiver: Receiver, worker: WebhookWorker
) -> None:
    kept = endpoint(client, receiver.url + "/kept", "invoice.created")
    paused = endpoint(client, receiver.url + "/paused", "invoice.created")
    gone = endpoint(client, receiver.url + "/gone", "invoice.created")
    customer_id = customer(client)
    draft_invoice(client, customer_id)  # queued for all three
    assert client.put(f"/webhook-endpoints/{paused['id']}", json={"disabled": True}).status_code == 200
    assert client.delete(f"/webhook-endpoints/{gone['id']}").status_code == 204
    draft_invoice(client, customer_id)  # for the kept one only
    assert worker.tick() == 2
    assert len(client.get(f"/webhook-endpoints/{kept['id']}/deliveries").json()) == 2
    assert client.get(f"/webhook-endpoints/{paused['id']}/deliveries").json() == []
    assert client.put(f"/webhook-endpoints/{paused['id']}", json={"disabled": False}).status_code == 200
    assert worker.tick() == 1  # its first message waited; the second was never queued for it
    assert len(receiver.received) == 3
