"""Every place usage is computed follows the metric's aggregation: the events usage route, invoices, and rollups
after a metric's definition changes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from fubble.clock import FrozenClock

from .conftest import exact
from .test_usage_series import STORAGE_JANUARY


def test_events_usage_route_uses_each_aggregation(client: TestClient, metered: int) -> None:
    response = client.get(
        f"/events/customers/{metered}/usage", params={"start_date": "2024-01-01", "end_date": "2024-02-01"}
    )
    assert response.status_code == 200, response.text
    assert exact(response) == {
        "active_users": 4,
        "api_calls": 25,
        "peak_conns": 9,
        "requests": 3,
        "storage_gb": STORAGE_JANUARY,
    }
    # A window holding only a filtered-out event: the metric is not listed.
    response = client.get(
        f"/events/customers/{metered}/usage",
        params={"start_date": "2024-01-02T11:00:00", "end_date": "2024-01-02T11:30:00"},
    )
    assert exact(response) == {}
    # Open bounds: everything (the gauge's average over the span of its reports).
    body = exact(client.get(f"/events/customers/{metered}/usage"))
    assert {k: v for k, v in body.items() if k != "storage_gb"} == {
        "active_users": 4,
        "api_calls": 25,
        "peak_conns": 9,
        "requests": 3,
    }
    assert Decimal(100) < body["storage_gb"] < Decimal("100.000001")


def test_invoice_bills_the_aggregated_usage(client: TestClient, clock: FrozenClock, metered: int) -> None:
    clock.set(clock.now().replace(month=2, day=2))
    response = client.post(
        "/invoices/generate", json={"start_date": "2024-01-01", "end_date": "2024-02-01", "customer_id": metered}
    )
    assert response.status_code == 200, response.text
    (invoice,) = exact(response)
    billed = {item["metric_name"]: (item["quantity"], item["amount"]) for item in invoice["invoice_items"]}
    assert billed == {
        "api_calls": (25, 25),
        "requests": (3, 3),
        "peak_conns": (9, 18),
        "active_users": (4, 12),
        "storage_gb": (STORAGE_JANUARY, Decimal("151.61")),  # 303.225806451613 GB-months x 0.5
        "base_fee": (1, 10),
    }


def test_half_month_of_a_gauge_bills_its_share_of_the_period(
    client: TestClient, clock: FrozenClock, metered: int
) -> None:
    clock.set(clock.now().replace(month=2, day=2))
    response = client.post(
        "/invoices/generate", json={"start_date": "2024-01-01", "end_date": "2024-01-11", "customer_id": metered}
    )
    assert response.status_code == 200, response.text
    (invoice,) = exact(response)
    (storage,) = [i for i in invoice["invoice_items"] if i["metric_name"] == "storage_gb"]
    assert storage["quantity"] == Decimal("32.258064516129")  # 100 GB x 10 days / 31 days
    response = client.post(
        "/invoices/generate", json={"start_date": "2024-01-11", "end_date": "2024-02-01", "customer_id": metered}
    )
    (invoice,) = exact(response)
    (storage,) = [i for i in invoice["invoice_items"] if i["metric_name"] == "storage_gb"]
    assert storage["quantity"] == Decimal("270.967741935484")  # 400 GB x 21 days / 31 days


def test_changing_a_metric_rebuilds_its_rollups(client: TestClient, metered: int) -> None:
    def usage() -> Any:
        response = client.get(
            f"/customers/{metered}/usage",
            params={"start_date": "2024-01-02", "end_date": "2024-01-06", "metric_name": "requests"},
        )
        assert response.status_code == 200, response.text
        return exact(response)["metrics"][0]

    assert usage()["total"] == 3
    response = client.put("/metrics/requests", json={"filters": [{"property": "method", "eq": "POST"}]})
    assert response.status_code == 200, response.text
    assert usage()["total"] == 1
    response = client.put("/metrics/requests", json={"aggregation": "sum", "filters": []})
    assert response.status_code == 200, response.text
    body = usage()
    assert (body["aggregation"], body["total"]) == ("sum", 4)
    assert [p["value"] for p in body["points"]] == [2, 0, 0, 2]
