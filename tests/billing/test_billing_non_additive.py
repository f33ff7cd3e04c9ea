"""A period billed in parts: non-additive metrics (max, latest, unique_count) price the period's usage as a whole."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .billing_driver import Billing, amounts, exact, lines

TIERS = {
    "tiers": [
        {"start": 0, "end": 10, "price": "1.00"},
        {"start": 10, "end": None, "price": "0.50"},
    ]
}
# (metric body, events as (quantity, properties, time)): the first half of January and the second half.
FIRST_HALF = "2024-01-05T10:00:00"
SECOND_HALF = "2024-01-20T10:00:00"


def _scenario(client: TestClient, billing: Billing, metric: dict[str, Any]) -> tuple[int, int]:
    response = client.post("/metrics/", json=metric)
    assert response.status_code == 201, response.text
    plan = billing.plan([{"metric_name": metric["name"], "pricing_type": "tiered", "pricing_details": TIERS}])
    customers = []
    for _ in range(2):
        customer = billing.customer()
        billing.subscribe(customer, plan, "2024-01-01T00:00:00")
        customers.append(customer)
    return customers[0], customers[1]


def _events(client: TestClient, customer: int, name: str, events: list[tuple[int, dict[str, Any], str]]) -> None:
    for quantity, properties, at in events:
        body = {"customer_id": customer, "metric_name": name, "quantity": quantity, "event_time": at}
        body["properties"] = properties
        response = client.post("/events/", json=body)
        assert response.status_code in (200, 201), response.text


CASES = {
    "max": (
        {"name": "peak_users", "aggregation": "max"},
        [(12, {}, FIRST_HALF), (4, {}, FIRST_HALF), (20, {}, SECOND_HALF), (7, {}, SECOND_HALF)],
        Decimal(20),
    ),
    "unique_count": (
        {"name": "active_users", "aggregation": "unique_count", "property": "user"},
        [(1, {"user": f"u{i}"}, FIRST_HALF) for i in range(8)]
        + [(1, {"user": f"u{i}"}, SECOND_HALF) for i in range(4, 16)],
        Decimal(16),
    ),
    "latest_falls": (
        {"name": "seats", "aggregation": "latest"},
        [(14, {}, FIRST_HALF), (6, {}, SECOND_HALF)],
        Decimal(6),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_period_billed_in_two_parts_costs_what_one_invoice_costs(
    client: TestClient, billing: Billing, case: str
) -> None:
    metric, events, period_usage = CASES[case]
    name = metric["name"]
    whole, parts = _scenario(client, billing, metric)
    _events(client, whole, name, events)
    _events(client, parts, name, events)

    [one] = billing.generate("2024-01-01T00:00:00", "2024-02-01T00:00:00", whole)
    [first] = billing.generate("2024-01-01T00:00:00", "2024-01-16T00:00:00", parts)
    [second] = billing.generate("2024-01-16T00:00:00", "2024-02-01T00:00:00", parts)

    assert [item["quantity"] for item in lines(one, name)] == [period_usage]
    # Each line's quantity is what the period's usage grew (or fell) by: together they are the period's usage.
    quantities = [Decimal(str(item["quantity"])) for item in (*lines(first, name), *lines(second, name))]
    assert sum(quantities) == period_usage
    assert sum(amounts(first, name) + amounts(second, name)) == sum(amounts(one, name))
    # A part whose lines fall below zero totals 0 and carries the difference as credit.
    net = [inv["amount"] - inv["credit_carried"] for inv in (first, second, one)]
    assert net[0] + net[1] == net[2]


def test_prior_parts_use_only_the_periods_billed_time(client: TestClient, billing: Billing) -> None:
    """A voided first part is not prior usage: the second part then prices its own usage only."""
    metric, events, _ = CASES["max"]
    _, customer = _scenario(client, billing, metric)
    _events(client, customer, "peak_users", events)
    [first] = billing.generate("2024-01-01T00:00:00", "2024-01-16T00:00:00", customer)
    billing.void(first["id"])
    [second] = billing.generate("2024-01-16T00:00:00", "2024-02-01T00:00:00", customer)
    assert [item["quantity"] for item in lines(second, "peak_users")] == [20]
    assert amounts(second, "peak_users") == [Decimal("15.00")]  # 10 x 1.00 + 10 x 0.50


def test_upcoming_invoice_continues_a_non_additive_period(client: TestClient, billing: Billing) -> None:
    """The preview after the first half was invoiced shows what the rest of the period adds to the peak."""
    metric, _, _ = CASES["max"]
    _, customer = _scenario(client, billing, metric)
    _events(client, customer, "peak_users", [(12, {}, "2024-01-03T00:00:00"), (15, {}, "2024-01-12T00:00:00")])
    billing.generate("2024-01-01T00:00:00", "2024-01-10T00:00:00", customer)  # billed the peak 12
    response = client.get(f"/customers/{customer}/upcoming-invoice")  # the clock is at 2024-01-15T12:00Z
    assert response.status_code == 200, response.text
    [item] = lines(exact(response), "peak_users")
    assert (item["quantity"], item["amount"]) == (3, Decimal("1.50"))  # 15 - 12 more, at the 0.50 tier
