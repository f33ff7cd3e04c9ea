from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fubble.clock import FrozenClock
from fubble.db.models import BillingCoverage, Invoice
from fubble.db.session import Database

NOW = "2024-01-15T12:00:00Z"


@pytest.fixture
def customer_id(client: TestClient) -> int:
    response = client.post("/customers/", json={"name": "Company A", "email": "billing@companya.com"})
    assert response.status_code == 201
    return int(response.json()["id"])


@pytest.fixture
def plan_id(client: TestClient) -> int:
    body = {
        "name": "Basic",
        "billing_frequency": "monthly",
        "price_components": [
            {
                "metric_name": "api_calls",
                "pricing_type": "package",
                "pricing_details": {"package_size": 100, "package_price": 1},
            }
        ],
    }
    response = client.post("/plans/", json=body)
    assert response.status_code == 201
    return int(response.json()["id"])


def subscribe(client: TestClient, customer_id: int, **body: Any) -> dict[str, Any]:
    response = client.post(f"/customers/{customer_id}/subscriptions", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_create_subscription_as_the_guide_shows(client: TestClient, customer_id: int, plan_id: int) -> None:
    response = client.post(
        f"/customers/{customer_id}/subscriptions",
        json={"plan_id": plan_id, "start_date": "2023-09-01T00:00:00", "end_date": None},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "id": response.json()["id"],
        "customer_id": customer_id,
        "plan_id": plan_id,
        "start_date": "2023-09-01T00:00:00Z",
        "end_date": None,
        "status": "active",
        "created_at": NOW,
        "canceled_at": None,
        "current_period_start": "2024-01-01T00:00:00Z",
        "current_period_end": "2024-02-01T00:00:00Z",
        "trial_end": None,
        "cancel_at_period_end": False,
        "billing_anchor": "anniversary",
        "plan_version": 1,
        "previous_subscription_id": None,
        "price_overrides": [],
    }


def test_defaults_and_timezones(client: TestClient, customer_id: int, plan_id: int) -> None:
    assert subscribe(client, customer_id, plan_id=plan_id)["start_date"] == NOW
    shifted = subscribe(
        client,
        customer_id,
        plan_id=plan_id,
        start_date="2024-02-01T09:00:00+09:00",
        end_date="2024-03-01T00:00:00-05:00",
    )
    assert shifted["start_date"] == "2024-02-01T00:00:00Z"
    assert shifted["end_date"] == "2024-03-01T05:00:00Z"
    assert shifted["status"] == "scheduled"
    ended = subscribe(client, customer_id, plan_id=plan_id, start_date="2023-01-01", end_date="2023-06-01")
    assert ended["status"] == "ended"


def test_create_subscription_errors(client: TestClient, customer_id: int, plan_id: int) -> None:
    url = f"/customers/{customer_id}/subscriptions"
    assert client.post("/customers/999/subscriptions", json={"plan_id": plan_id}).status_code == 404
    assert client.post(url, json={"plan_id": 999}).status_code == 404
    for bad in (
        {"plan_id": plan_id, "start_date": "2024-02-01T00:00:00Z", "end_date": "2024-02-01T00:00:00Z"},
        {"plan_id": plan_id, "start_date": "2024-02-01T00:00:00Z", "end_date": "2024-01-01T00:00:00Z"},
        {"plan_id": plan_id, "end_date": "2024-01-15T11:59:59Z"},  # before the default start (now)
        {"plan_id": plan_id, "start_date": "not a date"},
        {"plan_id": plan_id, "start_date": "0001-01-01T00:00:00"},
        {"plan_id": 0},
        {"plan_id": "abc"},
        {},
        {"plan_id": plan_id, "extra": True},
    ):
        response = client.post(url, json=bad)
        assert response.status_code == 422, (bad, response.text)
    assert client.post(url, json={"plan_id": plan_id, "end_date": NOW}).json()["detail"][0]["loc"] == [
        "body",
        "end_date",
    ]
    assert client.put(f"/plans/{plan_id}/deactivate").status_code == 200
    inactive = client.post(url, json={"plan_id": plan_id})
    assert inactive.status_code == 409
    assert "inactive" in inactive.json()["detail"]
    assert client.get(url).json() == []


def test_get_subscription_and_ownership(client: TestClient, customer_id: int, plan_id: int) -> None:
    sub = subscribe(client, customer_id, plan_id=plan_id)
    other = client.post("/customers/", json={"name": "B", "email": "b@x.com"}).json()["id"]
    assert client.get(f"/customers/{customer_id}/subscriptions/{sub['id']}").json() == sub
    assert client.get(f"/customers/{other}/subscriptions/{sub['id']}").status_code == 404
    assert client.get(f"/customers/{customer_id}/subscriptions/999").status_code == 404
    assert client.get(f"/customers/999/subscriptions/{sub['id']}").status_code == 404
    assert client.get(f"/customers/{customer_id}/subscriptions/0").status_code == 422


def test_list_paginates_and_filters_active(
    client: TestClient, clock: FrozenClock, customer_id: int, plan_id: int
) -> None:
    past = subscribe(client, customer_id, plan_id=plan_id, start_date="2023-01-01", end_date="2023-06-01")
    current = subscribe(client, customer_id, plan_id=plan_id, start_date="2024-01-01")
    future = subscribe(client, customer_id, plan_id=plan_id, start_date="2024-03-01")
    ends_now = subscribe(client, customer_id, plan_id=plan_id, start_date="2024-01-01", end_date=NOW)
    other = client.post("/customers/", json={"name": "B", "email": "b@x.com"}).json()["id"]
    subscribe(client, other, plan_id=plan_id)
    url = f"/customers/{customer_id}/subscriptions"
    all_ids = [past["id"], current["id"], future["id"], ends_now["id"]]
    assert [s["id"] for s in client.get(url).json()] == all_ids
    assert [s["id"] for s in client.get(url, params={"limit": 2, "offset": 1}).json()] == all_ids[1:3]
    assert [s["id"] for s in client.get(url, params={"active_only": True}).json()] == [current["id"]]
    assert [s["status"] for s in client.get(url).json()] == ["ended", "active", "scheduled", "ended"]
    clock.set(clock.now().replace(month=3, day=1, hour=0))
    assert [s["id"] for s in client.get(url, params={"active_only": "true"}).json()] == [current["id"], future["id"]]
    assert client.get("/customers/999/subscriptions").status_code == 404
    assert client.get(url, params={"limit": 1001}).status_code == 422


def test_cancel_now_by_default(client: TestClient, clock: FrozenClock, customer_id: int, plan_id: int) -> None:
    sub = subscribe(client, customer_id, plan_id=plan_id, start_date="2024-01-01")
    clock.advance(timedelta(days=1))
    response = client.put(f"/customers/{customer_id}/subscriptions/{sub['id']}/cancel")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["end_date"] == body["canceled_at"] == "2024-01-16T12:00:00Z"
    assert body["status"] == "ended"
    again = client.put(f"/customers/{customer_id}/subscriptions/{sub['id']}/cancel")
    assert again.status_code == 409
    assert "already ended" in again.json()["detail"]


def test_cancel_with_end_date_in_query_or_body(client: TestClient, customer_id: int, plan_id: int) -> None:
    first = subscribe(client, customer_id, plan_id=plan_id, start_date="2024-01-01")
    second = subscribe(client, customer_id, plan_id=plan_id, start_date="2024-01-01")
    base = f"/customers/{customer_id}/subscriptions"
    by_query = client.put(f"{base}/{first['id']}/cancel", params={"end_date": "2024-02-01T00:00:00+01:00"})
    assert by_query.status_code == 200, by_query.text
    assert by_query.json()["end_date"] == "2024-01-31T23:00:00Z"
    assert by_query.json()["canceled_at"] == NOW
    assert by_query.json()["status"] == "canceled"  # ends in the future
    by_body = client.put(f"{base}/{second['id']}/cancel", json={"end_date": "2024-01-10T00:00:00"})
    assert by_body.status_code == 200, by_body.text
    assert by_body.json()["end_date"] == "2024-01-10T00:00:00Z"
    assert by_body.json()["status"] == "ended"
    # a scheduled end can be moved again while it is still in the future
    moved = client.put(f"{base}/{first['id']}/cancel", json={"end_date": "2024-01-20T00:00:00Z"})
    assert moved.status_code == 200
    assert moved.json()["end_date"] == "2024-01-20T00:00:00Z"


def test_cancel_errors(client: TestClient, customer_id: int, plan_id: int) -> None:
    sub = subscribe(client, customer_id, plan_id=plan_id, start_date="2024-01-10")
    other = client.post("/customers/", json={"name": "B", "email": "b@x.com"}).json()["id"]
    url = f"/customers/{customer_id}/subscriptions/{sub['id']}/cancel"
    assert client.put(f"/customers/{other}/subscriptions/{sub['id']}/cancel").status_code == 404
    assert client.put(f"/customers/{customer_id}/subscriptions/999/cancel").status_code == 404
    assert client.put(f"/customers/999/subscriptions/{sub['id']}/cancel").status_code == 404
    for bad in (
        {"params": {"end_date": "2024-01-10T00:00:00Z"}},
        {"params": {"end_date": "2024-01-01T00:00:00Z"}},
        {"json": {"end_date": "2024-01-09T00:00:00Z"}},
        {"params": {"end_date": "garbage"}},
        {"json": {"end_date": "2024-02-01T00:00:00Z", "reason": "x"}},
        {"params": {"end_date": "2024-02-01T00:00:00Z"}, "json": {"end_date": "2024-03-01T00:00:00Z"}},
    ):
        response = client.put(url, **bad)
        assert response.status_code == 422, (bad, response.text)
    # ownership is checked before anything else: another customer's subscription with a bad end_date is a 404
    assert (
        client.put(
            f"/customers/{other}/subscriptions/{sub['id']}/cancel", params={"end_date": "2000-01-01T00:00:00Z"}
        ).status_code
        == 404
    )
    assert client.get(f"/customers/{customer_id}/subscriptions/{sub['id']}").json() == sub
    same_twice = client.put(url, params={"end_date": "2024-02-01T00:00:00Z"}, json={"end_date": "2024-02-01T00:00:00Z"})
    assert same_twice.status_code == 200


def test_cancel_cannot_cut_into_invoiced_time(client: TestClient, db: Database, customer_id: int, plan_id: int) -> None:
    sub = subscribe(client, customer_id, plan_id=plan_id, start_date="2023-12-01")
    t = datetime(2024, 1, 1, tzinfo=UTC)
    with db.transaction() as session:
        for number, status, start, end in (
            ("INV-1", "pending", datetime(2023, 12, 1, tzinfo=UTC), t),
            ("INV-2", "void", t, datetime(2024, 1, 15, tzinfo=UTC)),
        ):
            invoice = Invoice(
                invoice_number=number,
                customer_id=customer_id,
                status=status,
                currency="USD",
                issue_date=t,
                due_date=t,
                amount=Decimal(0),
                created_at=t,
                updated_at=t,
            )
            session.add(invoice)
            session.flush()
            session.add(BillingCoverage(invoice_id=invoice.id, subscription_id=sub["id"], start=start, end=end))
    url = f"/customers/{customer_id}/subscriptions/{sub['id']}/cancel"
    refused = client.put(url, params={"end_date": "2023-12-20T00:00:00Z"})
    assert refused.status_code == 409
    assert "invoiced until 2024-01-01T00:00:00Z" in refused.json()["detail"]
    # the void invoice's coverage does not count
    assert client.put(url, params={"end_date": "2024-01-05T00:00:00Z"}).status_code == 200
