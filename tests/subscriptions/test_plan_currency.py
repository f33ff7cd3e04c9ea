"""A customer subscribes only to plans without a currency or in its own: a new subscription, a plan change and a
migration to a plan's latest version all refuse another currency (409), leaving everything as it was."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.subscriptions.helpers import customer, plan, subscribe

MISMATCH = (
    "plan {plan} is priced in {plan_currency} and customer {customer} is billed in {customer_currency}; a customer "
    "subscribes only to plans in its own currency (or without one)"
)


def refused(response: Any, plan_id: int, plan_currency: str, customer_id: int, customer_currency: str) -> None:
    assert response.status_code == 409, response.text
    assert response.json()["detail"] == MISMATCH.format(
        plan=plan_id, plan_currency=plan_currency, customer=customer_id, customer_currency=customer_currency
    )


def test_subscribe_only_to_a_plan_in_the_customers_currency_or_none(client: TestClient) -> None:
    euro, yen, any_currency = plan(client, currency="EUR"), plan(client, currency="JPY"), plan(client)
    cid = customer(client, currency="EUR")
    refused(client.post(f"/customers/{cid}/subscriptions", json={"plan_id": yen}), yen, "JPY", cid, "EUR")
    assert client.get(f"/customers/{cid}/subscriptions").json() == []
    assert subscribe(client, cid, plan_id=euro)["plan_id"] == euro
    assert subscribe(client, customer(client, "b@x.example", currency="EUR"), plan_id=any_currency)
    usd = customer(client, "c@x.example")  # the default currency, USD
    refused(client.post(f"/customers/{usd}/subscriptions", json={"plan_id": euro}), euro, "EUR", usd, "USD")


def test_a_plan_change_refuses_another_currency(client: TestClient) -> None:
    cid = customer(client, currency="EUR")
    old = subscribe(client, cid, plan_id=plan(client, currency="EUR"), start_date="2024-01-01T00:00:00Z")
    yen = plan(client, currency="JPY", name="Yen")
    response = client.post(f"/customers/{cid}/subscriptions/{old['id']}/change", json={"plan_id": yen})
    refused(response, yen, "JPY", cid, "EUR")
    assert [s["id"] for s in client.get(f"/customers/{cid}/subscriptions").json()] == [old["id"]]
    assert client.get(f"/customers/{cid}/subscriptions/{old['id']}").json()["end_date"] is None
    other = plan(client, name="Any")
    moved = client.post(f"/customers/{cid}/subscriptions/{old['id']}/change", json={"plan_id": other})
    assert moved.status_code == 200, moved.text


def _to_version_2(client: TestClient, plan_id: int) -> None:
    components = client.get(f"/plans/{plan_id}").json()["price_components"]
    seats = next(c for c in components if c["metric_name"] == "seats")
    response = client.put(f"/plans/{plan_id}/components/{seats['id']}", json={"pricing_details": {"amount": 12}})
    assert response.status_code == 200, response.text


def test_a_migration_refuses_a_customer_in_another_currency(client: TestClient) -> None:
    euro = plan(client, currency="EUR")
    running = customer(client, currency="EUR")
    later = customer(client, "later@x.example", currency="EUR")
    first = subscribe(client, running, plan_id=euro, start_date="2024-01-01T00:00:00Z")
    scheduled = subscribe(client, later, plan_id=euro, start_date="2024-03-01T00:00:00Z")
    _to_version_2(client, euro)
    # Customers without invoices may change their currency; their subscriptions then cannot move.
    assert client.put(f"/customers/{later}", json={"currency": "USD"}).status_code == 200
    refused(client.post(f"/plans/{euro}/migrate", json={}), euro, "EUR", later, "USD")
    assert client.get(f"/customers/{later}/subscriptions/{scheduled['id']}").json()["plan_version"] == 1
    assert client.get(f"/customers/{running}/subscriptions/{first['id']}").json()["end_date"] is None  # all or none
    assert client.put(f"/customers/{later}", json={"currency": "EUR"}).status_code == 200
    assert client.put(f"/customers/{running}", json={"currency": "GBP"}).status_code == 200
    refused(client.post(f"/plans/{euro}/migrate", json={}), euro, "EUR", running, "GBP")
    assert client.put(f"/customers/{running}", json={"currency": "EUR"}).status_code == 200
    migrated = client.post(f"/plans/{euro}/migrate", json={})
    assert migrated.status_code == 200, migrated.text
    assert migrated.json()["migrated"] == 2
