"""Scenario over HTTP: finalized invoices use prepaid credit (highest priority, then soonest expiring), a grant is used
across two invoices and expires in between, and voiding an invoice returns what it used."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fubble.clock import FrozenClock

from .helpers import balance, brief, dec, exact, grant, ledger, new_customer


def _finalized(client: TestClient, customer_id: int, amount: str) -> Any:
    body = {"customer_id": customer_id, "items": [{"description": "Usage", "amount": amount}]}
    created = client.post("/invoices/", json=body)
    assert created.status_code == 201, created.text
    if "credits_applied" not in created.json():
        pytest.skip("invoices do not apply credits yet (fubble.invoices.terms)")
    response = client.put(f"/invoices/{created.json()['id']}/finalize")
    assert response.status_code == 200, response.text
    return exact(response)


def _figures(invoice: Any) -> tuple[Decimal, Decimal, Decimal]:
    return dec(invoice["total"]), dec(invoice["credits_applied"]), dec(invoice["amount_due"])


def test_a_grant_used_across_two_invoices_and_expiring_in_between(client: TestClient, clock: FrozenClock) -> None:
    customer_id = new_customer(client)
    g = grant(client, customer_id, "50.00", expires_at="2024-02-01T00:00:00Z")
    first = _finalized(client, customer_id, "20.00")
    assert _figures(first) == (Decimal("20.00"), Decimal("20.00"), Decimal("0.00"))
    clock.set(datetime(2024, 1, 20, tzinfo=UTC))
    second = _finalized(client, customer_id, "12.00")
    assert _figures(second) == (Decimal("12.00"), Decimal("12.00"), Decimal("0.00"))
    assert balance(client, customer_id)["balance"] == Decimal("18.00")
    clock.set(datetime(2024, 2, 5, tzinfo=UTC))
    third = _finalized(client, customer_id, "10.00")
    assert _figures(third) == (Decimal("10.00"), Decimal("0.00"), Decimal("10.00"))
    assert brief(ledger(client, customer_id)) == [
        ("grant", "50.00", g["id"], None, "2024-01-15T12:00:00Z"),
        ("use", "-20.00", g["id"], first["id"], "2024-01-15T12:00:00Z"),
        ("use", "-12.00", g["id"], second["id"], "2024-01-20T00:00:00Z"),
        ("expiry", "-18.00", g["id"], None, "2024-02-01T00:00:00Z"),
    ]
    assert balance(client, customer_id)["balance"] == Decimal("0.00")

    # voiding the second invoice returns its 12.00 to the grant, which has expired: it expires at once
    clock.set(datetime(2024, 2, 6, tzinfo=UTC))
    assert client.put(f"/invoices/{second['id']}/void").status_code == 200
    assert brief(ledger(client, customer_id))[3:] == [
        ("expiry", "-30.00", g["id"], None, "2024-02-01T00:00:00Z"),
        ("use", "12.00", g["id"], second["id"], "2024-02-06T00:00:00Z"),
    ]
    (listed,) = exact(client.get(f"/customers/{customer_id}/credit-grants"))
    assert (listed["remaining"], listed["status"]) == (Decimal("30.00"), "expired")
    assert sum(dec(e["amount"]) for e in ledger(client, customer_id)) == balance(client, customer_id)["balance"] == 0


def test_priority_then_soonest_expiry_then_oldest(client: TestClient) -> None:
    customer_id = new_customer(client, "JPY")
    last = grant(client, customer_id, 1000)
    later = grant(client, customer_id, 300, priority=10, expires_at="2024-03-01T00:00:00Z")
    sooner = grant(client, customer_id, 200, priority=10, expires_at="2024-02-01T00:00:00Z")
    first = grant(client, customer_id, 100, priority=1)
    invoice = _finalized(client, customer_id, "900")
    assert _figures(invoice) == (Decimal(900), Decimal(900), Decimal(0))
    uses = [(e["grant_id"], e["amount"]) for e in ledger(client, customer_id) if e["type"] == "use"]
    assert uses == [(first["id"], -100), (sooner["id"], -200), (later["id"], -300), (last["id"], -300)]
    remaining = {g["id"]: g["remaining"] for g in exact(client.get(f"/customers/{customer_id}/credit-grants"))}
    assert remaining == {last["id"]: 700, later["id"]: 0, sooner["id"]: 0, first["id"]: 0}
    assert balance(client, customer_id)["balance"] == 700
