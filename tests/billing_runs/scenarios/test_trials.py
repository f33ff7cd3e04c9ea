"""Scenarios: free trials. Nothing is charged before the trial's end, anniversary periods count from it, usage in
the trial is free, and a calendar subscription's first paid period runs from the trial's end to the 1st."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient

from fubble.clock import FrozenClock
from tests.billing_runs.scenarios.helpers import (
    amount,
    base_and_usage,
    cancel,
    customer,
    customer_invoices,
    event,
    fee,
    invoices_of,
    lines,
    period,
    plan,
    run,
    subscribe,
    utc,
)


def _plan(client: TestClient) -> int:
    return plan(client, fee("platform", "31.00"), base_and_usage("api", "0", "1.00"))


def test_trial_then_paid_anniversary_periods_from_the_trial_end(client: TestClient, clock: FrozenClock) -> None:
    cid = customer(client)
    clock.set(utc("2024-01-01"))
    sub = subscribe(client, cid, _plan(client), "2024-01-01T00:00:00Z", trial_days=14)
    assert sub["trial_end"] is not None and utc(sub["trial_end"]) == utc("2024-01-15")
    event(client, cid, "api", 50, "2024-01-05T00:00:00Z")  # in the trial: free
    event(client, cid, "api", 3, "2024-01-20T00:00:00Z")  # paid time

    # The trial is over but the first paid period [Jan 15, Feb 15) is not: nothing to bill yet.
    assert run(client, clock, "2024-02-14T23:59:59Z")["invoices_created"] == 0

    [first] = invoices_of(client, run(client, clock, "2024-02-15T00:00:00Z"))
    # Whole period from the trial's end: 31.00, + 3 x 1.00 (the 50 trial units are free) = 34.00.
    assert period(first) == (utc("2024-01-15"), utc("2024-02-15"))
    assert lines(first) == [("api", "usage", Decimal("3.00")), ("platform", "usage", Decimal("31.00"))]
    assert amount(first) == Decimal("34.00")


def test_no_invoice_for_a_trial_alone(client: TestClient, clock: FrozenClock) -> None:
    cid = customer(client)
    clock.set(utc("2024-01-01"))
    sub = subscribe(client, cid, _plan(client), "2024-01-01T00:00:00Z", trial_days=14)
    event(client, cid, "api", 50, "2024-01-05T00:00:00Z")
    clock.set(utc("2024-01-10"))
    ended = cancel(client, cid, sub["id"], at_period_end=True)  # during the trial: ends at the trial's end
    assert utc(ended["end_date"]) == utc("2024-01-15")

    result = run(client, clock, "2024-06-01T00:00:00Z")

    assert result["invoices_created"] == 0
    assert customer_invoices(client, cid) == []


def test_calendar_with_trial(client: TestClient, clock: FrozenClock) -> None:
    cid = customer(client)
    clock.set(utc("2024-01-10"))
    subscribe(client, cid, _plan(client), "2024-01-10T00:00:00Z", trial_days=10, billing_anchor="calendar")
    event(client, cid, "api", 40, "2024-01-19T23:59:59Z")  # last second of the trial: free
    event(client, cid, "api", 4, "2024-01-20T00:00:00Z")  # first second paid

    result = run(client, clock, "2024-03-01T00:00:00Z")

    january, february = invoices_of(client, result)
    # Trial ends Jan 20; [Jan 20, Feb 1) = 12 of January's 31 days: 31.00 x 12/31 = 12.00, + 4 x 1.00 = 16.00.
    assert period(january) == (utc("2024-01-20"), utc("2024-02-01"))
    assert amount(january) == Decimal("16.00")
    # February whole: 31.00.
    assert period(february) == (utc("2024-02-01"), utc("2024-03-01"))
    assert amount(february) == Decimal("31.00")


def test_fees_in_advance_are_due_at_the_trial_end(client: TestClient, clock: FrozenClock) -> None:
    cid = customer(client)
    clock.set(utc("2024-04-01"))
    ahead = plan(client, fee("platform", "30.00"), fees_in_advance=True)
    subscribe(client, cid, ahead, "2024-04-01T00:00:00Z", trial_days=14)

    assert run(client, clock, "2024-04-14T23:59:59Z")["invoices_created"] == 0
    [first] = invoices_of(client, run(client, clock, "2024-04-15T00:00:00Z"))
    # The first paid period [Apr 15, May 15), whole, at its start: 30.00.
    assert period(first) == (utc("2024-04-15"), utc("2024-05-15"))
    assert lines(first) == [("platform", "fee", Decimal("30.00"))]


def test_plan_change_during_the_trial_bills_only_the_new_plan(client: TestClient, clock: FrozenClock) -> None:
    cid = customer(client)
    clock.set(utc("2024-04-01"))
    sub = subscribe(client, cid, _plan(client), "2024-04-01T00:00:00Z", trial_days=14)
    event(client, cid, "api", 9, "2024-04-03T00:00:00Z")  # trial: free
    clock.set(utc("2024-04-05"))
    pro = plan(client, fee("platform", "90.00"), base_and_usage("api", "0", "2.00"), name="Pro")
    response = client.post(f"/customers/{cid}/subscriptions/{sub['id']}/change", json={"plan_id": pro})
    assert response.status_code == 200, response.text
    assert utc(response.json()["trial_end"]) == utc("2024-04-15")  # the trial carries over
    event(client, cid, "api", 2, "2024-04-20T00:00:00Z")

    [first] = invoices_of(client, run(client, clock, "2024-05-15T00:00:00Z"))
    # Only Pro's paid time [Apr 15, May 15), a whole period from the trial's end: 90.00 + 2 x 2.00 = 94.00.
    assert period(first) == (utc("2024-04-15"), utc("2024-05-15"))
    assert lines(first) == [("api", "usage", Decimal("4.00")), ("platform", "usage", Decimal("90.00"))]
    assert amount(first) == Decimal("94.00")


def test_change_at_period_end_during_the_trial_happens_at_the_trial_end(client: TestClient, clock: FrozenClock) -> None:
    cid = customer(client)
    clock.set(utc("2024-04-01"))
    sub = subscribe(client, cid, _plan(client), "2024-04-01T00:00:00Z", trial_days=14)
    pro = plan(client, fee("platform", "90.00"), base_and_usage("api", "0", "2.00"), name="Pro")
    clock.set(utc("2024-04-05"))
    response = client.post(
        f"/customers/{cid}/subscriptions/{sub['id']}/change", json={"plan_id": pro, "effective": "period_end"}
    )
    assert response.status_code == 200, response.text
    assert utc(response.json()["start_date"]) == utc("2024-04-15")

    [first] = invoices_of(client, run(client, clock, "2024-05-15T00:00:00Z"))
    # Pro from the trial's end, a whole period [Apr 15, May 15): 90.00 + 0 x 2.00 = 90.00.
    assert period(first) == (utc("2024-04-15"), utc("2024-05-15"))
    assert amount(first) == Decimal("90.00")
