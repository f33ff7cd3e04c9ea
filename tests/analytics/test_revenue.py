"""GET /analytics/revenue: invoiced amounts by month, plan and customer, per currency, by status."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fubble.clock import FrozenClock
from tests.billing.billing_driver import Billing, exact


def fee_plan(billing: Billing, name: str, amount: int) -> int:
    body = {
        "name": name,
        "billing_frequency": "monthly",
        "price_components": [
            {"metric_name": "fee", "pricing_type": "subscription", "pricing_details": {"amount": amount}}
        ],
    }
    response = billing.client.post("/plans/", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def put(client: TestClient, path: str, **kwargs: Any) -> None:
    response = client.put(path, **kwargs)
    assert response.status_code == 200, response.text


def manual(client: TestClient, customer: int, issued: str, amount: str) -> int:
    body = {"customer_id": customer, "issue_date": issued, "items": [{"description": "Setup", "amount": amount}]}
    response = client.post("/invoices/", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


@pytest.fixture
def books(client: TestClient, billing: Billing, clock: FrozenClock) -> dict[str, int]:
    """alice (USD, Starter 10/month), bob (USD, Pro 30), carl (EUR, Pro 30), billed for January and February."""
    alice, bob, carl = billing.customer(), billing.customer(), billing.customer("EUR")
    starter, pro = fee_plan(billing, "Starter", 10), fee_plan(billing, "Pro", 30)
    for customer, plan in ((alice, starter), (bob, pro), (carl, pro)):
        billing.subscribe(customer, plan, "2024-01-01T00:00:00")
    january = billing.generate("2024-01-01T00:00:00", "2024-02-01T00:00:00")  # issued now: Jan 15
    for invoice in january:
        put(client, f"/invoices/{invoice['id']}/finalize")
    put(client, f"/invoices/{january[0]['id']}/status", json={"status": "paid"})  # alice's
    clock.set(datetime(2024, 2, 20, tzinfo=UTC))
    a_feb, b_feb, _c_feb_draft = billing.generate("2024-02-01T00:00:00", "2024-03-01T00:00:00")
    put(client, f"/invoices/{a_feb['id']}/finalize")
    put(client, f"/invoices/{b_feb['id']}/finalize")
    setup = manual(client, alice, "2024-02-05T00:00:00", "5.55")
    put(client, f"/invoices/{setup}/finalize")
    voided = manual(client, bob, "2024-02-06T00:00:00", "100")
    put(client, f"/invoices/{voided}/finalize")
    put(client, f"/invoices/{voided}/void")
    failed = manual(client, carl, "2024-03-01T00:00:00", "7")
    put(client, f"/invoices/{failed}/finalize")
    put(client, f"/invoices/{failed}/status", json={"status": "failed"})
    return {"alice": alice, "bob": bob, "carl": carl, "starter": starter, "pro": pro}


def revenue(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get("/analytics/revenue", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = exact(response)
    return body


def rows(body: dict[str, Any], *fields: str) -> list[tuple[Any, ...]]:
    return [tuple(group[f] for f in fields) for group in body["groups"]]


def test_by_month_counts_issued_revenue_per_currency(client: TestClient, books: dict[str, int]) -> None:
    body = revenue(client)
    assert body["group_by"] == "month" and body["statuses"] == ["pending", "paid"]
    assert rows(body, "month", "currency", "amount", "invoice_count") == [
        ("2024-01", "EUR", Decimal("30.00"), 1),
        ("2024-01", "USD", Decimal("40.00"), 2),
        ("2024-02", "USD", Decimal("45.55"), 3),
    ]
    assert body["totals"] == [
        {"currency": "EUR", "amount": Decimal("30.00"), "invoice_count": 1},
        {"currency": "USD", "amount": Decimal("85.55"), "invoice_count": 5},
    ]
    assert body["total_groups"] == 3
    assert all(g["plan_id"] is None and g["customer_id"] is None for g in body["groups"])
    assert '"amount":85.55' in client.get("/analytics/revenue").text


def test_by_customer_is_largest_first_within_each_currency(client: TestClient, books: dict[str, int]) -> None:
    body = revenue(client, group_by="customer")
    assert rows(body, "customer_id", "currency", "amount", "invoice_count") == [
        (books["carl"], "EUR", Decimal("30.00"), 1),
        (books["bob"], "USD", Decimal("60.00"), 2),
        (books["alice"], "USD", Decimal("25.55"), 3),
    ]
    assert [g["customer_name"] for g in body["groups"]] == ["Customer 3", "Customer 2", "Customer 1"]
    page = revenue(client, group_by="customer", currency="usd", limit=1, offset=1)
    assert rows(page, "customer_id", "amount") == [(books["alice"], Decimal("25.55"))]
    assert page["total_groups"] == 2 and page["currency"] == "USD"
    assert page["totals"] == [{"currency": "USD", "amount": Decimal("85.55"), "invoice_count": 5}]


def test_by_plan_uses_the_lines_subscription_and_groups_manual_lines(client: TestClient, books: dict[str, int]) -> None:
    body = revenue(client, group_by="plan")
    assert rows(body, "plan_id", "plan_name", "currency", "amount", "invoice_count") == [
        (books["pro"], "Pro", "EUR", Decimal("30.00"), 1),
        (books["pro"], "Pro", "USD", Decimal("60.00"), 2),
        (books["starter"], "Starter", "USD", Decimal("20.00"), 2),
        (None, "manual", "USD", Decimal("5.55"), 1),
    ]


def test_statuses_and_the_issue_window(client: TestClient, books: dict[str, int]) -> None:
    body = revenue(client, status=["draft", "failed"], group_by="customer")
    assert body["statuses"] == ["draft", "failed"]
    assert rows(body, "customer_id", "currency", "amount", "invoice_count") == [
        (books["carl"], "EUR", Decimal("37.00"), 2)
    ]
    assert revenue(client, status="void")["totals"] == [
        {"currency": "USD", "amount": Decimal("100.00"), "invoice_count": 1}
    ]
    february = revenue(client, start_date="2024-02-01T00:00:00", end_date="2024-03-01T00:00:00")
    assert rows(february, "month", "currency", "amount") == [("2024-02", "USD", Decimal("45.55"))]
    assert revenue(client, start_date="2024-02-05T00:00:00Z", end_date="2024-02-05T00:00:00.000001Z")["totals"] == [
        {"currency": "USD", "amount": Decimal("5.55"), "invoice_count": 1}
    ]
    every = revenue(client, status=["draft", "pending", "paid", "failed", "void"], group_by="month")
    assert sum(t["invoice_count"] for t in every["totals"]) == 9


def test_without_invoices_everything_is_empty(client: TestClient) -> None:
    for group_by in ("month", "plan", "customer"):
        body = revenue(client, group_by=group_by)
        assert body["groups"] == [] and body["totals"] == [] and body["total_groups"] == 0


@pytest.mark.parametrize(
    "params",
    [
        {"group_by": "week"},
        {"status": "bogus"},
        {"start_date": "2024-02-01T00:00:00", "end_date": "2024-02-01T00:00:00"},
        {"start_date": "2024-03-01T00:00:00", "end_date": "2024-02-01T00:00:00"},
        {"start_date": "yesterday"},
        {"currency": "XYZ"},
        {"currency": "US"},
        {"limit": 0},
        {"offset": -1},
    ],
)
def test_bad_queries_are_422(client: TestClient, params: dict[str, Any]) -> None:
    response = client.get("/analytics/revenue", params=params)
    assert response.status_code == 422, response.text
    assert "detail" in response.json()
