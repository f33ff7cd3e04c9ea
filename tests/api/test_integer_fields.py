"""A JSON ``true`` or ``false`` is never an integer of a request body (pydantic's lax integers would read ``true`` as
1 and name object 1): ids and counts refuse it with a 422 at the field, and nothing is written. A whole number
written with a point (``1.0``) is an integer, as JSON Schema's ``integer`` says."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

ITEMS = [{"description": "Setup", "amount": "10.00"}]


def customer(client: TestClient) -> int:
    response = client.post("/customers/", json={"name": "Acme", "email": "ap@acme.example"})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def plan(client: TestClient) -> int:
    body = {
        "name": "Basic",
        "billing_frequency": "monthly",
        "price_components": [{"metric_name": "seats", "pricing_type": "flat", "pricing_details": {"amount": 10}}],
    }
    response = client.post("/plans/", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


@pytest.mark.parametrize("flag", [True, False])
def test_a_boolean_is_not_an_id_or_a_count(client: TestClient, flag: bool) -> None:
    customer_id, plan_id = customer(client), plan(client)
    refused: list[tuple[str, dict[str, Any], list[str]]] = [
        ("/invoices/", {"customer_id": flag, "items": ITEMS}, ["body", "customer_id"]),
        (f"/customers/{customer_id}/subscriptions", {"plan_id": flag}, ["body", "plan_id"]),
        (f"/customers/{customer_id}/subscriptions", {"plan_id": plan_id, "trial_days": flag}, ["body", "trial_days"]),
        (f"/plans/{plan_id}/preview", {"customer_id": flag}, ["body", "customer_id"]),
    ]
    for path, body, loc in refused:
        response = client.post(path, json=body)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["detail"][0]["loc"] == loc, (path, response.text)
        assert "not a boolean" in response.json()["detail"][0]["msg"]
    assert client.get("/invoices/").json() == []
    assert client.get(f"/customers/{customer_id}/subscriptions").json() == []


def test_a_whole_number_with_a_point_is_an_id(client: TestClient) -> None:
    customer_id = customer(client)
    body = f'{{"customer_id": {customer_id}.0, "items": [{{"description": "Setup", "amount": "10.00"}}]}}'
    made = client.post("/invoices/", content=body.encode(), headers={"content-type": "application/json"})
    assert made.status_code == 201, made.text
    assert made.json()["customer_id"] == customer_id
