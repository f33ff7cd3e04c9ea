"""HTTP helpers shared by the late-usage tests (public routes only)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from fubble.clock import FrozenClock

TIERED = {
    "metric_name": "api_calls",
    "pricing_type": "tiered",
    "pricing_details": {
        "tiers": [
            {"start": 0, "end": 1000, "price": "0.01"},
            {"start": 1000, "end": None, "price": "0.005"},
        ]
    },
}
VOLUME = {
    "metric_name": "storage",
    "pricing_type": "volume",
    "pricing_details": {
        "tiers": [
            {"start": 0, "end": 1000, "price": "0.10"},
            {"start": 1000, "end": None, "price": "0.05"},
        ]
    },
}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def setup(
    client: TestClient,
    component: dict[str, Any],
    *,
    start: str = "2024-01-01T00:00:00Z",
    end: str | None = None,
    **customer: Any,
) -> int:
    """A monthly plan with the component, a customer (extra fields: timezone, grace hours) subscribed from
    ``start``; returns the customer id."""
    plan = client.post("/plans/", json={"name": "p", "billing_frequency": "monthly", "price_components": [component]})
    assert plan.status_code in (200, 201), plan.text
    body = {"name": "c", "email": "c@example.com", **customer}
    created = client.post("/customers/", json=body)
    assert created.status_code == 201, created.text
    cid = int(created.json()["id"])
    sub = client.post(
        f"/customers/{cid}/subscriptions",
        json={"plan_id": plan.json()["id"], "start_date": start, **({"end_date": end} if end else {})},
    )
    assert sub.status_code in (200, 201), sub.text
    return cid


def event(client: TestClient, cid: int, metric: str, quantity: int, when: str) -> None:
    response = client.post(
        "/events/", json={"customer_id": cid, "metric_name": metric, "quantity": quantity, "event_time": when}
    )
    assert response.status_code in (200, 201), response.text


def run(client: TestClient, clock: FrozenClock, as_of: str) -> dict[str, Any]:
    """A billing run as of ``as_of``, the server clock moved there."""
    clock.set(at(as_of))
    response = client.post("/billing/runs", json={"as_of": as_of})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def invoice(client: TestClient, invoice_id: int) -> dict[str, Any]:
    response = client.get(f"/invoices/{invoice_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def lines(body: dict[str, Any]) -> list[tuple[str, str, Decimal, Decimal]]:
    """(kind, description, quantity, amount) of each line."""
    return [
        (item["kind"], item["description"], Decimal(str(item["quantity"])), Decimal(str(item["amount"])))
        for item in body["invoice_items"]
    ]
