"""Invoices the documents' tests read: a de_DE customer in EUR with a 10% coupon, 20% VAT and prepaid credit."""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi.testclient import TestClient

from fubble.api.app import create_app
from fubble.config import Settings
from tests.invoices.helpers import exact

GERMAN = {
    "name": "Müller & Söhne",
    "email": "rechnung@mueller.example",
    "company_name": "Müller & Söhne KG",
    "billing_address": "Königsallee 5\n40212 Düsseldorf",
    "currency": "EUR",
    "locale": "de_DE",
    "timezone": "Europe/Berlin",
}
LINES = [
    {"description": "API calls", "amount": "80.00", "quantity": 1000, "metric_name": "api_calls", "unit_price": 0.08},
    {"description": "Support", "amount": "20.00"},
]


def created(response: Any) -> Any:
    """The 201 answer's body, its numbers exact (Decimal)."""
    assert response.status_code == 201, response.text
    return exact(response)


def german_invoice(client: TestClient, *, finalize: bool = True, credit: str | None = "8.00") -> dict[str, Any]:
    """Subtotal 100.00 EUR, 10% coupon -10.00, VAT 20% on 90.00 = 18.00, total 108.00; finalized with 8.00 of
    prepaid credit: amount due 100.00. Issued 2024-01-15 (the test clock), due 2024-02-14."""
    vat = created(client.post("/tax-rates/", json={"name": "VAT", "rate": 20}))
    customer = created(client.post("/customers/", json={**GERMAN, "tax_rate_ids": [vat["id"]]}))
    coupon = {"code": "WELCOME10", "type": "percentage", "percent_off": 10, "duration": "forever"}
    created(client.post("/coupons/", json=coupon))
    created(client.post(f"/customers/{customer['id']}/coupons", json={"code": "WELCOME10"}))
    if credit is not None:
        created(
            client.post(f"/customers/{customer['id']}/credit-grants", json={"amount": credit, "description": "Prepaid"})
        )
    invoice = created(client.post("/invoices/", json={"customer_id": customer["id"], "items": LINES}))
    if finalize:
        response = client.put(f"/invoices/{invoice['id']}/finalize")
        assert response.status_code == 200, response.text
        invoice = exact(response)
    result: dict[str, Any] = invoice
    return result


@cache
def openapi() -> dict[str, Any]:
    """The OpenAPI document (built once: it does not depend on the database, which is never opened)."""
    schema: dict[str, Any] = create_app(Settings(database_url="sqlite:///never-opened.db")).openapi()
    return schema
