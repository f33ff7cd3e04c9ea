"""A migration to the plan's latest version keeps a subscriber's negotiated prices; a change to another plan drops
them."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.plans.test_plan_migrate import subscribe, to_version_2
from tests.plans.test_plan_versions import two_component_plan

FEE_79 = [{"metric_name": "platform_fee", "pricing_type": "subscription", "pricing_details": {"amount": "19.00"}}]


def test_migrate_keeps_the_overrides_of_metrics_still_priced(client: TestClient) -> None:
    plan = two_component_plan(client)
    negotiated = subscribe(client, plan["id"], "a@x.com", price_overrides=FEE_79)
    to_version_2(client, plan)
    [moved] = client.post(f"/plans/{plan['id']}/migrate", json={}).json()["subscriptions"]
    assert moved["previous_subscription_id"] == negotiated["id"]
    assert [o["pricing_details"] for o in moved["price_overrides"]] == [{"amount": 19}]


def test_a_change_to_another_plan_drops_the_overrides(client: TestClient) -> None:
    plan, other = two_component_plan(client), two_component_plan(client)
    negotiated = subscribe(client, plan["id"], "a@x.com", price_overrides=FEE_79)
    path = f"/customers/{negotiated['customer_id']}/subscriptions/{negotiated['id']}/change"
    changed = client.post(path, json={"plan_id": other["id"], "at": "2024-01-10T00:00:00Z"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["price_overrides"] == []
