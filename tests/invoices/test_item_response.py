"""``POST /invoices/{id}/items`` answers with the created item, as the original product did: its clients take the new
item's ``id`` from that answer to delete the item later."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient

from .helpers import GUIDE_ITEM, exact, new_customer, new_invoice

ITEM_FIELDS = {"id", "description", "metric_name", "quantity", "unit_price", "amount"}


def test_a_client_deletes_the_item_it_added_by_the_id_it_was_given(client: TestClient) -> None:
    customer_id = new_customer(client)
    invoice = new_invoice(client, customer_id, [{"description": "Base", "amount": "10.00"}])
    base_item = invoice["invoice_items"][0]["id"]

    response = client.post(f"/invoices/{invoice['id']}/items", json=GUIDE_ITEM)
    assert response.status_code == 201, response.text
    added = exact(response)
    assert set(added) >= ITEM_FIELDS, added
    assert "invoice_items" not in added and "invoice_number" not in added
    assert added["id"] != base_item
    expected = ("Storage - Tier 2", "storage_gb", Decimal(300), Decimal("0.08"), Decimal("24.00"))
    assert (added["description"], added["metric_name"], added["quantity"], added["unit_price"], added["amount"]) == (
        expected
    )
    assert exact(client.get(f"/invoices/{invoice['id']}"))["amount"] == Decimal("34.00")

    # what the original product's clients do next: delete the item by the id the answer gave
    response = client.delete(f"/invoices/{invoice['id']}/items/{added['id']}")
    assert response.status_code == 200, response.text
    after = exact(client.get(f"/invoices/{invoice['id']}"))
    assert [item["id"] for item in after["invoice_items"]] == [base_item]
    assert after["amount"] == Decimal("10.00")


def test_the_openapi_document_says_the_answer_is_the_item(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/invoices/{invoice_id}/items"]["post"]
    schema = operation["responses"]["201"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/InvoiceItemOut"}
    assert "GET /invoices/{invoice_id}" in operation["description"]
