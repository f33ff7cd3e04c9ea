"""Set-up shared by the test clock tests: clocks, plans, customers and subscriptions made over HTTP."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient


def body(response: Any, status: int = 200) -> Any:
    """The response's JSON with exact decimals, after checking its status."""
    assert response.status_code == status, response.text
    return json.loads(response.text, parse_float=Decimal)


def make_clock(client: TestClient, frozen_time: str = "2024-01-01T00:00:00Z", **fields: Any) -> int:
    return int(body(client.post("/test-clocks", json={"frozen_time": frozen_time, **fields}), 201)["id"])


def monthly_plan(client: TestClient) -> int:
    """$30 a month, plus $2 per started package of 100 API calls."""
    plan = {
        "name": "Basic",
        "billing_frequency": "monthly",
        "price_components": [
            {"metric_name": "fee", "pricing_type": "subscription", "pricing_details": {"amount": 30}},
            {
                "metric_name": "api_calls",
                "pricing_type": "package",
                "pricing_details": {"package_size": 100, "package_price": 2},
            },
        ],
    }
    return int(body(client.post("/plans/", json=plan), 201)["id"])


def customer(client: TestClient, email: str, **fields: Any) -> int:
    return int(body(client.post("/customers/", json={"name": "Globex", "email": email, **fields}), 201)["id"])


def subscribe(client: TestClient, customer_id: int, **fields: Any) -> dict[str, Any]:
    result: dict[str, Any] = body(client.post(f"/customers/{customer_id}/subscriptions", json=fields))
    return result


def advance(client: TestClient, clock_id: int, to: str) -> dict[str, Any]:
    result: dict[str, Any] = body(client.post(f"/test-clocks/{clock_id}/advance", json={"to": to}))
    return result


def invoices_of(client: TestClient, customer_id: int) -> list[dict[str, Any]]:
    """The customer's invoices, by id."""
    found: list[dict[str, Any]] = body(client.get(f"/invoices/customer/{customer_id}"))
    return sorted(found, key=lambda invoice: invoice["id"])


def summary(invoices: list[dict[str, Any]]) -> list[tuple[str, str, Decimal, str, str]]:
    """Each invoice as (period_start, period_end, amount, status, issue_date)."""
    return [(i["period_start"], i["period_end"], i["amount"], i["status"], i["issue_date"]) for i in invoices]
