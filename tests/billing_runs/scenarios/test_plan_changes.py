"""Scenarios: changing plan inside a billing period. Usage before the change instant is rated on the old plan and
after it on the new one (tiers start again), ``subscription`` fees are split at the instant, a ``flat`` fee of a
metric both plans charge is charged once (by the new plan), and both parts share the period end's invoice."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient

from fubble.clock import FrozenClock
from tests.billing_runs.scenarios.helpers import (
    amount,
    change,
    customer,
    event,
    fee,
    flat,
    invoices_of,
    lines,
    period,
    plan,
    run,
    subscribe,
    tiered,
    utc,
)

APRIL = "2024-04-01T00:00:00Z"  # April has 30 days: a change on Apr 16 splits it in halves, on Apr 11 at 1/3


def _basic(client: TestClient) -> int:
    return plan(
        client,
        fee("platform", "30.00"),
        tiered("api", (0, 100, "1.00"), (100, None, "0.50")),
        flat("support", "10.00"),
        name="Basic",
    )


def _pro(client: TestClient) -> int:
    return plan(
        client,
        fee("platform", "90.00"),
        tiered("api", (0, 100, "0.80"), (100, None, "0.40")),
        flat("support", "25.00"),
        name="Pro",
    )


def test_upgrade_now_mid_period(client: TestClient, clock: FrozenClock) -> None:
    basic, pro, cid = _basic(client), _pro(client), customer(client)
    clock.set(utc(APRIL))
    old = subscribe(client, cid, basic, APRIL)
    event(client, cid, "api", 150, "2024-04-10T00:00:00Z")
    clock.set(utc("2024-04-16"))
    new = change(client, cid, old["id"], plan_id=pro, effective="now", at="2024-04-16T00:00:00Z")
    event(client, cid, "api", 150, "2024-04-20T00:00:00Z")

    [april] = invoices_of(client, run(client, clock, "2024-05-01T00:00:00Z"))

    # Basic [Apr 1, Apr 16) = 15/30: platform 30.00 x 1/2 = 15.00; api 100 x 1.00 + 50 x 0.50 = 125.00; its support
    # flat fee is left out (Pro charges support's flat fee for this period).
    # Pro [Apr 16, May 1) = 15/30: platform 90.00 x 1/2 = 45.00; api, tiers from 0 again: 100 x 0.80 + 50 x 0.40
    # = 100.00; support 25.00 whole. Total 15.00 + 125.00 + 45.00 + 100.00 + 25.00 = 310.00.
    assert period(april) == (utc(APRIL), utc("2024-05-01"))
    assert lines(april) == [
        ("api", "usage", Decimal("125.00")),
        ("platform", "usage", Decimal("15.00")),
        ("api", "usage", Decimal("100.00")),
        ("platform", "usage", Decimal("45.00")),
        ("support", "usage", Decimal("25.00")),
    ]
    assert {i["subscription_id"] for i in april["invoice_items"]} == {old["id"], new["id"]}
    assert amount(april) == Decimal("310.00")


def test_downgrade_now_mid_period(client: TestClient, clock: FrozenClock) -> None:
    basic, pro, cid = _basic(client), _pro(client), customer(client)
    clock.set(utc(APRIL))
    old = subscribe(client, cid, pro, APRIL)
    event(client, cid, "api", 120, "2024-04-05T00:00:00Z")
    clock.set(utc("2024-04-11"))
    change(client, cid, old["id"], plan_id=basic, effective="now", at="2024-04-11T00:00:00Z")
    event(client, cid, "api", 120, "2024-04-25T00:00:00Z")

    [april] = invoices_of(client, run(client, clock, "2024-05-01T00:00:00Z"))

    # Pro [Apr 1, Apr 11) = 10/30: platform 90.00 x 1/3 = 30.00; api 100 x 0.80 + 20 x 0.40 = 88.00; no support.
    # Basic [Apr 11, May 1) = 20/30: platform 30.00 x 2/3 = 20.00; api 100 x 1.00 + 20 x 0.50 = 110.00; support 10.00.
    # Total 30.00 + 88.00 + 20.00 + 110.00 + 10.00 = 258.00.
    assert lines(april) == [
        ("api", "usage", Decimal("88.00")),
        ("platform", "usage", Decimal("30.00")),
        ("api", "usage", Decimal("110.00")),
        ("platform", "usage", Decimal("20.00")),
        ("support", "usage", Decimal("10.00")),
    ]
    assert amount(april) == Decimal("258.00")


def test_downgrade_at_period_end(client: TestClient, clock: FrozenClock) -> None:
    basic, pro, cid = _basic(client), _pro(client), customer(client)
    clock.set(utc(APRIL))
    old = subscribe(client, cid, pro, APRIL)
    clock.set(utc("2024-04-10"))
    new = change(client, cid, old["id"], plan_id=basic, effective="period_end")
    assert utc(new["start_date"]) == utc("2024-05-01")
    event(client, cid, "api", 150, "2024-04-20T00:00:00Z")
    event(client, cid, "api", 150, "2024-05-20T00:00:00Z")

    april, may = invoices_of(client, run(client, clock, "2024-06-01T00:00:00Z"))

    # April all on Pro: 90.00 + (100 x 0.80 + 50 x 0.40 = 100.00) + 25.00 = 215.00.
    assert period(april) == (utc(APRIL), utc("2024-05-01"))
    assert amount(april) == Decimal("215.00")
    # May all on Basic: 30.00 + (100 x 1.00 + 50 x 0.50 = 125.00) + 10.00 = 165.00.
    assert period(may) == (utc("2024-05-01"), utc("2024-06-01"))
    assert amount(may) == Decimal("165.00")


def test_upgrade_at_period_end(client: TestClient, clock: FrozenClock) -> None:
    basic, pro, cid = _basic(client), _pro(client), customer(client)
    clock.set(utc(APRIL))
    old = subscribe(client, cid, basic, APRIL)
    new = change(client, cid, old["id"], plan_id=pro, effective="period_end", at="2024-04-20T00:00:00Z")
    assert utc(new["start_date"]) == utc("2024-05-01")

    april, may = invoices_of(client, run(client, clock, "2024-06-01T00:00:00Z"))

    # April on Basic: 30.00 + 0.00 + 10.00 = 40.00; May on Pro: 90.00 + 0.00 + 25.00 = 115.00.
    assert (amount(april), amount(may)) == (Decimal("40.00"), Decimal("115.00"))


def test_change_inside_invoiced_time_is_a_conflict(client: TestClient, clock: FrozenClock) -> None:
    basic, pro, cid = _basic(client), _pro(client), customer(client)
    clock.set(utc(APRIL))
    sub = subscribe(client, cid, basic, APRIL)
    assert run(client, clock, "2024-05-10T00:00:00Z")["invoices_created"] == 1  # April is invoiced

    response = client.post(
        f"/customers/{cid}/subscriptions/{sub['id']}/change",
        json={"plan_id": pro, "effective": "now", "at": "2024-04-20T00:00:00Z"},
    )

    assert response.status_code == 409, response.text
    # After the invoiced time it is allowed: [Apr 1, May 1) billed, a change on May 10 bills nothing twice.
    moved = change(client, cid, sub["id"], plan_id=pro, effective="now", at="2024-05-10T00:00:00Z")
    [may] = invoices_of(client, run(client, clock, "2024-06-01T00:00:00Z"))
    # Basic [May 1, May 10) = 9/31: 30.00 x 9/31 = 8.709... -> 8.71; Pro [May 10, Jun 1) = 22/31: 90.00 x 22/31
    # = 63.870... -> 63.87; support once, by Pro: 25.00. Total 8.71 + 63.87 + 25.00 = 97.58.
    assert utc(moved["start_date"]) == utc("2024-05-10")
    assert amount(may) == Decimal("97.58")


def test_back_fill_across_a_change(client: TestClient, clock: FrozenClock) -> None:
    basic, pro, cid = _basic(client), _pro(client), customer(client)
    clock.set(utc("2024-01-01"))
    old = subscribe(client, cid, basic, "2024-01-01T00:00:00Z")
    change(client, cid, old["id"], plan_id=pro, effective="now", at="2024-02-16T00:00:00Z")

    january, february, march = invoices_of(client, run(client, clock, "2024-04-01T00:00:00Z"))

    # January on Basic: 30.00 + 0.00 + 10.00 = 40.00.
    assert amount(january) == Decimal("40.00")
    # February (29 days): Basic [Feb 1, Feb 16) = 15/29: 30.00 x 15/29 = 15.517... -> 15.52; Pro [Feb 16, Mar 1)
    # = 14/29: 90.00 x 14/29 = 43.448... -> 43.45; support once, by Pro: 25.00; api 0.00 twice.
    # 15.52 + 43.45 + 25.00 = 83.97.
    assert period(february) == (utc("2024-02-01"), utc("2024-03-01"))
    assert amount(february) == Decimal("83.97")
    # March on Pro: 90.00 + 0.00 + 25.00 = 115.00.
    assert amount(march) == Decimal("115.00")


def test_calendar_change_at_period_end_in_new_york(client: TestClient, clock: FrozenClock) -> None:
    basic, pro = _basic(client), _pro(client)
    cid = customer(client, timezone="America/New_York")
    clock.set(utc("2024-03-01T05:00:00Z"))  # local midnight Mar 1 (EST)
    old = subscribe(client, cid, basic, "2024-03-01T05:00:00Z", billing_anchor="calendar")
    clock.set(utc("2024-03-20"))
    new = change(client, cid, old["id"], plan_id=pro, effective="period_end")
    # The end of the local March: Apr 1 00:00 EDT = 04:00 UTC.
    assert utc(new["start_date"]) == utc("2024-04-01T04:00:00Z")

    march, april = invoices_of(client, run(client, clock, "2024-05-01T04:00:00Z"))
    # March whole on Basic: 30.00 + 10.00 = 40.00; April whole on Pro: 90.00 + 25.00 = 115.00.
    assert period(march) == (utc("2024-03-01T05:00:00Z"), utc("2024-04-01T04:00:00Z"))
    assert amount(march) == Decimal("40.00")
    assert period(april) == (utc("2024-04-01T04:00:00Z"), utc("2024-05-01T04:00:00Z"))
    assert amount(april) == Decimal("115.00")


def test_two_changes_in_one_period_and_a_void_bills_the_same_again(client: TestClient, clock: FrozenClock) -> None:
    basic, pro, cid = _basic(client), _pro(client), customer(client)
    clock.set(utc(APRIL))
    first = subscribe(client, cid, basic, APRIL)
    second = change(client, cid, first["id"], plan_id=pro, effective="now", at="2024-04-11T00:00:00Z")
    change(client, cid, second["id"], plan_id=basic, effective="now", at="2024-04-21T00:00:00Z")
    for day in ("05", "15", "25"):
        event(client, cid, "api", 150, f"2024-04-{day}T00:00:00Z")

    [april] = invoices_of(client, run(client, clock, "2024-05-01T00:00:00Z"))

    # Three thirds of April (10 days each). Basic: 30.00 x 1/3 = 10.00, api 100 x 1.00 + 50 x 0.50 = 125.00;
    # Pro: 90.00 x 1/3 = 30.00, api 100 x 0.80 + 50 x 0.40 = 100.00; Basic again: 10.00, api 125.00 (tiers start
    # again on each subscription); support once, by the plan in force at the period's end: 10.00.
    # 10.00 + 125.00 + 30.00 + 100.00 + 10.00 + 125.00 + 10.00 = 410.00.
    assert lines(april) == [
        ("api", "usage", Decimal("125.00")),
        ("platform", "usage", Decimal("10.00")),
        ("api", "usage", Decimal("100.00")),
        ("platform", "usage", Decimal("30.00")),
        ("api", "usage", Decimal("125.00")),
        ("platform", "usage", Decimal("10.00")),
        ("support", "usage", Decimal("10.00")),
    ]
    assert amount(april) == Decimal("410.00")

    assert client.put(f"/invoices/{april['id']}/void", json={}).status_code == 200
    [again] = invoices_of(client, run(client, clock, "2024-05-01T00:00:00Z"))
    assert lines(again) == lines(april)
    assert amount(again) == Decimal("410.00")


def test_flat_fee_the_new_plan_does_not_charge_stays_with_the_old(client: TestClient, clock: FrozenClock) -> None:
    basic, cid = _basic(client), customer(client)
    lean = plan(client, fee("platform", "60.00"), name="Lean")  # no support fee
    clock.set(utc(APRIL))
    old = subscribe(client, cid, basic, APRIL)
    change(client, cid, old["id"], plan_id=lean, effective="now", at="2024-04-16T00:00:00Z")

    [april] = invoices_of(client, run(client, clock, "2024-05-01T00:00:00Z"))

    # Basic [Apr 1, Apr 16): 30.00 x 1/2 = 15.00, api 0.00, support 10.00 (Lean charges no support fee, so Basic's
    # stays, whole); Lean [Apr 16, May 1): 60.00 x 1/2 = 30.00. 15.00 + 0.00 + 10.00 + 30.00 = 55.00.
    assert lines(april) == [
        ("api", "usage", Decimal("0.00")),
        ("platform", "usage", Decimal("15.00")),
        ("support", "usage", Decimal("10.00")),
        ("platform", "usage", Decimal("30.00")),
    ]
    assert amount(april) == Decimal("55.00")
