from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from fubble.clock import FrozenClock


def test_a_run_bills_each_ended_period_once(client: TestClient, clock: FrozenClock) -> None:
    clock.set(datetime(2024, 1, 1, tzinfo=UTC))
    plan = client.post(
        "/plans/",
        json={
            "name": "p",
            "billing_frequency": "monthly",
            "price_components": [
                {"metric_name": "fee", "pricing_type": "subscription", "pricing_details": {"amount": 31}},
                {
                    "metric_name": "api",
                    "pricing_type": "package",
                    "pricing_details": {"package_size": 100, "package_price": 2},
                },
            ],
        },
    ).json()
    customer = client.post("/customers/", json={"name": "c", "email": "c@x.com"}).json()
    sub = client.post(
        f"/customers/{customer['id']}/subscriptions", json={"plan_id": plan["id"], "start_date": "2024-01-15T00:00:00Z"}
    )
    assert sub.status_code == 200, sub.text
    client.post(
        "/events/",
        json={
            "customer_id": customer["id"],
            "metric_name": "api",
            "quantity": 150,
            "event_time": "2024-01-20T00:00:00Z",
        },
    )
    clock.set(datetime(2024, 3, 20, tzinfo=UTC))
    run = client.post("/billing/runs", json={"as_of": "2024-03-20T00:00:00Z"})
    assert run.status_code == 200, run.text
    body = run.json()
    print(body)
    assert body["invoices_created"] == 2
    invoices = [client.get(f"/invoices/{i}").json() for i in body["invoice_ids"]]
    for inv in invoices:
        print(
            inv["status"],
            inv["period_start"],
            inv["period_end"],
            inv["amount"],
            [(i["description"], i["amount"], i["kind"]) for i in inv["invoice_items"]],
        )
    again = client.post("/billing/runs", json={}).json()
    assert again["invoices_created"] == 0
    assert client.post("/billing/runs", json={"as_of": "2024-03-21T00:00:00Z"}).status_code == 422
