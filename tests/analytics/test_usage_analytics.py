"""GET /analytics/usage: a metric's usage over time across customers (from the rollups) and its top customers."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fubble.db.session import Database
from fubble.usage import definitions, reader
from tests.billing.billing_driver import Billing, exact

JAN1_JAN3 = {"start_date": "2024-01-01T00:00:00", "end_date": "2024-01-03T00:00:00"}


def define(client: TestClient, name: str, aggregation: str, **extra: Any) -> None:
    response = client.post("/metrics/", json={"name": name, "aggregation": aggregation, **extra})
    assert response.status_code == 201, response.text


def event(client: TestClient, customer: int, metric: str, quantity: Any, at: str, **properties: Any) -> None:
    body = {"customer_id": customer, "metric_name": metric, "quantity": quantity, "event_time": at}
    if properties:
        body["properties"] = properties
    response = client.post("/events/", json=body)
    assert response.status_code in (200, 201), response.text


def analytics(client: TestClient, metric: str, **params: Any) -> dict[str, Any]:
    response = client.get("/analytics/usage", params={"metric_name": metric, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = exact(response)
    return body


def points(body: dict[str, Any]) -> list[tuple[str, str, Decimal]]:
    return [(p["start"], p["end"], Decimal(p["usage"])) for p in body["series"]]


def usages(body: dict[str, Any]) -> list[Decimal]:
    return [Decimal(p["usage"]) for p in body["series"]]


def top(body: dict[str, Any]) -> list[tuple[int, Decimal]]:
    return [(t["customer_id"], Decimal(t["usage"])) for t in body["top_customers"]]


@pytest.fixture
def people(billing: Billing) -> tuple[int, int, int]:
    return billing.customer(), billing.customer(), billing.customer()


def test_sum_by_day_and_month_with_top_customers(client: TestClient, people: tuple[int, int, int]) -> None:
    a, b, c = people
    define(client, "api_calls", "sum")
    event(client, a, "api_calls", 5, "2024-01-01T01:00:00")
    event(client, a, "api_calls", "7", "2024-01-02T12:00:00")
    event(client, b, "api_calls", 3, "2024-01-01T23:59:59")
    event(client, b, "api_calls", "2.5", "2024-01-02T00:00:00")
    event(client, c, "api_calls", 100, "2024-01-03T00:00:00")  # outside the window
    body = analytics(client, "api_calls", **JAN1_JAN3)
    assert (body["metric_name"], body["aggregation"], body["granularity"]) == ("api_calls", "sum", "day")
    assert (body["start_date"], body["end_date"]) == ("2024-01-01T00:00:00Z", "2024-01-03T00:00:00Z")
    assert points(body) == [
        ("2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z", Decimal(8)),
        ("2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z", Decimal("9.5")),
    ]
    assert top(body) == [(a, Decimal(12)), (b, Decimal("5.5"))]
    assert body["top_customers"][0]["customer_name"] == "Customer 1"
    assert top(analytics(client, "api_calls", top=1, **JAN1_JAN3)) == [(a, Decimal(12))]
    assert analytics(client, "api_calls", top=0, **JAN1_JAN3)["top_customers"] == []

    monthly = analytics(
        client, "api_calls", granularity="month", start_date="2024-01-01T00:00:00", end_date="2024-03-01T00:00:00"
    )
    assert points(monthly) == [
        ("2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z", Decimal("117.5")),
        ("2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z", Decimal(0)),
    ]
    assert top(monthly) == [(c, Decimal(100)), (a, Decimal(12)), (b, Decimal("5.5"))]


def test_partial_days_are_read_in_whole_hours(client: TestClient, people: tuple[int, int, int]) -> None:
    a, b, _ = people
    define(client, "api_calls", "sum")
    for quantity, at in (
        (1, "2024-01-01T09:59:59"),  # before the hour the window starts in
        (10, "2024-01-01T10:15:00"),  # before 10:30 but in the 10:00 hour: counted
        (100, "2024-01-02T05:30:00"),  # after 05:10 but in the 05:00 hour: counted
        (1000, "2024-01-02T06:00:00"),
        (10000, "2024-01-03T23:00:00"),
        (100000, "2024-01-04T06:00:00"),  # the rounded end: not counted
    ):
        event(client, a, "api_calls", quantity, at)
    event(client, b, "api_calls", "0.001", "2024-01-04T05:59:59.999999")
    body = analytics(client, "api_calls", start_date="2024-01-01T10:30:00", end_date="2024-01-04T05:10:00")
    assert (body["start_date"], body["end_date"]) == ("2024-01-01T10:00:00Z", "2024-01-04T06:00:00Z")
    assert points(body) == [
        ("2024-01-01T10:00:00Z", "2024-01-02T00:00:00Z", Decimal(10)),
        ("2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z", Decimal(1100)),
        ("2024-01-03T00:00:00Z", "2024-01-04T00:00:00Z", Decimal(10000)),
        ("2024-01-04T00:00:00Z", "2024-01-04T06:00:00Z", Decimal("0.001")),
    ]
    month = analytics(
        client, "api_calls", granularity="month", start_date="2024-01-01T10:30:00+00:00", end_date="2024-01-04T05:10:00"
    )
    assert points(month) == [("2024-01-01T10:00:00Z", "2024-01-04T06:00:00Z", Decimal("11110.001"))]
    assert top(month) == [(a, Decimal(11110)), (b, Decimal("0.001"))]
    inside_one_day = analytics(client, "api_calls", start_date="2024-01-02T05:00:00", end_date="2024-01-02T07:00:00")
    assert usages(inside_one_day) == [Decimal(1100)]


def test_count_with_filters_and_max(client: TestClient, people: tuple[int, int, int]) -> None:
    a, b, _ = people
    define(client, "requests", "count", filters=[{"property": "method", "in": ["GET", "HEAD"]}])
    for method in ("GET", "POST", "HEAD"):
        event(client, a, "requests", 1, "2024-01-01T08:00:00", method=method)
    event(client, b, "requests", 1, "2024-01-02T08:00:00", method="GET")
    counts = analytics(client, "requests", **JAN1_JAN3)
    assert usages(counts) == [2, 1] and top(counts) == [(a, 2), (b, 1)]

    define(client, "connections", "max")
    event(client, a, "connections", 5, "2024-01-01T01:00:00")
    event(client, a, "connections", 9, "2024-01-01T02:00:00")
    event(client, a, "connections", "4.5", "2024-01-02T02:00:00")
    event(client, b, "connections", 7, "2024-01-01T03:00:00")
    peaks = analytics(client, "connections", **JAN1_JAN3)
    assert usages(peaks) == [16, Decimal("4.5")]  # per day: the sum of each customer's peak
    assert top(peaks) == [(a, 9), (b, 7)]
    assert usages(analytics(client, "connections", granularity="month", **JAN1_JAN3)) == [16]


def test_unique_count(client: TestClient, people: tuple[int, int, int]) -> None:
    a, b, _ = people
    define(client, "active_users", "unique_count", property="user")
    event(client, a, "active_users", 1, "2024-01-01T01:00:00", user="u1")
    event(client, a, "active_users", 1, "2024-01-01T05:00:00", user="u2")
    event(client, a, "active_users", 1, "2024-01-01T09:00:00", user="u1")
    event(client, a, "active_users", 1, "2024-01-02T09:00:00", user="u1")
    event(client, b, "active_users", 1, "2024-01-01T09:00:00", user="u1")
    body = analytics(client, "active_users", **JAN1_JAN3)
    assert usages(body) == [3, 1]
    assert top(body) == [(a, 2), (b, 1)]  # distinct over the whole window, not the sum of days
    assert usages(analytics(client, "active_users", granularity="month", **JAN1_JAN3)) == [3]


def test_latest_and_weighted_sum(client: TestClient, people: tuple[int, int, int]) -> None:
    a, b, _ = people
    define(client, "version", "latest")
    event(client, a, "version", 3, "2024-01-01T05:00:00")
    event(client, a, "version", 4, "2024-01-01T06:00:00")
    event(client, b, "version", 2, "2024-01-02T00:00:00")
    latest = analytics(client, "version", **JAN1_JAN3)
    assert usages(latest) == [4, 2]  # a reported nothing on Jan 2
    assert top(latest) == [(a, 4), (b, 2)]

    define(client, "storage_gb", "weighted_sum")
    event(client, a, "storage_gb", 10, "2024-01-01T00:00:00")
    event(client, a, "storage_gb", 20, "2024-01-01T12:00:00")
    event(client, b, "storage_gb", 6, "2023-12-31T12:00:00")  # held through the window
    storage = analytics(client, "storage_gb", **JAN1_JAN3)
    assert usages(storage) == [21, 26]  # a: average 15 then 20; b: 6 and 6
    assert top(storage) == [(a, Decimal("17.5")), (b, 6)]  # (10 x 12h + 20 x 36h) / 48h
    edges = analytics(client, "storage_gb", start_date="2024-01-01T06:00:00", end_date="2024-01-02T06:00:00")
    assert usages(edges) == [Decimal("22.666666666667"), 26]  # (10 x 6h + 20 x 12h) / 18h + 6; 20 + 6


def test_unknown_metric_is_404_and_bad_queries_are_422(client: TestClient) -> None:
    response = client.get("/analytics/usage", params={"metric_name": "nope", **JAN1_JAN3})
    assert response.status_code == 404 and "nope" in response.json()["detail"]
    define(client, "api_calls", "sum")
    for params in (
        {"start_date": "2024-01-01T00:00:00", "end_date": "2024-01-02T00:00:00"},
        {"metric_name": "api_calls", "end_date": "2024-01-02T00:00:00"},
        {"metric_name": "api_calls", "start_date": "2024-01-02T00:00:00", "end_date": "2024-01-02T00:00:00"},
        {"metric_name": "api_calls", "start_date": "2024-01-03T00:00:00", "end_date": "2024-01-02T00:00:00"},
        {"metric_name": "api_calls", "granularity": "hour", **JAN1_JAN3},
        {"metric_name": "api_calls", "top": 101, **JAN1_JAN3},
        {"metric_name": "api_calls", "top": -1, **JAN1_JAN3},
        {"metric_name": "api_calls", "start_date": "2000-01-01T00:00:00", "end_date": "2024-01-02T00:00:00"},
        {"metric_name": "", **JAN1_JAN3},
        {"metric_name": "x\x00y", **JAN1_JAN3},
        {"metric_name": "x" * 256, **JAN1_JAN3},
    ):
        response = client.get("/analytics/usage", params=params)
        assert response.status_code == 422, (params, response.text)
    body = analytics(client, "api_calls", **JAN1_JAN3)
    assert usages(body) == [0, 0] and body["top_customers"] == []
    long = analytics(client, "api_calls", granularity="month", start_date="2000-01-01", end_date="2024-01-01")
    assert len(long["series"]) == 288


def test_analytics_need_the_read_scope(anon_client: TestClient, make_key: Any) -> None:
    for path in ("/analytics/revenue", "/analytics/usage?metric_name=x&start_date=2024-01-01&end_date=2024-01-02"):
        assert anon_client.get(path).status_code == 401
        ingest = {"Authorization": f"Bearer {make_key('ingest')}"}
        assert anon_client.get(path, headers=ingest).status_code == 403
    read = {"Authorization": f"Bearer {make_key('read')}"}
    assert anon_client.get("/analytics/revenue", headers=read).status_code == 200


AGGREGATIONS = {
    "m_sum": {"aggregation": "sum", "filters": [{"property": "method", "eq": "GET"}]},
    "m_count": {"aggregation": "count"},
    "m_max": {"aggregation": "max"},
    "m_unique": {"aggregation": "unique_count", "property": "user"},
    "m_latest": {"aggregation": "latest"},
    "m_weighted": {"aggregation": "weighted_sum"},
}


@pytest.mark.parametrize("granularity", ["day", "month"])
def test_every_point_is_the_sum_of_the_customers_own_usage(
    client: TestClient, billing: Billing, db: Database, granularity: str
) -> None:
    """Cross-check against the per-customer reader (which reads raw events at the edges): with whole-hour windows
    both must agree exactly, for every aggregation."""
    rng = random.Random(20240101)
    customers = [billing.customer() for _ in range(3)]
    for name, spec in AGGREGATIONS.items():
        define(client, name, **spec)
    origin = datetime(2023, 12, 30, tzinfo=UTC)
    for name in AGGREGATIONS:
        batch = [
            {
                "customer_id": rng.choice(customers),
                "metric_name": name,
                "quantity": str(Decimal(rng.randint(1, 10_000)) / 100),
                "event_time": (origin + timedelta(minutes=rng.randint(0, 8 * 24 * 60))).isoformat(),
                "properties": {"method": rng.choice(["GET", "POST"]), "user": rng.choice("abcdefg")},
            }
            for _ in range(60)
        ]
        response = client.post("/events/batch", json={"events": batch})
        assert response.status_code in (200, 201), response.text
    start, end = datetime(2024, 1, 1, 7, tzinfo=UTC), datetime(2024, 1, 4, 15, tzinfo=UTC)
    with db.transaction() as session:
        found = definitions.resolve(session, AGGREGATIONS)
        for name, definition in found.items():
            body = analytics(
                client, name, start_date=start.isoformat(), end_date=end.isoformat(), granularity=granularity, top=100
            )
            own = {c: reader.series(session, c, definition, start, end, granularity) for c in customers}
            expected = [sum((own[c][i][2] for c in customers), Decimal(0)) for i in range(len(body["series"]))]
            assert usages(body) == expected, name
            assert any(expected) and len(body["top_customers"]) >= 2, name
            assert [(p[0], p[1]) for p in own[customers[0]]] == [
                (datetime.fromisoformat(p["start"]), datetime.fromisoformat(p["end"])) for p in body["series"]
            ]
            whole = {c: reader.usage(session, c, definition, start, end) for c in customers}
            ranked = sorted(((-u, c) for c, u in whole.items() if u), key=lambda pair: pair)
            assert top(body) == [(c, -u) for u, c in ranked], name
