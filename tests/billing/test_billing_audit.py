"""Generated invoices are written with bulk statements; each still gets one ``create`` entry in the audit log."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient

from .billing_driver import PRO_COMPONENTS, Billing, exact


def test_each_generated_invoice_is_logged_once_with_its_final_state(client: TestClient, billing: Billing) -> None:
    plan = billing.plan(PRO_COMPONENTS)
    customers = [billing.customer() for _ in range(2)]
    for customer in customers:
        billing.subscribe(customer, plan, "2024-01-01T00:00:00")
        billing.event(customer, "api_calls", 1500, "2024-01-10T00:00:00")
    invoices = billing.generate("2024-01-01T00:00:00", "2024-02-01T00:00:00")
    billing.generate("2024-01-01T00:00:00", "2024-02-01T00:00:00")  # nothing new: nothing logged
    for invoice in invoices:
        response = client.get("/audit-log", params={"entity_type": "invoice", "entity_id": str(invoice["id"])})
        assert response.status_code == 200, response.text
        [entry] = exact(response)
        assert entry["action"] == "create" and entry["before"] is None
        assert entry["request"] is not None and entry["request"].startswith("POST /invoices/generate")
        after = entry["after"]
        assert after["invoice_number"] == invoice["invoice_number"] and after["status"] == "draft"
        assert after["amount"] == invoice["amount"] == Decimal("42.49")  # 10 + 2.50 + 29.99
        assert after["issue_date"] == invoice["issue_date"] and after["period_end"] == "2024-02-01T00:00:00Z"
    numbers = {invoice["invoice_number"] for invoice in invoices}
    assert len(numbers) == 2 and all(n.endswith("-000001") for n in numbers)
