"""Plan versions: editing the price components of a plan whose latest version has subscribers makes the next version
(one per request); without subscribers the latest version is edited in place. GET /plans/{id}/versions lists them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from fubble.clock import FrozenClock
from tests.plans.test_plans_api import component, create, exact, plan_with

D = Decimal
API_V1 = {"tiers": [{"start": 0, "end": 1000, "price": "0.01"}, {"start": 1000, "end": None, "price": "0.005"}]}
API_V2 = {"tiers": [{"start": 0, "end": 500, "price": "0.02"}, {"start": 500, "end": None, "price": "0.004"}]}
SHOWN_V1 = {"tiers": [{"start": 0, "end": 1000, "price": D("0.01")}, {"start": 1000, "end": None, "price": D("0.005")}]}
SHOWN_V2 = {"tiers": [{"start": 0, "end": 500, "price": D("0.02")}, {"start": 500, "end": None, "price": D("0.004")}]}


def two_component_plan(client: TestClient, **fields: Any) -> dict[str, Any]:
    return create(
        client,
        plan_with(
            component("api_calls", "tiered", API_V1, display_name="API Calls"),
            component("platform_fee", "subscription", {"amount": "29.99"}, display_name="Platform"),
            **fields,
        ),
    )


def subscribe(client: TestClient, plan_id: int, email: str = "c@x.com") -> dict[str, Any]:
    customer = client.post("/customers/", json={"name": "C", "email": email}).json()
    response = client.post(
        f"/customers/{customer['id']}/subscriptions", json={"plan_id": plan_id, "start_date": "2024-01-01T00:00:00Z"}
    )
    assert response.status_code in (200, 201), response.text
    subscription: dict[str, Any] = response.json()
    return subscription


def get(client: TestClient, url: str) -> Any:
    response = client.get(url)
    assert response.status_code == 200, response.text
    return exact(response.text)


def ids(components: list[dict[str, Any]]) -> list[int]:
    return [c["id"] for c in components]


def test_a_new_plan_is_version_1_with_its_components(client: TestClient) -> None:
    plan = two_component_plan(client)
    assert plan["version"] == 1
    assert plan["fees_in_advance"] is False
    versions = get(client, f"/plans/{plan['id']}/versions")
    assert versions == [
        {"version": 1, "created_at": "2024-01-15T12:00:00Z", "price_components": plan["price_components"]}
    ]
    assert client.get("/plans/999/versions").status_code == 404


def test_edits_without_subscriptions_stay_version_1_and_keep_ids(client: TestClient, clock: FrozenClock) -> None:
    plan = two_component_plan(client)
    url = f"/plans/{plan['id']}"
    api, fee = plan["price_components"]
    clock.advance(timedelta(hours=1))
    changed = client.put(f"{url}/components/{api['id']}", json={"pricing_details": API_V2})
    assert changed.status_code == 200, changed.text
    assert exact(changed.text) == {**api, "pricing_details": SHOWN_V2}  # same id, same created_at
    added = client.post(f"{url}/components", json=component("seats", "flat", {"amount": 5}))
    assert added.status_code == 201, added.text
    assert client.delete(f"{url}/components/{added.json()['id']}").status_code == 204
    renamed = client.put(f"{url}/components/{fee['id']}", json={"display_name": "Base fee"})
    assert renamed.json()["id"] == fee["id"]
    body = get(client, url)
    assert body["version"] == 1
    assert body["price_components"] == [
        {**api, "pricing_details": SHOWN_V2},
        {**fee, "display_name": "Base fee"},
    ]
    versions = get(client, f"{url}/versions")
    assert [v["version"] for v in versions] == [1]
    assert versions[0]["price_components"] == body["price_components"]


def test_an_edit_with_a_subscriber_makes_version_2_and_keeps_version_1(client: TestClient, clock: FrozenClock) -> None:
    plan = two_component_plan(client)
    url = f"/plans/{plan['id']}"
    api, fee = plan["price_components"]
    subscribe(client, plan["id"])
    clock.advance(timedelta(hours=1))
    response = client.put(f"{url}/components/{api['id']}", json={"pricing_details": API_V2})
    assert response.status_code == 200, response.text
    api_v2 = exact(response.text)
    assert api_v2["id"] > fee["id"]
    assert api_v2 == {**api, "id": api_v2["id"], "pricing_details": SHOWN_V2, "created_at": "2024-01-15T13:00:00Z"}
    body = get(client, url)
    assert body["version"] == 2
    assert body["updated_at"] == "2024-01-15T13:00:00Z"
    assert body["price_components"] == [fee, api_v2]  # the unchanged fee keeps its id
    assert get(client, f"{url}/versions") == [
        {"version": 1, "created_at": "2024-01-15T12:00:00Z", "price_components": [api, fee]},
        {"version": 2, "created_at": "2024-01-15T13:00:00Z", "price_components": [fee, api_v2]},
    ]
    assert api["pricing_details"] == SHOWN_V1
    # Version 1's component is no longer in the latest version: 404 to change or remove it.
    assert client.put(f"{url}/components/{api['id']}", json={"display_name": "x"}).status_code == 404
    assert client.delete(f"{url}/components/{api['id']}").status_code == 404

    # Nobody is on version 2 yet: further edits change it in place (the version stays 2).
    clock.advance(timedelta(hours=1))
    again = client.put(f"{url}/components/{api_v2['id']}", json={"display_name": "Calls"})
    assert again.json()["id"] == api_v2["id"]
    # The fee's row is shared with version 1: removing it from version 2 leaves version 1 as it was.
    assert client.delete(f"{url}/components/{fee['id']}").status_code == 204
    versions = get(client, f"{url}/versions")
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[0]["price_components"] == [api, fee]
    assert versions[1]["price_components"] == [{**api_v2, "display_name": "Calls"}]
    assert versions[1]["created_at"] == "2024-01-15T13:00:00Z"
    assert get(client, url)["version"] == 2


def test_adding_and_removing_with_a_subscriber_make_one_version_each(client: TestClient) -> None:
    plan = two_component_plan(client)
    url = f"/plans/{plan['id']}"
    api, fee = plan["price_components"]
    subscribe(client, plan["id"])
    assert client.delete(f"{url}/components/{fee['id']}").status_code == 204
    versions = get(client, f"{url}/versions")
    assert [(v["version"], ids(v["price_components"])) for v in versions] == [
        (1, [api["id"], fee["id"]]),
        (2, [api["id"]]),
    ]
    # The same metric can come back (in place: nobody is on version 2).
    seats = client.post(f"{url}/components", json=component("platform_fee", "flat", {"amount": 9}))
    assert seats.status_code == 201, seats.text
    assert get(client, url)["version"] == 2
    assert ids(get(client, f"{url}/versions")[1]["price_components"]) == [api["id"], seats.json()["id"]]


def test_put_plan_with_price_components_makes_one_version(client: TestClient, clock: FrozenClock) -> None:
    plan = create(
        client,
        plan_with(
            component("api_calls", "tiered", API_V1, display_name="API Calls"),
            component("storage_gb", "flat", {"amount": 3}),
            component("platform_fee", "subscription", {"amount": "29.99"}, display_name="Platform"),
        ),
    )
    url = f"/plans/{plan['id']}"
    api, storage, fee = plan["price_components"]
    subscribe(client, plan["id"])
    clock.advance(timedelta(days=1))
    new_set = [
        # the same fee written otherwise: unchanged
        component("platform_fee", "subscription", {"amount": "29.990"}, display_name="Platform"),
        component("api_calls", "tiered", API_V2, display_name="API Calls"),
        component("seats", "package", {"package_size": 10, "package_price": "49.50"}),
    ]
    response = client.put(url, json={"name": "Pro 2025", "price_components": new_set})
    assert response.status_code == 200, response.text
    body = exact(response.text)
    assert body["name"] == "Pro 2025"
    assert body["version"] == 2
    latest = body["price_components"]
    assert [c["metric_name"] for c in latest] == ["platform_fee", "api_calls", "seats"]
    assert latest[0] == fee
    assert latest[1]["id"] > fee["id"] and latest[1]["pricing_details"] == SHOWN_V2
    assert latest[2]["pricing_details"] == {"package_size": 10, "package_price": D("49.5")}
    assert latest[2]["display_name"] == "seats"
    assert all(c["created_at"] == "2024-01-16T12:00:00Z" for c in latest[1:])
    versions = get(client, f"{url}/versions")
    assert versions[0] == {"version": 1, "created_at": "2024-01-15T12:00:00Z", "price_components": [api, storage, fee]}
    assert versions[1] == {"version": 2, "created_at": "2024-01-16T12:00:00Z", "price_components": latest}
    # The same set again changes nothing.
    assert exact(client.put(url, json={"price_components": new_set}).text)["price_components"] == latest
    assert len(get(client, f"{url}/versions")) == 2
    # An empty set removes every component (in place: nobody is on version 2).
    emptied = exact(client.put(url, json={"price_components": []}).text)
    assert (emptied["version"], emptied["price_components"]) == (2, [])
    assert get(client, f"{url}/versions")[0]["price_components"] == [api, storage, fee]


def test_put_plan_price_components_are_validated(client: TestClient) -> None:
    plan = two_component_plan(client)
    url = f"/plans/{plan['id']}"
    good = component("a", "flat", {"amount": 1})
    cases: list[tuple[list[dict[str, Any]], list[Any]]] = [
        ([good, good], ["body", "price_components", 1, "metric_name"]),
        (
            [
                good,
                component("b", "tiered", {"tiers": [{"start": 0, "end": 10, "price": 1}, {"start": 11, "price": 1}]}),
            ],
            ["body", "price_components", 1, "pricing_details", "tiers", 1, "start"],
        ),
        ([component("b", "magic", {})], ["body", "price_components", 0, "pricing_type"]),
        ([{**good, "extra": 1}], ["body", "price_components", "list[PriceComponentIn]", 0, "extra"]),
    ]
    for components, loc in cases:
        response = client.put(url, json={"name": "changed", "price_components": components})
        assert response.status_code == 422, (components, response.text)
        assert loc in [entry["loc"] for entry in response.json()["detail"]], response.text
    too_many = [component(f"m{i}", "flat", {"amount": 1}) for i in range(101)]
    assert client.put(url, json={"price_components": too_many}).status_code == 422
    assert get(client, url) == plan  # nothing changed


def test_put_component_validation(client: TestClient) -> None:
    plan = two_component_plan(client)
    other = two_component_plan(client)
    url = f"/plans/{plan['id']}/components"
    api, fee = plan["price_components"]
    cases: list[tuple[dict[str, Any], list[Any]]] = [
        ({}, ["body"]),
        (
            {"pricing_details": {"tiers": [{"start": 0, "end": 10, "price": 1}, {"start": 5, "price": 1}]}},
            ["body", "pricing_details", "tiers", 1, "start"],
        ),
        ({"pricing_type": "flat"}, ["body", "pricing_details", "amount"]),  # the tiers do not suit a flat price
        ({"pricing_type": "magic"}, ["body", "pricing_type"]),
        ({"pricing_type": None}, ["body", "pricing_type"]),
        ({"pricing_details": None}, ["body", "pricing_details"]),
        ({"pricing_details": [1]}, ["body", "pricing_details", "dict[str,any]"]),
        ({"display_name": ""}, ["body", "display_name"]),
        ({"metric_name": "renamed"}, ["body", "metric_name"]),
    ]
    for body, loc in cases:
        response = client.put(f"{url}/{api['id']}", json=body)
        assert response.status_code == 422, (body, response.text)
        assert loc in [entry["loc"] for entry in response.json()["detail"]], (body, response.text)
    assert client.put(f"{url}/{other['price_components'][0]['id']}", json={"display_name": "x"}).status_code == 404
    assert client.put(f"{url}/9999", json={"display_name": "x"}).status_code == 404
    assert client.put(f"/plans/9999/components/{api['id']}", json={"display_name": "x"}).status_code == 404
    assert get(client, f"/plans/{plan['id']}") == plan
    # A new type with new details; display_name null shows the metric name.
    changed = client.put(
        f"{url}/{api['id']}",
        json={"pricing_type": "flat", "pricing_details": {"amount": "10.00"}, "display_name": None},
    )
    assert changed.status_code == 200, changed.text
    assert exact(changed.text) == {
        **api,
        "display_name": "api_calls",
        "pricing_type": "flat",
        "pricing_details": {"amount": 10},
    }
    assert get(client, f"/plans/{plan['id']}")["price_components"] == [exact(changed.text), fee]


def test_fees_in_advance_on_create_and_update(client: TestClient) -> None:
    assert two_component_plan(client)["fees_in_advance"] is False
    plan = two_component_plan(client, fees_in_advance=True)
    assert plan["fees_in_advance"] is True
    url = f"/plans/{plan['id']}"
    assert get(client, url)["fees_in_advance"] is True
    for bad in ({"fees_in_advance": None}, {"fees_in_advance": "yes"}, {"fees_in_advance": 1}):
        assert client.put(url, json=bad).status_code == 422, bad
    assert client.post("/plans/", json=plan_with(fees_in_advance="true")).status_code == 422
    assert client.put(url, json={"fees_in_advance": False}).json()["fees_in_advance"] is False
    assert client.put(url, json={"fees_in_advance": True}).json()["fees_in_advance"] is True
    subscribe(client, plan["id"])
    refused = client.put(url, json={"fees_in_advance": False, "name": "N"})
    assert refused.status_code == 409
    assert "fees_in_advance" in refused.json()["detail"] and "create a new plan" in refused.json()["detail"]
    after = get(client, url)
    assert (after["fees_in_advance"], after["name"]) == (True, "P")
    assert client.put(url, json={"fees_in_advance": True, "name": "N"}).status_code == 200  # the same value is fine
