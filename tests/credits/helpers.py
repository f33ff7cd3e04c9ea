"""Shared helpers of the credit tests: customers, grants, exact bodies."""

from __future__ import annotations

from decimal import Decimal
from itertools import count
from typing import Any

from fastapi.testclient import TestClient

from fubble.api.json import loads

_EMAILS = count(1)


def exact(response: Any) -> Any:
    """The body with every non-integer number as an exact Decimal."""
    return loads(response.text)


def new_customer(client: TestClient, currency: str = "USD", **extra: Any) -> int:
    email = f"credits{next(_EMAILS)}@acme.example"
    response = client.post("/customers/", json={"name": "Acme", "email": email, "currency": currency, **extra})
    assert response.status_code == 201, response.text
    customer_id: int = response.json()["id"]
    return customer_id


def grant(client: TestClient, customer_id: int, amount: Any = "50.00", **extra: Any) -> Any:
    """POST a grant (expects 201) and return the exact body."""
    body = {"amount": amount, "description": "Prepaid credits", **extra}
    response = client.post(f"/customers/{customer_id}/credit-grants", json=body)
    assert response.status_code == 201, response.text
    return exact(response)


def balance(client: TestClient, customer_id: int) -> Any:
    response = client.get(f"/customers/{customer_id}/credit-balance")
    assert response.status_code == 200, response.text
    return exact(response)


def ledger(client: TestClient, customer_id: int, **params: Any) -> list[dict[str, Any]]:
    response = client.get(f"/customers/{customer_id}/credit-ledger", params=params)
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = exact(response)
    return entries


def brief(entries: list[dict[str, Any]]) -> list[tuple[str, str, int, int | None, str]]:
    """Ledger entries as (type, amount text, grant id, invoice id, at), amounts written as the wire has them."""
    return [(e["type"], str(e["amount"]), e["grant_id"], e["invoice_id"], e["at"]) for e in entries]


def dec(value: Any) -> Decimal:
    assert isinstance(value, Decimal | int) and not isinstance(value, bool), value
    return Decimal(value)
