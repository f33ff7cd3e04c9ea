from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from fubble.api.json import loads

METRICS: list[dict[str, Any]] = [
    {"name": "requests", "aggregation": "count", "filters": [{"property": "method", "in": ["GET", "HEAD"]}]},
    {"name": "peak_conns", "aggregation": "max", "unit": "connections"},
    {"name": "active_users", "aggregation": "unique_count", "property": "user", "display_name": "Active users"},
    {"name": "storage_gb", "aggregation": "weighted_sum", "unit": "GB"},
]
PRICES = {"api_calls": "1", "requests": "1", "peak_conns": "2", "active_users": "3", "storage_gb": "0.5"}

# (metric, quantity, event_time, properties)
EVENTS: list[tuple[str, str, str, dict[str, Any] | None]] = [
    ("api_calls", "10", "2024-01-02T10:15:00Z", None),
    ("api_calls", "5", "2024-01-02T10:45:00Z", None),
    ("api_calls", "7", "2024-01-03T00:00:00Z", None),
    ("api_calls", "3", "2024-01-20T23:59:59Z", None),
    ("requests", "1", "2024-01-02T10:00:00Z", {"method": "GET"}),
    ("requests", "1", "2024-01-02T11:00:00Z", {"method": "POST"}),  # filtered out
    ("requests", "1", "2024-01-05T08:00:00Z", {"method": "HEAD"}),
    ("requests", "1", "2024-01-05T09:00:00Z", {"method": "GET"}),
    ("peak_conns", "4", "2024-01-02T12:00:00Z", None),
    ("peak_conns", "9", "2024-01-10T12:00:00Z", None),
    ("peak_conns", "6", "2024-01-20T12:00:00Z", None),
    ("active_users", "1", "2024-01-02T09:00:00Z", {"user": "a"}),
    ("active_users", "1", "2024-01-02T09:30:00Z", {"user": "b"}),
    ("active_users", "1", "2024-01-10T09:00:00Z", {"user": "a"}),
    ("active_users", "1", "2024-01-11T09:00:00Z", {"user": 42}),
    ("active_users", "1", "2024-01-11T10:00:00Z", {"user": "42"}),  # a different value than 42
    ("storage_gb", "100", "2024-01-01T00:00:00Z", None),
    ("storage_gb", "400", "2024-01-11T00:00:00Z", None),
]


def exact(response: Any) -> Any:
    """The body with every non-integer number as an exact Decimal."""
    return loads(response.content)


@pytest.fixture
def metered(client: TestClient) -> int:
    """A customer subscribed from 2024-01-01 to a monthly plan pricing five metrics (one per kind of aggregation
    plus the implicit sum ``api_calls``), with the events above recorded in two batches (the second one late)."""
    for metric in METRICS:
        response = client.post("/metrics/", json=metric)
        assert response.status_code == 201, response.text
    components = [
        {
            "metric_name": name,
            "pricing_type": "tiered",
            "pricing_details": {"tiers": [{"start": 0, "end": None, "price": price}]},
        }
        for name, price in PRICES.items()
    ]
    components.append({"metric_name": "base_fee", "pricing_type": "flat", "pricing_details": {"amount": "10"}})
    plan = client.post(
        "/plans/", json={"name": "Metered", "billing_frequency": "monthly", "price_components": components}
    )
    assert plan.status_code == 201, plan.text
    customer = client.post("/customers/", json={"name": "Acme", "email": "acme@example.com"})
    assert customer.status_code == 201, customer.text
    customer_id: int = customer.json()["id"]
    sub = {"plan_id": plan.json()["id"], "start_date": "2024-01-01T00:00:00Z"}
    response = client.post(f"/customers/{customer_id}/subscriptions", json=sub)
    assert response.status_code in (200, 201), response.text
    bodies = [
        {
            "customer_id": customer_id,
            "metric_name": m,
            "quantity": q,
            "event_time": t,
            "properties": p,
            "event_id": f"e{i}",
        }
        for i, (m, q, t, p) in enumerate(EVENTS)
    ]
    for batch in (bodies[9:], bodies[:9], bodies[3:5]):  # late arrivals, then a retry (duplicates)
        response = client.post("/events/batch", json={"events": batch})
        assert response.status_code == 200, response.text
    return customer_id
