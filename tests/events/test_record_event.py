"""POST /events/: one event, validation, idempotency."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fubble.clock import FrozenClock
from fubble.events import repository

from .helpers import all_events, event, exact, new_customer, post_event

GUIDE_EVENT = {
    "metric_name": "api_calls",
    "quantity": 1.0,
    "event_time": "2023-09-01T12:34:56",
    "properties": {"endpoint": "/users", "method": "GET", "response_time_ms": 45},
}


def test_record_guide_event(client: TestClient, customer_id: int) -> None:
    response = client.post("/events/", json={"customer_id": customer_id, **GUIDE_EVENT})
    assert response.status_code == 201, response.text
    assert "idempotent-replay" not in response.headers
    body = exact(response)
    assert body == {
        "id": body["id"],
        "event_id": None,
        "customer_id": customer_id,
        "metric_name": "api_calls",
        "quantity": Decimal("1.0"),
        "event_time": "2023-09-01T12:34:56Z",
        "properties": {"endpoint": "/users", "method": "GET", "response_time_ms": 45},
        "received_at": "2024-01-15T12:00:00Z",
    }
    assert body["id"] >= 1
    assert all_events(client, customer_id) == [body]


def test_event_time_defaults_to_clock_now(client: TestClient, customer_id: int, clock: FrozenClock) -> None:
    clock.set(datetime(2024, 2, 29, 8, 30, tzinfo=UTC))
    body = post_event(client, event(customer_id, quantity="2.5"))
    assert body["event_time"] == "2024-02-29T08:30:00Z"
    assert body["received_at"] == "2024-02-29T08:30:00Z"
    assert body["quantity"] == Decimal("2.5")
    assert body["properties"] is None


def test_offset_timestamps_are_converted_to_utc(client: TestClient, customer_id: int) -> None:
    body = post_event(client, event(customer_id, event_time="2024-01-15T14:00:00+02:00"))
    assert body["event_time"] == "2024-01-15T12:00:00Z"
    body = post_event(client, event(customer_id, event_time="2024-01-15T07:00:00-05:00"))
    assert body["event_time"] == "2024-01-15T12:00:00Z"
    body = post_event(client, event(customer_id, event_time="2024-01-15T12:00:00Z"))
    assert body["event_time"] == "2024-01-15T12:00:00Z"


def test_quantity_keeps_exact_digits(client: TestClient, customer_id: int) -> None:
    response = client.post(
        "/events/",
        content=f'{{"customer_id": {customer_id}, "metric_name": "storage_gb", "quantity": 123456789.123456789}}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 201, response.text
    assert '"quantity":123456789.123456789' in response.text


@pytest.mark.parametrize(
    "quantity",
    [-1, "-0.5", "abc", "NaN", "Infinity", "-Infinity", True, False, None, [], {}, "1e400", "0.0000000000001"],
)
def test_invalid_quantity_is_422(client: TestClient, customer_id: int, quantity: object) -> None:
    response = client.post("/events/", json=event(customer_id, quantity=quantity))
    assert response.status_code == 422, response.text
    assert "quantity" in response.text
    assert all_events(client, customer_id) == []


@pytest.mark.parametrize(
    "raw", ["1e400", "-1e400", "NaN", "Infinity", "1e-400", "-1e5", "123456789012345678901234567890123"]
)
def test_extreme_json_numbers_are_422(client: TestClient, customer_id: int, raw: str) -> None:
    response = client.post(
        "/events/",
        content=f'{{"customer_id": {customer_id}, "metric_name": "api_calls", "quantity": {raw}}}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert all_events(client, customer_id) == []


def test_quantity_accepts_numeric_strings_and_tiny_values(client: TestClient, customer_id: int) -> None:
    assert post_event(client, event(customer_id, quantity="1.00"))["quantity"] == Decimal("1.00")
    assert post_event(client, event(customer_id, quantity="0.000000000001"))["quantity"] == Decimal("1E-12")


@pytest.mark.parametrize(
    "fields",
    [
        {"metric_name": ""},
        {"metric_name": "   "},
        {"metric_name": "x" * 256},
        {"metric_name": 5},
        {"customer_id": 0},
        {"customer_id": 2**31},
        {"customer_id": "abc"},
        {"customer_id": None},
        {"event_time": "yesterday"},
        {"event_time": "1800-01-01T00:00:00"},
        {"properties": "not an object"},
        {"properties": [1, 2]},
        {"properties": {"big": "x" * 20_000}},
        {"event_id": ""},
        {"event_id": "x" * 256},
        {"event_id": "nul\x00byte"},
        {"event_id": 42},
        {"unknown_field": 1},
    ],
)
def test_invalid_fields_are_422(client: TestClient, customer_id: int, fields: dict[str, object]) -> None:
    response = client.post("/events/", json={**event(customer_id), **fields})
    assert response.status_code == 422, response.text
    assert "detail" in response.json()
    assert all_events(client, customer_id) == []


def test_missing_fields_are_422(client: TestClient, customer_id: int) -> None:
    for missing in ("customer_id", "metric_name", "quantity"):
        body = event(customer_id)
        del body[missing]
        response = client.post("/events/", json=body)
        assert response.status_code == 422, response.text
        assert missing in response.text


def test_unknown_customer_is_404(client: TestClient, customer_id: int) -> None:
    response = client.post("/events/", json=event(customer_id + 1000))
    assert response.status_code == 404, response.text
    assert response.json()["detail"] == f"customer {customer_id + 1000} not found"


def test_unknown_metric_is_422_naming_known_metrics(client: TestClient, customer_id: int) -> None:
    response = client.post("/events/", json=event(customer_id, metric_name="api_call"))
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "metric_name"]
    assert error["msg"] == "unknown metric 'api_call'; known metrics: api_calls, storage_gb"
    assert all_events(client, customer_id) == []


def test_no_metric_is_known_without_plans(client: TestClient) -> None:
    customer_id = new_customer(client)
    response = client.post("/events/", json=event(customer_id))
    assert response.status_code == 422, response.text
    assert "no plan prices any metric yet" in response.text


def test_replay_returns_stored_event_once(client: TestClient, customer_id: int, clock: FrozenClock) -> None:
    body = event(customer_id, event_id="evt-1", properties={"a": 1, "b": [1, 2]})
    first = client.post("/events/", json=body)
    assert first.status_code == 201, first.text
    clock.advance(timedelta(hours=1))  # event_time was not sent: still the same payload
    again = client.post("/events/", json=body)
    assert again.status_code == 200, again.text
    assert again.headers["idempotent-replay"] == "true"
    assert exact(again) == exact(first)
    assert exact(again)["event_time"] == "2024-01-15T12:00:00Z"
    assert len(all_events(client, customer_id)) == 1
    usage = client.get(f"/events/customers/{customer_id}/usage")
    assert exact(usage) == {"api_calls": 50}


def test_replay_compares_values_not_spelling(client: TestClient, customer_id: int) -> None:
    def raw(quantity: str, event_time: str, properties: str) -> int:
        response = client.post(
            "/events/",
            content=(
                f'{{"event_id": "evt-9", "customer_id": {customer_id}, "metric_name": "api_calls", '
                f'"quantity": {quantity}, "event_time": "{event_time}", "properties": {properties}}}'
            ),
            headers={"content-type": "application/json"},
        )
        return response.status_code

    assert raw("1", "2024-01-15T14:00:00+02:00", '{"a": 1, "b": {"c": 2.50}}') == 201
    assert raw("1.0", "2024-01-15T12:00:00Z", '{"b": {"c": 2.5}, "a": 1.0}') == 200
    assert raw('"1.00"', "2024-01-15T12:00:00", '{"a": 1, "b": {"c": 2.500}}') == 200
    assert raw("1", "2024-01-15T12:00:00", '{"a": "1", "b": {"c": 2.5}}') == 409  # a string is not a number
    assert len(all_events(client, customer_id)) == 1


def test_same_event_id_with_other_payload_is_409(client: TestClient, customer_id: int) -> None:
    other_customer = new_customer(client, "other@example.com")
    post_event(client, event(customer_id, event_id="evt-1"))
    for changed in (
        event(customer_id, event_id="evt-1", quantity=51),
        event(customer_id, event_id="evt-1", metric_name="storage_gb"),
        event(customer_id, event_id="evt-1", event_time="2024-01-15T12:00:00Z"),
        event(customer_id, event_id="evt-1", properties={}),
        event(other_customer, event_id="evt-1"),
    ):
        response = client.post("/events/", json=changed)
        assert response.status_code == 409, (changed, response.text)
        assert "evt-1" in response.json()["detail"]
    assert len(all_events(client, customer_id)) == 1
    assert all_events(client, other_customer) == []


def test_concurrent_identical_events_are_stored_once(client: TestClient, customer_id: int) -> None:
    body = event(customer_id, event_id="evt-race", quantity="7.5")
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda _: client.post("/events/", json=body), range(16)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 15 + [201], [r.text for r in responses]
    assert len({exact(r)["id"] for r in responses}) == 1
    assert exact(client.get(f"/events/customers/{customer_id}/usage")) == {"api_calls": Decimal("7.5")}


def test_race_on_event_id_reads_the_winner_back(
    client: TestClient, customer_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = post_event(client, event(customer_id, event_id="evt-1"))
    # Pretend another request committed evt-1 after this one looked it up.
    real = repository.get_by_event_id
    calls: list[int] = []

    def late_visibility(session: Session, event_id: str) -> Any:
        calls.append(1)
        return None if len(calls) == 1 else real(session, event_id)

    monkeypatch.setattr(repository, "get_by_event_id", late_visibility)
    again = client.post("/events/", json=event(customer_id, event_id="evt-1"))
    assert again.status_code == 200, again.text
    assert again.headers["idempotent-replay"] == "true"
    assert exact(again) == first
    calls.clear()
    conflicting = client.post("/events/", json=event(customer_id, event_id="evt-1", quantity=2))
    assert conflicting.status_code == 409, conflicting.text
    assert len(all_events(client, customer_id)) == 1
