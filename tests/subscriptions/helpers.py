"""Set-up shared by the subscription lifecycle tests: customers, plans and subscriptions made over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from fubble.db.models import TestClock
from fubble.db.session import Database

NOW = "2024-01-15T12:00:00Z"  # the frozen clock of tests/conftest.py
NEW_YORK = "America/New_York"


def customer(client: TestClient, email: str = "ap@globex.example", **fields: Any) -> int:
    response = client.post("/customers/", json={"name": "Globex", "email": email, **fields})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def plan(client: TestClient, frequency: str = "monthly", name: str = "Basic", **fields: Any) -> int:
    body = {
        "name": name,
        "billing_frequency": frequency,
        "price_components": [
            {
                "metric_name": "api_calls",
                "pricing_type": "package",
                "pricing_details": {"package_size": 100, "package_price": 1},
            },
            {"metric_name": "seats", "pricing_type": "flat", "pricing_details": {"amount": 10}},
        ],
        **fields,
    }
    response = client.post("/plans/", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def subscribe(client: TestClient, customer_id: int, **body: Any) -> dict[str, Any]:
    response = client.post(f"/customers/{customer_id}/subscriptions", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def get(client: TestClient, customer_id: int, subscription_id: int) -> dict[str, Any]:
    response = client.get(f"/customers/{customer_id}/subscriptions/{subscription_id}")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def period(body: dict[str, Any]) -> tuple[str | None, str | None]:
    return body["current_period_start"], body["current_period_end"]


def make_test_clock(db: Database, frozen_time: datetime) -> int:
    """A test clock row (its API is built elsewhere), frozen at ``frozen_time``."""
    t = datetime(2024, 1, 1, tzinfo=UTC)
    with db.transaction() as session:
        row = TestClock(name="rehearsal", frozen_time=frozen_time, created_at=t, updated_at=t)
        session.add(row)
        session.flush()
        return row.id


def move_test_clock(db: Database, clock_id: int, frozen_time: datetime) -> None:
    with db.transaction() as session:
        row = session.get(TestClock, clock_id)
        assert row is not None
        row.frozen_time = frozen_time
