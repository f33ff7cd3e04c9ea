"""GET /events/customers/{id} and /events/customers/{id}/usage."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from .helpers import event, exact, new_customer, post_event


def events_of(client: TestClient, customer_id: int, **params: Any) -> list[Any]:
    response = client.get(f"/events/customers/{customer_id}", params=params)
    assert response.status_code == 200, response.text
    events: list[Any] = exact(response)
    return events


def usage_of(client: TestClient, customer_id: int, **params: Any) -> Any:
    response = client.get(f"/events/customers/{customer_id}/usage", params=params)
    assert response.status_code == 200, response.text
    return exact(response)


def seed(client: TestClient, customer_id: int) -> dict[str, int]:
    """Events out of time order, two metrics, plus one of another customer."""
    times = {
        "sep-30-late": ("2023-09-30T23:59:59", "api_calls"),
        "sep-01": ("2023-09-01T00:00:00", "api_calls"),
        "oct-01": ("2023-10-01T00:00:00", "api_calls"),
        "sep-15-storage": ("2023-09-15T10:00:00", "storage_gb"),
        "aug-31": ("2023-08-31T23:59:59", "api_calls"),
        "sep-15-api": ("2023-09-15T10:00:00", "api_calls"),
    }
    ids = {}
    for key, (at, metric) in times.items():
        ids[key] = post_event(client, event(customer_id, event_id=key, event_time=at, metric_name=metric))["id"]
    other = new_customer(client, "other@example.com")
    post_event(client, event(other, event_time="2023-09-10T00:00:00"))
    return ids


def test_list_in_event_time_order_with_window_and_metric(client: TestClient, customer_id: int) -> None:
    ids = seed(client, customer_id)
    everything = events_of(client, customer_id)
    assert [e["event_id"] for e in everything] == [
        "aug-31",
        "sep-01",
        "sep-15-storage",  # same event_time as sep-15-api, stored first: ordered by id
        "sep-15-api",
        "sep-30-late",
        "oct-01",
    ]
    assert everything[1]["id"] == ids["sep-01"]
    window = {"start_date": "2023-09-01T00:00:00", "end_date": "2023-10-01T00:00:00"}
    assert [e["event_id"] for e in events_of(client, customer_id, **window)] == [
        "sep-01",
        "sep-15-storage",
        "sep-15-api",
        "sep-30-late",
    ]
    assert [e["event_id"] for e in events_of(client, customer_id, **window, metric_name="storage_gb")] == [
        "sep-15-storage"
    ]
    assert events_of(client, customer_id, metric_name="nothing") == []
    assert [e["event_id"] for e in events_of(client, customer_id, start_date="2023-09-30T23:59:59")] == [
        "sep-30-late",
        "oct-01",
    ]
    assert [e["event_id"] for e in events_of(client, customer_id, end_date="2023-09-01T00:00:00")] == ["aug-31"]


def test_list_paginates(client: TestClient, customer_id: int) -> None:
    seed(client, customer_id)
    order = [e["event_id"] for e in events_of(client, customer_id)]
    assert [e["event_id"] for e in events_of(client, customer_id, limit=2)] == order[:2]
    assert [e["event_id"] for e in events_of(client, customer_id, limit=2, offset=2)] == order[2:4]
    assert [e["event_id"] for e in events_of(client, customer_id, limit=2, offset=5)] == order[5:]
    assert events_of(client, customer_id, offset=6) == []
    for bad in ({"limit": 0}, {"limit": 1001}, {"offset": -1}):
        assert client.get(f"/events/customers/{customer_id}", params=bad).status_code == 422


def test_query_dates_accept_offsets(client: TestClient, customer_id: int) -> None:
    seed(client, customer_id)
    # 2023-09-01T02:00+02:00 is 2023-09-01T00:00Z
    by_offset = events_of(client, customer_id, start_date="2023-09-01T02:00:00+02:00", end_date="2023-09-02T00:00:00Z")
    assert [e["event_id"] for e in by_offset] == ["sep-01"]
    # An unencoded "+" arrives as a space; it still means a positive offset.
    response = client.get(f"/events/customers/{customer_id}?start_date=2023-09-01T02:00:00+02:00&end_date=2023-09-02")
    assert response.status_code == 200, response.text
    assert [e["event_id"] for e in exact(response)] == ["sep-01"]


def test_list_errors(client: TestClient, customer_id: int) -> None:
    assert client.get(f"/events/customers/{customer_id + 50}").status_code == 404
    assert client.get("/events/customers/0").status_code == 422
    for params in (
        {"start_date": "2023-09-02T00:00:00", "end_date": "2023-09-01T00:00:00"},
        {"start_date": "2023-09-01T00:00:00", "end_date": "2023-09-01T00:00:00"},
        {"start_date": "not a date"},
        {"end_date": "2023-13-01T00:00:00"},
    ):
        for path in (f"/events/customers/{customer_id}", f"/events/customers/{customer_id}/usage"):
            response = client.get(path, params=params)
            assert response.status_code == 422, (path, params, response.text)
    for metric in ("x" * 256, "nul\x00byte"):
        response = client.get(f"/events/customers/{customer_id}", params={"metric_name": metric})
        assert response.status_code == 422, response.text


def test_usage_sums_exactly(client: TestClient, customer_id: int) -> None:
    for quantity in ("0.1", "0.2"):
        post_event(client, event(customer_id, quantity=quantity))
    for quantity in ("123456789.123456789", "0.000000001", "876543210.876543210"):
        post_event(client, event(customer_id, metric_name="storage_gb", quantity=quantity))
    response = client.get(f"/events/customers/{customer_id}/usage")
    assert response.status_code == 200, response.text
    totals = exact(response)
    assert totals == {"api_calls": Decimal("0.3"), "storage_gb": Decimal("1000000000.000000000")}
    assert '"api_calls":0.3' in response.text
    assert '"storage_gb":1000000000.000000000' in response.text


def test_usage_window_is_half_open(client: TestClient, customer_id: int) -> None:
    post_event(client, event(customer_id, quantity=1, event_time="2023-09-01T00:00:00"))  # at start: included
    post_event(client, event(customer_id, quantity=2, event_time="2023-09-15T00:00:00"))
    post_event(client, event(customer_id, quantity=4, event_time="2023-09-30T23:59:59"))  # at end: excluded
    post_event(client, event(customer_id, quantity=8, event_time="2023-08-31T23:59:59.999999"))
    post_event(client, event(customer_id, quantity=16, event_time="2023-09-10T00:00:00", metric_name="storage_gb"))
    window = {"start_date": "2023-09-01T00:00:00", "end_date": "2023-09-30T23:59:59"}
    assert usage_of(client, customer_id, **window) == {"api_calls": 3, "storage_gb": 16}
    assert usage_of(client, customer_id, start_date="2023-09-11T00:00:00", end_date="2023-09-30T23:59:59") == {
        "api_calls": 2
    }
    assert usage_of(client, customer_id) == {"api_calls": 15, "storage_gb": 16}
    assert usage_of(client, customer_id, start_date="2023-09-01T00:00:00") == {"api_calls": 7, "storage_gb": 16}
    assert usage_of(client, customer_id, end_date="2023-09-01T00:00:00") == {"api_calls": 8}
    assert usage_of(client, customer_id, start_date="2024-01-01T00:00:00") == {}


def test_usage_of_unknown_customer_is_404(client: TestClient, customer_id: int) -> None:
    response = client.get(f"/events/customers/{customer_id + 50}/usage")
    assert response.status_code == 404
    assert response.json()["detail"] == f"customer {customer_id + 50} not found"
    assert usage_of(client, new_customer(client, "quiet@example.com")) == {}
