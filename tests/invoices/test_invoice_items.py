from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from fubble.clock import FrozenClock

from .helpers import GUIDE_ITEM, dec, exact, invoice_in_status, new_customer, new_invoice


def test_add_item_with_the_guide_example(client: TestClient, clock: FrozenClock) -> None:
    customer_id = new_customer(client)
    invoice = new_invoice(client, customer_id, [{"description": "Base", "amount": "10.00"}])
    clock.advance(timedelta(hours=1))
    response = client.post(f"/invoices/{invoice['id']}/items", json=GUIDE_ITEM)
    assert response.status_code == 201, response.text
    added = exact(response)  # the created item; the invoice's new total is read with GET /invoices/{id}
    body = exact(client.get(f"/invoices/{invoice['id']}"))
    assert dec(body["amount"]) == Decimal("34.00")
    assert body["invoice_items"][1] == added
    assert added["description"] == "Storage - Tier 2"
    assert added["metric_name"] == "storage_gb"
    assert (dec(added["quantity"]), dec(added["unit_price"]), dec(added["amount"])) == (
        Decimal(300),
        Decimal("0.08"),
        Decimal(24),
    )
    assert body["updated_at"] == "2024-01-15T13:00:00Z"
    assert body["created_at"] == "2024-01-15T12:00:00Z"


def test_totals_are_exact(client: TestClient) -> None:
    customer_id = new_customer(client)
    invoice_id = new_invoice(client, customer_id)["id"]
    for amount in ("0.1", "0.2"):
        assert (
            client.post(f"/invoices/{invoice_id}/items", json={"description": "x", "amount": amount}).status_code == 201
        )
    body = exact(client.get(f"/invoices/{invoice_id}"))
    assert dec(body["amount"]) == Decimal("0.3")
    assert '"amount":0.30,' in client.get(f"/invoices/{invoice_id}").text
    first_item = body["invoice_items"][0]["id"]
    response = client.delete(f"/invoices/{invoice_id}/items/{first_item}")
    assert response.status_code == 200, response.text
    assert dec(exact(response)["amount"]) == Decimal("0.2")
    assert [i["id"] for i in exact(response)["invoice_items"]] == [body["invoice_items"][1]["id"]]
    big = "12345678901234567890.12"
    for _ in range(3):
        client.post(f"/invoices/{invoice_id}/items", json={"description": "big", "amount": big})
    assert dec(exact(client.get(f"/invoices/{invoice_id}"))["amount"]) == Decimal(big) * 3 + Decimal("0.2")


def test_remove_item_updates_total_and_timestamp(client: TestClient, clock: FrozenClock) -> None:
    customer_id = new_customer(client)
    invoice = new_invoice(
        client, customer_id, [{"description": "a", "amount": "19.99"}, {"description": "b", "amount": "0.01"}]
    )
    assert dec(invoice["amount"]) == 20
    clock.advance(timedelta(minutes=5))
    for item in invoice["invoice_items"]:
        response = client.delete(f"/invoices/{invoice['id']}/items/{item['id']}")
        assert response.status_code == 200, response.text
    body = exact(response)
    assert body["invoice_items"] == []
    assert dec(body["amount"]) == 0 and '"amount":0.00,' in response.text
    assert body["updated_at"] == "2024-01-15T12:05:00Z"
    assert client.delete(f"/invoices/{invoice['id']}/items/{invoice['invoice_items'][0]['id']}").status_code == 404


def test_item_of_another_invoice_is_404(client: TestClient) -> None:
    customer_id = new_customer(client)
    first = new_invoice(client, customer_id, [{"description": "a", "amount": "1.00"}])
    second = new_invoice(client, customer_id, [{"description": "b", "amount": "2.00"}])
    response = client.delete(f"/invoices/{first['id']}/items/{second['invoice_items'][0]['id']}")
    assert response.status_code == 404
    assert dec(exact(client.get(f"/invoices/{second['id']}"))["amount"]) == 2
    assert client.delete(f"/invoices/{first['id']}/items/999").status_code == 404
    assert client.delete(f"/invoices/999/items/{first['invoice_items'][0]['id']}").status_code == 404
    assert client.delete(f"/invoices/{first['id']}/items/0").status_code == 422


@pytest.mark.parametrize("status", ["pending", "paid", "failed", "void"])
def test_items_of_a_non_draft_invoice_cannot_change(client: TestClient, status: str) -> None:
    customer_id = new_customer(client)
    invoice_id = invoice_in_status(client, customer_id, status)
    before = exact(client.get(f"/invoices/{invoice_id}"))
    response = client.post(f"/invoices/{invoice_id}/items", json={"description": "late", "amount": "1.00"})
    assert response.status_code == 409, response.text
    assert "draft" in response.json()["detail"]
    response = client.delete(f"/invoices/{invoice_id}/items/{before['invoice_items'][0]['id']}")
    assert response.status_code == 409, response.text
    assert exact(client.get(f"/invoices/{invoice_id}")) == before


def test_add_item_validation(client: TestClient) -> None:
    customer_id = new_customer(client)
    invoice_id = new_invoice(client, customer_id, [{"description": "a", "amount": "5.00"}])["id"]
    response = client.post(f"/invoices/{invoice_id}/items", json={"description": "x", "amount": "10.005"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "amount"]
    response = client.post(f"/invoices/{invoice_id}/items", json={"description": "credit", "amount": "-5.01"})
    assert response.status_code == 422
    assert "negative" in response.text
    bad: object
    for bad in ({"amount": "1"}, {"description": "x"}, {"description": "x", "amount": "1", "price": 1}, [], "x"):
        assert client.post(f"/invoices/{invoice_id}/items", json=bad).status_code == 422, bad
    assert client.post("/invoices/999/items", json={"description": "x", "amount": "1"}).status_code == 404
    # a credit that keeps the total at or above zero is fine
    response = client.post(f"/invoices/{invoice_id}/items", json={"description": "credit", "amount": "-5.00"})
    assert response.status_code == 201
    assert dec(exact(response)["amount"]) == Decimal("-5.00")
    assert dec(exact(client.get(f"/invoices/{invoice_id}"))["amount"]) == 0
    assert len(exact(client.get(f"/invoices/{invoice_id}"))["invoice_items"]) == 2


def test_removing_a_charge_that_leaves_a_negative_total_is_409(client: TestClient) -> None:
    customer_id = new_customer(client)
    invoice = new_invoice(
        client, customer_id, [{"description": "a", "amount": "5.00"}, {"description": "credit", "amount": "-2.00"}]
    )
    response = client.delete(f"/invoices/{invoice['id']}/items/{invoice['invoice_items'][0]['id']}")
    assert response.status_code == 409
    assert "negative" in response.json()["detail"]
    response = client.delete(f"/invoices/{invoice['id']}/items/{invoice['invoice_items'][1]['id']}")
    assert response.status_code == 200
    assert dec(exact(response)["amount"]) == 5
