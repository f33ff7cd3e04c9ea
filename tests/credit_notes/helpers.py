"""Shared helpers of the credit note tests: invoices in a status, notes."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.credits.helpers import exact, new_customer

__all__ = ["exact", "invoice", "new_customer", "note", "post_note"]

_PATH = {"draft": [], "pending": ["pending"], "paid": ["pending", "paid"], "failed": ["pending", "failed"]}


def invoice(client: TestClient, customer_id: int, amounts: list[Any], status: str = "paid") -> Any:
    """A manual invoice with one item per amount, brought to ``status`` (finalized with PUT .../finalize, then the
    status route); the exact body."""
    items = [{"description": f"Line {n}", "amount": amount} for n, amount in enumerate(amounts, 1)]
    response = client.post("/invoices/", json={"customer_id": customer_id, "items": items})
    assert response.status_code == 201, response.text
    invoice_id = response.json()["id"]
    if status == "void":
        assert client.put(f"/invoices/{invoice_id}/void").status_code == 200
    for step in _PATH.get(status, []):
        if step == "pending":
            response = client.put(f"/invoices/{invoice_id}/finalize")
        else:
            response = client.put(f"/invoices/{invoice_id}/status", params={"status": step})
        assert response.status_code == 200, response.text
    return exact(client.get(f"/invoices/{invoice_id}"))


def post_note(client: TestClient, invoice_id: int, **body: Any) -> Any:
    return client.post(f"/invoices/{invoice_id}/credit-notes", json={"reason": "Outage", "method": "refund", **body})


def note(client: TestClient, invoice_id: int, **body: Any) -> Any:
    """POST a note (expects 201) and return the exact body."""
    response = post_note(client, invoice_id, **body)
    assert response.status_code == 201, response.text
    return exact(response)
