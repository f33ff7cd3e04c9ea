"""A payment in flight holds the hand-made changes that would let a customer pay twice: while a worker holds the
attempt (its charge may be at Stripe) or Stripe is still processing it, marking the invoice paid or voiding it is a
409; the payment's own result then decides. Once nothing is in flight, both work as before."""

from __future__ import annotations

from datetime import UTC, datetime

import stripe
from fastapi.testclient import TestClient

from fubble.clock import FrozenClock
from fubble.db.session import Database
from fubble.payments import repository, service
from fubble.payments.provider import ChargeResult, PaymentEvent
from fubble.payments.worker import LEASE, PaymentWorker
from tests.payments.conftest import GOOD_CARD, card, customer, finalized_invoice

HAND_MADE = (("status", {"status": "paid"}), ("void", {"reason": "paid by wire"}))


def claim(db: Database, clock: FrozenClock, worker: PaymentWorker) -> int:
    """What the worker does before it calls Stripe: claim the due attempt, on the lease's real time."""
    real_now = datetime.now(UTC)
    with db.transaction() as session:
        [attempt_id] = repository.claim(
            session, due_by=clock.now(), lease_now=real_now, until=real_now + LEASE, holder=worker.holder, limit=10
        )
    return attempt_id


def refusals(client: TestClient, invoice_id: int) -> list[tuple[int, str]]:
    answers = [client.put(f"/invoices/{invoice_id}/{path}", json=body) for path, body in HAND_MADE]
    return [(answer.status_code, answer.json()["detail"]) for answer in answers]


def test_a_claimed_attempt_holds_paid_and_void_until_its_charge_is_recorded(
    client: TestClient, db: Database, clock: FrozenClock, worker: PaymentWorker, stripe_client: stripe.StripeClient
) -> None:
    invoice_id = finalized_invoice(client, customer(client, card(stripe_client, GOOD_CARD)), "30.00")
    attempt_id = claim(db, clock, worker)
    message = (
        f"invoice {invoice_id} has a payment in flight (attempt {attempt_id}, pending): its result decides the "
        f"status; try again once it is recorded (GET /invoices/{invoice_id}/payment-attempts)"
    )
    assert refusals(client, invoice_id) == [(409, message), (409, message)]
    invoice = client.get(f"/invoices/{invoice_id}").json()
    assert (invoice["status"], invoice["notes"]) == ("pending", None)  # the void's reason was rolled back

    worker.attempt(attempt_id)  # the charge is made and its result recorded
    assert client.get(f"/invoices/{invoice_id}").json()["status"] == "paid"
    [done] = client.get(f"/invoices/{invoice_id}/payment-attempts").json()
    assert done["state"] == "succeeded"


def test_a_processing_payment_holds_them_until_stripe_decides(
    client: TestClient, db: Database, clock: FrozenClock, worker: PaymentWorker, stripe_client: stripe.StripeClient
) -> None:
    invoice_id = finalized_invoice(client, customer(client, card(stripe_client, GOOD_CARD)), "30.00")
    attempt_id = claim(db, clock, worker)
    with db.transaction() as session:  # Stripe answered "processing": the result will come by webhook
        processing = ChargeResult("processing", "pi_123", "processing")
        assert service.record(session, attempt_id, processing, holder=worker.holder, clock=clock, schedule=[60])
    message = (
        f"invoice {invoice_id} has a payment in flight (attempt {attempt_id}, PaymentIntent pi_123, processing): its "
        f"result decides the status; try again once it is recorded (GET /invoices/{invoice_id}/payment-attempts)"
    )
    assert refusals(client, invoice_id) == [(409, message), (409, message)]

    with db.transaction() as session:  # Stripe's webhook: the payment failed
        event = PaymentEvent("evt_1", "payment_intent.payment_failed", "failed", "pi_123", invoice_id, "declined")
        assert service.apply_event(session, event, clock=clock, schedule=[60])
    assert client.get(f"/invoices/{invoice_id}").json()["status"] == "failed"
    # Nothing in flight now (the retry waits an hour, unclaimed): a payment by wire is recorded by hand.
    paid = client.put(f"/invoices/{invoice_id}/status", json={"status": "paid"})
    assert paid.status_code == 200 and paid.json()["status"] == "paid"
    states = [a["state"] for a in client.get(f"/invoices/{invoice_id}/payment-attempts").json()]
    assert states == ["failed", "canceled"]  # the retry will not charge a paid invoice


def test_an_expired_claim_is_no_longer_in_flight(
    client: TestClient, db: Database, clock: FrozenClock, worker: PaymentWorker, stripe_client: stripe.StripeClient
) -> None:
    invoice_id = finalized_invoice(client, customer(client, card(stripe_client, GOOD_CARD)), "30.00")
    past = datetime(2020, 1, 1, tzinfo=UTC)  # a worker that died long ago left its claim
    with db.transaction() as session:
        [attempt_id] = repository.claim(
            session, due_by=clock.now(), lease_now=past, until=past + LEASE, holder="dead worker", limit=10
        )
    voided = client.put(f"/invoices/{invoice_id}/void", json={"reason": "duplicate"})
    assert voided.status_code == 200, voided.text
    assert worker.tick() == 0  # the void canceled the attempt at once: nothing is charged
    [attempt] = client.get(f"/invoices/{invoice_id}/payment-attempts").json()
    assert (attempt["id"], attempt["state"], attempt["payment_intent_id"]) == (attempt_id, "canceled", None)
