"""Scenarios: a plan's minimum commitment (a ``commitment`` true-up line when the period's charges fall short, with
the components' own minimums counted, prorated for a part period), and plans priced in EUR and JPY, whose coupons and
taxes round half-up once per coupon and per rate to each currency's places (JPY: none). Everything through HTTP;
every figure of every invoice written out with its arithmetic, compared as the API writes it."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from fubble.clock import FrozenClock
from tests.billing_runs.scenarios.helpers import (
    Json,
    base_and_usage,
    customer,
    event,
    fee,
    invoices_of,
    plan,
    run,
    subscribe,
    utc,
)
from tests.billing_runs.scenarios.test_terms import (
    APR,
    FEB,
    JAN,
    MAR,
    balance,
    coupon,
    figures,
    get,
    grant,
    lines,
    one_invoice,
    redeem,
    tax_rate,
)


def _usage_with_minimum(price: str, minimum: str) -> Json:
    return {**base_and_usage("api", "0", price), "min_amount": minimum}


# 5. A minimum commitment ----------------------------------------------------------------------------------------


def test_a_commitment_trues_up_each_short_period(client: TestClient, clock: FrozenClock) -> None:
    clock.set(utc(JAN))
    tax_rate(client, "Sales tax 10%", "10", default=True)
    committed = plan(
        client, fee("platform", "30.00"), _usage_with_minimum("1.00", "25.00"), minimum_commitment="100.00"
    )
    assert str(get(client, f"/plans/{committed}")["minimum_commitment"]) == "100.00"
    cid = customer(client, "Committed", invoice_grace_period_hours=0)
    subscribe(client, cid, committed, JAN)
    for count, day in ((10, "2024-01-10"), (40, "2024-02-10"), (80, "2024-03-10")):
        event(client, cid, "api", count, f"{day}T00:00:00Z")

    january = one_invoice(client, clock, FEB)
    # api 10 x 1.00 = 10.00, below its 25.00 minimum: a 15.00 minimum line; platform 30.00. Charges 10.00 + 15.00 +
    # 30.00 = 55.00, short of the 100.00 commitment by 45.00: a commitment line. Subtotal 100.00; tax 10% = 10.00.
    assert lines(january) == [
        (None, "commitment", "45.00"),
        ("api", "minimum", "15.00"),
        ("api", "usage", "10.00"),
        ("platform", "usage", "30.00"),
    ]
    assert figures(january) == ["100.00", "0.00", "10.00", "110.00", "0.00", "110.00"]

    february = one_invoice(client, clock, MAR)
    # api 40 x 1.00 = 40.00 (over its minimum) + platform 30.00 = 70.00: 30.00 short of 100.00. Tax 10.00.
    assert lines(february) == [(None, "commitment", "30.00"), ("api", "usage", "40.00"), ("platform", "usage", "30.00")]
    assert figures(february) == ["100.00", "0.00", "10.00", "110.00", "0.00", "110.00"]

    march = one_invoice(client, clock, APR)
    # api 80.00 + platform 30.00 = 110.00, over the commitment: no true-up. Tax 11.00; total 121.00.
    assert lines(march) == [("api", "usage", "80.00"), ("platform", "usage", "30.00")]
    assert figures(march) == ["110.00", "0.00", "11.00", "121.00", "0.00", "121.00"]


def test_a_commitment_is_prorated_for_a_part_period(client: TestClient, clock: FrozenClock) -> None:
    clock.set(utc("2024-01-11"))
    committed = plan(client, fee("platform", "31.00"), base_and_usage("api", "0", "1.00"), minimum_commitment="100.00")
    cid = customer(client, "Part", invoice_grace_period_hours=0)
    subscribe(client, cid, committed, "2024-01-11T00:00:00Z", billing_anchor="calendar")
    event(client, cid, "api", 10, "2024-01-20T00:00:00Z")

    january = one_invoice(client, clock, FEB)
    # [Jan 11, Feb 1) = 21 of 31 days. platform 31.00 x 21/31 = 21.00; api 10.00; charges 31.00. Commitment
    # 100.00 x 21/31 = 67.7419... -> 67.74: true-up 67.74 - 31.00 = 36.74.
    assert lines(january) == [(None, "commitment", "36.74"), ("api", "usage", "10.00"), ("platform", "usage", "21.00")]
    assert figures(january) == ["67.74", "0.00", "0.00", "67.74", "0.00", "67.74"]

    february = one_invoice(client, clock, MAR)
    # A whole period without usage: platform 31.00 + api 0.00; true-up 100.00 - 31.00 = 69.00.
    assert lines(february) == [(None, "commitment", "69.00"), ("api", "usage", "0.00"), ("platform", "usage", "31.00")]
    assert figures(february) == ["100.00", "0.00", "0.00", "100.00", "0.00", "100.00"]


# 6. Plans in EUR and JPY ----------------------------------------------------------------------------------------


def _priced_in(client: TestClient, currency: str, platform: str, api_price: str) -> int:
    return plan(client, fee("platform", platform), base_and_usage("api", "0", api_price), currency=currency)


def test_eur_and_jpy_round_half_up_once_per_coupon_and_per_rate(client: TestClient, clock: FrozenClock) -> None:
    clock.set(utc(JAN))
    tax_rate(client, "Tax 10%", "10", default=True)
    coupon(client, "FIFTEEN", type="percentage", percent_off=15, duration="forever")
    coupon(client, "TWO-EUR", type="fixed", amount_off="2.00", currency="EUR", duration="once")
    euro_plan = _priced_in(client, "EUR", "10.00", "0.10")
    yen_plan = _priced_in(client, "JPY", "1000", "1")
    euro = customer(client, "Euro", currency="EUR", invoice_grace_period_hours=0)
    yen = customer(client, "Yen", currency="JPY", invoice_grace_period_hours=0)

    refused = client.post(f"/customers/{yen}/subscriptions", json={"plan_id": euro_plan, "start_date": JAN})
    assert refused.status_code == 409, refused.text
    assert client.get(f"/customers/{yen}/subscriptions").json() == []
    fixed_in_eur = client.post(f"/customers/{yen}/coupons", json={"code": "TWO-EUR"})
    assert fixed_in_eur.status_code == 409, fixed_in_eur.text
    for cid, plan_id, credit, usage in ((euro, euro_plan, "5.00", 23), (yen, yen_plan, "500", 230)):
        subscribe(client, cid, plan_id, JAN)
        redeem(client, cid, "FIFTEEN")
        grant(client, cid, credit)
        event(client, cid, "api", usage, "2024-01-10T00:00:00Z")

    by_customer: dict[int, Any] = {i["customer_id"]: i for i in invoices_of(client, run(client, clock, FEB))}
    in_euro, in_yen = by_customer[euro], by_customer[yen]
    # EUR: 10.00 + 23 x 0.10 = 12.30. 15% off: 1.845 -> 1.85 (half-up; half-even would give 1.84). Taxable 12.30 -
    # 1.85 = 10.45; 10%: 1.045 -> 1.05 (half-even: 1.04). Total 12.30 - 1.85 + 1.05 = 11.50; credit 5.00; due 6.50.
    assert (in_euro["currency"], lines(in_euro)) == ("EUR", [("api", "usage", "2.30"), ("platform", "usage", "10.00")])
    assert figures(in_euro) == ["12.30", "1.85", "1.05", "11.50", "5.00", "6.50"]
    # JPY, no decimal places: 1000 + 230 x 1 = 1230. 15% off: 184.5 -> 185 (half-even: 184). Taxable 1230 - 185 =
    # 1045; 10%: 104.5 -> 105 (half-even: 104). Total 1230 - 185 + 105 = 1150; credit 500; due 650.
    assert (in_yen["currency"], lines(in_yen)) == ("JPY", [("api", "usage", "230"), ("platform", "usage", "1000")])
    assert figures(in_yen) == ["1230", "185", "105", "1150", "500", "650"]
    assert (balance(client, euro), balance(client, yen)) == ("0.00", "0")

    for cid in (euro, yen):
        event(client, cid, "api", 1, "2024-02-10T00:00:00Z")
    by_customer = {i["customer_id"]: i for i in invoices_of(client, run(client, clock, MAR))}
    # EUR: 10.00 + 0.10 = 10.10; 15%: 1.515 -> 1.52; taxable 8.58; 10%: 0.858 -> 0.86; total 10.10 - 1.52 + 0.86 =
    # 9.44; no credit left.
    assert figures(by_customer[euro]) == ["10.10", "1.52", "0.86", "9.44", "0.00", "9.44"]
    # JPY: 1000 + 1 = 1001; 15%: 150.15 -> 150; taxable 851; 10%: 85.1 -> 85; total 1001 - 150 + 85 = 936.
    assert figures(by_customer[yen]) == ["1001", "150", "85", "936", "0", "936"]
