"""Collecting finalized invoices through Stripe (localstripe): the immediate result of the PaymentIntent moves the
invoice; a declined payment is retried on the dunning schedule; a manual payment stops the retries; without a
provider nothing is queued."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import stripe
from fastapi.testclient import TestClient
from sqlalchemy import select

from fubble.api.app import create_app
from fubble.clock import FrozenClock
from fubble.config import Settings, get_settings
from fubble.db.models import PaymentAttempt, PaymentCustomer
from fubble.db.session import Database
from fubble.payments import dunning, service
from fubble.payments.worker import PaymentWorker
from tests.payments.conftest import DECLINED_CARD, GOOD_CARD, REFUSED_CARD, card, customer, finalized_invoice


def attempts(db: Database, invoice_id: int) -> list[PaymentAttempt]:
    with db.transaction() as session:
        query = select(PaymentAttempt).where(PaymentAttempt.invoice_id == invoice_id).order_by(PaymentAttempt.id)
        return list(session.scalars(query))


def status(client: TestClient, invoice_id: int) -> str:
    return str(client.get(f"/invoices/{invoice_id}").json()["status"])


@pytest.mark.parametrize(("currency", "amount", "minor"), [("USD", "42.49", 4249), ("JPY", "500", 500)])
def test_a_good_card_pays_the_exact_amount_in_minor_units(
    client: TestClient,
    db: Database,
    clock: FrozenClock,
    worker: PaymentWorker,
    stripe_client: stripe.StripeClient,
    currency: str,
    amount: str,
    minor: int,
) -> None:
    method = card(stripe_client, GOOD_CARD)
    invoice_id = finalized_invoice(client, customer(client, method, currency=currency), amount)
    [queued] = attempts(db, invoice_id)
    assert (queued.state, queued.step, queued.due_at) == ("pending", 1, clock.now())
    assert status(client, invoice_id) == "pending"  # nothing was charged on the request

    assert worker.tick() == 1
    invoice = client.get(f"/invoices/{invoice_id}").json()
    assert invoice["status"] == "paid"
    assert invoice["paid_date"] == "2024-01-15T12:00:00Z"
    [done] = attempts(db, invoice_id)
    assert (done.state, done.intent_status, done.error) == ("succeeded", "succeeded", None)
    intent = stripe_client.v1.payment_intents.retrieve(str(done.payment_intent_id))
    assert (intent.amount, intent.currency, intent.status) == (minor, currency.lower(), "succeeded")
    assert intent.metadata["invoice_id"] == str(invoice_id)
    assert intent.payment_method == method
    with db.transaction() as session:
        [mapped] = session.scalars(select(PaymentCustomer))
        assert intent.customer == mapped.provider_customer_id
        assert mapped.payment_method_id == method
    assert worker.tick() == 0  # nothing left to do


def test_a_declined_card_fails_then_the_retry_with_a_good_card_pays(
    client: TestClient,
    db: Database,
    clock: FrozenClock,
    worker: PaymentWorker,
    stripe_client: stripe.StripeClient,
    admin_key: str,
) -> None:
    customer_id = customer(client, card(stripe_client, DECLINED_CARD))
    invoice_id = finalized_invoice(client, customer_id, "120.50")
    assert worker.tick() == 1
    assert status(client, invoice_id) == "failed"
    first, retry = attempts(db, invoice_id)
    assert first.state == "failed" and first.error is not None and "card_declined" in first.error
    assert first.next_attempt_at == clock.now() + timedelta(seconds=60)
    assert (retry.state, retry.step, retry.due_at) == ("pending", 2, first.next_attempt_at)

    clock.advance(timedelta(seconds=59))
    assert worker.tick() == 0  # not due yet
    good = card(stripe_client, GOOD_CARD)
    assert client.put(f"/customers/{customer_id}", json={"payment_method_id": good}).status_code == 200
    clock.advance(timedelta(seconds=1))
    assert worker.tick() == 1
    invoice = client.get(f"/invoices/{invoice_id}").json()
    assert (invoice["status"], invoice["paid_date"]) == ("paid", "2024-01-15T12:01:00Z")
    assert [a.state for a in attempts(db, invoice_id)] == ["failed", "succeeded"]
    intent = stripe_client.v1.payment_intents.retrieve(str(attempts(db, invoice_id)[1].payment_intent_id))
    assert (intent.amount, intent.payment_method) == (12050, good)
    listed = client.get(f"/invoices/{invoice_id}/payment-attempts")
    assert listed.status_code == 200, listed.text
    [failed, paid] = listed.json()
    assert (failed["step"], failed["state"], failed["due_at"], failed["attempted_at"]) == (
        1, "failed", "2024-01-15T12:00:00Z", "2024-01-15T12:00:00Z"
    )  # fmt: skip
    assert "card_declined" in failed["error"] and failed["next_attempt_at"] == "2024-01-15T12:01:00Z"
    assert (paid["step"], paid["state"], paid["payment_intent_id"], paid["error"]) == (2, "succeeded", intent.id, None)
    assert paid["intent_status"] == "succeeded" and paid["provider"] == "stripe"
    assert client.get("/invoices/999999/payment-attempts").status_code == 404
    client.cookies.set("fubble_session", admin_key)  # the dashboard's invoice page lists them too
    page = client.get(f"/ui/invoices/{invoice_id}")
    assert page.status_code == 200 and "Payment attempts" in page.text
    assert "card_declined" in page.text and intent.id in page.text


def test_the_schedule_ends_and_a_refused_card_fails_too(
    client: TestClient, db: Database, clock: FrozenClock, worker: PaymentWorker, stripe_client: stripe.StripeClient
) -> None:
    invoice_id = finalized_invoice(client, customer(client, card(stripe_client, REFUSED_CARD)), "10.00")
    for _ in range(3):  # the first attempt and the two retries of the schedule (60 s, 120 s)
        assert worker.tick() == 1
        clock.advance(timedelta(seconds=120))
    assert worker.tick() == 0
    assert status(client, invoice_id) == "failed"
    made = attempts(db, invoice_id)
    assert [(a.step, a.state) for a in made] == [(1, "failed"), (2, "failed"), (3, "failed")]
    assert made[-1].next_attempt_at is None


def test_paying_by_hand_stops_the_retries(
    client: TestClient, db: Database, clock: FrozenClock, worker: PaymentWorker, stripe_client: stripe.StripeClient
) -> None:
    invoice_id = finalized_invoice(client, customer(client, card(stripe_client, DECLINED_CARD)), "5.00")
    worker.tick()
    assert status(client, invoice_id) == "failed"
    response = client.put(f"/invoices/{invoice_id}/status", json={"status": "paid"})
    assert response.status_code == 200, response.text
    assert [a.state for a in attempts(db, invoice_id)] == ["failed", "canceled"]  # the retry, at once
    clock.advance(timedelta(seconds=60))
    assert worker.tick() == 0
    assert status(client, invoice_id) == "paid"


def test_nothing_is_queued_without_a_payment_method_or_an_amount_due(
    client: TestClient, db: Database, worker: PaymentWorker, stripe_client: stripe.StripeClient
) -> None:
    without_method = finalized_invoice(client, customer(client, None), "42.49")
    zero = finalized_invoice(client, customer(client, card(stripe_client, GOOD_CARD), name="Zero"), "0.00")
    assert attempts(db, without_method) == [] and attempts(db, zero) == []
    assert worker.tick() == 0
    assert status(client, without_method) == "pending"


def test_nothing_is_queued_without_a_provider(
    db: Database, clock: FrozenClock, admin_key: str, localstripe: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server's settings decide, not the process's: a server configured without a key queues nothing."""
    monkeypatch.setenv("FUBBLE_STRIPE_SECRET_KEY", "sk_test_only_in_the_environment")
    get_settings.cache_clear()
    app = create_app(Settings(database_url=db.url, stripe_secret_key=None), clock=clock, database=db)
    try:
        with TestClient(app, headers={"Authorization": f"Bearer {admin_key}"}) as client:
            invoice_id = finalized_invoice(client, customer(client, "pm_anything"), "42.49")
            assert attempts(db, invoice_id) == []
            assert client.put(f"/invoices/{invoice_id}/status", json={"status": "paid"}).json()["status"] == "paid"
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def test_a_billing_run_queues_the_invoices_it_finalizes(
    client: TestClient, db: Database, clock: FrozenClock, worker: PaymentWorker, stripe_client: stripe.StripeClient
) -> None:
    clock.set(datetime(2024, 2, 1, tzinfo=UTC))
    fee = {"metric_name": "fee", "pricing_type": "subscription", "pricing_details": {"amount": "19.99"}}
    plan = client.post("/plans/", json={"name": "P", "billing_frequency": "monthly", "price_components": [fee]})
    customer_id = customer(client, card(stripe_client, GOOD_CARD))
    body = {"plan_id": plan.json()["id"], "start_date": "2024-01-01T00:00:00Z"}
    assert client.post(f"/customers/{customer_id}/subscriptions", json=body).status_code == 200
    run = client.post("/billing/runs", json={"as_of": "2024-02-01T00:00:00Z"})
    assert run.status_code == 200, run.text
    [invoice_id] = run.json()["invoice_ids"]
    assert status(client, invoice_id) == "pending"  # created finalized (no grace period), in bulk
    assert worker.tick() == 1
    assert status(client, invoice_id) == "paid"
    [done] = attempts(db, invoice_id)
    assert stripe_client.v1.payment_intents.retrieve(str(done.payment_intent_id)).amount == 1999


def test_the_dunning_schedule() -> None:
    failed = datetime(2024, 1, 1, tzinfo=UTC)
    schedule = [3 * 86_400.0, 5 * 86_400.0, 7 * 86_400.0]
    assert dunning.next_attempt_at(1, failed, schedule) == datetime(2024, 1, 4, tzinfo=UTC)
    assert dunning.next_attempt_at(2, failed, schedule) == datetime(2024, 1, 6, tzinfo=UTC)
    assert dunning.next_attempt_at(3, failed, schedule) == datetime(2024, 1, 8, tzinfo=UTC)
    assert dunning.next_attempt_at(4, failed, schedule) is None
    assert Settings(payment_retry_schedule="60, 120").payment_retry_schedule == [60.0, 120.0]  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Settings(payment_retry_schedule="0")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [(Decimal("42.49"), "USD", 4249), (Decimal("500"), "JPY", 500), (Decimal("1.234"), "KWD", 1234)],
)
def test_minor_units_are_exact(amount: Decimal, currency: str, minor: int) -> None:
    assert service.minor_units(amount, currency) == minor
    with pytest.raises(ValueError):
        service.minor_units(Decimal("0.001"), "USD")
