"""allow_negative and recurring: stored, read back, checked against the aggregation, carried to the definitions."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from fubble.db.session import Database
from fubble.usage.definitions import resolve


def create(client: TestClient, body: dict[str, Any], status: int = 201) -> Any:
    response = client.post("/metrics/", json=body)
    assert response.status_code == status, response.text
    return response.json()


def test_flags_default_to_false_and_round_trip(client: TestClient, db: Database) -> None:
    plain = create(client, {"name": "calls"})
    assert (plain["allow_negative"], plain["recurring"]) == (False, False)
    seats = create(client, {"name": "seats", "aggregation": "unique_count", "property": "seat", "recurring": True})
    assert (seats["allow_negative"], seats["recurring"]) == (False, True)
    storage = create(client, {"name": "storage", "allow_negative": True, "recurring": True})
    assert (storage["aggregation"], storage["allow_negative"], storage["recurring"]) == ("sum", True, True)
    assert client.get("/metrics/storage").json() == storage
    assert [m["name"] for m in client.get("/metrics/").json() if m["recurring"]] == ["seats", "storage"]
    with db.transaction() as session:
        found = resolve(session, ["calls", "seats", "storage", "nowhere"])
    assert [(d.allow_negative, d.recurring) for d in found.values()] == [
        (False, False),
        (False, False),  # an unknown name: the default sum
        (False, True),
        (True, True),
    ]


def test_flags_change_on_update_and_nulls_are_refused(client: TestClient) -> None:
    create(client, {"name": "calls"})
    response = client.put("/metrics/calls", json={"allow_negative": True, "recurring": True})
    assert response.status_code == 200, response.text
    assert (response.json()["allow_negative"], response.json()["recurring"]) == (True, True)
    assert client.put("/metrics/calls", json={"unit": "calls"}).json()["recurring"] is True  # left as they were
    for field in ("allow_negative", "recurring"):
        refused = client.put("/metrics/calls", json={field: None})
        assert refused.status_code == 422, refused.text
        assert refused.json()["detail"][0]["loc"] == ["body", field]
    back = client.put("/metrics/calls", json={"allow_negative": False, "recurring": False}).json()
    assert (back["allow_negative"], back["recurring"]) == (False, False)


@pytest.mark.parametrize("aggregation", ["count", "max", "latest", "weighted_sum"])
def test_recurring_is_only_for_sum_and_unique_count(client: TestClient, aggregation: str) -> None:
    response = client.post("/metrics/", json={"name": "m", "aggregation": aggregation, "recurring": True})
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "recurring"]
    assert error["msg"] == (
        f"a recurring metric is a sum or a unique_count, not {aggregation} (recurring: false, or change the "
        "aggregation)"
    )
    create(client, {"name": "m", "recurring": True})
    # Changing the aggregation of a recurring metric: located at the aggregation.
    changed = client.put("/metrics/m", json={"aggregation": aggregation})
    assert changed.status_code == 422 and changed.json()["detail"][0]["loc"] == ["body", "aggregation"]
    # Turning a stored aggregation recurring: located at recurring.
    create(client, {"name": "other", "aggregation": aggregation})
    turned = client.put("/metrics/other", json={"recurring": True})
    assert turned.status_code == 422 and turned.json()["detail"][0]["loc"] == ["body", "recurring"]
    both = client.put("/metrics/other", json={"recurring": True, "aggregation": "sum"})
    assert both.status_code == 200 and both.json()["recurring"] is True


@pytest.mark.parametrize("value", [1, "true", 0])
def test_flags_are_booleans(client: TestClient, value: Any) -> None:
    for field in ("allow_negative", "recurring"):
        assert client.post("/metrics/", json={"name": "m", field: value}).status_code == 422


def test_openapi_declares_the_flags_and_the_recurring_rule(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    for name in ("MetricCreate", "MetricUpdate", "MetricOut"):
        for field in ("allow_negative", "recurring"):
            assert schemas[name]["properties"][field]["type"] == "boolean", (name, field)
    assert schemas["MetricCreate"]["properties"]["recurring"]["default"] is False
    rule = {
        "if": {"properties": {"recurring": {"const": True}}, "required": ["recurring"]},
        "then": {"properties": {"aggregation": {"enum": ["sum", "unique_count"]}}},
    }
    assert schemas["MetricCreate"]["allOf"] == [rule]
    assert schemas["MetricUpdate"]["allOf"] == [rule]
    assert set(schemas["MetricOut"]["required"]) >= {"allow_negative", "recurring"}


def test_a_metric_stays_recurring_while_a_component_in_use_prorates_it(client: TestClient) -> None:
    create(client, {"name": "seats", "aggregation": "unique_count", "property": "seat", "recurring": True})
    seats = {"metric_name": "seats", "pricing_type": "package", "prorated": True}
    seats["pricing_details"] = {"package_size": 1, "package_price": 5}
    fee = {"metric_name": "fee", "pricing_type": "flat", "pricing_details": {"amount": 9}}
    plan, other = (
        client.post(
            "/plans/", json={"name": name, "billing_frequency": "monthly", "price_components": components}
        ).json()
        for name, components in (("Seats", [seats, fee]), ("Fee only", [fee]))
    )
    message = (
        "metric 'seats' stays recurring: plan(s) {} price it with prorated: true (in the latest version, or in one a "
        "subscription is still on); set prorated to false (PUT /plans/{{plan_id}}/components/{{component_id}}), and "
        "let the subscriptions on earlier versions change plan or end, first"
    )

    def turn_off() -> tuple[int, str]:
        response = client.put("/metrics/seats", json={"recurring": False})
        return response.status_code, response.json()["detail"] if response.status_code == 409 else ""

    assert turn_off() == (409, message.format(plan["id"]))
    customer = client.post("/customers/", json={"name": "Globex", "email": "ap@globex.example"}).json()
    subscribed = client.post(
        f"/customers/{customer['id']}/subscriptions", json={"plan_id": plan["id"], "start_date": "2024-01-01T00:00:00Z"}
    )
    assert subscribed.status_code == 200, subscribed.text
    # prorated off in the latest version: the subscription's version 1 still prorates.
    url = f"/plans/{plan['id']}/components/{plan['price_components'][0]['id']}"
    changed = client.put(url, json={"prorated": False})
    assert changed.status_code == 200 and changed.json()["prorated"] is False
    assert client.get(f"/plans/{plan['id']}").json()["version"] == 2
    assert turn_off() == (409, message.format(plan["id"]))
    assert client.get("/metrics/seats").json()["recurring"] is True  # nothing written
    # The subscription changes plan: nothing in use prorates the metric any more.
    moved = client.post(
        f"/customers/{customer['id']}/subscriptions/{subscribed.json()['id']}/change",
        json={"plan_id": other["id"], "effective": "now"},
    )
    assert moved.status_code == 200, moved.text
    assert turn_off() == (200, "")
    assert client.get("/metrics/seats").json()["recurring"] is False
