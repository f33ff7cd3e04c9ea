"""One rule for every invoice: its total is never negative once it leaves ``draft``. A generated invoice whose dynamic
price is negative stays a draft (409 on finalize, with the reason) until positive lines bring it to zero or more."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from .helpers import exact, new_customer, put_status

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
    assert invoice["amount"] == Decimal("-2.50")
    return invoice


def _refused(response: Any, total: str) -> None:
    assert response.status_code == 409, response.text
    detail = response.json()["detail"]
    assert f"total is negative ({total} USD)" in detail and "credits" in detail, detail


def test_a_negative_generated_invoice_cannot_be_finalized_until_fixed(client: TestClient) -> None:
    invoice = _negative_generated_invoice(client)
    invoice_id = invoice["id"]
    _refused(client.put(f"/invoices/{invoice_id}/finalize"), "-2.50")
    _refused(put_status(client, invoice_id, "pending"), "-2.50")
    assert exact(client.get(f"/invoices/{invoice_id}")) == invoice  # nothing changed

    # The draft stays editable: a positive line raises the total, even while it is still negative.
    response = client.post(f"/invoices/{invoice_id}/items", json={"description": "Handling", "amount": "1.00"})
    assert response.status_code == 201, response.text
    assert exact(client.get(f"/invoices/{invoice_id}"))["amount"] == Decimal("-1.50")
    _refused(client.put(f"/invoices/{invoice_id}/finalize"), "-1.50")
    # A change that lowers a total that is (or would become) negative is refused, as for manual invoices.
    response = client.post(f"/invoices/{invoice_id}/items", json={"description": "More credit", "amount": "-0.01"})
    assert response.status_code == 422 and "negative" in response.text, response.text
    handling = next(i for i in exact(client.get(f"/invoices/{invoice_id}"))["invoice_items"] if i["amount"] > 0)
    assert client.delete(f"/invoices/{invoice_id}/items/{handling['id']}").status_code == 409

    response = client.post(f"/invoices/{invoice_id}/items", json={"description": "Setup", "amount": "1.50"})
    assert response.status_code == 201, response.text
    assert exact(client.get(f"/invoices/{invoice_id}"))["amount"] == Decimal("0.00")
    response = client.put(f"/invoices/{invoice_id}/finalize")
    assert response.status_code == 200, response.text
    assert exact(response)["status"] == "pending" and exact(response)["amount"] == Decimal("0.00")


def test_removing_the_negative_line_makes_it_finalizable_at_zero(client: TestClient) -> None:
    invoice = _negative_generated_invoice(client)
    _refused(client.put(f"/invoices/{invoice['id']}/finalize"), "-2.50")
    [line] = invoice["invoice_items"]
    response = client.delete(f"/invoices/{invoice['id']}/items/{line['id']}")
    assert response.status_code == 200, response.text
    assert exact(response)["amount"] == Decimal("0.00")
    response = client.put(f"/invoices/{invoice['id']}/finalize")  # zero is not negative
    assert response.status_code == 200, response.text


def test_a_negative_draft_can_still_be_voided(client: TestClient) -> None:
    invoice = _negative_generated_invoice(client)
    _refused(put_status(client, invoice["id"], "pending"), "-2.50")
    response = client.put(f"/invoices/{invoice['id']}/void")
    assert response.status_code == 200, response.text
    assert exact(response)["status"] == "void"
