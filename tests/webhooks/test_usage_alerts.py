"""Usage alerts: POST/GET/DELETE /customers/{id}/usage-alerts, and ``usage.threshold_reached`` fired once per
billing period, for an absolute threshold and for a percent of the plan's commitment."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from fubble.clock import FrozenClock
from fubble.webhooks.delivery import WebhookWorker
from tests.webhooks.conftest import Receiver, customer, endpoint

PLAN = {
    "name": "Metered",
    "billing_frequency": "monthly",
    "minimum_commitment": "100.00",
    "price_components": [
        {
            "metric_name": "api_calls",
            "pricing_type": "tiered",
            "pricing_details": {"tiers": [{"start": 0, "end": None, "price": "0.10"}]},
        }
    ],
}


def subscribed_customer(client: TestClient) -> tuple[int, int]:
    assert client.post("/plans/", json=PLAN).status_code == 201
    plan_id = client.get("/plans/").json()[0]["id"]
    customer_id = customer(client)
    response = client.post(
        f"/customers/{customer_id}/subscriptions", json={"plan_id": plan_id, "start_date": "2024-01-01T00:00:00Z"}
    )
    assert response.status_code == 200, response.text
    return customer_id, int(response.json()["id"])


def alert(client: TestClient, customer_id: int, **fields: Any) -> dict[str, Any]:
    response = client.post(f"/customers/{customer_id}/usage-alerts", json={"metric_name": "api_calls", **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def use(client: TestClient, customer_id: int, quantity: int, at: str) -> None:
    event = {"customer_id": customer_id, "metric_name": "api_calls", "quantity": quantity, "event_time": at}
    assert client.post("/events/", json=event).status_code == 201


def test_alerts_are_created_listed_and_deleted(client: TestClient) -> None:
    customer_id, _ = subscribed_customer(client)
    path = f"/customers/{customer_id}/usage-alerts"
    absolute = alert(client, customer_id, threshold="1000.5")
    assert absolute == {
        "id": absolute["id"],
        "customer_id": customer_id,
        "metric_name": "api_calls",
        "threshold": 1000.5,
        "percent_of_commitment": None,
        "created_at": "2024-01-15T12:00:00Z",
    }
    relative = alert(client, customer_id, percent_of_commitment=80)
    assert relative["percent_of_commitment"] == 80 and relative["threshold"] is None
    assert client.get(path).json() == [absolute, relative]
    assert client.get(path, params={"offset": 1}).json() == [relative]
    other = customer(client, "Globex")
    assert client.get(f"/customers/{other}/usage-alerts").json() == []
    assert client.delete(f"/customers/{other}/usage-alerts/{absolute['id']}").status_code == 404
    assert client.delete(f"{path}/{absolute['id']}").status_code == 204
    assert client.delete(f"{path}/{absolute['id']}").status_code == 404
    assert client.get(path).json() == [relative]
    assert client.get("/customers/999/usage-alerts").status_code == 404
    unknown = client.post("/customers/999/usage-alerts", json={"metric_name": "api_calls", "threshold": 1})
    assert unknown.status_code == 404


def test_invalid_alerts_are_422(client: TestClient) -> None:
    customer_id, _ = subscribed_customer(client)
    path = f"/customers/{customer_id}/usage-alerts"
    for body, loc in (
        ({"metric_name": "api_cals", "threshold": 1}, ["body", "metric_name"]),
        ({"metric_name": "api_calls"}, ["body"]),
        ({"metric_name": "api_calls", "threshold": 1, "percent_of_commitment": 50}, ["body"]),
        ({"metric_name": "api_calls", "threshold": None}, ["body", "threshold"]),
        ({"metric_name": "api_calls", "threshold": 0}, ["body", "threshold"]),
        ({"metric_name": "api_calls", "threshold": "abc"}, ["body", "threshold"]),
        ({"metric_name": "api_calls", "percent_of_commitment": 0}, ["body", "percent_of_commitment"]),
        ({"metric_name": "api_calls", "percent_of_commitment": 1000.0001}, ["body", "percent_of_commitment"]),
        ({"metric_name": "api_calls", "percent_of_commitment": 50.00001}, ["body", "percent_of_commitment"]),
        ({"metric_name": "api_calls", "percent_of_commitment": True}, ["body", "percent_of_commitment"]),
        ({"metric_name": "", "threshold": 1}, ["body", "metric_name"]),
        ({"metric_name": "api_calls", "threshold": 1, "other": 1}, ["body", "other"]),
    ):
        response = client.post(path, json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["detail"][0]["loc"][: len(loc)] == loc, (body, response.text)
    assert client.get(path).json() == []


def test_an_alert_fires_once_per_period(
    client: TestClient, receiver: Receiver, worker: WebhookWorker, clock: FrozenClock
) -> None:
    customer_id, subscription_id = subscribed_customer(client)
    absolute = alert(client, customer_id, threshold=10)
    relative = alert(client, customer_id, percent_of_commitment=50)

    def fired() -> list[dict[str, Any]]:
        seen = len(receiver.received)
        worker.check_alerts()
        worker.deliver_due()
        return [r.payload["data"] for r in receiver.received[seen:]]

    use(client, customer_id, 11, "2024-01-15T11:00:00Z")
    assert fired() == []  # nobody subscribes: alerts are not even evaluated
    endpoint(client, receiver.url, "usage.threshold_reached")
    assert fired() == [
        {
            "alert_id": absolute["id"],
            "customer_id": customer_id,
            "metric_name": "api_calls",
            "threshold": 10,
            "percent_of_commitment": None,
            "minimum_commitment": None,
            "subscription_id": subscription_id,
            "period_start": "2024-01-01T00:00:00Z",
            "period_end": "2024-02-01T00:00:00Z",
            "usage": 11,
            "charges": None,
        }
    ]
    use(client, customer_id, 20, "2024-01-15T11:30:00Z")
    assert fired() == []  # once per period (and 3.10 is not half of 100.00 yet)
    use(client, customer_id, 469, "2024-01-15T11:45:00Z")
    (half,) = fired()  # 500 calls at 0.10: 50.00, half the commitment
    assert half["alert_id"] == relative["id"]
    assert (half["charges"], half["minimum_commitment"], half["usage"]) == (50.0, 100.0, None)
    assert half["percent_of_commitment"] == 50
    assert fired() == []

    clock.set(datetime(2024, 2, 10, tzinfo=UTC))
    use(client, customer_id, 12, "2024-02-09T00:00:00Z")
    (february,) = fired()
    assert (february["alert_id"], february["usage"]) == (absolute["id"], 12)
    assert (february["period_start"], february["period_end"]) == ("2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z")
    assert fired() == []
    assert receiver.types() == ["usage.threshold_reached"] * 3
