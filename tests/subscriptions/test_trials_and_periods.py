"""Trials, statuses and current billing periods, read at the customer's now (frozen clock, or a test clock)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from fubble.clock import FrozenClock
from fubble.db.session import Database
from tests.subscriptions.helpers import (
    NEW_YORK,
    NOW,
    customer,
    get,
    make_test_clock,
    move_test_clock,
    period,
    plan,
    subscribe,
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def test_trial_days_then_anniversary_periods_from_the_trial_end_in_new_york(
    client: TestClient, clock: FrozenClock
) -> None:
    cid = customer(client, timezone=NEW_YORK)
    # 2024-01-10 00:00 EST, a 14-day trial (exactly 14 x 24 hours)
    sub = subscribe(client, cid, plan_id=plan(client), start_date="2024-01-10T05:00:00Z", trial_days=14)
    assert sub["trial_end"] == "2024-01-24T05:00:00Z"
    assert sub["status"] == "trialing"
    assert period(sub) == ("2024-01-10T05:00:00Z", "2024-01-24T05:00:00Z")
    clock.set(at("2024-01-24T04:59:59Z"))
    assert get(client, cid, sub["id"])["status"] == "trialing"
    clock.set(at("2024-01-24T05:00:00Z"))
    active = get(client, cid, sub["id"])
    assert active["status"] == "active"
    assert period(active) == ("2024-01-24T05:00:00Z", "2024-02-24T05:00:00Z")
    # across the start of daylight saving time (2024-03-10): periods stay at local midnight
    clock.set(at("2024-03-20T00:00:00Z"))
    assert period(get(client, cid, sub["id"])) == ("2024-02-24T05:00:00Z", "2024-03-24T04:00:00Z")


def test_trial_end_and_trial_errors(client: TestClient) -> None:
    cid, pid = customer(client), plan(client)
    sub = subscribe(client, cid, plan_id=pid, trial_end="2024-02-01T00:00:00+01:00")
    assert (sub["start_date"], sub["trial_end"], sub["status"]) == (NOW, "2024-01-31T23:00:00Z", "trialing")
    assert period(sub) == (NOW, "2024-01-31T23:00:00Z")
    longest = subscribe(client, cid, plan_id=pid, start_date="2024-01-01T00:00:00Z", trial_days=730)
    assert longest["trial_end"] == "2025-12-31T00:00:00Z"  # 2024 is a leap year
    url = f"/customers/{cid}/subscriptions"
    for bad, loc in (
        ({"trial_days": 7, "trial_end": "2024-02-01T00:00:00Z"}, ["body", "trial_end"]),
        ({"trial_end": NOW}, ["body", "trial_end"]),
        ({"start_date": "2024-03-01T00:00:00Z", "trial_end": "2024-02-01T00:00:00Z"}, ["body", "trial_end"]),
        ({"trial_days": 0}, ["body", "trial_days"]),
        ({"trial_days": 731}, ["body", "trial_days"]),
        ({"trial_days": 1.5}, ["body", "trial_days"]),
        ({"billing_anchor": "weekly"}, ["body", "billing_anchor"]),
    ):
        response = client.post(url, json={"plan_id": pid, **bad})
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["detail"][0]["loc"] == loc, (bad, response.text)
    both = client.post(url, json={"plan_id": pid, "trial_days": 7, "trial_end": "2024-02-01T00:00:00Z"})
    assert both.json()["detail"][0]["msg"] == "give trial_days or trial_end, not both"
    assert len(client.get(url).json()) == 2


def test_status_moves_with_the_clock(client: TestClient, clock: FrozenClock) -> None:
    cid = customer(client)
    sub = subscribe(client, cid, plan_id=plan(client), start_date="2024-02-01T00:00:00Z", trial_days=7)
    assert (sub["status"], period(sub)) == ("scheduled", (None, None))
    assert (sub["billing_anchor"], sub["plan_version"], sub["cancel_at_period_end"]) == ("anniversary", 1, False)
    clock.set(at("2024-02-01T00:00:00Z"))
    trialing = get(client, cid, sub["id"])
    assert (trialing["status"], period(trialing)) == ("trialing", ("2024-02-01T00:00:00Z", "2024-02-08T00:00:00Z"))
    clock.set(at("2024-02-10T00:00:00Z"))
    active = get(client, cid, sub["id"])
    assert (active["status"], period(active)) == ("active", ("2024-02-08T00:00:00Z", "2024-03-08T00:00:00Z"))
    canceled = client.put(f"/customers/{cid}/subscriptions/{sub['id']}/cancel", params={"at_period_end": True})
    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["status"] == "canceled"
    assert canceled.json()["end_date"] == "2024-03-08T00:00:00Z"
    assert period(canceled.json()) == ("2024-02-08T00:00:00Z", "2024-03-08T00:00:00Z")
    clock.set(at("2024-03-08T00:00:00Z"))
    ended = get(client, cid, sub["id"])
    assert (ended["status"], period(ended)) == ("ended", (None, None))
    listed = client.get(f"/customers/{cid}/subscriptions").json()
    assert [s["status"] for s in listed] == ["ended"]


def test_calendar_periods_in_new_york(client: TestClient, clock: FrozenClock) -> None:
    cid = customer(client, timezone=NEW_YORK)
    monthly = subscribe(client, cid, plan_id=plan(client), start_date="2024-01-10T17:00:00Z", billing_anchor="calendar")
    assert monthly["billing_anchor"] == "calendar"
    assert period(monthly) == ("2024-01-01T05:00:00Z", "2024-02-01T05:00:00Z")
    quarterly = subscribe(
        client,
        cid,
        plan_id=plan(client, "quarterly", name="Q"),
        start_date="2024-01-10T17:00:00Z",
        billing_anchor="calendar",
    )
    assert period(quarterly) == ("2024-01-01T05:00:00Z", "2024-04-01T04:00:00Z")
    clock.set(at("2024-04-01T03:59:59Z"))  # 2024-03-31 23:59:59 EDT
    assert period(get(client, cid, quarterly["id"])) == ("2024-01-01T05:00:00Z", "2024-04-01T04:00:00Z")
    assert period(get(client, cid, monthly["id"])) == ("2024-03-01T05:00:00Z", "2024-04-01T04:00:00Z")
    clock.set(at("2024-04-01T04:00:00Z"))
    assert period(get(client, cid, quarterly["id"])) == ("2024-04-01T04:00:00Z", "2024-07-01T04:00:00Z")
    # a calendar trial: the trial, then the calendar period containing now
    trial = subscribe(
        client,
        cid,
        plan_id=plan(client, name="T"),
        start_date="2024-04-01T04:00:00Z",
        trial_days=10,
        billing_anchor="calendar",
    )
    assert period(trial) == ("2024-04-01T04:00:00Z", "2024-04-11T04:00:00Z")
    clock.set(at("2024-04-11T04:00:00Z"))
    assert period(get(client, cid, trial["id"])) == ("2024-04-01T04:00:00Z", "2024-05-01T04:00:00Z")


def test_anniversary_periods_keep_the_local_day_in_new_york(client: TestClient, clock: FrozenClock) -> None:
    cid = customer(client, timezone=NEW_YORK)
    sub = subscribe(client, cid, plan_id=plan(client), start_date="2024-01-31T05:00:00Z")  # Jan 31, 00:00 EST
    clock.set(at("2024-03-15T00:00:00Z"))
    assert period(get(client, cid, sub["id"])) == ("2024-02-29T05:00:00Z", "2024-03-31T04:00:00Z")
    # the customer's zone is read at every request: moving it moves the periods
    assert client.put(f"/customers/{cid}", json={"timezone": "UTC"}).status_code == 200
    assert period(get(client, cid, sub["id"])) == ("2024-02-29T05:00:00Z", "2024-03-31T05:00:00Z")


def test_a_test_clock_customer_lives_at_its_clock(client: TestClient, db: Database) -> None:
    clock_id = make_test_clock(db, datetime(2023, 6, 1, tzinfo=UTC))
    cid = customer(client, test_clock_id=clock_id)
    sub = subscribe(client, cid, plan_id=plan(client))
    assert (sub["start_date"], sub["created_at"], sub["status"]) == ("2023-06-01T00:00:00Z", NOW, "active")
    assert period(sub) == ("2023-06-01T00:00:00Z", "2023-07-01T00:00:00Z")
    later = subscribe(client, cid, plan_id=plan(client, name="B"), start_date="2023-08-01T00:00:00Z")
    assert later["status"] == "scheduled"  # the server's now (2024) would say active
    url = f"/customers/{cid}/subscriptions"
    assert [s["id"] for s in client.get(url, params={"active_only": True}).json()] == [sub["id"]]
    move_test_clock(db, clock_id, datetime(2023, 8, 10, tzinfo=UTC))
    assert [s["id"] for s in client.get(url, params={"active_only": True}).json()] == [sub["id"], later["id"]]
    assert period(get(client, cid, sub["id"])) == ("2023-08-01T00:00:00Z", "2023-09-01T00:00:00Z")
    canceled = client.put(f"{url}/{sub['id']}/cancel")
    assert canceled.status_code == 200, canceled.text
    body = canceled.json()
    assert (body["end_date"], body["canceled_at"], body["status"]) == ("2023-08-10T00:00:00Z", NOW, "ended")
