"""Idempotency-Key on POST/PUT/DELETE, through HTTP against the real app on both databases."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fubble.clock import FrozenClock

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
REPLAY = "idempotent-replay"


@dataclass
class World:
    customer_id: int
    invoice_id: int
    item_id: int


def ok(response: Any, status: int) -> Any:
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture
def world(client: TestClient) -> World:
    """A plan, a customer subscribed since September 2023 with usage in September, and a draft invoice with 2 items."""
    plan_id = ok(client.post("/plans/", json=PLAN), 201)["id"]
    customer_id = ok(client.post("/customers/", json=CUSTOMER), 201)["id"]
    subscription = {"plan_id": plan_id, "start_date": "2023-09-01T00:00:00Z", "end_date": None}
    assert client.post(f"/customers/{customer_id}/subscriptions", json=subscription).status_code in (200, 201)
    event = {
        "customer_id": customer_id,
        "metric_name": "api_calls",
        "quantity": 100,
        "event_time": "2023-09-10T00:00:00Z",
    }
    ok(client.post("/events/", json=event), 201)
    invoice = ok(client.post("/invoices/", json={"customer_id": customer_id, "items": [ITEM, ITEM]}), 201)
    return World(customer_id, invoice["id"], invoice["invoice_items"][0]["id"])


def state(client: TestClient, customer_id: int | None = None) -> Any:
    """Everything a write could change: customers, invoices with items, events, the audit log."""
    customers = ok(client.get("/customers/", params={"limit": 1000}), 200)
    snapshot: dict[str, Any] = {
        "customers": customers,
        "invoices": [ok(client.get(f"/invoices/{i['id']}"), 200) for i in ok(client.get("/invoices/"), 200)],
        "audit": ok(client.get("/audit-log", params={"limit": 1000}), 200),
    }
    for customer in customers:
        snapshot[f"events {customer['id']}"] = ok(
            client.get(f"/events/customers/{customer['id']}", params={"limit": 1000}), 200
        )
    return snapshot


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


# The writes the issue names, each as (method, path, request kwargs, expected status) given the world.
Operation = Callable[[World], tuple[str, str, dict[str, Any], int]]
OPERATIONS: dict[str, Operation] = {
    "create customer": lambda w: ("POST", "/customers/", {"json": {**CUSTOMER, "email": "new@example.com"}}, 201),
    "manual invoice": lambda w: (
        "POST",
        "/invoices/",
        {"json": {"customer_id": w.customer_id, "items": [ITEM], "notes": "manual"}},
        201,
    ),
    "add item": lambda w: ("POST", f"/invoices/{w.invoice_id}/items", {"json": ITEM}, 201),
    "status change": lambda w: ("PUT", f"/invoices/{w.invoice_id}/status", {"params": {"status": "pending"}}, 200),
    "finalize": lambda w: ("PUT", f"/invoices/{w.invoice_id}/finalize", {}, 200),
    "generate": lambda w: (
        "POST",
        "/invoices/generate",
        {"json": {"start_date": "2023-09-01T00:00:00Z", "end_date": "2023-10-01T00:00:00Z"}},
        200,
    ),
    "event batch": lambda w: (
        "POST",
        "/events/batch",
        {"json": {"events": [{"customer_id": w.customer_id, "metric_name": "api_calls", "quantity": 5}] * 3}},
        201,
    ),
    "delete item": lambda w: ("DELETE", f"/invoices/{w.invoice_id}/items/{w.item_id}", {}, 200),
}


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_retry_replays_the_first_response_and_changes_nothing(client: TestClient, world: World, name: str) -> None:
    method, path, kwargs, expected = OPERATIONS[name](world)
    before = state(client)
    first = client.request(method, path, headers=keyed(f"op-{name}"), **kwargs)
    assert first.status_code in (expected, 200, 201), first.text
    assert REPLAY not in first.headers
    after_first = state(client)
    assert after_first != before  # the first request did change something
    for _ in range(2):
        retry = client.request(method, path, headers=keyed(f"op-{name}"), **kwargs)
        assert retry.status_code == first.status_code
        assert retry.content == first.content
        assert retry.headers[REPLAY] == "true"
        assert retry.headers["content-type"] == first.headers["content-type"]
        assert state(client) == after_first


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_same_key_for_a_different_request_is_409(client: TestClient, world: World, name: str) -> None:
    method, path, kwargs, _expected = OPERATIONS[name](world)
    first = client.request(method, path, headers=keyed("reused"), **kwargs)
    assert first.status_code < 300, first.text
    snapshot = state(client)
    changed = {**kwargs, "json": {**kwargs.get("json", {}), "unexpected": 1}}
    conflict = client.request(method, path, headers=keyed("reused"), **changed)
    assert conflict.status_code == 409, conflict.text
    assert "Idempotency-Key" in conflict.json()["detail"]
    assert REPLAY not in conflict.headers
    elsewhere = client.post("/customers/", json={**CUSTOMER, "email": "other@example.com"}, headers=keyed("reused"))
    assert elsewhere.status_code == 409, elsewhere.text
    assert state(client) == snapshot


def test_different_query_is_a_different_request(client: TestClient, world: World) -> None:
    path = f"/invoices/{world.invoice_id}/status"
    assert client.put(path, params={"status": "pending"}, headers=keyed("s")).status_code == 200
    assert client.put(path, params={"status": "paid"}, headers=keyed("s")).status_code == 409
    assert client.put(path, json={"status": "pending"}, headers=keyed("s")).status_code == 409
    assert client.post(path, params={"status": "pending"}, headers=keyed("s")).status_code in (405, 409)
    assert ok(client.get(f"/invoices/{world.invoice_id}"), 200)["status"] == "pending"


def test_without_a_key_a_retry_runs_again(client: TestClient, world: World) -> None:
    path = f"/invoices/{world.invoice_id}/finalize"
    assert client.put(path).status_code == 200
    assert client.put(path).status_code == 409  # what a replay protects a retrying client from


def test_keys_are_per_api_key(client: TestClient, app: FastAPI, world: World, make_key: Callable[..., str]) -> None:
    body = {"customer_id": world.customer_id, "items": [ITEM]}
    first = ok(client.post("/invoices/", json=body, headers=keyed("shared")), 201)
    other = make_key("write", "other writer")
    with TestClient(app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {other}"}) as c:
        response = c.post("/invoices/", json=body, headers=keyed("shared"))
        assert response.status_code == 201, response.text
        assert REPLAY not in response.headers
        assert response.json()["id"] != first["id"]
        again = c.post("/invoices/", json=body, headers=keyed("shared"))
        assert again.headers[REPLAY] == "true"
        assert again.json()["id"] == response.json()["id"]
    # The first key's record is still its own.
    assert client.post("/invoices/", json=body, headers=keyed("shared")).json()["id"] == first["id"]
    assert len(ok(client.get("/invoices/"), 200)) == 3


def test_a_failed_request_stores_nothing_and_can_be_retried(client: TestClient) -> None:
    bad = client.post("/customers/", json={**CUSTOMER, "email": "not-an-email"}, headers=keyed("fix-me"))
    assert bad.status_code == 422
    again = client.post("/customers/", json={**CUSTOMER, "email": "not-an-email"}, headers=keyed("fix-me"))
    assert again.status_code == 422
    assert REPLAY not in again.headers
    good = client.post("/customers/", json=CUSTOMER, headers=keyed("fix-me"))
    assert good.status_code == 201, good.text
    assert REPLAY not in good.headers
    replay = client.post("/customers/", json=CUSTOMER, headers=keyed("fix-me"))
    assert replay.headers[REPLAY] == "true" and replay.json() == good.json()
    assert len(ok(client.get("/customers/"), 200)) == 1


def test_a_conflict_stores_nothing(client: TestClient, world: World) -> None:
    """A 409 from the service (here a duplicate email) is not stored: fixing the state lets the retry succeed."""
    other = ok(client.post("/customers/", json={**CUSTOMER, "email": "taken@example.com"}), 201)
    body = {**CUSTOMER, "email": "wanted@example.com"}
    assert client.put(f"/customers/{other['id']}", json=body).status_code == 200
    assert client.post("/customers/", json=body, headers=keyed("c")).status_code == 409
    assert client.put(f"/customers/{other['id']}", json={"email": "moved@example.com"}).status_code == 200
    assert client.post("/customers/", json=body, headers=keyed("c")).status_code == 201


@pytest.mark.parametrize(("length", "status"), [(255, 201), (256, 422), (5000, 422)])
def test_key_length(client: TestClient, length: int, status: int) -> None:
    response = client.post("/customers/", json=CUSTOMER, headers=keyed("k" * length))
    assert response.status_code == status, response.text
    assert len(ok(client.get("/customers/"), 200)) == (1 if status == 201 else 0)


@pytest.mark.parametrize("key", ["", "   "])
def test_blank_key_is_422(client: TestClient, key: str) -> None:
    assert client.post("/customers/", json=CUSTOMER, headers=keyed(key)).status_code == 422
    assert ok(client.get("/customers/"), 200) == []


def test_records_expire_after_48_hours(client: TestClient, world: World, clock: FrozenClock) -> None:
    body = {"customer_id": world.customer_id, "items": [ITEM]}
    first = ok(client.post("/invoices/", json=body, headers=keyed("old")), 201)
    clock.advance(timedelta(hours=47))
    replay = client.post("/invoices/", json=body, headers=keyed("old"))
    assert replay.headers[REPLAY] == "true" and replay.json()["id"] == first["id"]
    clock.advance(timedelta(hours=2))
    fresh = client.post("/invoices/", json=body, headers=keyed("old"))
    assert fresh.status_code == 201, fresh.text
    assert REPLAY not in fresh.headers
    assert fresh.json()["id"] != first["id"]
    again = client.post("/invoices/", json=body, headers=keyed("old"))
    assert again.headers[REPLAY] == "true" and again.json()["id"] == fresh.json()["id"]
    assert len(ok(client.get("/invoices/"), 200)) == 3


def test_reads_ignore_the_header(client: TestClient) -> None:
    assert client.get("/customers/", headers=keyed("x" * 300)).status_code == 200
    response = client.get("/customers/", headers=keyed("read"))
    assert REPLAY not in response.headers


def _race(client: TestClient, method: str, path: str, threads: int = 8, **kwargs: Any) -> list[Any]:
    barrier = threading.Barrier(threads)
    responses: list[Any] = []
    lock = threading.Lock()

    def send() -> None:
        barrier.wait()
        response = client.request(method, path, headers=keyed("race"), **kwargs)
        with lock:
            responses.append(response)

    workers = [threading.Thread(target=send) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(responses) == threads
    return responses


def test_concurrent_retries_create_one_customer(client: TestClient) -> None:
    responses = _race(client, "POST", "/customers/", json=CUSTOMER)
    assert {r.status_code for r in responses} == {201}, [r.text for r in responses]
    assert len({r.content for r in responses}) == 1
    assert sum(REPLAY not in r.headers for r in responses) == 1
    assert len(ok(client.get("/customers/"), 200)) == 1
    creations = [e for e in ok(client.get("/audit-log"), 200) if e["entity_type"] == "customer"]
    assert len(creations) == 1


def test_concurrent_retries_of_a_state_change_all_succeed(client: TestClient, world: World) -> None:
    responses = _race(client, "PUT", f"/invoices/{world.invoice_id}/finalize")
    assert {r.status_code for r in responses} == {200}, [r.text for r in responses]
    assert len({r.content for r in responses}) == 1
    assert sum(REPLAY not in r.headers for r in responses) == 1
