from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from fubble.clock import FrozenClock

from .helpers import GUIDE_INVOICE, dec, exact, new_customer, new_invoice

NUMBER = re.compile(r"^INV-(\d{8})-(\d+)-(\d{6})$")


def test_create_invoice_with_the_guide_example(client: TestClient, clock: FrozenClock) -> None:
    customer_id = new_customer(client)
    response = client.post("/invoices/", json={"customer_id": customer_id, **GUIDE_INVOICE})
    assert response.status_code == 201, response.text
    body = exact(response)
    assert body["status"] == "draft"
    assert body["customer_id"] == customer_id
    assert body["currency"] == "USD"
    assert body["issue_date"] == "2023-10-01T00:00:00Z"
    assert body["due_date"] == "2023-10-15T00:00:00Z"
    assert body["notes"] == "Invoice for September 2023 services"
    assert body["paid_date"] is None
    assert body["period_start"] is None and body["period_end"] is None
    assert body["created_at"] == body["updated_at"] == "2024-01-15T12:00:00Z"
    assert dec(body["amount"]) == Decimal("10.00")
    assert '"amount":10.00' in response.text  # exact digits in the currency's minor unit, a JSON number
    [item] = body["invoice_items"]
    assert item["description"] == "API Calls - Tier 1"
    assert item["metric_name"] == "api_calls"
    assert dec(item["quantity"]) == 1000
    assert dec(item["unit_price"]) == Decimal("0.01")
    assert dec(item["amount"]) == Decimal("10.00")
    assert item["subscription_id"] is None and item["price_component_id"] is None
    assert item["period_start"] is None and item["period_end"] is None
    assert set(body) == {
        "id", "invoice_number", "customer_id", "status", "currency", "issue_date", "due_date", "amount", "paid_date",
        "notes", "period_start", "period_end", "created_at", "updated_at", "billing_run_id", "credit_carried",
        "grace_until", "subtotal", "discount_amount", "tax_amount", "total", "credits_applied", "amount_due",
        "discounts", "taxes", "invoice_items",
    }  # fmt: skip
    figures = ("subtotal", "discount_amount", "tax_amount", "total", "credits_applied", "amount_due")
    assert [dec(body[k]) for k in figures] == [Decimal(v) for v in ("10.00", "0.00", "0.00", "10.00", "0.00", "10.00")]
    assert body["billing_run_id"] is None and body["grace_until"] is None and body["credit_carried"] == Decimal("0.00")
    assert exact(client.get(f"/invoices/{body['id']}")) == body


def test_unit_price_defaults(client: TestClient) -> None:
    customer_id = new_customer(client)
    body = new_invoice(
        client,
        customer_id,
        [
            {"description": "per unit", "amount": "10.00", "quantity": 1000},
            {"description": "no quantity", "amount": "24.50"},
            {"description": "thirds", "amount": "10", "quantity": 3},
            {"description": "zero quantity", "amount": "7.25", "quantity": 0},
            {"description": "credit", "amount": "-4.00", "quantity": 8},
        ],
    )
    items = body["invoice_items"]
    assert [dec(i["unit_price"]) for i in items] == [
        Decimal("0.01"),
        Decimal("24.50"),
        Decimal("3.333333333333"),  # exact quotient rounded half-up to 12 places
        Decimal("7.25"),
        Decimal("-0.5"),
    ]
    assert [dec(i["quantity"]) for i in items] == [1000, 1, 3, 0, 8]
    assert '"unit_price":3.333333333333,' in client.get(f"/invoices/{body['id']}").text
    assert dec(body["amount"]) == Decimal("47.75")


def test_dates_default_to_now_and_payment_term(client: TestClient, clock: FrozenClock) -> None:
    customer_id = new_customer(client)
    body = new_invoice(client, customer_id)
    assert body["issue_date"] == "2024-01-15T12:00:00Z"
    assert body["due_date"] == "2024-02-14T12:00:00Z"  # + 30 days
    assert dec(body["amount"]) == 0 and body["invoice_items"] == []
    body = new_invoice(client, customer_id, issue_date="2023-10-01T00:00:00+02:00")
    assert body["issue_date"] == "2023-09-30T22:00:00Z"
    assert body["due_date"] == "2023-10-30T22:00:00Z"
    clock.advance(timedelta(days=1))
    assert new_invoice(client, customer_id, due_date="2024-01-16T12:00:00Z")["due_date"] == "2024-01-16T12:00:00Z"


def test_invoice_numbers_are_unique_and_increasing_per_customer(client: TestClient) -> None:
    first = new_customer(client)
    second = new_customer(client, email="other@example.com")
    numbers = [new_invoice(client, first, issue_date="2023-10-01T00:00:00Z")["invoice_number"] for _ in range(3)]
    other = new_invoice(client, second, issue_date="2023-10-02T23:59:59Z")["invoice_number"]
    later = new_invoice(client, first)["invoice_number"]
    assert numbers == [f"INV-20231001-{first}-00000{n}" for n in (1, 2, 3)]
    assert other == f"INV-20231002-{second}-000001"
    assert later == f"INV-20240115-{first}-000004"
    for number in [*numbers, other, later]:
        assert NUMBER.match(number)
    sequences = [int(NUMBER.match(n).group(3)) for n in [*numbers, later]]  # type: ignore[union-attr]
    assert sequences == sorted(set(sequences))


def test_usd_amount_with_three_decimals_is_422(client: TestClient) -> None:
    customer_id = new_customer(client)
    response = client.post(
        "/invoices/", json={"customer_id": customer_id, "items": [{"description": "x", "amount": "10.005"}]}
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "items", 0, "amount"]
    assert "USD" in response.json()["detail"][0]["msg"]
    # trailing zeros are not extra precision
    assert dec(new_invoice(client, customer_id, [{"description": "x", "amount": "10.000"}])["amount"]) == 10
    assert client.get("/invoices").json()[0]["invoice_number"].endswith("-000001")  # the 422 consumed no number


def test_jpy_invoice_amounts_have_no_decimals(client: TestClient) -> None:
    customer_id = new_customer(client, currency="JPY")
    response = client.post(
        "/invoices/",
        json={"customer_id": customer_id, "items": [{"description": "API", "amount": 1500, "quantity": 1000}]},
    )
    assert response.status_code == 201, response.text
    assert '"amount":1500,' in response.text
    body = exact(response)
    assert body["currency"] == "JPY"
    assert dec(body["invoice_items"][0]["unit_price"]) == Decimal("1.5")
    assert dec(new_invoice(client, customer_id, [{"description": "x", "amount": "12.0"}])["amount"]) == 12
    for bad in ("1500.5", "0.01"):
        response = client.post(
            "/invoices/", json={"customer_id": customer_id, "items": [{"description": "x", "amount": bad}]}
        )
        assert response.status_code == 422, response.text


def test_negative_items_allowed_but_not_a_negative_total(client: TestClient) -> None:
    customer_id = new_customer(client)
    items = [{"description": "Service", "amount": "100.00"}, {"description": "Credit", "amount": "-100.00"}]
    assert dec(new_invoice(client, customer_id, items)["amount"]) == 0
    response = client.post(
        "/invoices/", json={"customer_id": customer_id, "items": [{"description": "Credit", "amount": "-0.01"}]}
    )
    assert response.status_code == 422
    assert "negative" in response.text


def test_unknown_customer_is_404(client: TestClient) -> None:
    response = client.post("/invoices/", json={"customer_id": 4242, "items": []})
    assert response.status_code == 404
    assert "customer 4242" in response.json()["detail"]


def test_invalid_input_is_422_and_writes_nothing(client: TestClient) -> None:
    customer_id = new_customer(client)
    item = {"description": "x", "amount": "1.00"}
    bad: dict[str, Any]
    for bad in (
        {"customer_id": customer_id, "due_date": "2023-09-30T00:00:00Z", "issue_date": "2023-10-01T00:00:00Z"},
        {"customer_id": customer_id, "items": [{**item, "amount": "abc"}]},
        {"customer_id": customer_id, "items": [{**item, "amount": True}]},
        {"customer_id": customer_id, "items": [{**item, "quantity": -1}]},
        {"customer_id": customer_id, "items": [{**item, "description": "  "}]},
        {"customer_id": customer_id, "items": [{"amount": "1.00"}]},
        {"customer_id": customer_id, "items": [{**item, "extra": 1}]},
        {"customer_id": customer_id, "status": "paid"},
        {"customer_id": 0},
        {"customer_id": "abc"},
        {"customer_id": customer_id, "issue_date": "not a date"},
        {"customer_id": customer_id, "notes": "nul\x00"},
        {"items": []},
    ):
        response = client.post("/invoices/", json=bad)
        assert response.status_code == 422, (bad, response.text)
        assert "detail" in response.json()
    assert client.get("/invoices/").json() == []
    assert new_invoice(client, customer_id)["invoice_number"].endswith("-000001")


def test_invoice_takes_the_customer_currency(client: TestClient) -> None:
    customer_id = new_customer(client, currency="KWD")
    body = new_invoice(client, customer_id, [{"description": "x", "amount": "1.234"}])
    assert body["currency"] == "KWD"
    assert dec(body["amount"]) == Decimal("1.234")
    assert datetime.fromisoformat(body["due_date"]) - datetime.fromisoformat(body["issue_date"]) == timedelta(days=30)
    assert datetime.fromisoformat(body["issue_date"]) == datetime(2024, 1, 15, 12, tzinfo=UTC)


def test_unknown_invoice_is_404(client: TestClient) -> None:
    assert client.get("/invoices/999").status_code == 404
    assert client.get("/invoices/0").status_code == 422
    assert client.get("/invoices/abc").status_code == 422
