"""A plan's currency and minimum commitment: optional, checked, answered with the currency's decimal places; the
currency is fixed once the plan has subscriptions; a plan's amounts fit its currency."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .test_plans_api import component, create, exact, plan_with

TIERED = {"tiers": [{"start": 0, "end": None, "price": "0.01"}]}


def test_currency_and_commitment_default_to_null(client: TestClient) -> None:
    plan = create(client, plan_with(component("api_calls", "tiered", TIERED)))
    assert (plan["currency"], plan["minimum_commitment"]) == (None, None)


def test_round_trip_with_the_currencys_places(client: TestClient) -> None:
    plan = create(
        client,
        plan_with(component("api_calls", "tiered", TIERED, min_amount="2.5"), currency="eur", minimum_commitment=100),
    )
    assert plan["currency"] == "EUR"
    assert plan["minimum_commitment"] == Decimal("100.00") and str(plan["minimum_commitment"]) == "100.00"
    assert str(plan["price_components"][0]["min_amount"]) == "2.50"
    assert exact(client.get(f"/plans/{plan['id']}").text) == plan
    yen = create(client, plan_with(currency="JPY", minimum_commitment="1000"))
    assert str(yen["minimum_commitment"]) == "1000"
    kwd = create(client, plan_with(currency="KWD", minimum_commitment="1.5"))
    assert str(kwd["minimum_commitment"]) == "1.500"
    free = create(client, plan_with(minimum_commitment="12.3456"))  # no currency: as written, canonical
    assert free["minimum_commitment"] == Decimal("12.3456")


@pytest.mark.parametrize(
    ("body", "loc", "message"),
    [
        ({"currency": "XYZ"}, ["body", "currency"], ""),
        ({"currency": "Eur"}, ["body", "currency"], ""),
        ({"currency": 978}, ["body", "currency"], ""),
        ({"minimum_commitment": -1}, ["body", "minimum_commitment"], ""),
        ({"minimum_commitment": "ten"}, ["body", "minimum_commitment"], ""),
        (
            {"currency": "JPY", "minimum_commitment": "10.5"},
            ["body", "minimum_commitment"],
            "JPY amounts have no decimal places; got 10.5 (the plan's currency)",
        ),
        (
            {"currency": "USD", "price_components": [component("api_calls", "tiered", TIERED, min_amount="0.001")]},
            ["body", "price_components", 0, "min_amount"],
            "USD amounts have at most 2 decimal places; got 0.001 (the plan's currency)",
        ),
    ],
)
def test_bad_currency_or_amounts_are_422(
    client: TestClient, body: dict[str, Any], loc: list[Any], message: str
) -> None:
    response = client.post("/plans/", json=plan_with(**body))
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == loc
    assert message in error["msg"]
    assert client.get("/plans/").json() == []


def test_update_currency_and_commitment(client: TestClient) -> None:
    plan = create(client, plan_with(component("api_calls", "tiered", TIERED, min_amount="0.5"), minimum_commitment=9))
    url = f"/plans/{plan['id']}"
    changed = client.put(url, json={"currency": "EUR", "minimum_commitment": "19.9"})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["currency"], exact(changed.text)["minimum_commitment"]) == ("EUR", Decimal("19.90"))
    # JPY cannot express the stored amounts: 422 at the currency, naming them.
    refused = client.put(url, json={"currency": "JPY"})
    assert refused.status_code == 422, refused.text
    assert [(e["loc"], e["msg"]) for e in refused.json()["detail"]] == [
        (
            ["body", "currency"],
            "the plan's minimum_commitment 19.9: JPY amounts have no decimal places; got 19.9 (the plan's currency)",
        ),
        (
            ["body", "currency"],
            "the component pricing 'api_calls' has min_amount 0.5: JPY amounts have no decimal places; got 0.5",
        ),
    ]
    # With whole amounts sent along, the change goes through.
    whole = client.put(
        url,
        json={
            "currency": "JPY",
            "minimum_commitment": 20,
            "price_components": [component("api_calls", "tiered", TIERED, min_amount=1)],
        },
    )
    assert whole.status_code == 200, whole.text
    cleared = client.put(url, json={"currency": None, "minimum_commitment": None}).json()
    assert (cleared["currency"], cleared["minimum_commitment"]) == (None, None)


def test_the_currency_is_fixed_once_subscribed(client: TestClient) -> None:
    plan = create(client, plan_with(currency="USD"))
    customer = client.post("/customers/", json={"name": "A", "email": "a@example.com"}).json()["id"]
    subscribed = client.post(f"/customers/{customer}/subscriptions", json={"plan_id": plan["id"]})
    assert subscribed.status_code == 200, subscribed.text
    url = f"/plans/{plan['id']}"
    for currency in ("EUR", None):
        refused = client.put(url, json={"currency": currency})
        assert refused.status_code == 409, refused.text
        assert refused.json()["detail"] == (
            f"plan {plan['id']} has subscriptions, so its currency cannot change; create a new plan instead"
        )
    assert client.put(url, json={"currency": "usd", "minimum_commitment": 5}).status_code == 200  # the same one
    assert client.get(url).json()["minimum_commitment"] == 5


def test_openapi_declares_currency_and_commitment(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    for name in ("PlanCreate", "PlanUpdate"):
        currency = schemas[name]["properties"]["currency"]["anyOf"][0]
        assert "EUR" in currency["enum"] and "XYZ" not in currency["enum"]
        assert schemas[name]["properties"]["minimum_commitment"]["anyOf"][0]["minimum"] == 0
    assert {"currency", "minimum_commitment"} <= set(schemas["PlanOut"]["required"])
