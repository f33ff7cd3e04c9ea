"""price_overrides on POST /customers/{cid}/subscriptions: validated like plan components, stored canonical."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.subscriptions.helpers import customer, plan, subscribe


def test_overrides_are_stored_canonical_with_the_component_type_by_default(client: TestClient) -> None:
    cid, pid = customer(client), plan(client)
    sub = subscribe(
        client,
        cid,
        plan_id=pid,
        price_overrides=[
            {"metric_name": "api_calls", "pricing_details": {"package_price": "0.50", "package_size": 1000}},
            {
                "metric_name": "seats",
                "pricing_type": "volume",
                "pricing_details": {"tiers": [{"price": 2, "end": None, "start": 0}]},
            },
        ],
    )
    assert sub["price_overrides"] == [
        {
            "metric_name": "api_calls",
            "pricing_type": "package",
            "pricing_details": {"package_size": 1000, "package_price": 0.5},
        },
        {
            "metric_name": "seats",
            "pricing_type": "volume",
            "pricing_details": {"tiers": [{"start": 0, "end": None, "price": 2}]},
        },
    ]
    assert client.get(f"/customers/{cid}/subscriptions/{sub['id']}").json()["price_overrides"] == sub["price_overrides"]
    assert subscribe(client, cid, plan_id=pid, price_overrides=[])["price_overrides"] == []


def test_override_errors_are_located_under_price_overrides(client: TestClient) -> None:
    cid, pid = customer(client), plan(client)
    url = f"/customers/{cid}/subscriptions"
    package = {"package_size": 100, "package_price": 1}
    unknown = client.post(
        url, json={"plan_id": pid, "price_overrides": [{"metric_name": "storage_gb", "pricing_details": package}]}
    )
    assert unknown.status_code == 422, unknown.text
    assert unknown.json()["detail"] == [
        {
            "loc": ["body", "price_overrides", 0, "metric_name"],
            "msg": f"plan {pid} (version 1) does not price metric 'storage_gb'; its metrics: 'api_calls', 'seats'",
            "type": "value_error",
        }
    ]
    twice = client.post(
        url,
        json={
            "plan_id": pid,
            "price_overrides": [
                {"metric_name": "api_calls", "pricing_details": package},
                {"metric_name": "api_calls", "pricing_details": package},
            ],
        },
    )
    assert twice.status_code == 422
    assert [(e["loc"], e["msg"]) for e in twice.json()["detail"]] == [
        (["body", "price_overrides", 1, "metric_name"], "metric 'api_calls' is overridden twice")
    ]
    invalid = client.post(
        url,
        json={
            "plan_id": pid,
            "price_overrides": [
                {"metric_name": "seats", "pricing_details": {"amount": 5}},
                {"metric_name": "api_calls", "pricing_details": {"package_size": 0, "package_price": 1}},
                {"metric_name": "seats", "pricing_type": "bogus", "pricing_details": {}},
            ],
        },
    )
    assert invalid.status_code == 422
    assert [e["loc"] for e in invalid.json()["detail"]] == [
        ["body", "price_overrides", 1, "pricing_details", "package_size"],
        ["body", "price_overrides", 2, "metric_name"],
    ]
    bad_type = client.post(
        url,
        json={
            "plan_id": pid,
            "price_overrides": [{"metric_name": "seats", "pricing_type": "bogus", "pricing_details": {}}],
        },
    )
    assert bad_type.json()["detail"][0]["loc"] == ["body", "price_overrides", 0, "pricing_type"]
    for bad in (
        [{"metric_name": "seats"}],
        [{"metric_name": "seats", "pricing_details": {"amount": 5}, "display_name": "x"}],
        [{"metric_name": " seats", "pricing_details": {"amount": 5}}],
        {"metric_name": "seats"},
    ):
        response = client.post(url, json={"plan_id": pid, "price_overrides": bad})
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["detail"][0]["loc"][:2] == ["body", "price_overrides"]
    assert client.get(url).json() == []
