"""PUT .../cancel with at_period_end, and which invoiced time blocks a cancel."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from fastapi.testclient import TestClient

from fubble.db.models import BillingCoverage, Invoice
from fubble.db.session import Database
from tests.subscriptions.helpers import NEW_YORK, NOW, customer, plan, subscribe


def cancel_url(customer_id: int, subscription_id: int) -> str:
    return f"/customers/{customer_id}/subscriptions/{subscription_id}/cancel"


def test_at_period_end_by_query_or_body(client: TestClient) -> None:
    cid, pid = customer(client), plan(client)
    by_query = subscribe(client, cid, plan_id=pid, start_date="2023-11-20T08:00:00Z")
    response = client.put(cancel_url(cid, by_query["id"]), params={"at_period_end": "true"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["end_date"], body["cancel_at_period_end"], body["canceled_at"]) == ("2024-01-20T08:00:00Z", True, NOW)
    assert body["status"] == "canceled"
    by_body = subscribe(client, cid, plan_id=pid, start_date="2023-11-20T08:00:00Z")
    response = client.put(cancel_url(cid, by_body["id"]), json={"at_period_end": True})
    assert response.status_code == 200, response.text
    assert (response.json()["end_date"], response.json()["cancel_at_period_end"]) == ("2024-01-20T08:00:00Z", True)
    # an explicit end afterwards replaces the cancel at period end
    moved = client.put(cancel_url(cid, by_body["id"]), json={"end_date": "2024-01-18T00:00:00Z"})
    assert (moved.json()["end_date"], moved.json()["cancel_at_period_end"]) == ("2024-01-18T00:00:00Z", False)
    both = client.put(cancel_url(cid, by_query["id"]), params={"at_period_end": True}, json={"at_period_end": True})
    assert both.status_code == 200, both.text
    false = subscribe(client, cid, plan_id=pid, start_date="2024-01-01T00:00:00Z")
    now = client.put(cancel_url(cid, false["id"]), json={"at_period_end": False})
    assert (now.json()["end_date"], now.json()["cancel_at_period_end"], now.json()["status"]) == (NOW, False, "ended")


def test_at_period_end_in_a_trial_on_the_calendar_and_when_scheduled(client: TestClient) -> None:
    cid = customer(client, timezone=NEW_YORK)
    pid = plan(client)
    trial = subscribe(client, cid, plan_id=pid, start_date="2024-01-10T00:00:00Z", trial_days=30)
    response = client.put(cancel_url(cid, trial["id"]), params={"at_period_end": True})
    assert response.json()["end_date"] == "2024-02-09T00:00:00Z"
    calendar = subscribe(client, cid, plan_id=pid, start_date="2024-01-10T00:00:00Z", billing_anchor="calendar")
    response = client.put(cancel_url(cid, calendar["id"]), params={"at_period_end": True})
    assert response.json()["end_date"] == "2024-02-01T05:00:00Z"  # 2024-02-01 00:00 EST
    scheduled = subscribe(client, cid, plan_id=pid, start_date="2024-03-05T05:00:00Z")
    response = client.put(cancel_url(cid, scheduled["id"]), params={"at_period_end": True})
    assert response.status_code == 200, response.text
    assert (response.json()["end_date"], response.json()["status"]) == ("2024-04-05T04:00:00Z", "scheduled")


def test_at_period_end_errors(client: TestClient) -> None:
    cid = customer(client)
    sub = subscribe(client, cid, plan_id=plan(client), start_date="2024-01-01T00:00:00Z")
    url = cancel_url(cid, sub["id"])
    for bad, loc in (
        ({"params": {"at_period_end": True, "end_date": "2024-02-01T00:00:00Z"}}, ["end_date"]),
        ({"json": {"at_period_end": True, "end_date": "2024-02-01T00:00:00Z"}}, ["end_date"]),
        ({"params": {"end_date": "2024-02-01T00:00:00Z"}, "json": {"at_period_end": True}}, ["end_date"]),
        ({"params": {"at_period_end": True}, "json": {"at_period_end": False}}, ["query", "at_period_end"]),
        ({"params": {"at_period_end": "maybe"}}, ["query", "at_period_end"]),
        ({"json": {"at_period_end": "yes"}}, ["body", "at_period_end"]),
    ):
        response = client.put(url, **bad)
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["detail"][0]["loc"] == loc, (bad, response.text)
    assert client.get(f"/customers/{cid}/subscriptions/{sub['id']}").json() == sub


def add_coverage(
    db: Database, customer_id: int, subscription_id: int, *, kind: str, released: bool, end: datetime
) -> None:
    t = datetime(2024, 1, 1, tzinfo=UTC)
    with db.transaction() as session:
        invoice = Invoice(
            invoice_number=f"INV-{kind}-{released}",
            customer_id=customer_id,
            status="pending",
            currency="USD",
            issue_date=t,
            due_date=t,
            amount=Decimal("10.00"),
            created_at=t,
            updated_at=t,
        )
        session.add(invoice)
        session.flush()
        session.add(
            BillingCoverage(
                invoice_id=invoice.id, subscription_id=subscription_id, start=t, end=end, kind=kind, released=released
            )
        )


def test_only_unreleased_arrears_coverage_blocks_a_cancel(client: TestClient, db: Database) -> None:
    cid = customer(client)
    sub = subscribe(client, cid, plan_id=plan(client), start_date="2024-01-01T00:00:00Z")
    add_coverage(db, cid, sub["id"], kind="advance", released=False, end=datetime(2024, 2, 1, tzinfo=UTC))
    add_coverage(db, cid, sub["id"], kind="arrears", released=True, end=datetime(2024, 1, 20, tzinfo=UTC))
    response = client.put(cancel_url(cid, sub["id"]))
    assert response.status_code == 200, response.text
    assert response.json()["end_date"] == NOW
    blocked = subscribe(client, cid, plan_id=plan(client, name="B"), start_date="2024-01-01T00:00:00Z")
    add_coverage(db, cid, blocked["id"], kind="arrears", released=False, end=datetime(2024, 1, 10, tzinfo=UTC))
    refused = client.put(cancel_url(cid, blocked["id"]), params={"end_date": "2024-01-05T00:00:00Z"})
    assert refused.status_code == 409
    assert "invoiced until 2024-01-10T00:00:00Z" in refused.json()["detail"]
