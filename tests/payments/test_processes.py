"""Collection where operators run it: a real ``fubble worker`` and a real ``fubble serve`` process, configured by
their environment (``FUBBLE_STRIPE_SECRET_KEY``, ``FUBBLE_STRIPE_API_BASE``), charge a finalized invoice through
localstripe; nothing in the test process charges. Without a key, the worker says payments are off."""

from __future__ import annotations

import tempfile
import time
from decimal import Decimal

import httpx
import stripe
from fastapi.testclient import TestClient

from bench.server import ServerProcess
from fubble.db.session import Database
from tests.cli.commands import environment, run_worker
from tests.payments.conftest import GOOD_CARD, SECRET_KEY, card, customer, finalized_invoice


def collecting_env(localstripe: str) -> dict[str, str]:
    return {
        "FUBBLE_STRIPE_SECRET_KEY": SECRET_KEY,
        "FUBBLE_STRIPE_API_BASE": localstripe,
        "FUBBLE_PAYMENT_POLL_INTERVAL_SECONDS": "0.1",
        "FUBBLE_BILLING_INTERVAL_SECONDS": "0",
    }


def wait_until_paid(read: httpx.Client | TestClient, invoice_id: int, *, seconds: float = 20) -> dict[str, object]:
    deadline = time.monotonic() + seconds
    while True:
        invoice: dict[str, object] = read.get(f"/invoices/{invoice_id}").json()
        if invoice["status"] == "paid" or time.monotonic() > deadline:
            return invoice
        time.sleep(0.05)


def charged(stripe_client: stripe.StripeClient, method: str, invoice_id: int) -> list[tuple[int, str, str]]:
    """The PaymentIntents of ``invoice_id`` paid with the card ``method`` (new in each test: localstripe lives for
    the whole session, and invoice ids start again in each test's empty database)."""
    intents = stripe_client.v1.payment_intents.list({"limit": 100})
    return [
        (intent.amount, intent.currency, intent.status)
        for intent in intents.data
        if intent.payment_method == method and intent.metadata.to_dict().get("invoice_id") == str(invoice_id)
    ]


def test_the_worker_command_collects_a_finalized_invoice(
    client: TestClient, db: Database, localstripe: str, stripe_client: stripe.StripeClient
) -> None:
    method = card(stripe_client, GOOD_CARD)
    invoice_id = finalized_invoice(client, customer(client, method), "18.25")
    assert client.get(f"/invoices/{invoice_id}").json()["status"] == "pending"  # queued, not charged
    env = environment(db.url, FUBBLE_WEBHOOK_POLL_INTERVAL_SECONDS="1", **collecting_env(localstripe))
    returncode, output = run_worker(env, lambda: client.get(f"/invoices/{invoice_id}").json()["status"] == "paid")
    assert returncode == 0, output
    assert "payments every 0.1 s" in output, output
    assert client.get(f"/invoices/{invoice_id}").json()["status"] == "paid", output
    assert charged(stripe_client, method, invoice_id) == [(1825, "usd", "succeeded")]


def test_fubble_serve_collects_what_its_own_requests_finalized(
    db: Database, admin_key: str, localstripe: str, stripe_client: stripe.StripeClient
) -> None:
    method = card(stripe_client, GOOD_CARD)
    with tempfile.TemporaryDirectory() as logs:
        server = ServerProcess(db.url, extra_env=collecting_env(localstripe), log_dir=logs)
        base = server.start()
        try:
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {admin_key}"}) as http:
                body = {"name": "Acme", "email": "billing@acme.example", "payment_method_id": method}
                customer_id = http.post("/customers/", json=body).json()["id"]
                items = [{"description": "Usage", "amount": "7.40"}]
                invoice_id = http.post("/invoices/", json={"customer_id": customer_id, "items": items}).json()["id"]
                assert http.put(f"/invoices/{invoice_id}/finalize").status_code == 200
                invoice = wait_until_paid(http, invoice_id)
        finally:
            server.stop()
        assert invoice["status"] == "paid", server.log()[-3000:]
        assert Decimal(str(invoice["amount_due"])) == Decimal("7.40")
    assert charged(stripe_client, method, invoice_id) == [(740, "usd", "succeeded")]


def test_without_a_key_the_worker_says_payments_are_off(db: Database) -> None:
    returncode, output = run_worker(environment(db.url, FUBBLE_BILLING_INTERVAL_SECONDS="0"), lambda: True)
    assert returncode == 0, output
    assert "payments off (no FUBBLE_STRIPE_SECRET_KEY)" in output.splitlines()[0], output
