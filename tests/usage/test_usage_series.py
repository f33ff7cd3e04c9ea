"""GET /customers/{id}/usage: a time series per metric, by each metric's aggregation."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from .conftest import exact

STORAGE_JANUARY = Decimal("303.225806451613")  # (100 GB x 10 days + 400 GB x 21 days) / 31 days, 12 places


def series(client: TestClient, customer_id: int, **params: Any) -> Any:
    response = client.get(f"/customers/{customer_id}/usage", params=params)
    assert response.status_code == 200, response.text
    return exact(response)


def by_name(body: Any) -> dict[str, Any]:
    return {m["metric_name"]: m for m in body["metrics"]}


def points(metric: dict[str, Any]) -> list[tuple[str, str, Decimal]]:
    return [(p["start"], p["end"], p["value"]) for p in metric["points"]]


def test_daily_series_of_every_aggregation(client: TestClient, metered: int) -> None:
    body = series(client, metered, start_date="2024-01-01", end_date="2024-01-13", granularity="day")
    assert body["customer_id"] == metered
    assert body["start_date"] == "2024-01-01T00:00:00Z" and body["end_date"] == "2024-01-13T00:00:00Z"
    assert body["granularity"] == "day"
    metrics = by_name(body)
    # The priced metrics (not the flat fee), by name.
    assert list(metrics) == ["active_users", "api_calls", "peak_conns", "requests", "storage_gb"]
    api = metrics["api_calls"]
    assert (api["aggregation"], api["unit"], api["display_name"]) == ("sum", None, None)
    assert [p[2] for p in points(api)] == [0, 15, 7] + [0] * 9
    assert api["total"] == 22 == sum(p[2] for p in points(api))
    assert points(api)[1] == ("2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z", 15)
    requests = metrics["requests"]
    assert requests["aggregation"] == "count"
    assert [p[2] for p in points(requests)] == [0, 1, 0, 0, 2] + [0] * 7
    assert requests["total"] == 3
    peak = metrics["peak_conns"]
    assert (peak["aggregation"], peak["unit"]) == ("max", "connections")
    assert [p[2] for p in points(peak)][:10] == [0, 4, 0, 0, 0, 0, 0, 0, 0, 9]
    assert peak["total"] == 9
    users = metrics["active_users"]
    assert (users["aggregation"], users["display_name"]) == ("unique_count", "Active users")
    assert [p[2] for p in points(users)] == [0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0]
    assert users["total"] == 4  # a, b, 42 and "42" over the window
    storage = metrics["storage_gb"]
    assert (storage["aggregation"], storage["unit"]) == ("weighted_sum", "GB")
    assert [p[2] for p in points(storage)] == [100] * 10 + [400] * 2  # the average held each day
    assert storage["total"] == 150  # (100 x 10 + 400 x 2) / 12


def test_hourly_series_is_clipped_to_the_window(client: TestClient, metered: int) -> None:
    body = series(
        client,
        metered,
        start_date="2024-01-02T10:30:00Z",
        end_date="2024-01-02T12:00:00Z",
        granularity="hour",
        metric_name="api_calls",
    )
    (api,) = body["metrics"]
    assert points(api) == [
        ("2024-01-02T10:30:00Z", "2024-01-02T11:00:00Z", 5),
        ("2024-01-02T11:00:00Z", "2024-01-02T12:00:00Z", 0),
    ]
    assert api["total"] == 5


def test_monthly_series(client: TestClient, metered: int) -> None:
    body = series(client, metered, start_date="2023-12-15", end_date="2024-02-10", granularity="month")
    metrics = by_name(body)
    assert points(metrics["api_calls"]) == [
        ("2023-12-15T00:00:00Z", "2024-01-01T00:00:00Z", 0),
        ("2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z", 25),
        ("2024-02-01T00:00:00Z", "2024-02-10T00:00:00Z", 0),
    ]
    assert metrics["api_calls"]["total"] == 25
    assert [p[2] for p in points(metrics["storage_gb"])] == [0, STORAGE_JANUARY, 400]
    assert [p[2] for p in points(metrics["active_users"])] == [0, 4, 0]
    assert [p[2] for p in points(metrics["peak_conns"])] == [0, 9, 0]


def test_metrics_shown(client: TestClient, metered: int) -> None:
    # Before the subscription: no priced metric, no usage: nothing.
    assert series(client, metered, start_date="2023-11-01", end_date="2023-12-01")["metrics"] == []
    # A gauge still holding its last value is shown even without events in the window... (here it is also priced)
    feb = by_name(series(client, metered, start_date="2024-02-01", end_date="2024-02-03"))
    assert feb["storage_gb"]["total"] == 400
    assert feb["api_calls"]["total"] == 0
    # ... and only the asked metric with metric_name, even without usage.
    body = series(client, metered, start_date="2024-02-01", end_date="2024-02-03", metric_name="peak_conns")
    assert [m["metric_name"] for m in body["metrics"]] == ["peak_conns"]
    assert [p["value"] for p in body["metrics"][0]["points"]] == [0, 0]


def test_unpriced_metric_with_usage_is_shown(client: TestClient, metered: int) -> None:
    other = client.post("/customers/", json={"name": "Other", "email": "other@example.com"}).json()["id"]
    event = {"customer_id": other, "metric_name": "api_calls", "quantity": "2.5", "event_time": "2024-01-05T01:02:03Z"}
    assert client.post("/events/", json=event).status_code == 201
    body = series(client, other, start_date="2024-01-05T01:00:00Z", end_date="2024-01-05T03:00:00Z", granularity="hour")
    (api,) = body["metrics"]
    assert [p[2] for p in points(api)] == [Decimal("2.5"), 0]
    assert '"total":2.5' in client.get(
        f"/customers/{other}/usage", params={"start_date": "2024-01-05", "end_date": "2024-01-06"}
    ).text.replace(" ", "")
    # Events outside the window (same day) do not make a metric show up.
    assert series(client, other, start_date="2024-01-05T02:00:00Z", end_date="2024-01-05T03:00:00Z")["metrics"] == []


def test_validation(client: TestClient, metered: int) -> None:
    url = f"/customers/{metered}/usage"
    window = {"start_date": "2024-01-01", "end_date": "2024-02-01"}
    cases: list[dict[str, Any]] = [
        {"start_date": "2024-01-01", "end_date": "2024-01-01"},
        {"start_date": "2024-02-01", "end_date": "2024-01-01"},
        {**window, "granularity": "week"},
        {"end_date": "2024-02-01"},
        {"start_date": "2024-01-01"},
        {"start_date": "yesterday", "end_date": "2024-02-01"},
        {"start_date": "2020-01-01", "end_date": "2024-01-01", "granularity": "hour"},
    ]
    for params in cases:
        response = client.get(url, params=params)
        assert response.status_code == 422, (params, response.text)
        assert "detail" in response.json()
    too_many = client.get(url, params=cases[-1])
    assert "coarser granularity" in too_many.text
    # 10,000 hours is the limit (fine), with one metric.
    ok = client.get(
        url,
        params={
            "start_date": "2024-01-01",
            "end_date": "2025-02-20T16:00:00",
            "granularity": "hour",
            "metric_name": "api_calls",
        },
    )
    assert ok.status_code == 200, ok.text
    assert len(ok.json()["metrics"][0]["points"]) == 10_000


def test_unknown_customer_or_metric_is_404(client: TestClient, metered: int) -> None:
    window = {"start_date": "2024-01-01", "end_date": "2024-02-01"}
    assert client.get(f"/customers/{metered + 100}/usage", params=window).status_code == 404
    response = client.get(f"/customers/{metered}/usage", params={**window, "metric_name": "nope"})
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]


def test_read_scope_is_enough(client: TestClient, metered: int, make_key: Any, anon_client: TestClient) -> None:
    window = {"start_date": "2024-01-01", "end_date": "2024-02-01"}
    assert anon_client.get(f"/customers/{metered}/usage", params=window).status_code == 401
    headers = {"Authorization": f"Bearer {make_key('read')}"}
    assert anon_client.get(f"/customers/{metered}/usage", params=window, headers=headers).status_code == 200
    headers = {"Authorization": f"Bearer {make_key('ingest')}"}
    assert anon_client.get(f"/customers/{metered}/usage", params=window, headers=headers).status_code == 403
