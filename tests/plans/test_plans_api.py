from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from fubble.clock import FrozenClock

PRO = {
    "name": "API Pro Plan",
    "description": "Professional tier API access with usage-based billing",
    "billing_frequency": "monthly",
    "price_components": [
        {
            "metric_name": "api_calls",
            "display_name": "API Calls",
            "pricing_type": "tiered",
            "pricing_details": {
                "tiers": [
                    {"start": 0, "end": 1000, "price": 0.01},
                    {"start": 1000, "end": 10000, "price": 0.005},
                    {"start": 10000, "end": None, "price": 0.002},
                ]
            },
        },
        {
            "metric_name": "storage_gb",
            "display_name": "Storage",
            "pricing_type": "volume",
            "pricing_details": {
                "tiers": [
                    {"start": 0, "end": 100, "price": 0.10},
                    {"start": 100, "end": 1000, "price": 0.08},
                    {"start": 1000, "end": None, "price": 0.05},
                ]
            },
        },
        {
            "metric_name": "subscription_fee",
            "display_name": "Base Subscription",
            "pricing_type": "subscription",
            "pricing_details": {"amount": 29.99},
        },
    ],
}

# One valid component of each of the eight pricing types, as the usage guide writes them.
EVERY_TYPE = [
    ("flat", {"amount": 19.99}),
    ("tiered", {"tiers": [{"start": 0, "end": 1000, "price": 0.01}, {"start": 1000, "end": None, "price": 0.005}]}),
    ("volume", {"tiers": [{"start": 0, "end": 100, "price": 0.10}, {"start": 100, "end": None, "price": 0.08}]}),
    ("package", {"package_size": 1000, "package_price": 9.99}),
    ("subscription", {"amount": 29.99}),
    ("usage_based_subscription", {"base_fee": 20.0, "usage_price": 0.5}),
    ("time_based", {"rate_per_unit": 2.5, "unit": "hour"}),
    ("dynamic", {"base_rate": 0.15, "formula": "base_rate * (1 + market_factor)"}),
]


def exact(response_text: str) -> Any:
    """The body as the wire has it: every non-integer number as an exact Decimal."""
    return json.loads(response_text, parse_float=Decimal)


def component(metric: str, pricing_type: str, details: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"metric_name": metric, "pricing_type": pricing_type, "pricing_details": details, **extra}


def plan_with(*components: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"name": "P", "billing_frequency": "monthly", "price_components": list(components), **fields}


def create(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/plans/", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = exact(response.text)
    return result


def test_create_plan_from_the_guide(client: TestClient) -> None:
    response = client.post("/plans/", json=PRO)
    assert response.status_code == 201, response.text
    body = exact(response.text)
    assert body["id"] >= 1
    assert body["name"] == "API Pro Plan"
    assert body["billing_frequency"] == "monthly"
    assert body["is_active"] is True
    assert body["created_at"] == body["updated_at"] == "2024-01-15T12:00:00Z"
    components = body["price_components"]
    assert [c["metric_name"] for c in components] == ["api_calls", "storage_gb", "subscription_fee"]
    assert all(c["plan_id"] == body["id"] for c in components)
    assert components[0]["pricing_details"]["tiers"][1] == {"start": 1000, "end": 10000, "price": Decimal("0.005")}
    assert components[0]["pricing_details"]["tiers"][2]["end"] is None
    assert components[1]["pricing_details"]["tiers"][0]["price"] == Decimal("0.1")  # canonical: 0.10 -> 0.1
    assert components[2]["pricing_details"] == {"amount": Decimal("29.99")}
    assert '"price":0.005' in response.text and '"amount":29.99' in response.text
    assert client.get(f"/plans/{body['id']}").text == response.text


def test_every_pricing_type_round_trips_exactly(client: TestClient) -> None:
    components = [component(f"m_{t}", t, d) for t, d in EVERY_TYPE]
    body = create(client, plan_with(*components))
    stored = {c["pricing_type"]: c["pricing_details"] for c in body["price_components"]}
    assert stored["flat"] == {"amount": Decimal("19.99")}
    assert stored["package"] == {"package_size": 1000, "package_price": Decimal("9.99")}
    assert stored["usage_based_subscription"] == {"base_fee": 20, "usage_price": Decimal("0.5")}
    assert stored["time_based"] == {"rate_per_unit": Decimal("2.5"), "unit": "hour"}
    assert stored["dynamic"] == {"base_rate": Decimal("0.15"), "formula": "base_rate * (1 + market_factor)"}
    assert body["price_components"][0]["display_name"] == "m_flat"  # defaults to the metric name


def test_numbers_keep_every_digit(client: TestClient) -> None:
    details = '{"tiers":[{"start":0,"end":"1e3","price":0.00000000000000000001},{"start":1000,"price":"10.00"}]}'
    raw = (
        '{"name":"Exact","billing_frequency":"yearly","price_components":[{"metric_name":"x",'
        '"pricing_type":"tiered","pricing_details":' + details + "}]}"
    )
    response = client.post("/plans/", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 201, response.text
    assert '"price":0.00000000000000000001' in response.text
    assert '{"start":1000,"end":null,"price":10}' in response.text
    assert '"end":1000' in response.text


def test_invalid_components_are_422_and_store_nothing(client: TestClient) -> None:
    good = component("ok", "flat", {"amount": 1})
    cases: list[tuple[dict[str, Any], list[Any]]] = [
        # tiers: gap, overlap, first not at 0, open end before the last, end <= start, empty
        (
            component("a", "tiered", {"tiers": [{"start": 0, "end": 10, "price": 1}, {"start": 11, "price": 1}]}),
            ["pricing_details", "tiers", 1, "start"],
        ),
        (
            component("a", "volume", {"tiers": [{"start": 0, "end": 10, "price": 1}, {"start": 5, "price": 1}]}),
            ["pricing_details", "tiers", 1, "start"],
        ),
        (component("a", "tiered", {"tiers": [{"start": 1, "price": 1}]}), ["pricing_details", "tiers", 0, "start"]),
        (
            component("a", "tiered", {"tiers": [{"start": 0, "price": 1}, {"start": 5, "price": 1}]}),
            ["pricing_details", "tiers", 0, "end"],
        ),
        (
            component("a", "tiered", {"tiers": [{"start": 0, "end": 0, "price": 1}]}),
            ["pricing_details", "tiers", 0, "end"],
        ),
        (component("a", "tiered", {"tiers": []}), ["pricing_details", "tiers"]),
        (component("a", "tiered", {"tiers": [{"start": 0, "price": -1}]}), ["pricing_details", "tiers", 0, "price"]),
        # unknown type, malformed details
        (component("a", "magic", {"amount": 1}), ["pricing_type"]),
        (component("a", "flat", {"amount": "lots"}), ["pricing_details", "amount"]),
        (component("a", "flat", {"amount": True}), ["pricing_details", "amount"]),
        (component("a", "flat", {"amount": 1, "bonus": 2}), ["pricing_details", "bonus"]),
        (component("a", "flat", {}), ["pricing_details", "amount"]),
        (component("a", "package", {"package_size": 0, "package_price": 1}), ["pricing_details", "package_size"]),
        (component("a", "time_based", {"rate_per_unit": 1, "unit": "fortnight"}), ["pricing_details", "unit"]),
        (component("a", "flat", {"amount": "1e30"}), ["pricing_details", "amount"]),
        # hostile formulas
        (component("a", "dynamic", {"formula": "__import__('os').system('true')"}), ["pricing_details", "formula"]),
        (component("a", "dynamic", {"formula": "usage.__class__"}), ["pricing_details", "formula"]),
        (component("a", "dynamic", {"formula": "9 ** 9 ** 9"}), ["pricing_details", "formula"]),
        (component("a", "dynamic", {"formula": "(" * 500 + "1" + ")" * 500}), ["pricing_details", "formula"]),
        (component("a", "dynamic", {"formula": "open('x')"}), ["pricing_details", "formula"]),
        (component("a", "dynamic", {"formula": "1 +"}), ["pricing_details", "formula"]),
        (component("a", "dynamic", {"rate": 1}), ["pricing_details", "formula"]),
        (component("a", "dynamic", {"formula": "usage", "usage": 2}), ["pricing_details", "usage"]),
    ]
    for bad, loc_tail in cases:
        response = client.post("/plans/", json=plan_with(good, bad))
        assert response.status_code == 422, (bad, response.text)
        locs = [entry["loc"] for entry in response.json()["detail"]]
        assert ["body", "price_components", 1, *loc_tail] in locs, (bad, locs)
    assert client.get("/plans/").json() == []


def test_details_that_are_not_an_object_are_422(client: TestClient) -> None:
    for details in ([1, 2], "amount", None, 5):
        response = client.post("/plans/", json=plan_with({**component("a", "flat", {}), "pricing_details": details}))
        assert response.status_code == 422, response.text
    assert client.get("/plans/").json() == []


def test_invalid_plan_fields_are_422(client: TestClient) -> None:
    good = component("api_calls", "flat", {"amount": 1})
    for bad in (
        plan_with(good, billing_frequency="weekly"),
        plan_with(good, name=""),
        plan_with(good, name="x" * 256),
        {"billing_frequency": "monthly"},
        plan_with(good, unknown=1),
        plan_with({**good, "extra": 1}),
        plan_with(component("", "flat", {"amount": 1})),
        plan_with(component(" api_calls", "flat", {"amount": 1})),
        plan_with(component("api_calls\n", "flat", {"amount": 1})),
        plan_with(component("a\x00b", "flat", {"amount": 1})),
        plan_with(component("x" * 256, "flat", {"amount": 1})),
        plan_with(good, component("api_calls", "tiered", {"tiers": [{"start": 0, "price": 1}]})),
        plan_with(*[component(f"m{i}", "flat", {"amount": 1}) for i in range(101)]),
    ):
        response = client.post("/plans/", json=bad)
        assert response.status_code == 422, (bad, response.text)
    duplicate = client.post("/plans/", json=plan_with(good, good)).json()["detail"]
    assert duplicate[0]["loc"] == ["body", "price_components", 1, "metric_name"]
    assert client.get("/plans/").json() == []


def test_plan_without_components_and_defaults(client: TestClient) -> None:
    body = create(client, {"name": "Empty", "billing_frequency": "quarterly"})
    assert body["price_components"] == []
    assert body["description"] is None
    assert body["billing_frequency"] == "quarterly"


def test_get_unknown_plan_is_404(client: TestClient) -> None:
    assert client.get("/plans/999").status_code == 404
    assert client.get("/plans/0").status_code == 422
    assert client.get("/plans/abc").status_code == 422


def test_list_plans_paginates_and_filters_active(client: TestClient) -> None:
    ids = [create(client, plan_with(name=f"p{i}"))["id"] for i in range(5)]
    assert [p["id"] for p in client.get("/plans/", params={"limit": 2}).json()] == ids[:2]
    assert [p["id"] for p in client.get("/plans/", params={"limit": 2, "offset": 2}).json()] == ids[2:4]
    assert client.put(f"/plans/{ids[1]}/deactivate").status_code == 200
    active = [p["id"] for p in client.get("/plans/", params={"active_only": True}).json()]
    assert active == [ids[0], *ids[2:]]
    assert len(client.get("/plans/").json()) == 5
    assert client.get("/plans/", params={"limit": 0}).status_code == 422
    assert client.get("/plans/", params={"offset": -1}).status_code == 422


def test_update_plan_partial(client: TestClient, clock: FrozenClock) -> None:
    plan = create(client, PRO)
    clock.set(clock.now().replace(hour=13))
    response = client.put(f"/plans/{plan['id']}", json={"name": "Renamed", "billing_frequency": "yearly"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "Renamed"
    assert body["billing_frequency"] == "yearly"
    assert body["description"] == PRO["description"]
    assert body["updated_at"] == "2024-01-15T13:00:00Z"
    assert body["created_at"] == "2024-01-15T12:00:00Z"
    assert len(body["price_components"]) == 3
    assert client.put(f"/plans/{plan['id']}", json={"description": None}).json()["description"] is None
    for bad in ({"name": None}, {"billing_frequency": None}, {"billing_frequency": "daily"}, {"is_active": None}):
        assert client.put(f"/plans/{plan['id']}", json=bad).status_code == 422, bad
    assert client.put(f"/plans/{plan['id']}", json={"price_components": None}).status_code == 422
    assert client.put("/plans/4242", json={"name": "x"}).status_code == 404


def test_billing_frequency_is_fixed_once_subscribed(client: TestClient) -> None:
    plan = create(client, PRO)
    customer = client.post("/customers/", json={"name": "C", "email": "c@x.com"}).json()
    subscribed = client.post(f"/customers/{customer['id']}/subscriptions", json={"plan_id": plan["id"]})
    assert subscribed.status_code == 200, subscribed.text
    response = client.put(f"/plans/{plan['id']}", json={"billing_frequency": "yearly"})
    assert response.status_code == 409
    assert "billing_frequency" in response.json()["detail"]
    assert client.get(f"/plans/{plan['id']}").json()["billing_frequency"] == "monthly"
    # the same value, or other fields, are fine
    assert client.put(f"/plans/{plan['id']}", json={"billing_frequency": "monthly", "name": "N"}).status_code == 200


def test_deactivate_is_idempotent_and_reactivation_works(client: TestClient, clock: FrozenClock) -> None:
    plan = create(client, PRO)
    clock.set(clock.now().replace(hour=14))
    first = client.put(f"/plans/{plan['id']}/deactivate")
    assert first.status_code == 200
    assert first.json()["is_active"] is False
    assert first.json()["updated_at"] == "2024-01-15T14:00:00Z"
    clock.set(clock.now().replace(hour=15))
    again = client.put(f"/plans/{plan['id']}/deactivate")
    assert again.status_code == 200
    assert again.json() == first.json()
    assert client.put(f"/plans/{plan['id']}", json={"is_active": True}).json()["is_active"] is True
    assert client.put("/plans/999/deactivate").status_code == 404


def test_add_component(client: TestClient) -> None:
    plan = create(client, PRO)
    new = component("seats", "package", {"package_size": 10, "package_price": "49.50"}, display_name="Seats")
    response = client.post(f"/plans/{plan['id']}/components", json=new)
    assert response.status_code == 201, response.text
    body = exact(response.text)
    assert body["plan_id"] == plan["id"]
    assert body["display_name"] == "Seats"
    assert body["pricing_details"] == {"package_size": 10, "package_price": Decimal("49.5")}
    assert set(body) == {
        "id",
        "plan_id",
        "metric_name",
        "display_name",
        "pricing_type",
        "pricing_details",
        "grouped_by",
        "filters",
        "min_amount",
        "prorated",
        "created_at",
    }
    assert (body["grouped_by"], body["filters"], body["min_amount"], body["prorated"]) == (None, None, None, False)
    metrics = [c["metric_name"] for c in client.get(f"/plans/{plan['id']}").json()["price_components"]]
    assert metrics == ["api_calls", "storage_gb", "subscription_fee", "seats"]


def test_add_component_errors(client: TestClient) -> None:
    plan = create(client, PRO)
    url = f"/plans/{plan['id']}/components"
    duplicate = client.post(url, json=component("api_calls", "flat", {"amount": 1}))
    assert duplicate.status_code == 409
    bad = client.post(url, json=component("x", "tiered", {"tiers": [{"start": 5, "price": 1}]}))
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "pricing_details", "tiers", 0, "start"]
    assert client.post(url, json=component("x", "nope", {})).json()["detail"][0]["loc"] == ["body", "pricing_type"]
    assert client.post(url, json={"metric_name": "x"}).status_code == 422
    assert client.post("/plans/999/components", json=component("x", "flat", {"amount": 1})).status_code == 404
    assert len(client.get(f"/plans/{plan['id']}").json()["price_components"]) == 3


def test_remove_component(client: TestClient) -> None:
    plan = create(client, PRO)
    other = create(client, plan_with(component("other", "flat", {"amount": 1})))
    first, second, _ = plan["price_components"]
    foreign = other["price_components"][0]["id"]
    assert client.delete(f"/plans/{plan['id']}/components/{foreign}").status_code == 404
    assert client.delete(f"/plans/{plan['id']}/components/9999").status_code == 404
    assert client.delete(f"/plans/9999/components/{first['id']}").status_code == 404
    response = client.delete(f"/plans/{plan['id']}/components/{first['id']}")
    assert response.status_code == 204
    assert response.content == b""
    remaining = [c["id"] for c in client.get(f"/plans/{plan['id']}").json()["price_components"]]
    assert remaining == [second["id"], plan["price_components"][2]["id"]]
    assert client.delete(f"/plans/{plan['id']}/components/{first['id']}").status_code == 404
    # the metric can be priced again once removed
    again = client.post(f"/plans/{plan['id']}/components", json=component("api_calls", "flat", {"amount": 2}))
    assert again.status_code == 201
    assert len(client.get(f"/plans/{other['id']}").json()["price_components"]) == 1
