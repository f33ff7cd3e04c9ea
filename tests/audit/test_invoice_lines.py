"""Lines created together with their invoice are part of the invoice's audit entry, for generated and manual
invoices alike; lines added or removed later get entries of their own."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from fubble.api.json import loads

from ..billing.billing_driver import PRO_COMPONENTS, Billing

LINE_FIELDS = [
    "id",
    "description",
    "metric_name",
    "quantity",
    "unit_price",
    "amount",
    "subscription_id",
    "price_component_id",
    "period_start",
    "period_end",
]


def _log(client: TestClient, entity_type: str, entity_id: int | None = None) -> list[Any]:
    params: dict[str, Any] = {"entity_type": entity_type, "limit": 1000}
    if entity_id is not None:
        params["entity_id"] = str(entity_id)
    response = client.get("/audit-log", params=params)
    assert response.status_code == 200, response.text
    return [entry for entry in loads(response.content) if entry["request"] is not None]


def _as_logged(items: list[Any]) -> list[dict[str, Any]]:
    return [{field: item[field] for field in LINE_FIELDS} for item in items]


def test_a_generated_invoice_entry_holds_its_lines(client: TestClient) -> None:
    billing = Billing(client)
    plan = billing.plan(PRO_COMPONENTS)
    customer = billing.customer()
    billing.subscribe(customer, plan, "2024-01-01T00:00:00")
    billing.event(customer, "api_calls", 1500, "2024-01-10T00:00:00")
    billing.event(customer, "storage_gb", 150, "2024-01-11T00:00:00")
    [invoice] = billing.generate("2024-01-01T00:00:00", "2024-02-01T00:00:00")
    [entry] = _log(client, "invoice", invoice["id"])
    logged = entry["after"]["invoice_items"]
    # 1,000 x 0.01 + 500 x 0.005 = 12.50; 150 GB x 0.08 = 12.00; the fee 29.99: 54.49 in all.
    assert [line["amount"] for line in logged] == [Decimal("12.50"), Decimal("12.00"), Decimal("29.99")]
    assert entry["after"]["amount"] == Decimal("54.49")
    assert [{f: line[f] for f in LINE_FIELDS} for line in logged] == _as_logged(invoice["invoice_items"])
    assert {line["invoice_id"] for line in logged} == {invoice["id"]}
    assert logged[0]["quantity"] == 1500 and logged[0]["period_start"] == "2024-01-01T00:00:00Z"
    assert _log(client, "invoice_item") == []  # no entries of their own


def test_a_manual_invoice_entry_holds_its_lines_and_final_total(client: TestClient) -> None:
    customer = Billing(client).customer()
    items = [
        {"description": "Setup", "amount": "100.00"},
        {"description": "Storage", "amount": "24.00", "quantity": 300, "unit_price": "0.08"},
        {"description": "Goodwill", "amount": "-4.50"},
    ]
    response = client.post("/invoices/", json={"customer_id": customer, "items": items})
    assert response.status_code == 201, response.text
    invoice = loads(response.content)
    [entry] = _log(client, "invoice", invoice["id"])  # one entry: no update for each line added
    assert entry["action"] == "create" and entry["after"]["amount"] == Decimal("119.50")
    logged = entry["after"]["invoice_items"]
    assert [line["amount"] for line in logged] == [Decimal("100.00"), Decimal("24.00"), Decimal("-4.50")]
    assert _as_logged(logged) == _as_logged(invoice["invoice_items"])
    assert _log(client, "invoice_item") == []

    # A line added later is an entry of its own (and the invoice's total changes in an update entry).
    response = client.post(f"/invoices/{invoice['id']}/items", json={"description": "Extra", "amount": "0.50"})
    assert response.status_code == 201, response.text
    [added] = _log(client, "invoice_item")
    assert added["action"] == "create" and added["after"]["amount"] == Decimal("0.50")
    updates = [e for e in _log(client, "invoice", invoice["id"]) if e["action"] == "update"]
    assert [(e["before"]["amount"], e["after"]["amount"]) for e in updates] == [(Decimal("119.50"), Decimal("120.00"))]
