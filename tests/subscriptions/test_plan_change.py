"""POST /customers/{cid}/subscriptions/{sid}/change: the old subscription ends at the change, a new one starts."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from fubble.db.models import BillingCoverage, Invoice, Plan
from fubble.db.session import Database
from tests.subscriptions.helpers import NEW_YORK, NOW, customer, get, period, plan, subscribe


def change(client: TestClient, customer_id: int, subscription_id: int, **body: Any) -> Any:
    return client.post(f"/customers/{customer_id}/subscriptions/{subscription_id}/change", json=body)


def test_change_now(client: TestClient) -> None:
    cid, basic, pro = customer(client), plan(client), plan(client, name="Pro")
    old = subscribe(
        client,
        cid,
        plan_id=basic,
        start_date="2024-01-01T00:00:00Z",
        price_overrides=[{"metric_name": "seats", "pricing_details": {"amount": 5}}],
    )
    response = change(client, cid, old["id"], plan_id=pro)
    assert response.status_code == 200, response.text
    new = response.json()
    assert new == {
        "id": new["id"],
        "customer_id": cid,
        "plan_id": pro,
        "start_date": NOW,
        "end_date": None,
        "status": "active",
        "created_at": NOW,
        "canceled_at": None,
        "current_period_start": "2024-01-01T00:00:00Z",  # the anchor is kept
        "current_period_end": "2024-02-01T00:00:00Z",
        "trial_end": None,
        "cancel_at_period_end": False,
        "billing_anchor": "anniversary",
        "plan_version": 1,
        "previous_subscription_id": old["id"],
        "price_overrides": [],
    }
    assert new["id"] != old["id"]
    ended = get(client, cid, old["id"])
    assert (ended["end_date"], ended["canceled_at"], ended["status"]) == (NOW, NOW, "ended")
    assert ended["plan_id"] == basic
    assert [s["id"] for s in client.get(f"/customers/{cid}/subscriptions", params={"active_only": True}).json()] == [
        new["id"]
    ]


def test_change_at_period_end_keeps_calendar_anchor_and_trial(client: TestClient) -> None:
    cid = customer(client, timezone=NEW_YORK)
    basic, pro = plan(client), plan(client, name="Pro")
    old = subscribe(client, cid, plan_id=basic, start_date="2024-01-10T00:00:00Z", billing_anchor="calendar")
    response = change(client, cid, old["id"], plan_id=pro, effective="period_end")
    assert response.status_code == 200, response.text
    new = response.json()
    assert (new["start_date"], new["status"], new["billing_anchor"]) == (
        "2024-02-01T05:00:00Z",
        "scheduled",
        "calendar",
    )
    assert period(new) == (None, None)
    old_now = get(client, cid, old["id"])
    assert (old_now["end_date"], old_now["canceled_at"], old_now["status"]) == ("2024-02-01T05:00:00Z", NOW, "canceled")
    assert period(old_now) == ("2024-01-01T05:00:00Z", "2024-02-01T05:00:00Z")
    # a change at an explicit instant, during a trial that outlives it: the new subscription keeps the trial
    trial = subscribe(client, cid, plan_id=basic, start_date="2024-01-01T00:00:00Z", trial_days=30)
    response = change(client, cid, trial["id"], plan_id=pro, at="2024-01-12T00:00:00Z")
    assert response.status_code == 200, response.text
    assert (response.json()["start_date"], response.json()["trial_end"]) == (
        "2024-01-12T00:00:00Z",
        "2024-01-31T00:00:00Z",
    )
    assert response.json()["status"] == "trialing"
    assert period(response.json()) == ("2024-01-12T00:00:00Z", "2024-01-31T00:00:00Z")
    # period_end during a trial is the trial's end; a trial already over is not kept
    trial = subscribe(client, cid, plan_id=basic, start_date="2024-01-01T00:00:00Z", trial_days=30)
    response = change(client, cid, trial["id"], plan_id=pro, effective="period_end")
    assert (response.json()["start_date"], response.json()["trial_end"]) == ("2024-01-31T00:00:00Z", None)


def test_change_at_period_end_of_a_later_instant(client: TestClient) -> None:
    cid, basic, pro = customer(client), plan(client), plan(client, name="Pro")
    old = subscribe(client, cid, plan_id=basic, start_date="2024-01-05T00:00:00Z")
    response = change(client, cid, old["id"], plan_id=pro, effective="period_end", at="2024-03-10T00:00:00+01:00")
    assert response.status_code == 200, response.text
    assert response.json()["start_date"] == "2024-04-05T00:00:00Z"
    assert get(client, cid, old["id"])["end_date"] == "2024-04-05T00:00:00Z"


def test_the_end_and_its_cancel_are_carried_over(client: TestClient) -> None:
    cid, basic, pro = customer(client), plan(client), plan(client, name="Pro")
    fixed = subscribe(client, cid, plan_id=basic, start_date="2024-01-01T00:00:00Z", end_date="2024-06-01T00:00:00Z")
    new = change(client, cid, fixed["id"], plan_id=pro).json()
    assert (new["end_date"], new["canceled_at"], new["status"]) == ("2024-06-01T00:00:00Z", None, "active")
    canceled = subscribe(client, cid, plan_id=basic, start_date="2024-01-01T00:00:00Z")
    url = f"/customers/{cid}/subscriptions/{canceled['id']}/cancel"
    assert client.put(url, params={"at_period_end": True}).status_code == 200
    new = change(client, cid, canceled["id"], plan_id=pro).json()
    assert (new["end_date"], new["cancel_at_period_end"], new["status"]) == ("2024-02-01T00:00:00Z", True, "canceled")
    assert get(client, cid, canceled["id"])["cancel_at_period_end"] is False


def test_the_same_plan_moves_to_its_latest_version(client: TestClient, db: Database) -> None:
    cid, basic = customer(client), plan(client)
    old = subscribe(client, cid, plan_id=basic, start_date="2024-01-01T00:00:00Z")
    with db.transaction() as session:
        row = session.get(Plan, basic)
        assert row is not None
        row.version = 2
    new = change(client, cid, old["id"], plan_id=basic).json()
    assert (new["plan_id"], new["plan_version"], new["previous_subscription_id"]) == (basic, 2, old["id"])
    assert (get(client, cid, old["id"])["plan_version"], subscribe(client, cid, plan_id=basic)["plan_version"]) == (
        1,
        2,
    )


def test_change_errors(client: TestClient, db: Database) -> None:
    cid, basic, pro = customer(client), plan(client), plan(client, name="Pro")
    other = customer(client, email="b@x.com")
    sub = subscribe(client, cid, plan_id=basic, start_date="2024-01-01T00:00:00Z")
    assert change(client, cid, sub["id"], plan_id=999).status_code == 404
    assert change(client, cid, 999, plan_id=pro).status_code == 404
    assert change(client, other, sub["id"], plan_id=pro).status_code == 404
    assert change(client, 999, sub["id"], plan_id=pro).status_code == 404
    for bad, loc in (
        ({"plan_id": pro, "effective": "tomorrow"}, ["body", "effective"]),
        ({"plan_id": pro, "at": "soon"}, ["body", "at"]),
        ({"plan_id": pro, "extra": 1}, ["body", "extra"]),
        ({"plan_id": 0}, ["body", "plan_id"]),
        ({}, ["body", "plan_id"]),
    ):
        response = change(client, cid, sub["id"], **bad)
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["detail"][0]["loc"] == loc, (bad, response.text)
    assert client.put(f"/plans/{pro}/deactivate").status_code == 200
    inactive = change(client, cid, sub["id"], plan_id=pro)
    assert (inactive.status_code, "inactive" in inactive.json()["detail"]) == (409, True)
    before = change(client, cid, sub["id"], plan_id=basic, at="2024-01-01T00:00:00Z")
    assert before.status_code == 409
    assert "starts at 2024-01-01T00:00:00Z, not before the change" in before.json()["detail"]
    scheduled = subscribe(client, cid, plan_id=basic, start_date="2024-03-01T00:00:00Z")
    assert change(client, cid, scheduled["id"], plan_id=basic).status_code == 409
    ending = subscribe(client, cid, plan_id=basic, start_date="2024-01-01T00:00:00Z", end_date="2024-01-20T00:00:00Z")
    late = change(client, cid, ending["id"], plan_id=basic, effective="period_end")
    assert (late.status_code, late.json()["detail"]) == (
        409,
        f"subscription {ending['id']} ends at 2024-01-20T00:00:00Z, by the change at 2024-02-01T00:00:00Z",
    )
    t = datetime(2024, 1, 1, tzinfo=UTC)
    with db.transaction() as session:
        invoice = Invoice(
            invoice_number="INV-1",
            customer_id=cid,
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
                invoice_id=invoice.id, subscription_id=sub["id"], start=t, end=datetime(2024, 2, 1, tzinfo=UTC)
            )
        )
    invoiced = change(client, cid, sub["id"], plan_id=basic)
    assert invoiced.status_code == 409
    assert "invoiced until 2024-02-01T00:00:00Z" in invoiced.json()["detail"]
    assert "void those invoices first" in invoiced.json()["detail"]
    assert change(client, cid, sub["id"], plan_id=basic, effective="period_end").status_code == 200
    ended = get(client, cid, sub["id"])
    assert change(client, cid, sub["id"], plan_id=basic, at="2024-03-01T00:00:00Z").status_code == 409  # ended by then
    assert get(client, cid, sub["id"]) == ended
    assert len(client.get(f"/customers/{cid}/subscriptions").json()) == 4
