"""Fixtures of the dashboard's HTTP tests: data made through the JSON API, and browsers (cookie-keeping clients) signed
in through the sign-in form."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

# (hour of 2024-01-15, quantity): the usage the charts draw, in different amounts per hour.
USAGE = [(2, "3"), (5, "10"), (9, "6")]


@dataclass(frozen=True)
class Seeded:
    customer_id: int
    plan_id: int
    subscription_id: int
    invoice_id: int  # a draft with one line of 10.00 USD


@pytest.fixture
def seeded(client: TestClient) -> Seeded:
    """A customer on a plan pricing the metric ``api_calls``, its usage on 2024-01-15, and a draft invoice."""
    metric = client.post("/metrics/", json={"name": "api_calls", "aggregation": "sum", "unit": "calls"})
    assert metric.status_code == 201, metric.text
    tiers = {"tiers": [{"start": 0, "end": None, "price": "0.5"}]}
    plan = client.post(
        "/plans/",
        json={
            "name": "Pro",
            "billing_frequency": "monthly",
            "price_components": [{"metric_name": "api_calls", "pricing_type": "tiered", "pricing_details": tiers}],
        },
    )
    assert plan.status_code == 201, plan.text
    customer = client.post("/customers/", json={"name": "Acme <Corp>", "email": "acme@example.com"})
    assert customer.status_code == 201, customer.text
    customer_id = customer.json()["id"]
    sub = client.post(
        f"/customers/{customer_id}/subscriptions",
        json={"plan_id": plan.json()["id"], "start_date": "2024-01-01T00:00:00Z"},
    )
    assert sub.status_code == 200, sub.text
    events = [
        {
            "customer_id": customer_id,
            "metric_name": "api_calls",
            "quantity": quantity,
            "event_time": f"2024-01-15T{hour:02d}:10:00Z",
            "event_id": f"e{hour}",
        }
        for hour, quantity in USAGE
    ]
    assert client.post("/events/batch", json={"events": events}).status_code == 200
    invoice = client.post(
        "/invoices/", json={"customer_id": customer_id, "items": [{"description": "Setup", "amount": "10.00"}]}
    )
    assert invoice.status_code == 201, invoice.text
    return Seeded(customer_id, plan.json()["id"], sub.json()["id"], invoice.json()["id"])


def sign_in(browser: TestClient, key: str) -> TestClient:
    response = browser.post("/ui/login", data={"api_key": key}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return browser


def new_browser(app: FastAPI, base_url: str = "http://testserver") -> TestClient:
    """A client as a browser is: no Authorization header, cookies kept, redirects not followed (to see them)."""
    return TestClient(app, base_url=base_url, raise_server_exceptions=False, follow_redirects=False)


@pytest.fixture
def browser_for(app: FastAPI) -> Callable[[str], TestClient]:
    """``browser_for(key)``: a browser signed in to the dashboard with ``key`` through the sign-in form."""
    return lambda key: sign_in(new_browser(app), key)


@pytest.fixture
def admin_browser(browser_for: Callable[[str], TestClient], admin_key: str) -> TestClient:
    return browser_for(admin_key)
