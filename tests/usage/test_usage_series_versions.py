"""The usage series lists the metrics the customer's own plan version prices, not another version's."""

from __future__ import annotations

from fastapi.testclient import TestClient

TIERS = {"tiers": [{"start": 0, "end": None, "price": "0.01"}]}


def test_a_metric_only_an_older_version_prices_is_not_listed_for_a_newer_subscriber(client: TestClient) -> None:
    plan = client.post(
        "/plans/",
        json={
            "name": "P",
            "billing_frequency": "monthly",
            "price_components": [
                {"metric_name": "api_calls", "pricing_type": "tiered", "pricing_details": TIERS},
                {"metric_name": "storage_gb", "pricing_type": "tiered", "pricing_details": TIERS},
            ],
        },
    ).json()
    old, new = (client.post("/customers/", json={"name": n, "email": f"{n}@x.com"}).json() for n in ("old", "new"))
    subscribe = {"plan_id": plan["id"], "start_date": "2024-01-01T00:00:00Z"}
    assert client.post(f"/customers/{old['id']}/subscriptions", json=subscribe).status_code == 200
    storage = next(c for c in plan["price_components"] if c["metric_name"] == "storage_gb")
    assert client.delete(f"/plans/{plan['id']}/components/{storage['id']}").status_code in (200, 204)
    assert client.get(f"/plans/{plan['id']}").json()["version"] == 2
    assert client.post(f"/customers/{new['id']}/subscriptions", json=subscribe).status_code == 200

    def listed(customer_id: int) -> list[str]:
        query = "start_date=2024-01-01T00:00:00Z&end_date=2024-01-02T00:00:00Z&granularity=day"
        response = client.get(f"/customers/{customer_id}/usage?{query}")
        assert response.status_code == 200, response.text
        return sorted(m["metric_name"] for m in response.json()["metrics"])

    assert listed(old["id"]) == ["api_calls", "storage_gb"]
    assert listed(new["id"]) == ["api_calls"]
