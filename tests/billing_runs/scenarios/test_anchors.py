"""Scenarios: where billing periods fall (anniversary or calendar anchor, month ends, leap day, quarters) and how a
calendar subscription's first, partial period is charged."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient

from fubble.clock import FrozenClock
from tests.billing_runs.scenarios.helpers import (
    amount,
    base_and_usage,
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
    utc,
)


def test_anniversary_and_calendar_anchors_from_the_same_start(client: TestClient, clock: FrozenClock) -> None:
    monthly = plan(client, fee("platform", "31.00"))
    anniversary, calendar = customer(client, "Anniversary"), customer(client, "Calendar")
    subscribe(client, anniversary, monthly, "2024-01-15T00:00:00Z")
    subscribe(client, calendar, monthly, "2024-01-15T00:00:00Z", billing_anchor="calendar")

    result = run(client, clock, "2024-03-01T00:00:00Z")

    by_customer = {
        c: [i for i in invoices_of(client, result) if i["customer_id"] == c] for c in (anniversary, calendar)
    }
    # Anniversary: periods from Jan 15; only [Jan 15, Feb 15) has ended by Mar 1: a whole period, 31.00.
    [first] = by_customer[anniversary]
    assert period(first) == (utc("2024-01-15"), utc("2024-02-15"))
    assert amount(first) == Decimal("31.00")
    # Calendar: periods on the 1st. [Jan 15, Feb 1) is 17 of January's 31 days: 31.00 * 17/31 = 17.00;
    # then all of February: 31.00.
    january, february = by_customer[calendar]
    assert period(january) == (utc("2024-01-15"), utc("2024-02-01"))
    assert amount(january) == Decimal("17.00")
    assert period(february) == (utc("2024-02-01"), utc("2024-03-01"))
    assert amount(february) == Decimal("31.00")


def test_anniversary_on_the_31st_follows_month_ends(client: TestClient, clock: FrozenClock) -> None:
    cid = customer(client)
    subscribe(client, cid, plan(client, fee("platform", "100.00")), "2024-01-31T00:00:00Z")

    result = run(client, clock, "2024-05-01T00:00:00Z")

    # Anchor Jan 31: Feb 29 (2024 is a leap year), then back to Mar 31, then Apr 30; each a whole period: 100.00.
    invoices = invoices_of(client, result)
    assert [period(i) for i in invoices] == [
        (utc("2024-01-31"), utc("2024-02-29")),
        (utc("2024-02-29"), utc("2024-03-31")),
        (utc("2024-03-31"), utc("2024-04-30")),
    ]
    assert [amount(i) for i in invoices] == [Decimal("100.00")] * 3


def test_leap_day_start_yearly(client: TestClient, clock: FrozenClock) -> None:
    cid = customer(client)
    clock.set(utc("2024-02-29"))
    subscribe(client, cid, plan(client, fee("licence", "365.00"), frequency="yearly"), "2024-02-29T00:00:00Z")

    result = run(client, clock, "2026-03-01T00:00:00Z")

    # Feb 29 clamps to Feb 28 in 2025 and 2026 (the anchor day stays 29: 2028 would be Feb 29 again).
    invoices = invoices_of(client, result)
    assert [period(i) for i in invoices] == [
        (utc("2024-02-29"), utc("2025-02-28")),
        (utc("2025-02-28"), utc("2026-02-28")),
    ]
    assert [amount(i) for i in invoices] == [Decimal("365.00"), Decimal("365.00")]  # whole periods


def test_leap_day_start_monthly(client: TestClient, clock: FrozenClock) -> None:
    cid = customer(client)
    clock.set(utc("2024-02-29"))
    subscribe(
        client, cid, plan(client, fee("platform", "30.00"), base_and_usage("api", "0", "1.00")), "2024-02-29T00:00:00Z"
    )
    event(client, cid, "api", 3, "2024-03-28T23:59:59Z")  # last second of [Feb 29, Mar 29)
    event(client, cid, "api", 5, "2024-03-29T00:00:00Z")  # first instant of [Mar 29, Apr 29)

    result = run(client, clock, "2024-05-01T00:00:00Z")

    march, april = invoices_of(client, result)
    assert period(march) == (utc("2024-02-29"), utc("2024-03-29"))
    assert period(april) == (utc("2024-03-29"), utc("2024-04-29"))
    # 30.00 whole period + 3 x 1.00 = 33.00; then 30.00 + 5 x 1.00 = 35.00.
    assert amount(march) == Decimal("33.00")
    assert amount(april) == Decimal("35.00")


def test_calendar_first_period_prorates_fees_but_not_flat(client: TestClient, clock: FrozenClock) -> None:
    cid = customer(client)
    components = (fee("platform", "31.00"), base_and_usage("api", "62.00", "0.50"), flat("support", "20.00"))
    subscribe(client, cid, plan(client, *components), "2024-01-15T00:00:00Z", billing_anchor="calendar")
    event(client, cid, "api", 10, "2024-01-20T00:00:00Z")

    result = run(client, clock, "2024-03-01T00:00:00Z")

    january, february = invoices_of(client, result)
    # [Jan 15, Feb 1) = 17 of 31 days.
    # api: base 62.00 * 17/31 = 34.00, + 10 x 0.50 = 5.00 -> 39.00; platform: 31.00 * 17/31 = 17.00;
    # support (flat): 20.00 whole. Total 39.00 + 17.00 + 20.00 = 76.00.
    assert period(january) == (utc("2024-01-15"), utc("2024-02-01"))
    assert lines(january) == [
        ("api", "usage", Decimal("39.00")),
        ("platform", "usage", Decimal("17.00")),
        ("support", "usage", Decimal("20.00")),
    ]
    assert amount(january) == Decimal("76.00")
    # February whole: 62.00 + 0 x 0.50 + 31.00 + 20.00 = 113.00.
    assert period(february) == (utc("2024-02-01"), utc("2024-03-01"))
    assert amount(february) == Decimal("113.00")


def test_quarterly_calendar(client: TestClient, clock: FrozenClock) -> None:
    cid = customer(client)
    quarterly = plan(client, fee("platform", "91.00"), frequency="quarterly")
    clock.set(utc("2024-02-15"))
    subscribe(client, cid, quarterly, "2024-02-15T00:00:00Z", billing_anchor="calendar")

    result = run(client, clock, "2024-07-01T00:00:00Z")

    first, second = invoices_of(client, result)
    # Q1 2024 = [Jan 1, Apr 1) = 31 + 29 + 31 = 91 days; [Feb 15, Apr 1) = 15 (Feb 15..29) + 31 = 46 days:
    # 91.00 * 46/91 = 46.00. Q2 [Apr 1, Jul 1) whole: 91.00.
    assert period(first) == (utc("2024-02-15"), utc("2024-04-01"))
    assert amount(first) == Decimal("46.00")
    assert period(second) == (utc("2024-04-01"), utc("2024-07-01"))
    assert amount(second) == Decimal("91.00")
