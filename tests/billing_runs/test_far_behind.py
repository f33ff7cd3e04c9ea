"""A subscription far behind (started decades ago, never billed) does not stop a run: the run bills its earliest 240
periods and everyone else, and the next runs bill the rest."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from fubble.clock import FrozenClock


def test_a_subscription_far_behind_is_billed_over_several_runs(client: TestClient, clock: FrozenClock) -> None:
    clock.set(datetime(2024, 2, 1, tzinfo=UTC))
    plan = client.post(
        "/plans/",
        json={
            "name": "P",
            "billing_frequency": "monthly",
            "price_components": [
                {"metric_name": "fee", "pricing_type": "subscription", "pricing_details": {"amount": "1.00"}}
            ],
        },
    ).json()
    old, new = (client.post("/customers/", json={"name": n, "email": f"{n}@x.com"}).json()["id"] for n in "ab")
    for cid, start in ((old, "1990-01-01T00:00:00Z"), (new, "2024-01-01T00:00:00Z")):
        body = {"plan_id": plan["id"], "start_date": start}
        assert client.post(f"/customers/{cid}/subscriptions", json=body).status_code == 200

    # January 1990 to January 2024: 34 years and 1 month = 409 monthly periods, 240 of them in the first run
    first = client.post("/billing/runs", json={"as_of": "2024-02-01T00:00:00Z"})
    assert first.status_code == 200, first.text
    assert first.json()["invoices_created"] == 240 + 1  # and the other customer's January
    second = client.post("/billing/runs", json={"as_of": "2024-02-01T00:00:00Z"}).json()
    assert second["invoices_created"] == 409 - 240
    assert client.post("/billing/runs", json={"as_of": "2024-02-01T00:00:00Z"}).json()["invoices_created"] == 0
    invoices = client.get(f"/invoices/customer/{old}?limit=1000").json()
    assert len(invoices) == 409
    assert sum(len(i["invoice_items"]) for i in invoices) == 409  # each period once, 1.00 each
