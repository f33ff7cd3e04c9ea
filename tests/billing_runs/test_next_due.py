"""Runs skip what is not due: after a run, a subscription is looked at again only at its next period end (or
earlier, when a cancel, change or void makes something due sooner)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from fubble.billing_runs import repository
from fubble.clock import FrozenClock
from fubble.db.session import Database


def _due(db: Database, as_of: str) -> list[int]:
    with db.transaction() as session:
        at = datetime.fromisoformat(as_of).replace(tzinfo=UTC)
        return repository.customer_ids_due(session, at, after_id=0, limit=None, test_clock_id=None)


def test_a_billed_customer_is_looked_at_again_at_its_next_period_end_or_after_a_change(
    client: TestClient, clock: FrozenClock, db: Database
) -> None:
    clock.set(datetime(2024, 3, 1, tzinfo=UTC))
    plan = client.post(
        "/plans/",
        json={
            "name": "P",
            "billing_frequency": "monthly",
            "price_components": [
                {"metric_name": "fee", "pricing_type": "subscription", "pricing_details": {"amount": "10.00"}}
            ],
        },
    ).json()
    cid = client.post("/customers/", json={"name": "C", "email": "c@x.com"}).json()["id"]
    body = {"plan_id": plan["id"], "start_date": "2024-01-01T00:00:00Z"}
    sid = client.post(f"/customers/{cid}/subscriptions", json=body).json()["id"]
    assert _due(db, "2024-02-01T00:00:00") == [cid]  # never looked at

    [january] = client.post("/billing/runs", json={"as_of": "2024-02-01T00:00:00Z"}).json()["invoice_ids"]
    assert _due(db, "2024-02-29T23:59:59") == []  # nothing until February ends
    assert _due(db, "2024-03-01T00:00:00") == [cid]
    nothing = client.post("/billing/runs", json={"as_of": "2024-02-15T00:00:00Z"}).json()
    assert nothing["invoices_created"] == 0

    cancel = client.put(f"/customers/{cid}/subscriptions/{sid}/cancel", json={"end_date": "2024-02-20T00:00:00Z"})
    assert cancel.status_code == 200
    assert _due(db, "2024-02-15T00:00:00") == [cid]  # a cancel: looked at again at the next run
    client.post("/billing/runs", json={"as_of": "2024-02-15T00:00:00Z"})
    assert _due(db, "2024-02-19T23:59:59") == []
    assert _due(db, "2024-02-20T00:00:00") == [cid]  # its end: paid-ahead time (had it any) is credited then
    [february] = client.post("/billing/runs", json={"as_of": "2024-03-01T00:00:00Z"}).json()["invoice_ids"]
    assert _due(db, "2030-01-01T00:00:00") == []  # ended and all billed: never again

    assert client.put(f"/invoices/{january}/void", json={}).status_code == 200
    assert _due(db, "2024-03-01T00:00:00") == [cid]  # a void frees time: looked at again
    [again] = client.post("/billing/runs", json={"as_of": "2024-03-01T00:00:00Z"}).json()["invoice_ids"]
    assert client.get(f"/invoices/{again}").json()["period_start"].startswith("2024-01-01")
    assert february != again
