"""Payment tests: the real app on both databases with Stripe configured, against a real ``localstripe`` server (a
stateful Stripe fake) started once per test session on a free 127.0.0.1 port; a payment worker driven tick by tick on
the test clock; a retry schedule of 60 s then 120 s."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import stripe
from fastapi.testclient import TestClient

from fubble.clock import FrozenClock
from fubble.config import Settings
from fubble.db.session import Database
from fubble.payments.worker import PaymentWorker

SECRET_KEY = "sk_test_fubble"
WEBHOOK_SECRET = "whsec_fubble_test"
GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000341"  # localstripe: attaches, then every charge is declined (card_declined)
REFUSED_CARD = "4000000000000002"  # localstripe: declined when attached to a customer


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def localstripe() -> Iterator[str]:
    """The base URL of a localstripe server of this test session (from scratch: no state of earlier runs)."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    try:
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"localstripe did not start on port {port}")
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def settings(db: Database, localstripe: str) -> Settings:
    """The server's settings (only these, not the process's environment, turn collection on)."""
    return Settings(
        database_url=db.url,
        stripe_secret_key=SECRET_KEY,
        stripe_api_base=localstripe,
        stripe_webhook_secret=WEBHOOK_SECRET,
        payment_retry_schedule=[60, 120],
    )


@pytest.fixture
def worker(db: Database, clock: FrozenClock, settings: Settings) -> PaymentWorker:
    return PaymentWorker(db, clock, settings)


@pytest.fixture
def stripe_client(localstripe: str) -> stripe.StripeClient:
    return stripe.StripeClient(SECRET_KEY, base_addresses={"api": localstripe})


def card(client: stripe.StripeClient, number: str) -> str:
    """A new card payment method (``pm_...``) at localstripe."""
    method = client.v1.payment_methods.create(
        {"type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"}}
    )
    return str(method.id)


def customer(client: TestClient, payment_method_id: str | None, *, currency: str = "USD", name: str = "Acme") -> int:
    body: dict[str, Any] = {"name": name, "email": f"billing@{name.lower()}.example", "currency": currency}
    if payment_method_id is not None:
        body["payment_method_id"] = payment_method_id
    response = client.post("/customers/", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def finalized_invoice(client: TestClient, customer_id: int, amount: str) -> int:
    items = [{"description": "Usage", "amount": amount}]
    response = client.post("/invoices/", json={"customer_id": customer_id, "items": items})
    assert response.status_code == 201, response.text
    invoice_id = int(response.json()["id"])
    response = client.put(f"/invoices/{invoice_id}/finalize")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "pending"
    return invoice_id
