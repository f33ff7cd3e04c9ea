"""POST /plans/{id}/migrate moves the subscribers of earlier versions to the latest; components_of(_many) read the
components of any version."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event

from fubble.db.session import Database
from fubble.plans.versions import components_of, components_of_many
from tests.plans.test_plan_versions import API_V2, get, ids, two_component_plan
from tests.plans.test_plans_api import component, create, plan_with


def subscribe(client: TestClient, plan_id: int, email: str, **fields: Any) -> dict[str, Any]:
    customer = client.post("/customers/", json={"name": "C", "email": email}).json()
    body = {"plan_id": plan_id, "start_date": "2024-01-01T00:00:00Z", **fields}
    response = client.post(f"/customers/{customer['id']}/subscriptions", json=body)
    assert response.status_code == 200, response.text
    subscription: dict[str, Any] = response.json()
    return subscription


def subscriptions_of(client: TestClient, subscription: dict[str, Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = get(client, f"/customers/{subscription['customer_id']}/subscriptions")
    return result


def to_version_2(client: TestClient, plan: dict[str, Any]) -> None:
    api = plan["price_components"][0]
    response = client.put(f"/plans/{plan['id']}/components/{api['id']}", json={"pricing_details": API_V2})
    assert response.status_code == 200, response.text
    assert get(client, f"/plans/{plan['id']}")["version"] == 2


def test_migrate_moves_the_subscribers_of_earlier_versions(client: TestClient) -> None:
    plan = two_component_plan(client)
    running = subscribe(client, plan["id"], "a@x.com")
    ended = subscribe(client, plan["id"], "b@x.com", end_date="2024-01-10T00:00:00Z")
    scheduled = subscribe(client, plan["id"], "c@x.com", start_date="2024-02-01T00:00:00Z")
    other_plan = subscribe(client, two_component_plan(client)["id"], "d@x.com")
    assert running["plan_version"] == 1
    to_version_2(client, plan)
    latest = subscribe(client, plan["id"], "e@x.com")
    assert latest["plan_version"] == 2

    response = client.post(f"/plans/{plan['id']}/migrate", json={})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["plan_id"], body["to_version"], body["migrated"]) == (plan["id"], 2, 2)
    successor, moved = body["subscriptions"]
    assert successor["id"] not in {s["id"] for s in (running, ended, scheduled, other_plan, latest)}
    assert successor["customer_id"] == running["customer_id"]
    assert successor["plan_id"] == plan["id"]
    assert successor["plan_version"] == 2
    assert successor["previous_subscription_id"] == running["id"]
    assert successor["start_date"] == "2024-01-15T12:00:00Z"
    assert successor["end_date"] is None
    assert successor["status"] == "active"
    # The running subscription ended at the change; its successor is what the customer's list shows next.
    before, after = subscriptions_of(client, running)
    assert (before["id"], before["end_date"], before["plan_version"]) == (running["id"], "2024-01-15T12:00:00Z", 1)
    assert after == successor
    # Not started yet: moved as it is.
    assert moved["id"] == scheduled["id"]
    assert (moved["plan_version"], moved["previous_subscription_id"]) == (2, None)
    assert subscriptions_of(client, scheduled) == [moved]
    # Ended, on another plan, already on the latest: untouched.
    assert subscriptions_of(client, ended) == [ended]
    assert subscriptions_of(client, other_plan) == [other_plan]
    assert subscriptions_of(client, latest) == [latest]
    # Nothing is left to move.
    again = client.post(f"/plans/{plan['id']}/migrate", json={"effective": "now"}).json()
    assert (again["migrated"], again["subscriptions"]) == (0, [])


def test_migrate_at_period_end_and_from_one_version(client: TestClient) -> None:
    plan = two_component_plan(client)
    on_v1 = subscribe(client, plan["id"], "a@x.com")
    ending = subscribe(client, plan["id"], "b@x.com", end_date="2024-01-20T00:00:00Z")
    to_version_2(client, plan)
    on_v2 = subscribe(client, plan["id"], "c@x.com")
    fee = plan["price_components"][1]
    assert client.put(f"/plans/{plan['id']}/components/{fee['id']}", json={"display_name": "Fee"}).status_code == 200
    assert get(client, f"/plans/{plan['id']}")["version"] == 3

    response = client.post(f"/plans/{plan['id']}/migrate", json={"from_version": 2, "effective": "period_end"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["to_version"], body["migrated"]) == (3, 1)
    (successor,) = body["subscriptions"]
    assert successor["previous_subscription_id"] == on_v2["id"]
    assert successor["plan_version"] == 3
    assert successor["start_date"] == "2024-02-01T00:00:00Z"  # the end of the monthly period from January 1st
    assert successor["status"] == "scheduled"
    assert subscriptions_of(client, on_v2)[0]["end_date"] == "2024-02-01T00:00:00Z"
    assert subscriptions_of(client, on_v1) == [on_v1]  # version 1 was not asked for

    # From every earlier version: the subscription ending before its period's end stays as it is.
    rest = client.post(f"/plans/{plan['id']}/migrate", json={"effective": "period_end"}).json()
    assert rest["migrated"] == 1
    assert rest["subscriptions"][0]["previous_subscription_id"] == on_v1["id"]
    assert subscriptions_of(client, ending) == [ending]


def test_migrate_refuses_what_is_not_an_earlier_version(client: TestClient) -> None:
    plan = two_component_plan(client)
    url = f"/plans/{plan['id']}/migrate"
    subscribe(client, plan["id"], "a@x.com")
    assert client.post(url, json={"from_version": 1}).status_code == 422  # version 1 is the latest
    assert client.post(url, json={}).json()["migrated"] == 0
    to_version_2(client, plan)
    for body, loc in (
        ({"from_version": 2}, ["body", "from_version"]),
        ({"from_version": 3}, ["body", "from_version"]),
        ({"from_version": 0}, ["body", "from_version"]),
        ({"from_version": "one"}, ["body", "from_version"]),
        ({"effective": "tomorrow"}, ["body", "effective"]),
        ({"effective": None}, ["body", "effective"]),
        ({"plan_id": 1}, ["body", "plan_id"]),
    ):
        response = client.post(url, json=body)
        assert response.status_code == 422, (body, response.text)
        assert loc in [entry["loc"] for entry in response.json()["detail"]], (body, response.text)
    assert client.post("/plans/999/migrate", json={}).status_code == 404
    assert client.put(f"/plans/{plan['id']}/deactivate").status_code == 200
    assert client.post(url, json={}).status_code == 409  # an inactive plan takes no subscriptions
    assert client.put(f"/plans/{plan['id']}", json={"is_active": True}).status_code == 200
    assert client.post(url, json={"from_version": 1}).json()["migrated"] == 1


@contextmanager
def counted(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_components_of_each_version(client: TestClient, db: Database) -> None:
    plan = create(
        client,
        plan_with(component("a", "flat", {"amount": 1}), component("b", "flat", {"amount": 2})),
    )
    other = create(client, plan_with(component("x", "flat", {"amount": 3})))
    a, b = ids(plan["price_components"])
    url = f"/plans/{plan['id']}"
    subscribe(client, plan["id"], "v1@x.com")
    b2 = client.put(f"{url}/components/{b}", json={"pricing_details": {"amount": 20}}).json()["id"]
    subscribe(client, plan["id"], "v2@x.com")
    v3 = [
        {"metric_name": "b", "pricing_type": "flat", "pricing_details": {"amount": 20}},
        {"metric_name": "c", "pricing_type": "flat", "pricing_details": {"amount": 30}},
    ]
    latest = client.put(url, json={"price_components": v3}).json()
    assert latest["version"] == 3
    c = latest["price_components"][1]["id"]
    assert ids(latest["price_components"]) == [b2, c]
    assert [ids(v["price_components"]) for v in get(client, f"{url}/versions")] == [[a, b], [a, b2], [b2, c]]

    expected = {0: [], 1: [a, b], 2: [a, b2], 3: [b2, c]}
    with db.session(write=False) as session:
        for version, wanted in expected.items():
            assert [p.id for p in components_of(session, plan["id"], version)] == wanted, version
        keys = [(plan["id"], v) for v in expected] + [(other["id"], 1), (other["id"], 2), (999, 1)]
        with counted(db) as statements:
            many = components_of_many(session, iter(keys))
        assert len(statements) == 1
        assert {key: [p.id for p in found] for key, found in many.items()} == {
            **{(plan["id"], v): wanted for v, wanted in expected.items()},
            (other["id"], 1): ids(other["price_components"]),
            (other["id"], 2): ids(other["price_components"]),  # above its latest version: the latest
            (999, 1): [],
        }
        assert [p.pricing_details for p in many[(plan["id"], 2)]] == [{"amount": 1}, {"amount": 20}]
        assert components_of_many(session, []) == {}
