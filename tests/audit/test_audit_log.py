"""The audit log: every change to customers, plans, subscriptions, invoices and keys, readable at GET /audit-log."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from fubble.api.json import loads
from fubble.db.session import Database

NOW = "2024-01-15T12:00:00Z"
CUSTOMER = {"name": "Acme Corp", "email": "billing@acmecorp.com"}
PLAN = {
    "name": "API Pro Plan",
    "billing_frequency": "monthly",
    "price_components": [
        {
            "metric_name": "api_calls",
            "pricing_type": "tiered",
            "pricing_details": {"tiers": [{"start": 0, "end": None, "price": "0.01"}]},
        },
        {"metric_name": "subscription_fee", "pricing_type": "subscription", "pricing_details": {"amount": "29.99"}},
    ],
}
ITEM = {"description": "Storage - Tier 2", "amount": "24.00", "quantity": 300, "unit_price": "0.08"}


def ok(response: Any, *statuses: int) -> Any:
    assert response.status_code in (statuses or (200, 201)), response.text
    return loads(response.content) if response.content else None  # exact: non-integers as Decimal


@pytest.fixture
def writer(app: FastAPI, make_key: Callable[..., str]) -> Iterator[TestClient]:
    """A client with a write key named "billing bot"."""
    key = make_key("write", "billing bot")
    with TestClient(app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {key}"}) as c:
        yield c


def entries(client: TestClient, **params: Any) -> list[Any]:
    """The log, without the entries for keys made by the test fixtures (they come from outside any request)."""
    rows: list[Any] = ok(client.get("/audit-log", params={"limit": 1000, **params}), 200)
    return [row for row in rows if row["request"] is not None]


def only(client: TestClient, entity_type: str, entity_id: int | str, action: str) -> Any:
    found = [e for e in entries(client, entity_type=entity_type, entity_id=str(entity_id)) if e["action"] == action]
    assert len(found) == 1, found
    return found[0]


def test_customer_create_and_update(client: TestClient, writer: TestClient) -> None:
    customer = ok(writer.post("/customers/", json=CUSTOMER), 201)
    ok(writer.put(f"/customers/{customer['id']}", json={"name": "Acme Inc", "phone": "+1 555"}), 200)
    created = only(client, "customer", customer["id"], "create")
    assert created["actor"] == "billing bot"
    assert created["at"] == NOW
    assert created["request"] == "POST /customers/"
    assert created["before"] is None
    assert created["after"]["name"] == "Acme Corp"
    assert created["after"]["email"] == "billing@acmecorp.com"
    assert created["after"]["id"] == customer["id"]
    updated = only(client, "customer", customer["id"], "update")
    assert updated["actor"] == "billing bot"
    assert updated["request"] == f"PUT /customers/{customer['id']}"
    assert updated["before"]["name"] == "Acme Corp" and updated["after"]["name"] == "Acme Inc"
    assert updated["before"]["phone"] is None and updated["after"]["phone"] == "+1 555"
    assert updated["before"]["email"] == updated["after"]["email"] == "billing@acmecorp.com"
    assert updated["id"] > created["id"]
    assert updated["api_key_id"] == created["api_key_id"] is not None


def test_plan_create_and_component_delete(client: TestClient, writer: TestClient) -> None:
    plan = ok(writer.post("/plans/", json=PLAN), 201)
    components = plan["price_components"]
    assert only(client, "plan", plan["id"], "create")["after"]["name"] == "API Pro Plan"
    for component in components:
        created = only(client, "price_component", component["id"], "create")
        assert created["after"]["plan_id"] == plan["id"]
        assert created["after"]["metric_name"] == component["metric_name"]
    ok(writer.delete(f"/plans/{plan['id']}/components/{components[0]['id']}"), 204)
    deleted = only(client, "price_component", components[0]["id"], "delete")
    assert deleted["actor"] == "billing bot"
    assert deleted["before"]["metric_name"] == "api_calls"
    assert deleted["before"]["pricing_details"] == {"tiers": [{"start": 0, "end": None, "price": Decimal("0.01")}]}
    assert deleted["after"] is None


def test_subscription_create_and_cancel(client: TestClient, writer: TestClient) -> None:
    plan = ok(writer.post("/plans/", json=PLAN), 201)
    customer = ok(writer.post("/customers/", json=CUSTOMER), 201)
    body = {"plan_id": plan["id"], "start_date": "2023-09-01T00:00:00Z"}
    subscription = ok(writer.post(f"/customers/{customer['id']}/subscriptions", json=body))
    ok(writer.put(f"/customers/{customer['id']}/subscriptions/{subscription['id']}/cancel"))
    created = only(client, "subscription", subscription["id"], "create")
    assert created["after"]["customer_id"] == customer["id"] and created["after"]["plan_id"] == plan["id"]
    canceled = only(client, "subscription", subscription["id"], "update")
    assert canceled["actor"] == "billing bot"
    assert canceled["before"]["canceled_at"] is None
    assert canceled["after"]["canceled_at"] == NOW


def test_invoice_create_items_and_status(client: TestClient, writer: TestClient) -> None:
    customer = ok(writer.post("/customers/", json=CUSTOMER), 201)
    invoice = ok(writer.post("/invoices/", json={"customer_id": customer["id"], "items": [ITEM]}), 201)
    added = ok(writer.post(f"/invoices/{invoice['id']}/items", json={**ITEM, "description": "extra"}), 201)
    new_item = added  # the created item
    ok(writer.delete(f"/invoices/{invoice['id']}/items/{new_item['id']}"), 200)
    ok(writer.put(f"/invoices/{invoice['id']}/status", params={"status": "pending"}), 200)

    created = only(client, "invoice", invoice["id"], "create")
    assert created["actor"] == "billing bot"
    assert created["after"]["invoice_number"] == invoice["invoice_number"]
    assert created["after"]["status"] == "draft"
    # The line created with the invoice is part of the invoice's entry, not an entry of its own.
    first_item = invoice["invoice_items"][0]
    assert [line["id"] for line in created["after"]["invoice_items"]] == [first_item["id"]]
    assert entries(client, entity_type="invoice_item", entity_id=str(first_item["id"])) == []
    extra = only(client, "invoice_item", new_item["id"], "create")
    assert extra["request"] == f"POST /invoices/{invoice['id']}/items"
    removed = only(client, "invoice_item", new_item["id"], "delete")
    assert removed["before"]["description"] == "extra" and removed["after"] is None
    updates = [
        e for e in entries(client, entity_type="invoice", entity_id=str(invoice["id"])) if e["action"] == "update"
    ]
    status_change = [e for e in updates if e["before"]["status"] != e["after"]["status"]]
    assert len(status_change) == 1
    assert status_change[0]["before"]["status"] == "draft"
    assert status_change[0]["after"]["status"] == "pending"
    assert status_change[0]["request"] == f"PUT /invoices/{invoice['id']}/status"
    # The totals' history is there too: 24.00 -> 48.00 -> 24.00 around the extra item.
    amounts = [
        (e["before"]["amount"], e["after"]["amount"]) for e in updates if e["before"]["amount"] != e["after"]["amount"]
    ]
    assert amounts[-2:] == [(Decimal("24.00"), Decimal("48.00")), (Decimal("48.00"), Decimal("24.00"))]


def test_key_create_and_revoke(client: TestClient) -> None:
    created_key = ok(client.post("/api-keys", json={"name": "reporting", "scope": "read"}), 201)
    ok(client.delete(f"/api-keys/{created_key['id']}"), 200)
    created = only(client, "api_key", created_key["id"], "create")
    assert created["actor"] == "test admin"
    assert created["after"]["name"] == "reporting" and created["after"]["scope"] == "read"
    revoked = only(client, "api_key", created_key["id"], "update")
    assert revoked["before"]["revoked_at"] is None and revoked["after"]["revoked_at"] == NOW
    log = client.get("/audit-log", params={"limit": 1000}).text
    assert "key_hash" not in log
    assert created_key["key"] not in log
    assert created_key["key"].split("_")[2] not in log


def test_key_hash_is_never_logged(client: TestClient, db: Database, admin_key: str) -> None:
    ok(client.post("/api-keys", json={"name": "x", "scope": "ingest"}), 201)
    with db.engine.connect() as conn:
        hashes = [row[0] for row in conn.execute(text("SELECT key_hash FROM api_keys"))]
        log = repr(conn.execute(text("SELECT * FROM audit_log")).all())
    assert len(hashes) == 2
    for key_hash in hashes:
        assert key_hash not in log
    assert "key_hash" not in log
    assert admin_key not in log


def test_last_used_is_not_an_audited_change(client: TestClient) -> None:
    ok(client.get("/customers/"), 200)
    assert entries(client) == []


def test_failed_requests_leave_no_entry(client: TestClient, writer: TestClient) -> None:
    customer = ok(writer.post("/customers/", json=CUSTOMER), 201)
    baseline = entries(client)
    assert writer.post("/customers/", json=CUSTOMER).status_code == 409  # duplicate email
    assert writer.post("/customers/", json={"name": "x"}).status_code == 422
    assert writer.put(f"/customers/{customer['id']}", json={"email": "bad"}).status_code == 422
    assert writer.put("/customers/999", json={"name": "x"}).status_code == 404
    assert writer.post("/invoices/", json={"customer_id": 999, "items": []}).status_code == 404
    invoice = ok(writer.post("/invoices/", json={"customer_id": customer["id"], "items": [ITEM]}), 201)
    baseline = entries(client)
    assert writer.put(f"/invoices/{invoice['id']}/status", params={"status": "paid"}).status_code == 409
    assert writer.put(f"/invoices/{invoice['id']}/finalize").status_code == 200
    after_finalize = entries(client)
    assert len(after_finalize) > len(baseline)
    # Adding an item to a pending invoice is a 409: nothing is written, not even the partial total change.
    assert writer.post(f"/invoices/{invoice['id']}/items", json=ITEM).status_code == 409
    assert writer.delete("/api-keys/1").status_code == 403
    assert entries(client) == after_finalize


def test_filters_and_pagination(client: TestClient, writer: TestClient) -> None:
    ids = [ok(writer.post("/customers/", json={**CUSTOMER, "email": f"c{i}@example.com"}), 201)["id"] for i in range(5)]
    ok(writer.post("/plans/", json=PLAN), 201)
    customers = entries(client, entity_type="customer")
    assert [e["entity_id"] for e in customers] == [str(i) for i in ids]
    assert {e["entity_type"] for e in customers} == {"customer"}
    assert [e["entity_id"] for e in entries(client, entity_type="customer", entity_id=str(ids[2]))] == [str(ids[2])]
    assert entries(client, entity_type="customer", entity_id="999") == []
    assert client.get("/audit-log", params={"entity_type": "nothing"}).status_code == 422  # the types are an enum
    assert len(entries(client, entity_type="price_component")) == 2
    everything = ok(client.get("/audit-log", params={"limit": 1000}), 200)
    assert [e["id"] for e in everything] == sorted(e["id"] for e in everything)
    pages = [ok(client.get("/audit-log", params={"limit": 3, "offset": offset}), 200) for offset in range(0, 12, 3)]
    assert [e for page in pages for e in page] == everything
    assert all(len(page) <= 3 for page in pages)
    assert (
        ok(client.get("/audit-log", params={"entity_type": "customer", "limit": 2, "offset": 1}), 200) == customers[1:3]
    )
    assert client.get("/audit-log", params={"limit": 0}).status_code == 422
    assert client.get("/audit-log", params={"limit": 1001}).status_code == 422
    assert client.get("/audit-log", params={"offset": -1}).status_code == 422


@pytest.mark.parametrize("scope", ["write", "read", "ingest"])
def test_only_admins_read_the_log(
    app: FastAPI, anon_client: TestClient, make_key: Callable[..., str], scope: str
) -> None:
    key = make_key(scope)
    assert anon_client.get("/audit-log", headers={"Authorization": f"Bearer {key}"}).status_code == 403
    assert anon_client.get("/audit-log").status_code == 401


def test_pricing_factor_changes_are_logged(client: TestClient, writer: TestClient) -> None:
    at = "2024-02-01T00:00:00Z"
    ok(writer.put("/pricing-factors/market_factor", json={"value": 0.2, "effective_from": at}), 200)
    ok(writer.put("/pricing-factors/market_factor", json={"value": 0.3, "effective_from": at}), 200)
    logged = entries(client, entity_type="pricing_factor")
    assert [e["action"] for e in logged] == ["create", "update"]
    assert logged[0]["before"] is None and Decimal(str(logged[0]["after"]["value"])) == Decimal("0.2")
    assert Decimal(str(logged[1]["before"]["value"])) == Decimal("0.2")
    assert Decimal(str(logged[1]["after"]["value"])) == Decimal("0.3")
    assert logged[1]["actor"] == logged[0]["actor"] != "system"


def test_webhook_endpoints_and_usage_alerts_are_logged_without_their_secret(client: TestClient) -> None:
    body = {"url": "https://hooks.example.com/fubble", "event_types": ["invoice.paid"]}
    created = ok(client.post("/webhook-endpoints", json=body), 201)
    ok(client.put(f"/webhook-endpoints/{created['id']}", json={"disabled": True}), 200)
    ok(client.delete(f"/webhook-endpoints/{created['id']}"), 204)
    made = only(client, "webhook_endpoint", created["id"], "create")
    assert made["actor"] == "test admin" and made["after"]["url"] == body["url"]
    assert "secret" not in made["after"]
    changes = [e for e in entries(client, entity_type="webhook_endpoint") if e["action"] == "update"]
    assert (changes[0]["before"]["disabled"], changes[0]["after"]["disabled"]) == (False, True)
    assert changes[-1]["after"]["deleted_at"] == NOW  # deleting retires the endpoint (its log stays)
    assert created["secret"] not in client.get("/audit-log", params={"limit": 1000}).text

    customer = ok(client.post("/customers/", json=CUSTOMER), 201)
    ok(client.post("/plans/", json=PLAN), 201)
    alert_body = {"metric_name": "api_calls", "threshold": "1000.5"}
    alert = ok(client.post(f"/customers/{customer['id']}/usage-alerts", json=alert_body), 201)
    logged = only(client, "usage_alert", alert["id"], "create")
    assert logged["after"]["threshold"] == Decimal("1000.5") and logged["after"]["customer_id"] == customer["id"]
