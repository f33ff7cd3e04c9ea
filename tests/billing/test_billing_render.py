"""`POST /invoices/generate` writes its JSON directly (fubble/billing/render.py): same bytes as the generic path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from fastapi.testclient import TestClient

from fubble.api.json import dumps
from fubble.billing.render import invoices_json
from fubble.db.models import Invoice, InvoiceItem
from fubble.invoices.schemas import InvoiceOut

from .billing_driver import PRO_COMPONENTS, Billing


def test_generated_body_equals_each_invoice_as_get_returns_it(client: TestClient, billing: Billing) -> None:
    plan = billing.plan(PRO_COMPONENTS)
    for _ in range(3):
        customer = billing.customer()
        billing.subscribe(customer, plan, "2024-01-03T12:30:00")
        billing.event(customer, "api_calls", "1234.5", "2024-01-10T00:00:00")
    for _ in range(2):  # the new invoices, then the same ones returned again
        response = client.post(
            "/invoices/generate", params={"start_date": "2024-01-01T00:00:00Z", "end_date": "2024-02-15T00:00:00Z"}
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        ids = [invoice["id"] for invoice in response.json()]
        assert len(ids) == 3
        singles = [client.get(f"/invoices/{invoice_id}").content for invoice_id in ids]
        assert response.content == b"[" + b",".join(singles) + b"]"


def test_odd_values_are_written_like_the_generic_encoder() -> None:
    moment = datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    invoice = Invoice(
        id=7,
        invoice_number='INV-"x"\\1',
        customer_id=3,
        status="void",
        currency="EUR",
        issue_date=moment,
        due_date=datetime(2024, 3, 2),  # naive: UTC
        amount=Decimal("1E+2"),
        paid_date=None,
        notes="line\nnext \u2028 \u00e9 \U0001f600 \x01 \t tab </script>",
        period_start=None,
        period_end=datetime(2024, 4, 1, tzinfo=UTC),
        created_at=moment,
        updated_at=moment,
        billing_run_id=3,
        grace_until=moment,
        invoice_items=[
            InvoiceItem(
                id=1,
                description="API (2024-01-01 \N{EN DASH} 2024-02-01)",
                metric_name=None,
                quantity=Decimal("0E-8"),
                unit_price=Decimal("-0.000000000001"),
                amount=Decimal("-0"),
                subscription_id=None,
                price_component_id=None,
                period_start=None,
                period_end=None,
            ),
            InvoiceItem(
                id=2,
                description="",
                metric_name="m",
                quantity=Decimal("123456789012345678901234567890.123456789"),
                unit_price=Decimal("1.50"),
                amount=Decimal("12.30"),
                subscription_id=4,
                price_component_id=5,
                period_start=moment,
                period_end=moment,
                kind="credit",
            ),
        ],
    )
    fields = [c for c in InvoiceOut.model_fields if c != "invoice_items"]
    empty = Invoice(**{**{c: getattr(invoice, c) for c in fields}, "id": 8, "credit_carried": Decimal("5.10")})
    assert invoices_json([invoice, empty]) == dumps([InvoiceOut.of(invoice), InvoiceOut.of(empty)])
    assert invoices_json([]) == dumps([])
