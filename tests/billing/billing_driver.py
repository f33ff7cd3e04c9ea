"""A small driver for billing scenarios, going through the public HTTP routes only (fixture in conftest.py)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

PRO_COMPONENTS: list[dict[str, Any]] = [
    {
        "metric_name": "api_calls",
        "display_name": "API Calls",
        "pricing_type": "tiered",
        "pricing_details": {
            "tiers": [
                {"start": 0, "end": 1000, "price": "0.01"},
                {"start": 1000, "end": 10000, "price": "0.005"},
                {"start": 10000, "end": None, "price": "0.002"},
            ]
        },
    },
    {
        "metric_name": "storage_gb",
        "display_name": "Storage",
        "pricing_type": "volume",
        "pricing_details": {
            "tiers": [
                {"start": 0, "end": 100, "price": "0.10"},
                {"start": 100, "end": 1000, "price": "0.08"},
                {"start": 1000, "end": None, "price": "0.05"},
            ]
        },
    },
    {
        "metric_name": "subscription_fee",
        "display_name": "Base Subscription",
        "pricing_type": "subscription",
        "pricing_details": {"amount": "29.99"},
    },
]


def exact(response: Any) -> Any:
    """The response body with every non-integer number as an exact Decimal."""
    return json.loads(response.text, parse_float=Decimal)


class Billing:
    def __init__(self, client: TestClient) -> None:
        self.client = client
        self._emails = 0

    def customer(self, currency: str = "USD") -> int:
        self._emails += 1
        body = {"name": f"Customer {self._emails}", "email": f"c{self._emails}@example.com", "currency": currency}
        response = self.client.post("/customers/", json=body)
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    def plan(self, components: list[dict[str, Any]], frequency: str = "monthly") -> int:
        body = {"name": "Plan", "billing_frequency": frequency, "price_components": components}
        response = self.client.post("/plans/", json=body)
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    def pro_plan(self) -> int:
        return self.plan(PRO_COMPONENTS)

    def subscribe(self, customer_id: int, plan_id: int, start: str, end: str | None = None) -> int:
        body = {"plan_id": plan_id, "start_date": start, "end_date": end}
        response = self.client.post(f"/customers/{customer_id}/subscriptions", json=body)
        assert response.status_code in (200, 201), response.text
        return int(response.json()["id"])

    def event(self, customer_id: int, metric: str, quantity: str | int, at: str) -> None:
        body = {"customer_id": customer_id, "metric_name": metric, "quantity": quantity, "event_time": at}
        response = self.client.post("/events/", json=body)
        assert response.status_code in (200, 201), response.text

    def generate(self, start: str, end: str, customer_id: int | None = None, *, style: str = "json") -> list[Any]:
        params: dict[str, Any] = {"start_date": start, "end_date": end}
        if customer_id is not None:
            params["customer_id"] = customer_id
        if style == "json":
            response = self.client.post("/invoices/generate", json=params)
        else:
            response = self.client.post("/invoices/generate", params=params)
        assert response.status_code == 200, response.text
        result: list[Any] = exact(response)
        return result

    def invoice_count(self) -> int:
        response = self.client.get("/invoices/", params={"limit": 1000})
        assert response.status_code == 200, response.text
        return len(response.json())

    def void(self, invoice_id: int) -> None:
        response = self.client.put(f"/invoices/{invoice_id}/void")
        assert response.status_code == 200, response.text


def lines(invoice: dict[str, Any], metric: str) -> list[dict[str, Any]]:
    return [item for item in invoice["invoice_items"] if item["metric_name"] == metric]


def amounts(invoice: dict[str, Any], metric: str) -> list[Decimal]:
    return [Decimal(str(item["amount"])) for item in lines(invoice, metric)]
