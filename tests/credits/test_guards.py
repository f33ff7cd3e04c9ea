"""What credit and credit notes protect: a customer with credit keeps its currency; an invoice a credit note corrects
cannot be voided."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.credits.helpers import grant, new_customer


def test_a_customer_with_credit_keeps_its_currency(client: TestClient) -> None:
    customer_id = new_customer(client)
    grant(client, customer_id)
    response = client.put(f"/customers/{customer_id}", json={"currency": "EUR"})
    assert response.status_code == 409, response.text
    assert "credit grants" in response.json()["detail"]
    assert client.get(f"/customers/{customer_id}").json()["currency"] == "USD"


def test_an_invoice_with_a_credit_note_cannot_be_voided(client: TestClient) -> None:
    customer_id = new_customer(client)
    items = [{"description": "A", "amount": 40}]
    created = client.post("/invoices/", json={"customer_id": customer_id, "items": items})
    assert created.status_code == 201, created.text
    invoice_id = created.json()["id"]
    assert client.put(f"/invoices/{invoice_id}/finalize").status_code == 200
    body = {"amount": 10, "reason": "goodwill", "method": "credit"}
    note = client.post(f"/invoices/{invoice_id}/credit-notes", json=body)
    assert note.status_code == 201, note.text
    response = client.put(f"/invoices/{invoice_id}/void")
    assert response.status_code == 409, response.text
    assert note.json()["number"] in response.json()["detail"]
    assert client.get(f"/invoices/{invoice_id}").json()["status"] == "pending"
