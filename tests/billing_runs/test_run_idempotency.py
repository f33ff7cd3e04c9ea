"""A billing run (which commits its work batch by batch, outside the request's transaction) takes an
Idempotency-Key like every write: the retry replays the first answer, and the run did its work once."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from fubble.clock import FrozenClock


def test_a_run_retried_with_its_idempotency_key_replays_the_first_answer(
    client: TestClient, clock: FrozenClock
) -> None:
    clock.set(datetime(2024, 3, 1, tzinfo=UTC))
    plan = client.post(
        "/plans/",
        json={
            "name": "P",
            "billing_frequency": "monthly",
            "price_components": [
                {"metric_name": "fee", "pricing_type": "subscription", "pricing_details": {"amount": "10.00"}}
            ],
        },
    ).json()
    customer = client.post("/customers/", json={"name": "C", "email": "c@x.com"}).json()
    body = {"plan_id": plan["id"], "start_date": "2024-01-01T00:00:00Z"}
    assert client.post(f"/customers/{customer['id']}/subscriptions", json=body).status_code == 200

    headers = {"Idempotency-Key": "run-2024-03"}
    first = client.post("/billing/runs", json={}, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["invoices_created"] == 2  # January and February, 10.00 each
    again = client.post("/billing/runs", json={}, headers=headers)
    assert again.status_code == 200
    assert again.headers["Idempotent-Replay"] == "true"
    assert again.json() == first.json()
    assert len(client.get("/billing/runs").json()) == 1
    other = client.post("/billing/runs", json={"as_of": "2024-02-15T00:00:00Z"}, headers=headers)
    assert other.status_code == 409  # the same key for a different request
