"""Events may name their customer by ``external_customer_id`` instead of ``customer_id``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .helpers import all_events, exact, new_plan


@pytest.fixture
def customers(client: TestClient) -> tuple[int, int]:
    """Two customers, ``ext-a`` and one without an external id, and a plan pricing api_calls."""
    new_plan(client)
    a = client.post("/customers/", json={"name": "A", "email": "a@x.com", "external_id": "ext-a"}).json()["id"]
    b = client.post("/customers/", json={"name": "B", "email": "b@x.com"}).json()["id"]
    return a, b


def ev(**fields: Any) -> dict[str, Any]:
    return {"metric_name": "api_calls", "quantity": 5, **fields}


def test_single_event_by_external_id_and_replay(client: TestClient, customers: tuple[int, int]) -> None:
    a, _ = customers
    first = client.post("/events/", json=ev(external_customer_id="ext-a", event_id="e1"))
    assert first.status_code == 201, first.text
    assert first.json()["customer_id"] == a
    again = client.post("/events/", json=ev(external_customer_id="ext-a", event_id="e1"))
    assert again.status_code == 200 and again.headers["Idempotent-Replay"] == "true"
    assert again.json() == first.json()
    # The payload is fingerprinted as sent: the same event_id naming the customer differently is another payload.
    assert client.post("/events/", json=ev(customer_id=a, event_id="e1")).status_code == 409
    both = client.post("/events/", json=ev(customer_id=a, external_customer_id="ext-a"))
    assert both.status_code == 201 and both.json()["customer_id"] == a
    assert len(all_events(client, a)) == 2


def test_single_event_customer_errors(client: TestClient, customers: tuple[int, int]) -> None:
    a, b = customers
    unknown = client.post("/events/", json=ev(external_customer_id="ext-zzz"))
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "customer with external_id 'ext-zzz' not found"
    neither = client.post("/events/", json=ev())
    assert neither.status_code == 422
    assert "customer_id or external_customer_id is required" in neither.text
    mismatch = client.post("/events/", json=ev(customer_id=b, external_customer_id="ext-a"))
    assert mismatch.status_code == 422
    assert mismatch.json()["detail"][0]["loc"] == ["body", "external_customer_id"]
    assert "name different customers" in mismatch.text
    for bad in ("", "x" * 256, "nul\x00", 5, None):
        assert client.post("/events/", json=ev(external_customer_id=bad)).status_code == 422, bad
    assert all_events(client, a) == [] and all_events(client, b) == []


def test_batch_resolves_external_ids_and_reports_bad_ones_by_index(
    client: TestClient, customers: tuple[int, int]
) -> None:
    a, b = customers
    bad = [
        ev(external_customer_id="ext-a"),
        ev(external_customer_id="missing"),
        ev(customer_id=b, external_customer_id="ext-a", event_id="x"),
        ev(),
    ]
    response = client.post("/events/batch", json={"events": bad})
    assert response.status_code == 422
    errors = response.json()["detail"]["errors"]
    assert [(e["index"], e["event_id"]) for e in errors] == [(1, None), (2, "x"), (3, None)]
    assert errors[0]["reason"] == "customer with external_id 'missing' not found"
    assert "name different customers" in errors[1]["reason"]
    assert "customer_id or external_customer_id is required" in errors[2]["reason"]
    assert all_events(client, a) == []

    good = [
        ev(external_customer_id="ext-a", quantity="1.5", event_id="k1"),
        ev(customer_id=b),
        ev(customer_id=a, external_customer_id="ext-a"),
        ev(external_customer_id="ext-a", quantity="1.5", event_id="k1"),  # a duplicate in the batch
    ]
    response = client.post("/events/batch", json={"events": good})
    assert response.status_code == 200, response.text
    assert exact(response) == {"accepted": 3, "duplicates": 1, "duplicate_event_ids": ["k1"]}
    assert sorted(e["quantity"] for e in all_events(client, a)) == [Decimal("1.5"), 5]
    assert len(all_events(client, b)) == 1
    again = client.post("/events/batch", json={"events": good[:1]})
    assert exact(again) == {"accepted": 0, "duplicates": 1, "duplicate_event_ids": ["k1"]}


def test_events_for_a_metric_defined_only_in_metrics(client: TestClient) -> None:
    customer = client.post("/customers/", json={"name": "A", "email": "a@x.com", "external_id": "ext-a"}).json()
    refused = client.post("/events/", json=ev(customer_id=customer["id"]))
    assert refused.status_code == 422 and "POST /metrics/" in refused.text
    assert client.post("/metrics/", json={"name": "api_calls", "aggregation": "count"}).status_code == 201
    assert client.post("/events/", json=ev(external_customer_id="ext-a")).status_code == 201
    events = [ev(customer_id=customer["id"]), ev(metric_name="nope"), ev(external_customer_id="ext-a", metric_name="x")]
    batch = client.post("/events/batch", json={"events": events})
    assert batch.status_code == 422
    errors = batch.json()["detail"]["errors"]
    assert [e["index"] for e in errors] == [1, 2]
    assert errors[0]["reason"].endswith("customer_id or external_customer_id is required")
    assert errors[1]["reason"] == "metric_name: unknown metric 'x'; known metrics: api_calls"
