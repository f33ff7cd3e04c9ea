"""One rule for every invoice: its total is never negative. A generated invoice whose lines add up below zero (a
negative dynamic price) totals 0 and shows the difference as ``credit_carried``; finalizing it grants that credit,
which the customer's next finalized invoice uses."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from .helpers import exact, new_customer

REBATE_PLAN = {
    "name": "Rebate",
    "billing_frequency": "monthly",
    "price_components": [
        {
            "metric_name": "returns",
            "display_name": "Returns",
            "pricing_type": "dynamic",
            "pricing_details": {"formula": "rebate", "rebate": "-0.25"},
        }
    ],
}


def _negative_generated_invoice(client: TestClient) -> Any:
    """A draft for 10 units at -0.25 each: -2.50."""
    customer_id = new_customer(client)
    plan = client.post("/plans/", json=REBATE_PLAN)
    assert plan.status_code == 201, plan.text
    body = {"plan_id": plan.json()["id"], "start_date": "2024-01-01T00:00:00"}
    assert client.post(f"/customers/{customer_id}/subscriptions", json=body).status_code in (200, 201)
    event = {"customer_id": customer_id, "metric_name": "returns", "quantity": 10, "event_time": "2024-01-05T00:00:00"}
    assert client.post("/events/", json=event).status_code in (200, 201)
    window = {"start_date": "2024-01-01T00:00:00", "end_date": "2024-02-01T00:00:00", "customer_id": customer_id}
    response = client.post("/invoices/generate", json=window)
    assert response.status_code == 200, response.text
    [invoice] = exact(response)
    assert invoice["status"] == "draft"
    assert [i["amount"] for i in invoice["invoice_items"]] == [Decimal("-2.50")]
    assert invoice["subtotal"] == Decimal("-2.50")
    assert invoice["amount"] == invoice["total"] == Decimal("0.00")  # never below zero
    return invoice


def test_a_negative_generated_invoice_totals_zero_and_grants_the_difference_when_finalized(client: TestClient) -> None:
    invoice = _negative_generated_invoice(client)
    invoice_id, customer_id = invoice["id"], invoice["customer_id"]
    assert invoice["credit_carried"] == Decimal("2.50") and invoice["amount_due"] == Decimal("0.00")
    balance = exact(client.get(f"/customers/{customer_id}/credit-balance"))
    assert balance["balance"] == Decimal("0.00")  # a draft grants nothing yet

    response = client.put(f"/invoices/{invoice_id}/finalize")
    assert response.status_code == 200, response.text
    final = exact(response)
    assert final["status"] == "pending" and final["amount"] == final["total"] == Decimal("0.00")
    assert final["credit_carried"] == Decimal("2.50")
    balance = exact(client.get(f"/customers/{customer_id}/credit-balance"))
    assert balance["balance"] == Decimal("2.50")
    [entry] = exact(client.get(f"/customers/{customer_id}/credit-ledger"))
    assert entry["type"] == "grant" and entry["amount"] == Decimal("2.50")

    # The next invoice uses that credit when it is finalized.
    body = {"customer_id": customer_id, "items": [{"description": "Setup", "amount": "10.00"}]}
    created = client.post("/invoices/", json=body)
    assert created.status_code == 201, created.text
    assert exact(created)["credits_applied"] == Decimal("0.00")  # a draft applies no credit
    response = client.put(f"/invoices/{created.json()['id']}/finalize")
    assert response.status_code == 200, response.text
    used = exact(response)
    assert (used["total"], used["credits_applied"], used["amount_due"]) == (
        Decimal("10.00"),
        Decimal("2.50"),
        Decimal("7.50"),
    )
    # The first invoice's credit is used: it cannot be voided before the invoice that used it.
    assert client.put(f"/invoices/{invoice_id}/void").status_code == 409
    assert client.put(f"/invoices/{created.json()['id']}/void").status_code == 200
    assert exact(client.get(f"/customers/{customer_id}/credit-balance"))["balance"] == Decimal("2.50")
    assert client.put(f"/invoices/{invoice_id}/void").status_code == 200
    assert exact(client.get(f"/customers/{customer_id}/credit-balance"))["balance"] == Decimal("0.00")


def test_a_negative_draft_stays_editable_and_can_be_voided(client: TestClient) -> None:
    invoice = _negative_generated_invoice(client)
    invoice_id = invoice["id"]
    response = client.post(f"/invoices/{invoice_id}/items", json={"description": "Handling", "amount": "1.00"})
    assert response.status_code == 201, response.text
    after = exact(client.get(f"/invoices/{invoice_id}"))
    assert after["subtotal"] == Decimal("-1.50") and after["credit_carried"] == Decimal("1.50")
    # A manual change that lowers lines already below zero is refused, as for manual invoices.
    response = client.post(f"/invoices/{invoice_id}/items", json={"description": "More credit", "amount": "-0.01"})
    assert response.status_code == 422 and "negative" in response.text, response.text
    response = client.put(f"/invoices/{invoice_id}/void")
    assert response.status_code == 200, response.text
    assert exact(response)["status"] == "void"
