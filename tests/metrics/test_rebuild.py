"""Defining or changing a metric recomputes its usage rollups, so usage follows the new definition at once."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from fubble.db.models.rollup import UsageRollup
from fubble.db.session import Database
from fubble.usage import reader
from fubble.usage.definitions import resolve

JAN = (datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC))
PLAN = {
    "name": "Plan",
    "billing_frequency": "monthly",
    "price_components": [
        {
            "metric_name": "api_calls",
            "pricing_type": "tiered",
            "pricing_details": {"tiers": [{"start": 0, "end": None, "price": "0.01"}]},
        }
    ],
}
# (day, hour, quantity, method, user)
EVENTS = [
    (2, 10, "1.5", "GET", "u1"),
    (2, 10, "4", "POST", "u2"),
    (3, 23, "2", "GET", "u2"),
    (9, 0, "10", "HEAD", "u3"),
    (9, 5, "0.25", "GET", "u1"),
]


def usage(db: Database, customer_id: int, name: str = "api_calls") -> Decimal:
    with db.transaction() as session:
        definition = resolve(session, [name])[name]
        return reader.usage(session, customer_id, definition, *JAN)


def day_rollup_totals(db: Database, name: str = "api_calls") -> Decimal:
    with db.transaction() as session:
        totals = session.scalars(
            select(UsageRollup.total).where(UsageRollup.metric_name == name, UsageRollup.width == "day")
        )
        return sum(totals, Decimal(0))


def put(client: TestClient, body: dict[str, Any]) -> None:
    response = client.put("/metrics/api_calls", json=body)
    assert response.status_code == 200, response.text


def record(client: TestClient, customer_id: int, events: list[tuple[int, int, str, str, str]]) -> None:
    body = [
        {
            "customer_id": customer_id,
            "metric_name": "api_calls",
            "quantity": quantity,
            "event_time": f"2024-01-{day:02d}T{hour:02d}:30:00Z",
            "properties": {"method": method, "user": user},
        }
        for day, hour, quantity, method, user in events
    ]
    response = client.post("/events/batch", json={"events": body})
    assert response.status_code == 200, response.text


def test_definition_changes_rebuild_usage(client: TestClient, db: Database) -> None:
    assert client.post("/plans/", json=PLAN).status_code == 201
    customer_id = client.post("/customers/", json={"name": "A", "email": "a@x.com"}).json()["id"]
    record(client, customer_id, EVENTS)
    assert usage(db, customer_id) == Decimal("17.75")  # implicit sum

    created = client.post(
        "/metrics/", json={"name": "api_calls", "filters": [{"property": "method", "in": ["GET", "HEAD"]}]}
    )
    assert created.status_code == 201, created.text
    assert usage(db, customer_id) == Decimal("13.75")
    assert day_rollup_totals(db) == Decimal("13.75")  # the stored rollups were rebuilt, not just the reading

    put(client, {"filters": [{"property": "method", "eq": "GET"}], "aggregation": "count"})
    assert usage(db, customer_id) == 3
    assert day_rollup_totals(db) == Decimal("3.75")

    put(client, {"aggregation": "unique_count", "property": "user"})
    assert usage(db, customer_id) == 2  # u1 and u2 sent GETs

    put(client, {"aggregation": "max", "property": None, "filters": None})
    assert usage(db, customer_id) == 10

    put(client, {"display_name": "Calls"})  # not a definition change
    assert usage(db, customer_id) == 10

    put(client, {"aggregation": "latest"})
    assert usage(db, customer_id) == Decimal("0.25")
    record(client, customer_id, [(20, 1, "6", "POST", "u9")])  # new events follow the current definition
    assert usage(db, customer_id) == 6


def test_defining_a_metric_without_events_or_plans(client: TestClient, db: Database) -> None:
    customer_id = client.post("/customers/", json={"name": "A", "email": "a@x.com"}).json()["id"]
    body = {"name": "api_calls", "aggregation": "unique_count", "property": "user"}
    assert client.post("/metrics/", json=body).status_code == 201
    record(client, customer_id, EVENTS)
    assert usage(db, customer_id) == 3
