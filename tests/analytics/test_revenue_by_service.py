"""GET /analytics/revenue?period=service: each line's amount counts at the time it bills, not at the issue date."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fubble.clock import FrozenClock
from tests.billing.billing_driver import Billing, exact

FEE = [{"metric_name": "fee", "pricing_type": "subscription", "pricing_details": {"amount": 31}}]


def _ok(response: Any) -> Any:
    assert response.status_code in (200, 201), response.text
    return exact(response)


@pytest.fixture
def late_invoices(client: TestClient, billing: Billing, clock: FrozenClock) -> dict[str, int]:
    """ann (from Jan 1) and cat (from Jan 20, anniversary periods) on a 31.00/month fee, January and February billed
    late, on March 5; bob has a manual invoice of 5.55 issued Feb 10; a draft of dan's does not count."""
    ann, bob, cat, dan = (billing.customer() for _ in range(4))
    plan = billing.plan(FEE)
    billing.subscribe(ann, plan, "2024-01-01T00:00:00")
    billing.subscribe(cat, plan, "2024-01-20T00:00:00")
    billing.subscribe(dan, plan, "2024-01-01T00:00:00")
    clock.set(datetime(2024, 3, 5, tzinfo=UTC))
    invoices = billing.generate("2024-01-01T00:00:00", "2024-03-01T00:00:00")
    by_customer = {invoice["customer_id"]: invoice for invoice in invoices}
    # ann: Jan 31.00 + Feb 31.00. cat: Jan 20 - Feb 20 in full 31.00, Feb 20 - Mar 1 is 10 of 29 days: 10.69.
    assert [i["amount"] for i in by_customer[ann]["invoice_items"]] == [Decimal("31.00"), Decimal("31.00")]
    assert [i["amount"] for i in by_customer[cat]["invoice_items"]] == [Decimal("31.00"), Decimal("10.69")]
    for customer in (ann, cat):
        _ok(client.put(f"/invoices/{by_customer[customer]['id']}/finalize"))
    body = {"customer_id": bob, "issue_date": "2024-02-10T00:00:00", "items": [{"description": "x", "amount": "5.55"}]}
    manual = _ok(client.post("/invoices/", json=body))
    _ok(client.put(f"/invoices/{manual['id']}/finalize"))
    return {"ann": ann, "bob": bob, "cat": cat, "plan": plan}


def revenue(client: TestClient, **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = _ok(client.get("/analytics/revenue", params=params))
    return body


def rows(body: dict[str, Any], *fields: str) -> list[tuple[Any, ...]]:
    return [tuple(group[f] for f in fields) for group in body["groups"]]


def test_months_of_service_against_months_of_issue(client: TestClient, late_invoices: dict[str, int]) -> None:
    by_issue = revenue(client, group_by="month")
    assert by_issue["period"] == "issue"
    assert rows(by_issue, "month", "amount", "invoice_count") == [
        ("2024-02", Decimal("5.55"), 1),
        ("2024-03", Decimal("103.69"), 2),  # 62.00 + 41.69, issued March 5
    ]
    by_service = revenue(client, group_by="month", period="service")
    assert by_service["period"] == "service"
    assert rows(by_service, "month", "currency", "amount", "invoice_count") == [
        ("2024-01", "USD", Decimal("62.00"), 2),  # ann's January and cat's Jan 20 - Feb 20
        ("2024-02", "USD", Decimal("47.24"), 3),  # ann's February 31.00, cat's 10.69, bob's manual 5.55 (its issue)
    ]
    # Either way the totals are the same invoices' amounts.
    expected = [{"currency": "USD", "amount": Decimal("109.24"), "invoice_count": 3}]
    assert by_service["totals"] == by_issue["totals"] == expected


def test_the_window_bounds_the_service_time(client: TestClient, late_invoices: dict[str, int]) -> None:
    february = {"start_date": "2024-02-01T00:00:00Z", "end_date": "2024-03-01T00:00:00Z", "period": "service"}
    body = revenue(client, group_by="customer", **february)
    assert body["totals"] == [{"currency": "USD", "amount": Decimal("47.24"), "invoice_count": 3}]
    assert rows(body, "customer_id", "amount", "invoice_count") == [
        (late_invoices["ann"], Decimal("31.00"), 1),
        (late_invoices["cat"], Decimal("10.69"), 1),
        (late_invoices["bob"], Decimal("5.55"), 1),
    ]
    body = revenue(client, group_by="plan", **february)
    assert rows(body, "plan_id", "plan_name", "amount", "invoice_count") == [
        (late_invoices["plan"], "Plan", Decimal("41.69"), 2),
        (None, "manual", Decimal("5.55"), 1),
    ]
    # By issue date nothing was issued in January, and only bob's manual invoice in February.
    january_issued = revenue(client, start_date="2024-01-01T00:00:00Z", end_date="2024-02-01T00:00:00Z")
    assert january_issued["totals"] == [] and january_issued["groups"] == []
    january_served = revenue(
        client, start_date="2024-01-01T00:00:00Z", end_date="2024-02-01T00:00:00Z", period="service"
    )
    assert january_served["totals"] == [{"currency": "USD", "amount": Decimal("62.00"), "invoice_count": 2}]


def test_an_unknown_period_is_a_422(client: TestClient) -> None:
    response = client.get("/analytics/revenue", params={"period": "fiscal"})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["query", "period"]
