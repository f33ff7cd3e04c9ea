"""Refund credit notes of invoices collected through Stripe (localstripe): the payment worker refunds the note's
amount from the invoice's PaymentIntent, exactly, in minor units, once; more than Stripe collected and has not
refunded yet is a 409 that writes nothing; a note of an invoice paid by hand, a pending invoice or a credit note is
only recorded."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import stripe
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bench.server import free_port
from fubble.clock import FrozenClock
from fubble.config import Settings
from fubble.db.session import Database
from fubble.payments.stripe_provider import StripeProvider
from fubble.payments.worker import PaymentWorker
from tests.payments.conftest import GOOD_CARD, SECRET_KEY, card, customer, finalized_invoice
from tests.payments.refund_helpers import answered_pending, paid_after_credits, refund_event
from tests.payments.test_webhooks import signed
from tests.ui.conftest import new_browser, sign_in


def paid_through_stripe(
    client: TestClient, worker: PaymentWorker, stripe_client: stripe.StripeClient, amount: str, currency: str = "USD"
) -> tuple[int, str]:
    """A finalized invoice the worker collected; its id and PaymentIntent."""
    invoice_id = finalized_invoice(client, customer(client, card(stripe_client, GOOD_CARD), currency=currency), amount)
    assert worker.tick() == 1
    [attempt] = client.get(f"/invoices/{invoice_id}/payment-attempts").json()
    assert attempt["state"] == "succeeded"
    return invoice_id, str(attempt["payment_intent_id"])


def note(client: TestClient, invoice_id: int, amount: str, method: str = "refund") -> Any:
    body = {"amount": amount, "reason": "Outage", "method": method}
    return client.post(f"/invoices/{invoice_id}/credit-notes", json=body)


def refunded(stripe_client: stripe.StripeClient, intent: str) -> list[tuple[int, str, str]]:
    found = stripe_client.v1.refunds.list({"payment_intent": intent, "limit": 100}).data
    return sorted((r.amount, r.status, r.metadata.to_dict().get("credit_note", "")) for r in found)


@pytest.mark.parametrize(
    ("currency", "amount", "part", "minor"), [("USD", "120.50", "20.25", 2025), ("JPY", "900", "300", 300)]
)
def test_a_refund_note_refunds_its_amount_from_the_payment(
    client: TestClient,
    worker: PaymentWorker,
    stripe_client: stripe.StripeClient,
    currency: str,
    amount: str,
    part: str,
    minor: int,
) -> None:
    invoice_id, intent = paid_through_stripe(client, worker, stripe_client, amount, currency)
    made = note(client, invoice_id, part)
    assert made.status_code == 201, made.text
    queued = made.json()["refund"]
    assert queued == {
        "provider": "stripe",
        "state": "pending",
        "amount": float(part),
        "payment_intent_id": intent,
        "refund_id": None,
        "error": None,
        "attempted_at": None,
    }
    assert refunded(stripe_client, intent) == []  # never on the request's path
    assert worker.tick() == 1
    assert worker.tick() == 0  # made once
    number = made.json()["number"]
    assert refunded(stripe_client, intent) == [(minor, "succeeded", number)]
    done = client.get(f"/credit-notes/{made.json()['id']}").json()["refund"]
    assert done["state"] == "succeeded" and done["refund_id"].startswith("re_")
    assert done["attempted_at"] == "2024-01-15T12:00:00Z"
    listed = client.get(f"/invoices/{invoice_id}/credit-notes").json()
    assert [n["refund"]["refund_id"] for n in listed] == [done["refund_id"]]
    assert client.get(f"/invoices/{invoice_id}").json()["status"] == "paid"  # the invoice itself is never edited


def test_refunds_never_return_more_than_stripe_collected(
    client: TestClient, worker: PaymentWorker, stripe_client: stripe.StripeClient
) -> None:
    invoice_id = paid_after_credits(client, worker, stripe_client)  # 30.00 of credits applied: 70.00 charged
    [attempt] = client.get(f"/invoices/{invoice_id}/payment-attempts").json()
    intent = attempt["payment_intent_id"]
    assert stripe_client.v1.payment_intents.retrieve(intent).amount == 7000

    assert note(client, invoice_id, "60.00").status_code == 201
    refused = note(client, invoice_id, "10.01")  # the invoice's total (100.00) would allow it; Stripe took 70.00
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        f"invoice {invoice_id} was paid 70.00 USD through stripe, of which 10.00 is left to refund there; a refund "
        "note may return at most that (give the rest as method credit)"
    )
    assert len(client.get(f"/invoices/{invoice_id}/credit-notes").json()) == 1  # nothing written
    assert note(client, invoice_id, "30.00", method="credit").status_code == 201  # the credits' part, as credit
    assert note(client, invoice_id, "10.00").status_code == 201
    assert worker.tick() == 2
    assert [amount for amount, _, _ in refunded(stripe_client, intent)] == [1000, 6000]
    assert note(client, invoice_id, "0.01").status_code == 409  # the total is used up as well


def test_credits_paid_by_hand_and_pending_invoices_are_only_recorded(
    client: TestClient, worker: PaymentWorker, stripe_client: stripe.StripeClient
) -> None:
    invoice_id, intent = paid_through_stripe(client, worker, stripe_client, "50.00")
    credited = note(client, invoice_id, "10.00", method="credit")
    assert credited.status_code == 201 and credited.json()["refund"] is None
    by_hand = finalized_invoice(client, customer(client, None, name="Hand"), "30.00")
    assert client.put(f"/invoices/{by_hand}/status", json={"status": "paid"}).status_code == 200
    recorded = note(client, by_hand, "30.00")
    assert recorded.status_code == 201 and recorded.json()["refund"] is None
    pending = finalized_invoice(client, customer(client, None, name="Later"), "20.00")
    assert note(client, pending, "5.00").json()["refund"] is None
    assert worker.tick() == 0
    assert refunded(stripe_client, intent) == []


def test_an_unreachable_provider_leaves_the_refund_due_again(
    client: TestClient,
    db: Database,
    clock: FrozenClock,
    settings: Settings,
    worker: PaymentWorker,
    stripe_client: stripe.StripeClient,
) -> None:
    invoice_id, intent = paid_through_stripe(client, worker, stripe_client, "80.00")
    made = note(client, invoice_id, "8.00").json()
    unreachable = StripeProvider(SECRET_KEY, api_base=f"http://127.0.0.1:{free_port()}")  # nothing listens there
    offline = PaymentWorker(db, clock, settings, provider=unreachable)
    assert offline.refund_due() == 1
    waiting = client.get(f"/credit-notes/{made['id']}").json()["refund"]
    assert waiting["state"] == "pending" and "connect" in waiting["error"].lower(), waiting
    assert worker.tick() == 0  # due again a minute later, not at once
    clock.advance(timedelta(minutes=1))
    assert worker.tick() == 1
    assert refunded(stripe_client, intent) == [(800, "succeeded", made["number"])]


def test_the_dashboard_shows_a_refund_on_the_invoice_page(
    client: TestClient, app: FastAPI, admin_key: str, worker: PaymentWorker, stripe_client: stripe.StripeClient
) -> None:
    invoice_id, _ = paid_through_stripe(client, worker, stripe_client, "42.00")
    browser = sign_in(new_browser(app), admin_key)
    form = {"amount": "2.00", "reason": "Late", "method": "refund"}
    issued = browser.post(f"/ui/invoices/{invoice_id}/credit-notes", data=form)
    assert issued.status_code == 303, issued.text
    assert "<td>pending</td>" in browser.get(f"/ui/invoices/{invoice_id}").text
    assert worker.tick() == 1
    refund_id = client.get(f"/invoices/{invoice_id}/credit-notes").json()[0]["refund"]["refund_id"]
    assert f"succeeded <code>{refund_id}</code>" in browser.get(f"/ui/invoices/{invoice_id}").text


def test_stripe_finishes_a_pending_refund_by_webhook(
    client: TestClient,
    app: FastAPI,
    db: Database,
    clock: FrozenClock,
    worker: PaymentWorker,
    stripe_client: stripe.StripeClient,
) -> None:
    invoice_id = paid_after_credits(client, worker, stripe_client)  # 30.00 of credits applied: 70.00 charged
    notes = [note(client, invoice_id, "5.00").json(), note(client, invoice_id, "6.00").json()]
    answered_pending(db, clock, worker, ["re_ok", "re_bad"])  # localstripe always refunds at once
    states = [client.get(f"/credit-notes/{n['id']}").json()["refund"]["state"] for n in notes]
    assert states == ["processing", "processing"]

    stripe_sender = TestClient(app, raise_server_exceptions=False)
    for payload in (
        refund_event("evt_r1", "re_ok", "succeeded"),
        refund_event("evt_r2", "re_bad", "failed", "expired_or_canceled_card"),
    ):
        answer = stripe_sender.post("/payments/stripe/webhook", content=payload, headers=signed(payload))
        assert answer.json() == {"received": True, "duplicate": False}
    done, failed = (client.get(f"/credit-notes/{n['id']}").json()["refund"] for n in notes)
    assert (done["state"], done["refund_id"], done["error"]) == ("succeeded", "re_ok", None)
    assert (failed["state"], failed["error"]) == ("failed", "refund failed: expired_or_canceled_card")
    # A failed refund does not count against what Stripe can return: 70.00 - 5.00 is left there.
    assert note(client, invoice_id, "65.01").status_code == 409
    assert note(client, invoice_id, "65.00").status_code == 201
    replay = refund_event("evt_r1", "re_ok", "failed")  # another event about a finished refund changes nothing
    assert stripe_sender.post("/payments/stripe/webhook", content=replay, headers=signed(replay)).status_code == 200
    assert client.get(f"/credit-notes/{notes[0]['id']}").json()["refund"]["state"] == "succeeded"
