"""A price component's charge options (grouped_by, filters, min_amount, prorated): stored canonically, answered on
every component, checked with errors located in the request, carried into new plan versions."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .test_plans_api import component, create, exact, plan_with

TIERED = {"tiers": [{"start": 0, "end": None, "price": "0.01"}]}
EU = {
    "properties": {"region": ["eu", "uk"]},
    "pricing_details": {"tiers": [{"start": 0, "end": None, "price": "0.02"}]},
}
GOLD_EU = {
    "properties": {"region": ["eu"], "tier": ["gold", 1.50]},
    "pricing_details": {"tiers": [{"start": "0", "end": None, "price": "0.030"}]},
}
NO_OPTIONS = {"grouped_by": None, "filters": None, "min_amount": None, "prorated": False}


def options_of(answer: dict[str, Any]) -> dict[str, Any]:
    return {key: answer[key] for key in NO_OPTIONS}


def recurring_metric(client: TestClient, name: str = "seats") -> None:
    body = {"name": name, "aggregation": "unique_count", "property": "seat", "recurring": True}
    assert client.post("/metrics/", json=body).status_code == 201


def test_options_round_trip_in_canonical_form(client: TestClient) -> None:
    recurring_metric(client)
    plan = create(
        client,
        plan_with(
            component(
                "api_calls",
                "tiered",
                TIERED,
                grouped_by=["region", "tier"],
                filters=[EU, GOLD_EU],
                min_amount="10.50",
            ),
            component("seats", "package", {"package_size": 1, "package_price": 5}, prorated=True),
            component("fee", "flat", {"amount": 9}, min_amount=0),
            component("plain", "tiered", TIERED, filters=[]),
        ),
    )
    api, seats, fee, plain = plan["price_components"]
    assert options_of(api) == {
        "grouped_by": ["region", "tier"],
        "filters": [
            {
                "properties": {"region": ["eu", "uk"]},
                "pricing_details": {"tiers": [{"start": 0, "end": None, "price": Decimal("0.02")}]},
            },
            {
                "properties": {"region": ["eu"], "tier": ["gold", Decimal("1.50")]},
                "pricing_details": {"tiers": [{"start": 0, "end": None, "price": Decimal("0.03")}]},
            },
        ],
        "min_amount": Decimal("10.5"),  # no plan currency: as stored, canonical
        "prorated": False,
    }
    assert options_of(seats) == {**NO_OPTIONS, "prorated": True}
    assert options_of(fee) == {**NO_OPTIONS, "min_amount": 0}
    assert options_of(plain) == NO_OPTIONS  # no filters: null
    assert exact(client.get(f"/plans/{plan['id']}").text) == plan
    assert exact(client.get(f"/plans/{plan['id']}/versions").text)[0]["price_components"] == plan["price_components"]


@pytest.mark.parametrize(
    ("extra", "loc", "message"),
    [
        ({"grouped_by": []}, ["grouped_by"], "at least 1 item"),
        ({"grouped_by": ["a", "a"]}, ["grouped_by", 1], "'a' is listed twice"),
        ({"grouped_by": [""]}, ["grouped_by", 0], "at least 1"),
        ({"grouped_by": "region"}, ["grouped_by"], "valid list"),
        ({"grouped_by": [f"p{i}" for i in range(11)]}, ["grouped_by"], "at most 10 items"),
        ({"filters": {"region": ["eu"]}}, ["filters"], "must be a list of filters"),
        ({"filters": [{"properties": {"region": ["eu"]}}]}, ["filters", 0], '"pricing_details"'),
        ({"filters": [{**EU, "properties": {}}]}, ["filters", 0, "properties"], "must be an object of 1 to 20"),
        ({"filters": [{**EU, "properties": {"region": []}}]}, ["filters", 0, "properties", "region"], "1 to 100"),
        (
            {"filters": [{**EU, "properties": {"region": [{"a": 1}]}}]},
            ["filters", 0, "properties", "region", 0],
            "strings, numbers, booleans or null",
        ),
        (
            {"filters": [EU, {**GOLD_EU, "properties": {"region": ["uk", "eu"]}}]},
            ["filters", 1, "properties"],
            "the same properties as filter 0",
        ),
        (
            {"filters": [{**EU, "pricing_details": {"tiers": [{"start": 5, "end": None, "price": 1}]}}]},
            ["filters", 0, "pricing_details", "tiers", 0, "start"],
            "",
        ),
        (
            {"filters": [{**EU, "properties": {"n": [1e99]}}]},
            ["filters"],
            "properties: numbers must have at most 40 decimal places and be less than 1e41",
        ),
        (
            {"filters": [{**EU, "pricing_details": {"tiers": [{"start": 0, "end": None, "price": 1e99}]}}]},
            ["filters", 0, "pricing_details", "tiers", 0, "price"],
            "must be less than 1e24 in magnitude",
        ),
        ({"min_amount": -1}, ["min_amount"], "greater than or equal to 0"),
        ({"min_amount": "abc"}, ["min_amount"], ""),
        ({"prorated": "yes"}, ["prorated"], "valid boolean"),
        ({"prorated": None}, ["prorated"], "valid boolean"),
    ],
)
def test_bad_options_are_422_located_in_the_request(
    client: TestClient, extra: dict[str, Any], loc: list[Any], message: str
) -> None:
    ok = component("storage_gb", "tiered", TIERED)
    response = client.post("/plans/", json=plan_with(ok, component("api_calls", "tiered", TIERED, **extra)))
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "price_components", 1, *loc], error
    assert message in error["msg"], error
    assert client.get("/plans/").json() == []
    plan = create(client, plan_with(ok))
    added = client.post(f"/plans/{plan['id']}/components", json=component("api_calls", "tiered", TIERED, **extra))
    assert added.status_code == 422 and added.json()["detail"][0]["loc"] == ["body", *loc]


@pytest.mark.parametrize("pricing_type", ["flat", "subscription", "usage_based_subscription"])
def test_a_fee_per_period_takes_no_grouping_or_filters(client: TestClient, pricing_type: str) -> None:
    details = {"base_fee": 1, "usage_price": 1} if pricing_type == "usage_based_subscription" else {"amount": 1}
    for extra, key in (({"grouped_by": ["region"]}, "grouped_by"), ({"filters": [EU]}, "filters")):
        response = client.post("/plans/", json=plan_with(component("fee", pricing_type, details, **extra)))
        assert response.status_code == 422, response.text
        [error] = response.json()["detail"]
        assert error["loc"] == ["body", "price_components", 0, key]
        assert error["msg"] == f"a {pricing_type} component charges a fee per period: no {key}"
    create(client, plan_with(component("fee", pricing_type, details, filters=[], min_amount=5)))


def test_prorated_needs_a_recurring_metric(client: TestClient) -> None:
    assert client.post("/metrics/", json={"name": "plain_seats"}).status_code == 201
    body = plan_with(
        component("undefined", "tiered", TIERED, prorated=True),
        component("plain_seats", "tiered", TIERED, prorated=True),
        component("storage_gb", "tiered", TIERED, prorated=False),
    )
    response = client.post("/plans/", json=body)
    assert response.status_code == 422, response.text
    assert [(e["loc"], e["msg"]) for e in response.json()["detail"]] == [
        (
            ["body", "price_components", i, "prorated"],
            f"only the units of a recurring metric are prorated: metric {name!r} is not defined with recurring: "
            "true (POST /metrics/)",
        )
        for i, name in ((0, "undefined"), (1, "plain_seats"))
    ]
    assert client.put("/metrics/plain_seats", json={"recurring": True}).status_code == 200
    plan = create(client, plan_with(component("plain_seats", "tiered", TIERED, prorated=True)))
    url = f"/plans/{plan['id']}/components"
    refused = client.post(url, json=component("undefined", "tiered", TIERED, prorated=True))
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "prorated"]
    added = client.post(url, json=component("undefined", "tiered", TIERED))
    changed = client.put(f"{url}/{added.json()['id']}", json={"prorated": True})
    assert changed.status_code == 422 and changed.json()["detail"][0]["loc"] == ["body", "prorated"]


def test_changing_one_option_of_a_component_keeps_the_others(client: TestClient) -> None:
    plan = create(client, plan_with(component("api_calls", "tiered", TIERED, grouped_by=["region"], min_amount=3)))
    url = f"/plans/{plan['id']}/components/{plan['price_components'][0]['id']}"
    changed = client.put(url, json={"filters": [EU]})
    assert changed.status_code == 200, changed.text
    body = exact(changed.text)
    assert (body["grouped_by"], body["min_amount"], len(body["filters"])) == (["region"], 3, 1)
    cleared = exact(client.put(url, json={"grouped_by": None, "min_amount": None}).text)
    assert options_of(cleared) == {**NO_OPTIONS, "filters": body["filters"]}
    assert cleared["id"] == body["id"]  # no subscriptions: changed in place
    # A new pricing_type must suit the stored filters' details (tiers are not a flat amount).
    refused = client.put(url, json={"pricing_type": "volume", "pricing_details": TIERED})
    assert refused.status_code == 200  # volume takes the same tiers
    flat = client.put(url, json={"pricing_type": "flat", "pricing_details": {"amount": 1}})
    assert flat.status_code == 422 and flat.json()["detail"][0]["loc"] == ["body", "filters"]
    for key in ("prorated",):
        assert client.put(url, json={key: None}).json()["detail"][0]["loc"] == ["body", key]


def test_an_option_change_makes_a_new_version_that_carries_every_option(client: TestClient) -> None:
    recurring_metric(client)
    seats = component("seats", "package", {"package_size": 1, "package_price": 5}, prorated=True, min_amount=1)
    api = component("api_calls", "tiered", TIERED, grouped_by=["region"], filters=[EU])
    plan = create(client, plan_with(api, seats))
    customer = client.post("/customers/", json={"name": "A", "email": "a@example.com"}).json()["id"]
    subscribed = client.post(f"/customers/{customer}/subscriptions", json={"plan_id": plan["id"]})
    assert subscribed.status_code == 200, subscribed.text
    # The same options, written differently: no new version.
    same = {**api, "filters": [{**EU, "pricing_details": {"tiers": [{"start": 0, "end": None, "price": "0.020"}]}}]}
    same_seats = {**seats, "min_amount": "1.00"}
    unchanged = exact(client.put(f"/plans/{plan['id']}", json={"price_components": [same, same_seats]}).text)
    assert unchanged["version"] == 1
    changed = exact(
        client.put(f"/plans/{plan['id']}", json={"price_components": [{**api, "min_amount": 2}, seats]}).text
    )
    assert changed["version"] == 2
    kept_seats, new_api = changed["price_components"]  # by id: the new row comes last
    assert options_of(kept_seats) == options_of(plan["price_components"][1])  # the same row, both versions
    assert kept_seats["id"] == plan["price_components"][1]["id"]
    assert options_of(new_api) == {**options_of(plan["price_components"][0]), "min_amount": 2}
    versions = exact(client.get(f"/plans/{plan['id']}/versions").text)
    assert versions[0]["price_components"] == plan["price_components"]
    # A change of one component's option through its own route: a new row in the next version, the rest carried.
    url = f"/plans/{plan['id']}/components/{kept_seats['id']}"
    client.post(f"/plans/{plan['id']}/migrate", json={})
    moved = exact(client.put(url, json={"display_name": "Seats"}).text)
    assert moved["display_name"] == "Seats" and options_of(moved) == options_of(kept_seats)


def test_openapi_declares_the_options(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    for name in ("PriceComponentIn", "PriceComponentUpdate", "PriceComponentOut"):
        assert {"grouped_by", "filters", "min_amount", "prorated"} <= set(schemas[name]["properties"]), name
    component_in = schemas["PriceComponentIn"]
    grouped = component_in["properties"]["grouped_by"]["anyOf"][0]
    assert (grouped["minItems"], grouped["maxItems"], grouped["uniqueItems"]) == (1, 10, True)
    assert component_in["properties"]["filters"]["anyOf"][0]["items"] == {
        "$ref": "#/components/schemas/ChargeFilterDoc"
    }
    assert component_in["properties"]["min_amount"]["anyOf"][0]["minimum"] == 0
    assert component_in["properties"]["prorated"] == {
        "type": "boolean",
        "default": False,
        "title": "Prorated",
        "description": component_in["properties"]["prorated"]["description"],
    }
    assert component_in["if"]["properties"]["pricing_type"]["enum"] == [
        "flat",
        "subscription",
        "usage_based_subscription",
    ]
    types = component_in["properties"]["pricing_type"]["enum"]
    assert {"percentage", "graduated_percentage", "event_amount"} <= set(types)
    assert set(schemas["PriceComponentOut"]["required"]) >= {"grouped_by", "filters", "min_amount", "prorated"}
