"""Scenarios: plans with ``fees_in_advance``. A period's fixed fees are invoiced when it starts, its usage when it
ends (so one invoice holds the last period's usage and the next period's fee), and paid-ahead time a subscription
does not live to use is credited by its exact unused share."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient

from fubble.clock import FrozenClock
from tests.billing_runs.scenarios.helpers import (
    amount,
    base_and_usage,
    cancel,
    change,
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
    tiered,
    utc,
)

APRIL = "2024-04-01T00:00:00Z"  # April has 30 days


def _advance_plan(client: TestClient, platform: str, support: str | None = None, name: str = "Ahead") -> int:
    components = [fee("platform", platform), tiered("api", (0, None, "1.00"))]
    if support is not None:
        components.append(flat("support", support))
    return plan(client, *components, name=name, fees_in_advance=True)


def test_fee_at_the_start_then_usage_with_the_next_fee(client: TestClient, clock: FrozenClock) -> None:
    cid = customer(client)
    clock.set(utc(APRIL))
    subscribe(client, cid, _advance_plan(client, "30.00"), APRIL)

    [first] = invoices_of(client, run(client, clock, APRIL))
    # April's fee, in advance, on the invoice of Apr 1: 30.00 (no usage yet).
    assert period(first) == (utc(APRIL), utc("2024-05-01"))
    assert lines(first) == [("platform", "fee", Decimal("30.00"))]
    assert amount(first) == Decimal("30.00")

    event(client, cid, "api", 5, "2024-04-10T00:00:00Z")
    assert run(client, clock, "2024-04-20T00:00:00Z")["invoices_created"] == 0  # nothing new is due mid-period

    [second] = invoices_of(client, run(client, clock, "2024-05-01T00:00:00Z"))
    # Keyed May 1: April's usage 5 x 1.00 = 5.00 and May's fee 30.00 = 35.00; its period is April (the usage).
    assert period(second) == (utc(APRIL), utc("2024-05-01"))
    assert lines(second) == [("api", "usage", Decimal("5.00")), ("platform", "fee", Decimal("30.00"))]
    assert [(i["period_start"][:10], i["period_end"][:10]) for i in second["invoice_items"] if i["kind"] == "fee"] == [
        ("2024-05-01", "2024-06-01")
    ]
    assert amount(second) == Decimal("35.00")


def test_cancel_mid_period_credits_exactly_the_unused_share(client: TestClient, clock: FrozenClock) -> None:
    cid = customer(client)
    clock.set(utc(APRIL))
    sub = subscribe(client, cid, _advance_plan(client, "31.00"), APRIL)
    assert amount(invoices_of(client, run(client, clock, APRIL))[0]) == Decimal("31.00")
    event(client, cid, "api", 4, "2024-04-05T00:00:00Z")
    clock.set(utc("2024-04-08"))
    cancel(client, cid, sub["id"], end_date="2024-04-08T00:00:00Z")

    [credit] = invoices_of(client, run(client, clock, "2024-04-08T00:00:00Z"))
    # Unused [Apr 8, May 1) = 23 of 30 days: 31.00 x 23/30 = 23.7666... -> credit 23.77, keyed Apr 8. Alone on its
    # invoice, the credit exceeds the charges (none): amount 0.00, 23.77 carried.
    assert lines(credit) == [("platform", "credit", Decimal("-23.77"))]
    assert period(credit) == (utc("2024-04-08"), utc("2024-05-01"))
    assert amount(credit) == Decimal("0.00")
    assert credit["credit_carried"] == Decimal("23.77")

    [usage] = invoices_of(client, run(client, clock, "2024-05-01T00:00:00Z"))
    # April's usage up to the cancel, at the period end: 4 x 1.00 = 4.00; no fee (the subscription has ended).
    assert lines(usage) == [("api", "usage", Decimal("4.00"))]
    assert amount(usage) == Decimal("4.00")
    assert run(client, clock, "2024-06-01T00:00:00Z")["invoices_created"] == 0


def test_upgrade_mid_period_new_fee_prorated_old_fee_credited(client: TestClient, clock: FrozenClock) -> None:
    basic, pro, cid = _advance_plan(client, "30.00"), _advance_plan(client, "90.00", name="Pro"), customer(client)
    clock.set(utc(APRIL))
    old = subscribe(client, cid, basic, APRIL)
    run(client, clock, APRIL)  # Basic's April fee: 30.00
    clock.set(utc("2024-04-11"))
    change(client, cid, old["id"], plan_id=pro, effective="now")

    [changed] = invoices_of(client, run(client, clock, "2024-04-11T00:00:00Z"))
    # [Apr 11, May 1) = 20 of 30 days. Pro's fee 90.00 x 20/30 = 60.00; Basic's unused 30.00 x 20/30 = 20.00
    # credited. 60.00 - 20.00 = 40.00.
    assert lines(changed) == [("platform", "credit", Decimal("-20.00")), ("platform", "fee", Decimal("60.00"))]
    assert amount(changed) == Decimal("40.00")
    assert changed["credit_carried"] == Decimal("0.00")


def test_downgrade_mid_period_credit_larger_than_the_charges(client: TestClient, clock: FrozenClock) -> None:
    basic = _advance_plan(client, "30.00", support="10.00")
    pro = _advance_plan(client, "90.00", support="25.00", name="Pro")
    cid = customer(client)
    clock.set(utc(APRIL))
    old = subscribe(client, cid, pro, APRIL)
    assert amount(invoices_of(client, run(client, clock, APRIL))[0]) == Decimal("115.00")  # 90.00 + 25.00
    clock.set(utc("2024-04-11"))
    change(client, cid, old["id"], plan_id=basic, effective="now")

    [changed] = invoices_of(client, run(client, clock, "2024-04-11T00:00:00Z"))
    # [Apr 11, May 1) = 20 of 30 days. Basic: platform 30.00 x 20/30 = 20.00, support flat 10.00 (the plan in force
    # at the period's end charges the period's flat fee). Pro credits: platform 90.00 x 20/30 = 60.00, support 25.00
    # in full (replaced by Basic's). 20.00 + 10.00 - 60.00 - 25.00 = -55.00: amount 0.00, 55.00 carried.
    assert lines(changed) == [
        ("platform", "credit", Decimal("-60.00")),
        ("platform", "fee", Decimal("20.00")),
        ("support", "credit", Decimal("-25.00")),
        ("support", "fee", Decimal("10.00")),
    ]
    assert amount(changed) == Decimal("0.00")
    assert changed["credit_carried"] == Decimal("55.00")


def test_base_fee_in_advance_its_usage_in_arrears(client: TestClient, clock: FrozenClock) -> None:
    cid = customer(client)
    clock.set(utc(APRIL))
    subscribe(client, cid, plan(client, base_and_usage("api", "20.00", "0.10"), fees_in_advance=True), APRIL)

    [first] = invoices_of(client, run(client, clock, APRIL))
    # The base fee of April, in advance: 20.00.
    assert lines(first) == [("api", "fee", Decimal("20.00"))]
    event(client, cid, "api", 50, "2024-04-10T00:00:00Z")

    [second] = invoices_of(client, run(client, clock, "2024-05-01T00:00:00Z"))
    # April's usage without the base fee: 0.00 + 50 x 0.10 = 5.00; May's base fee 20.00. Total 25.00.
    assert lines(second) == [("api", "usage", Decimal("5.00")), ("api", "fee", Decimal("20.00"))]
    assert amount(second) == Decimal("25.00")


def test_change_before_the_first_run_bills_each_plan_its_share(client: TestClient, clock: FrozenClock) -> None:
    basic, pro, cid = _advance_plan(client, "30.00"), _advance_plan(client, "90.00", name="Pro"), customer(client)
    clock.set(utc(APRIL))
    old = subscribe(client, cid, basic, APRIL)
    clock.set(utc("2024-04-11"))
    change(client, cid, old["id"], plan_id=pro, effective="now")

    first, second = invoices_of(client, run(client, clock, "2024-04-11T00:00:00Z"))
    # Nothing was paid ahead, so nothing is credited. Basic [Apr 1, Apr 11) = 10/30: 30.00 x 1/3 = 10.00, keyed
    # Apr 1; Pro [Apr 11, May 1) = 20/30: 90.00 x 2/3 = 60.00, keyed Apr 11.
    assert (period(first), lines(first)) == ((utc(APRIL), utc("2024-04-11")), [("platform", "fee", Decimal("10.00"))])
    assert (period(second), lines(second)) == (
        (utc("2024-04-11"), utc("2024-05-01")),
        [("platform", "fee", Decimal("60.00"))],
    )


def test_cancel_at_period_end_credits_nothing(client: TestClient, clock: FrozenClock) -> None:
    cid = customer(client)
    clock.set(utc(APRIL))
    sub = subscribe(client, cid, _advance_plan(client, "30.00", support="10.00"), APRIL)
    run(client, clock, APRIL)  # April: 30.00 + 10.00
    event(client, cid, "api", 3, "2024-04-10T00:00:00Z")
    clock.set(utc("2024-04-20"))
    cancel(client, cid, sub["id"], at_period_end=True)

    [last] = invoices_of(client, run(client, clock, "2024-06-01T00:00:00Z"))
    # April's usage 3 x 1.00 = 3.00; no fee for May (ended May 1), no credit (April was used whole).
    assert lines(last) == [("api", "usage", Decimal("3.00"))]
    assert amount(last) == Decimal("3.00")


def test_voided_advance_invoice_is_billed_again(client: TestClient, clock: FrozenClock) -> None:
    cid = customer(client)
    clock.set(utc(APRIL))
    subscribe(client, cid, _advance_plan(client, "30.00"), APRIL)
    [first] = invoices_of(client, run(client, clock, APRIL))
    assert client.put(f"/invoices/{first['id']}/void", json={}).status_code == 200

    [again] = invoices_of(client, run(client, clock, APRIL))
    assert (period(again), lines(again)) == ((utc(APRIL), utc("2024-05-01")), [("platform", "fee", Decimal("30.00"))])


def test_calendar_partial_first_period_then_cancel(client: TestClient, clock: FrozenClock) -> None:
    cid = customer(client)
    clock.set(utc("2024-04-15"))
    sub = subscribe(client, cid, _advance_plan(client, "30.00"), "2024-04-15T00:00:00Z", billing_anchor="calendar")

    [first] = invoices_of(client, run(client, clock, "2024-04-15T00:00:00Z"))
    # [Apr 15, May 1) = 16 of 30 days: 30.00 x 16/30 = 16.00, in advance.
    assert (period(first), amount(first)) == ((utc("2024-04-15"), utc("2024-05-01")), Decimal("16.00"))
    clock.set(utc("2024-04-20"))
    cancel(client, cid, sub["id"])

    [credit] = invoices_of(client, run(client, clock, "2024-04-20T00:00:00Z"))
    # Unused [Apr 20, May 1) = 11 of April's 30 days: 30.00 x 11/30 = 11.00 credited.
    assert lines(credit) == [("platform", "credit", Decimal("-11.00"))]
    assert (amount(credit), credit["credit_carried"]) == (Decimal("0.00"), Decimal("11.00"))


def test_change_from_an_ordinary_plan_to_one_billed_ahead(client: TestClient, clock: FrozenClock) -> None:
    ordinary = plan(client, fee("platform", "30.00"), flat("support", "10.00"), name="Ordinary")
    ahead, cid = _advance_plan(client, "90.00", support="25.00", name="Pro"), customer(client)
    clock.set(utc(APRIL))
    old = subscribe(client, cid, ordinary, APRIL)
    clock.set(utc("2024-04-11"))
    change(client, cid, old["id"], plan_id=ahead, effective="now")

    [at_change] = invoices_of(client, run(client, clock, "2024-04-11T00:00:00Z"))
    # Pro ahead for [Apr 11, May 1) = 20/30: platform 90.00 x 2/3 = 60.00, support 25.00 whole. 85.00.
    assert lines(at_change) == [("platform", "fee", Decimal("60.00")), ("support", "fee", Decimal("25.00"))]
    assert amount(at_change) == Decimal("85.00")

    [at_end] = invoices_of(client, run(client, clock, "2024-05-01T00:00:00Z"))
    # Ordinary after its time [Apr 1, Apr 11) = 10/30: platform 30.00 x 1/3 = 10.00, its support fee left out (Pro
    # charges April's); Pro's api 0.00 for [Apr 11, May 1); Pro ahead for May: 90.00 + 25.00.
    # 10.00 + 0.00 + 90.00 + 25.00 = 125.00.
    assert lines(at_end) == [
        ("platform", "usage", Decimal("10.00")),
        ("api", "usage", Decimal("0.00")),
        ("platform", "fee", Decimal("90.00")),
        ("support", "fee", Decimal("25.00")),
    ]
    assert amount(at_end) == Decimal("125.00")


def test_back_fill_of_a_plan_billed_ahead(client: TestClient, clock: FrozenClock) -> None:
    cid = customer(client, invoice_grace_period_hours=48)
    clock.set(utc(APRIL))
    subscribe(client, cid, _advance_plan(client, "30.00"), APRIL)
    event(client, cid, "api", 1, "2024-04-10T00:00:00Z")
    event(client, cid, "api", 2, "2024-05-10T00:00:00Z")
    clock.set(utc("2024-06-05"))

    invoices = invoices_of(client, run(client, clock, "2024-06-02T00:00:00Z"))

    # Keyed Apr 1: April's fee 30.00. Keyed May 1: April's usage 1 x 1.00 + May's fee 30.00 = 31.00. Keyed Jun 1:
    # May's usage 2 x 1.00 + June's fee 30.00 = 32.00, still in its grace (until Jun 3 00:00) as of Jun 2: a draft.
    assert [(period(i), amount(i), i["status"]) for i in invoices] == [
        ((utc(APRIL), utc("2024-05-01")), Decimal("30.00"), "pending"),
        ((utc(APRIL), utc("2024-05-01")), Decimal("31.00"), "pending"),
        ((utc("2024-05-01"), utc("2024-06-01")), Decimal("32.00"), "draft"),
    ]
    assert utc(invoices[2]["grace_until"]) == utc("2024-06-03")


def test_an_advance_invoice_whose_fee_was_credited_is_voided_after_its_credit(
    client: TestClient, clock: FrozenClock
) -> None:
    cid = customer(client)
    clock.set(utc(APRIL))
    sub = subscribe(client, cid, _advance_plan(client, "31.00"), APRIL)
    [paid] = invoices_of(client, run(client, clock, APRIL))
    clock.set(utc("2024-04-08"))
    cancel(client, cid, sub["id"], end_date="2024-04-08T00:00:00Z")
    [credit] = invoices_of(client, run(client, clock, "2024-04-08T00:00:00Z"))  # 23/30 of 31.00 = 23.77 credited

    # Voiding the fee's invoice alone would bill the lived time again and leave the credit standing: refused.
    refused = client.put(f"/invoices/{paid['id']}/void", json={})
    assert refused.status_code == 409
    assert f"invoice {credit['id']} credits" in refused.json()["detail"]
    assert client.put(f"/invoices/{credit['id']}/void", json={}).status_code == 200
    assert client.put(f"/invoices/{paid['id']}/void", json={}).status_code == 200
    run(client, clock, "2024-04-09T00:00:00Z")

    # What the customer owes for April is the lived 7/30: 31.00 x 7/30 = 7.2333 -> 7.23, and nothing is credited.
    billed = [line for i in customer_invoices(client, cid) if i["status"] != "void" for line in lines(i)]
    assert billed == [("platform", "fee", Decimal("7.23"))]


def test_voided_base_fee_after_its_credit_then_its_usage(client: TestClient, clock: FrozenClock) -> None:
    cid = customer(client)
    clock.set(utc(APRIL))
    sub = subscribe(client, cid, plan(client, base_and_usage("api", "31.00", "1.00"), fees_in_advance=True), APRIL)
    [paid] = invoices_of(client, run(client, clock, APRIL))
    event(client, cid, "api", 4, "2024-04-05T00:00:00Z")
    clock.set(utc("2024-04-08"))
    cancel(client, cid, sub["id"], end_date="2024-04-08T00:00:00Z")
    [credit] = invoices_of(client, run(client, clock, "2024-04-08T00:00:00Z"))  # the base fee's 23/30: 23.77
    assert client.put(f"/invoices/{credit['id']}/void", json={}).status_code == 200
    assert client.put(f"/invoices/{paid['id']}/void", json={}).status_code == 200

    fee_again, usage = invoices_of(client, run(client, clock, "2024-05-01T00:00:00Z"))

    # Keyed Apr 1: the base fee of the lived 7/30 again: 31.00 x 7/30 = 7.23. Keyed May 1: the usage, 4 x 1.00.
    assert lines(fee_again) == [("api", "fee", Decimal("7.23"))]
    assert lines(usage) == [("api", "usage", Decimal("4.00"))]


def test_change_from_a_plan_billed_ahead_to_an_ordinary_one(client: TestClient, clock: FrozenClock) -> None:
    ahead, cid = _advance_plan(client, "90.00", support="25.00", name="Pro"), customer(client)
    ordinary = plan(client, fee("platform", "30.00"), flat("support", "10.00"), name="Ordinary")
    clock.set(utc(APRIL))
    old = subscribe(client, cid, ahead, APRIL)
    run(client, clock, APRIL)  # Pro ahead for April: 90.00 + 25.00
    clock.set(utc("2024-04-11"))
    change(client, cid, old["id"], plan_id=ordinary, effective="now")

    [credit] = invoices_of(client, run(client, clock, "2024-04-11T00:00:00Z"))
    # Pro's unused [Apr 11, May 1) = 20/30: platform 90.00 x 2/3 = 60.00 and support 25.00 in full (Ordinary charges
    # April's support fee) credited: -85.00, nothing else: amount 0.00, 85.00 carried.
    assert lines(credit) == [("platform", "credit", Decimal("-60.00")), ("support", "credit", Decimal("-25.00"))]
    assert (amount(credit), credit["credit_carried"]) == (Decimal("0.00"), Decimal("85.00"))

    [at_end] = invoices_of(client, run(client, clock, "2024-05-01T00:00:00Z"))
    # Pro's api [Apr 1, Apr 11) 0.00; Ordinary after its time [Apr 11, May 1): platform 30.00 x 2/3 = 20.00, support
    # 10.00 whole. 0.00 + 20.00 + 10.00 = 30.00.
    assert lines(at_end) == [
        ("api", "usage", Decimal("0.00")),
        ("platform", "usage", Decimal("20.00")),
        ("support", "usage", Decimal("10.00")),
    ]
    assert amount(at_end) == Decimal("30.00")
