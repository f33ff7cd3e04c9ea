"""Shared helpers for the invoice tests: exact JSON, customers, invoices."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from fubble.api.json import loads

GUIDE_INVOICE = {
    "issue_date": "2023-10-01T00:00:00",
    "due_date": "2023-10-15T00:00:00",
    "notes": "Invoice for September 2023 services",
    "items": [
        {
            "description": "API Calls - Tier 1",
            "amount": 10.0,
            "quantity": 1000,
            "metric_name": "api_calls",
            "unit_price": 0.01,
        }
    ],
}
GUIDE_ITEM = {
    "description": "Storage - Tier 2",
    "amount": 24.0,
    "quantity": 300,
    "metric_name": "storage_gb",
    "unit_price": 0.08,
}


def exact(response: Any) -> Any:
    """The body with every non-integer number as an exact Decimal (what a careful client sees)."""
    return loads(response.text)


def new_customer(client: TestClient, email: str = "billing@acmecorp.com", currency: str = "USD") -> int:
    response = client.post("/customers/", json={"name": "Acme Corp", "email": email, "currency": currency})
    assert response.status_code == 201, response.text
    customer_id: int = response.json()["id"]
    return customer_id


def new_invoice(client: TestClient, customer_id: int, items: list[dict[str, Any]] | None = None, **extra: Any) -> Any:
    """POST /invoices/ (expects 201) and return the exact body."""
    response = client.post("/invoices/", json={"customer_id": customer_id, "items": items or [], **extra})
    assert response.status_code == 201, response.text
    return exact(response)


def dec(value: Any) -> Decimal:
    """An exact JSON number (int or Decimal from :func:`exact`) as a Decimal."""
    assert isinstance(value, Decimal | int) and not isinstance(value, bool), value
    return Decimal(value)


def put_status(client: TestClient, invoice_id: int, status: str) -> Any:
    return client.put(f"/invoices/{invoice_id}/status", params={"status": status})


def invoice_in_status(client: TestClient, customer_id: int, status: str) -> int:
    """A fresh invoice brought to ``status`` along the legal path."""
    invoice_id: int = new_invoice(client, customer_id, [{"description": "Setup", "amount": "5.00"}])["id"]
    path = {
        "draft": [],
        "pending": ["pending"],
        "paid": ["pending", "paid"],
        "failed": ["pending", "failed"],
        "void": ["void"],
    }[status]
    for step in path:
        response = put_status(client, invoice_id, step)
        assert response.status_code == 200, response.text
    return invoice_id
