"""Scenarios: calendar periods in a customer's time zone across daylight-saving changes. Periods start at local
midnight, proration counts real elapsed hours, and usage lands in the local period it happened in."""

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
    flat,
    invoices_of,
    lines,
    period,
    plan,
    run,
    subscribe,
    utc,
)

BERLIN, NEW_YORK = "Europe/Berlin", "America/New_York"


def test_berlin_march_has_743_hours_and_a_mid_month_start_pays_for_287(client: TestClient, clock: FrozenClock) -> None:
    cid = customer(client, timezone=BERLIN)
    monthly = plan(client, fee("platform", "743.00"), base_and_usage("api", "0", "1.00"))
    # Local midnight Mar 20 in Berlin (CET, UTC+1) is Mar 19 23:00 UTC.
    subscribe(client, cid, monthly, "2024-03-19T23:00:00Z", billing_anchor="calendar")
    event(client, cid, "api", 100, "2024-03-19T22:59:59Z")  # 23:59:59 on Mar 19 in Berlin: before the start
    event(client, cid, "api", 2, "2024-03-31T21:59:59Z")  # 23:59:59 CEST on Mar 31: March
    event(client, cid, "api", 7, "2024-03-31T22:00:00Z")  # 00:00 CEST on Apr 1: April

    result = run(client, clock, "2024-04-30T22:00:00Z")  # local midnight May 1 (CEST, UTC+2)

    march, april = invoices_of(client, result)
    # March in Berlin: Feb 29 23:00 UTC to Mar 31 22:00 UTC = 31 x 24 - 1 (clocks jump 02:00 -> 03:00 on Mar 31)
    # = 743 hours. Billed: Mar 19 23:00 UTC to Mar 31 22:00 UTC = 12 x 24 - 1 = 287 hours:
    # 743.00 x 287/743 = 287.00; usage 2 x 1.00 = 2.00 (the 100 before the start are not billed). Total 289.00.
    assert period(march) == (utc("2024-03-19T23:00:00Z"), utc("2024-03-31T22:00:00Z"))
    assert lines(march) == [("api", "usage", Decimal("2.00")), ("platform", "usage", Decimal("287.00"))]
    assert amount(march) == Decimal("289.00")
    # April: Mar 31 22:00 UTC to Apr 30 22:00 UTC, whole: 743.00 + 7 x 1.00 = 750.00.
    assert period(april) == (utc("2024-03-31T22:00:00Z"), utc("2024-04-30T22:00:00Z"))
    assert amount(april) == Decimal("750.00")


def test_new_york_march_across_the_dst_change(client: TestClient, clock: FrozenClock) -> None:
    cid = customer(client, timezone=NEW_YORK)
    monthly = plan(client, fee("platform", "743.00"), base_and_usage("api", "0", "1.00"))
    # Local midnight Mar 5 in New York (EST, UTC-5) is 05:00 UTC.
    subscribe(client, cid, monthly, "2024-03-05T05:00:00Z", billing_anchor="calendar")
    event(client, cid, "api", 1, "2024-04-01T03:59:59Z")  # 23:59:59 EDT on Mar 31: March (though April in UTC)
    event(client, cid, "api", 10, "2024-04-01T04:00:00Z")  # 00:00 EDT on Apr 1: April

    result = run(client, clock, "2024-05-01T04:00:00Z")  # local midnight May 1 (EDT, UTC-4)

    march, april = invoices_of(client, result)
    # March in New York: Mar 1 05:00 UTC to Apr 1 04:00 UTC = 743 hours (clocks jump on Mar 10).
    # Billed: Mar 5 05:00 UTC to Apr 1 04:00 UTC = 27 x 24 - 1 = 647 hours: 743.00 x 647/743 = 647.00; + 1 x 1.00.
    assert period(march) == (utc("2024-03-05T05:00:00Z"), utc("2024-04-01T04:00:00Z"))
    assert amount(march) == Decimal("648.00")
    # April: Apr 1 04:00 UTC to May 1 04:00 UTC, whole: 743.00 + 10 x 1.00 = 753.00.
    assert period(april) == (utc("2024-04-01T04:00:00Z"), utc("2024-05-01T04:00:00Z"))
    assert amount(april) == Decimal("753.00")


def test_new_york_november_has_721_hours(client: TestClient, clock: FrozenClock) -> None:
    cid = customer(client, timezone=NEW_YORK)
    # Local midnight Nov 16 in New York (EST after the Nov 3 fall-back) is 05:00 UTC.
    subscribe(client, cid, plan(client, fee("platform", "721.00")), "2024-11-16T05:00:00Z", billing_anchor="calendar")

    result = run(client, clock, "2024-12-01T05:00:00Z")

    [november] = invoices_of(client, result)
    # November: Nov 1 04:00 UTC (EDT) to Dec 1 05:00 UTC (EST) = 30 x 24 + 1 = 721 hours. Billed: Nov 16 05:00 UTC
    # to Dec 1 05:00 UTC = 15 x 24 = 360 hours: 721.00 x 360/721 = 360.00.
    assert period(november) == (utc("2024-11-16T05:00:00Z"), utc("2024-12-01T05:00:00Z"))
    assert amount(november) == Decimal("360.00")


def test_period_not_yet_over_in_local_time_is_not_billed(client: TestClient, clock: FrozenClock) -> None:
    cid = customer(client, timezone=NEW_YORK)
    subscribe(client, cid, plan(client, fee("platform", "743.00")), "2024-03-01T05:00:00Z", billing_anchor="calendar")

    # Apr 1 00:00 UTC is still Mar 31 20:00 in New York: March has not ended there.
    assert run(client, clock, "2024-04-01T00:00:00Z")["invoices_created"] == 0
    # At 04:00 UTC (local midnight) it has: the whole of March, 743.00.
    [march] = invoices_of(client, run(client, clock, "2024-04-01T04:00:00Z"))
    assert period(march) == (utc("2024-03-01T05:00:00Z"), utc("2024-04-01T04:00:00Z"))
    assert amount(march) == Decimal("743.00")


def test_berlin_anniversary_keeps_the_local_time_of_day(client: TestClient, clock: FrozenClock) -> None:
    cid = customer(client, timezone=BERLIN)
    # 10:00 CET on Mar 15 = 09:00 UTC; a month later it is 10:00 CEST on Apr 15 = 08:00 UTC.
    subscribe(client, cid, plan(client, fee("platform", "100.00")), "2024-03-15T09:00:00Z")

    assert run(client, clock, "2024-04-15T07:59:59Z")["invoices_created"] == 0
    [first] = invoices_of(client, run(client, clock, "2024-04-15T08:00:00Z"))
    assert period(first) == (utc("2024-03-15T09:00:00Z"), utc("2024-04-15T08:00:00Z"))
    assert amount(first) == Decimal("100.00")  # a whole period, though 1 hour shorter than 31 x 24


def test_berlin_fees_in_advance_on_calendar_months(client: TestClient, clock: FrozenClock) -> None:
    cid = customer(client, timezone=BERLIN)
    ahead = plan(client, fee("platform", "743.00"), fees_in_advance=True)
    clock.set(utc("2024-03-19T23:00:00Z"))
    subscribe(client, cid, ahead, "2024-03-19T23:00:00Z", billing_anchor="calendar")

    [march] = invoices_of(client, run(client, clock, "2024-03-19T23:00:00Z"))
    # [Mar 20 00:00 CET, Apr 1 00:00 CEST) = 287 of March's 743 hours: 743.00 x 287/743 = 287.00, at the start.
    assert period(march) == (utc("2024-03-19T23:00:00Z"), utc("2024-03-31T22:00:00Z"))
    assert amount(march) == Decimal("287.00")

    assert run(client, clock, "2024-03-31T21:59:59Z")["invoices_created"] == 0
    [april] = invoices_of(client, run(client, clock, "2024-03-31T22:00:00Z"))
    # April whole (720 hours), due at its local start: 743.00.
    assert period(april) == (utc("2024-03-31T22:00:00Z"), utc("2024-04-30T22:00:00Z"))
    assert amount(april) == Decimal("743.00")


def test_berlin_quarter_paid_ahead_then_canceled(client: TestClient, clock: FrozenClock) -> None:
    cid = customer(client, timezone=BERLIN)
    quarterly = plan(client, fee("platform", "91.00"), frequency="quarterly", fees_in_advance=True)
    clock.set(utc("2024-03-31T22:00:00Z"))  # Apr 1 00:00 CEST
    sub = subscribe(client, cid, quarterly, "2024-03-31T22:00:00Z", billing_anchor="calendar")
    [q2] = invoices_of(client, run(client, clock, "2024-03-31T22:00:00Z"))
    # Q2 in Berlin: Apr 1 00:00 CEST to Jul 1 00:00 CEST = 30 + 31 + 30 = 91 days (no DST change inside): 91.00.
    assert period(q2) == (utc("2024-03-31T22:00:00Z"), utc("2024-06-30T22:00:00Z"))
    assert amount(q2) == Decimal("91.00")
    clock.set(utc("2024-04-30T22:00:00Z"))  # May 1 00:00 CEST
    cancel(client, cid, sub["id"])

    [credit] = invoices_of(client, run(client, clock, "2024-04-30T22:00:00Z"))
    # Unused May 1 to Jul 1 = 31 + 30 = 61 of 91 days: 91.00 x 61/91 = 61.00.
    assert lines(credit) == [("platform", "credit", Decimal("-61.00"))]
    assert credit["credit_carried"] == Decimal("61.00")


def test_changing_the_timezone_after_billing_does_not_charge_the_flat_fee_twice(
    client: TestClient, clock: FrozenClock
) -> None:
    clock.set(utc("2024-01-01"))
    cid = customer(client)
    monthly = plan(client, fee("platform", "100.00"), flat("support", "10.00"))
    subscribe(client, cid, monthly, "2024-01-01T00:00:00Z", billing_anchor="calendar")
    run(client, clock, "2024-02-01T00:00:00Z")  # January in UTC: 100.00 + 10.00
    # The zone would move period boundaries under January's invoice (Feb 1 00:00-05:00 UTC would become a slice of
    # a New York January of its own, with the flat fee again): refused once time is invoiced.
    refused = client.put(f"/customers/{cid}", json={"timezone": NEW_YORK})
    assert refused.status_code == 409
    assert "time zone cannot change" in refused.json()["detail"]

    run(client, clock, "2024-03-01T00:00:00Z")

    # Two months of time billed (January, February): the flat fee twice, 2 x 10.00 = 20.00.
    flat_fees = [a for i in customer_invoices(client, cid) for m, _, a in lines(i) if m == "support"]
    assert sum(flat_fees, Decimal(0)) == Decimal("20.00")
