"""Scenarios: a customer's terms on billing-run invoices, everything through HTTP. Prepaid credit used across two
invoices and expiring in between; a 3-period coupon; tax on a discounted invoice (default rates, an exempt customer,
a customer's own rates); a partial credit note on a paid invoice; an invoice below zero whose credit the next period
uses; the upcoming-invoice preview. Every figure of every invoice is written out, with its arithmetic.

Figures are compared as the API writes them (``"30.00"``), so their decimal places are checked too."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from fubble.clock import FrozenClock
from tests.billing_runs.scenarios.helpers import (
    Json,
    base_and_usage,
    change,
    customer,
    decimal_json,
    event,
    fee,
    flat,
    invoice,
    invoices_of,
    plan,
    run,
    subscribe,
    tiered,
    utc,
)

JAN, FEB, MAR, APR, MAY = (f"2024-{m:02d}-01T00:00:00Z" for m in range(1, 6))
FIGURES = ("subtotal", "discount_amount", "tax_amount", "total", "credits_applied", "amount_due")


# Reading and writing terms -----------------------------------------------------------------------------------------


def figures(inv: Json) -> list[str]:
    """subtotal, discount_amount, tax_amount, total, credits_applied, amount_due, as written (places included)."""
    return [str(inv[name]) for name in FIGURES]


def lines(inv: Json) -> list[tuple[str | None, str | None, str]]:
    """(metric, kind, amount as written) of each line, by metric then kind."""
    found = [(i["metric_name"], i["kind"], str(i["amount"])) for i in inv["invoice_items"]]
    return sorted(found, key=lambda line: (line[0] or "", line[1] or ""))


def get(client: TestClient, path: str) -> Any:
    response = client.get(path)
    assert response.status_code == 200, response.text
    return decimal_json(response.text)


def post(client: TestClient, path: str, body: Json, status: int = 201) -> Any:
    response = client.post(path, json=body)
    assert response.status_code == status, response.text
    return decimal_json(response.text)


def tax_rate(client: TestClient, name: str, rate: str, *, default: bool = False) -> int:
    return int(post(client, "/tax-rates/", {"name": name, "rate": rate, "applies_by_default": default})["id"])


def coupon(client: TestClient, code: str, **body: Any) -> int:
    return int(post(client, "/coupons/", {"code": code, **body})["id"])


def redeem(client: TestClient, customer_id: int, code: str) -> Json:
    result: Json = post(client, f"/customers/{customer_id}/coupons", {"code": code})
    return result


def coupon_state(client: TestClient, customer_id: int) -> list[tuple[str, int, int | None, str]]:
    """(code, periods_used, periods_remaining, status) of each coupon applied to the customer."""
    found = get(client, f"/customers/{customer_id}/coupons")
    return [(c["code"], c["periods_used"], c["periods_remaining"], c["status"]) for c in found]


def grant(client: TestClient, customer_id: int, amount: str, **body: Any) -> Json:
    result: Json = post(
        client, f"/customers/{customer_id}/credit-grants", {"amount": amount, "description": "Prepaid", **body}
    )
    return result


def balance(client: TestClient, customer_id: int) -> str:
    return str(get(client, f"/customers/{customer_id}/credit-balance")["balance"])


def ledger(client: TestClient, customer_id: int) -> list[tuple[str, str, int, int | None, str]]:
    """(type, amount as written, grant id, invoice id, at) of each ledger entry, in the ledger's order."""
    found = get(client, f"/customers/{customer_id}/credit-ledger")
    return [(e["type"], str(e["amount"]), e["grant_id"], e["invoice_id"], e["at"]) for e in found]


def one_invoice(client: TestClient, clock: FrozenClock, as_of: str) -> Json:
    [only] = invoices_of(client, run(client, clock, as_of))
    return only


def usage_plan(client: TestClient, platform: str, api_price: str) -> int:
    """A monthly plan: a ``platform`` subscription fee and ``api`` usage at ``api_price`` a unit."""
    return plan(client, fee("platform", platform), base_and_usage("api", "0", api_price))


# 1. Prepaid credit ----------------------------------------------------------------------------------------------


def test_a_grant_used_by_one_run_invoice_then_expiring_before_the_next(client: TestClient, clock: FrozenClock) -> None:
    clock.set(utc(JAN))
    cid = customer(client, "Credits", invoice_grace_period_hours=0)  # runs finalize at once
    subscribe(client, cid, usage_plan(client, "20.00", "1.00"), JAN)
    g = grant(client, cid, "50.00", expires_at="2024-02-15T00:00:00Z")
    event(client, cid, "api", 10, "2024-01-10T00:00:00Z")

    january = one_invoice(client, clock, FEB)
    # 20.00 fee + 10 x 1.00 = 30.00; no coupon, no tax; finalized Feb 1 < Feb 15: the grant pays 30.00 of its 50.00.
    assert january["status"] == "pending"
    assert lines(january) == [("api", "usage", "10.00"), ("platform", "usage", "20.00")]
    assert figures(january) == ["30.00", "0.00", "0.00", "30.00", "30.00", "0.00"]
    assert str(january["amount"]) == "30.00"
    assert balance(client, cid) == "20.00"  # 50.00 - 30.00

    event(client, cid, "api", 5, "2024-02-10T00:00:00Z")
    february = one_invoice(client, clock, MAR)
    # 20.00 + 5 x 1.00 = 25.00; finalized Mar 1, after the grant expired (Feb 15): no credit, 25.00 due.
    assert figures(february) == ["25.00", "0.00", "0.00", "25.00", "0.00", "25.00"]
    assert ledger(client, cid) == [
        ("grant", "50.00", g["id"], None, "2024-01-01T00:00:00Z"),
        ("use", "-30.00", g["id"], january["id"], "2024-02-01T00:00:00Z"),
        ("expiry", "-20.00", g["id"], None, "2024-02-15T00:00:00Z"),
    ]
    assert balance(client, cid) == "0.00"  # 50.00 - 30.00 - 20.00
    [listed] = get(client, f"/customers/{cid}/credit-grants")
    assert (str(listed["remaining"]), listed["status"]) == ("20.00", "expired")


# 2. A 3-period coupon -------------------------------------------------------------------------------------------


def _three_period_customer(client: TestClient, clock: FrozenClock) -> int:
    clock.set(utc(JAN))
    cid = customer(client, "Coupon", invoice_grace_period_hours=0)
    subscribe(client, cid, usage_plan(client, "50.00", "0.37"), JAN)
    coupon(client, "THREE", type="percentage", percent_off=20, duration="repeating", duration_in_periods=3)
    applied = redeem(client, cid, "THREE")
    assert (applied["periods_used"], applied["periods_remaining"], applied["status"]) == (0, 3, "active")
    for count, day in ((3, "2024-01-10"), (8, "2024-02-10"), (5, "2024-03-10"), (2, "2024-04-10")):
        event(client, cid, "api", count, f"{day}T00:00:00Z")
    return cid


# Per month: subtotal = 50.00 + usage x 0.37; 20% off, rounded half-up once per invoice; no tax, no credit.
THREE_PERIODS = [
    # Jan: 50.00 + 3 x 0.37 = 51.11; 51.11 x 20% = 10.222 -> 10.22; 51.11 - 10.22 = 40.89.
    ["51.11", "10.22", "0.00", "40.89", "0.00", "40.89"],
    # Feb: 50.00 + 8 x 0.37 = 52.96; 52.96 x 20% = 10.592 -> 10.59; 52.96 - 10.59 = 42.37.
    ["52.96", "10.59", "0.00", "42.37", "0.00", "42.37"],
    # Mar: 50.00 + 5 x 0.37 = 51.85; 51.85 x 20% = 10.37; 51.85 - 10.37 = 41.48.
    ["51.85", "10.37", "0.00", "41.48", "0.00", "41.48"],
    # Apr: 50.00 + 2 x 0.37 = 50.74; the coupon's 3 periods are used: no discount.
    ["50.74", "0.00", "0.00", "50.74", "0.00", "50.74"],
]


def test_a_three_period_coupon_discounts_january_to_march(client: TestClient, clock: FrozenClock) -> None:
    cid = _three_period_customer(client, clock)
    states = [("THREE", 1, 2, "active"), ("THREE", 2, 1, "active"), ("THREE", 3, 0, "ended"), ("THREE", 3, 0, "ended")]
    for as_of, expected, state in zip((FEB, MAR, APR, MAY), THREE_PERIODS, states, strict=True):
        month = one_invoice(client, clock, as_of)
        assert figures(month) == expected, as_of
        assert coupon_state(client, cid) == [state], as_of


def test_a_three_period_coupon_in_one_catch_up_run(client: TestClient, clock: FrozenClock) -> None:
    cid = _three_period_customer(client, clock)
    months = invoices_of(client, run(client, clock, MAY))  # Jan to Apr at once, each finalized
    assert [figures(m) for m in months] == THREE_PERIODS
    assert coupon_state(client, cid) == [("THREE", 3, 0, "ended")]


def test_a_grant_serves_a_catch_up_run_once(client: TestClient, clock: FrozenClock) -> None:
    clock.set(utc(JAN))
    other = customer(client, "Other", invoice_grace_period_hours=0)  # same batch, no credit
    cid = customer(client, "Catch up", invoice_grace_period_hours=0)
    monthly = plan(client, flat("platform", "30.00"))
    subscribe(client, other, monthly, JAN)
    subscribe(client, cid, monthly, JAN)
    grant(client, cid, "50.00")
    result = run(client, clock, MAR)  # Jan and Feb at once, each finalized
    assert result["invoices_created"] == 4
    january, february = (inv for inv in invoices_of(client, result) if inv["customer_id"] == cid)
    # Jan 30.00 all paid by credit; Feb 30.00: the 20.00 left, 10.00 due.
    assert figures(january) == ["30.00", "0.00", "0.00", "30.00", "30.00", "0.00"]
    assert figures(february) == ["30.00", "0.00", "0.00", "30.00", "20.00", "10.00"]
    assert balance(client, cid) == "0.00"


# 3. Tax on a discounted invoice ---------------------------------------------------------------------------------


def test_tax_on_the_discounted_subtotal_default_exempt_and_chosen_rates(client: TestClient, clock: FrozenClock) -> None:
    clock.set(utc(JAN))
    vat = tax_rate(client, "VAT 20%", "20", default=True)
    state, city = tax_rate(client, "State 7.5%", "7.5"), tax_rate(client, "City 2.5%", "2.5")
    coupon(client, "FIFTEEN", type="fixed", amount_off="15.00", currency="USD", duration="forever")
    monthly = plan(client, fee("platform", "100.00"))
    taxed = customer(client, "Taxed", invoice_grace_period_hours=0)
    exempt = customer(client, "Exempt", invoice_grace_period_hours=0, tax_exempt=True, tax_rate_ids=[vat])
    chosen = customer(client, "Chosen", invoice_grace_period_hours=0, tax_rate_ids=[state, city])
    for cid in (taxed, exempt, chosen):
        subscribe(client, cid, monthly, JAN)
        redeem(client, cid, "FIFTEEN")

    by_customer = {inv["customer_id"]: inv for inv in invoices_of(client, run(client, clock, FEB))}
    # Subtotal 100.00, fixed coupon 15.00 off: taxable 85.00.
    # Default VAT 20%: 85.00 x 20% = 17.00; total 100.00 - 15.00 + 17.00 = 102.00.
    assert figures(by_customer[taxed]) == ["100.00", "15.00", "17.00", "102.00", "0.00", "102.00"]
    # Exempt (even with VAT chosen): no tax; total 85.00.
    assert figures(by_customer[exempt]) == ["100.00", "15.00", "0.00", "85.00", "0.00", "85.00"]
    # Its own rates instead of VAT, each rounded half-up once: 85.00 x 7.5% = 6.375 -> 6.38 and 85.00 x 2.5% = 2.125
    # -> 2.13 (half-even would give 2.12); tax 8.51 (one rounding of 10% would give 8.50); total 85.00 + 8.51 = 93.51.
    assert figures(by_customer[chosen]) == ["100.00", "15.00", "8.51", "93.51", "0.00", "93.51"]
    assert [str(by_customer[c]["amount"]) for c in (taxed, exempt, chosen)] == ["102.00", "85.00", "93.51"]


# 4. A partial credit note on a paid invoice ---------------------------------------------------------------------


def note(client: TestClient, invoice_id: int, **body: Any) -> Any:
    return client.post(f"/invoices/{invoice_id}/credit-notes", json={"reason": "API outage on 10 January", **body})


def test_partial_credit_notes_on_a_paid_invoice(client: TestClient, clock: FrozenClock) -> None:
    clock.set(utc(JAN))
    cid = customer(client, "Notes", invoice_grace_period_hours=0)
    subscribe(client, cid, usage_plan(client, "40.00", "1.50"), JAN)
    event(client, cid, "api", 20, "2024-01-10T00:00:00Z")
    january = one_invoice(client, clock, FEB)
    # 40.00 fee + 20 x 1.50 = 30.00 of usage = 70.00.
    assert figures(january) == ["70.00", "0.00", "0.00", "70.00", "0.00", "70.00"]
    api_item = next(i["id"] for i in january["invoice_items"] if i["metric_name"] == "api")
    clock.set(utc("2024-02-03T09:00:00Z"))
    paid = client.put(f"/invoices/{january['id']}/status", json={"status": "paid"})
    assert paid.status_code == 200, paid.text
    before = invoice(client, january["id"])

    credited = note(client, january["id"], items=[{"invoice_item_id": api_item, "amount": "12.00"}], method="credit")
    assert credited.status_code == 201, credited.text
    first = decimal_json(credited.text)
    # 12.00 of the 30.00 API line, to the credit balance; the customer's first note, made Feb 3.
    assert first["number"] == f"CN-20240203-{cid}-000001"
    assert (str(first["amount"]), first["method"], first["invoice_id"], first["customer_id"]) == (
        "12.00",
        "credit",
        january["id"],
        cid,
    )
    assert [(i["invoice_item_id"], str(i["amount"])) for i in first["items"]] == [(api_item, "12.00")]
    assert balance(client, cid) == "12.00"
    [from_note] = get(client, f"/customers/{cid}/credit-grants")
    assert (from_note["source"], from_note["credit_note_id"], str(from_note["remaining"])) == (
        "credit_note",
        first["id"],
        "12.00",
    )

    # What remains: the API line 30.00 - 12.00 = 18.00, the invoice 70.00 - 12.00 = 58.00. More is a 409.
    over_item = note(client, january["id"], items=[{"invoice_item_id": api_item, "amount": "18.01"}], method="credit")
    assert over_item.status_code == 409, over_item.text
    assert note(client, january["id"], amount="58.01", method="credit").status_code == 409
    refund = note(client, january["id"], amount="20.00", method="refund")
    assert refund.status_code == 201, refund.text
    second = decimal_json(refund.text)
    # A refund is recorded for the payment side: the balance stays 12.00. 58.00 - 20.00 = 38.00 remains.
    assert (second["number"], str(second["amount"]), second["items"]) == (f"CN-20240203-{cid}-000002", "20.00", [])
    assert balance(client, cid) == "12.00"
    assert note(client, january["id"], amount="38.01", method="refund").status_code == 409

    numbers = [first["number"], second["number"]]
    assert [n["number"] for n in get(client, f"/invoices/{january['id']}/credit-notes")] == numbers
    assert [n["number"] for n in get(client, f"/customers/{cid}/credit-notes")] == numbers
    assert get(client, f"/credit-notes/{first['id']}") == first
    after = invoice(client, january["id"])
    assert after == before  # the invoice is never edited
    assert (after["status"], figures(after)) == ("paid", ["70.00", "0.00", "0.00", "70.00", "0.00", "70.00"])

    february = one_invoice(client, clock, MAR)
    # 40.00 fee, no usage; finalized: the credit note's 12.00 is used, 28.00 due.
    assert figures(february) == ["40.00", "0.00", "0.00", "40.00", "12.00", "28.00"]
    assert balance(client, cid) == "0.00"


# 7. An invoice below zero ---------------------------------------------------------------------------------------


def test_a_run_invoice_below_zero_carries_credit_to_the_next_period(client: TestClient, clock: FrozenClock) -> None:
    clock.set(utc(APR))
    tax_rate(client, "VAT 20%", "20", default=True)
    ahead = [fee("platform", "90.00"), flat("support", "25.00"), tiered("api", (0, None, "1.00"))]
    pro = plan(client, *ahead, name="Pro", fees_in_advance=True)
    basic = plan(client, fee("platform", "30.00"), flat("support", "10.00"), name="Basic", fees_in_advance=True)
    cid = customer(client, "Below zero", invoice_grace_period_hours=0)
    sub = subscribe(client, cid, pro, APR)
    april = one_invoice(client, clock, APR)
    # April in advance: 90.00 + 25.00 = 115.00; VAT 20% = 23.00; total 138.00.
    assert figures(april) == ["115.00", "0.00", "23.00", "138.00", "0.00", "138.00"]
    clock.set(utc("2024-04-11"))
    change(client, cid, sub["id"], plan_id=basic, effective="now")

    changed = one_invoice(client, clock, "2024-04-11T00:00:00Z")
    # [Apr 11, May 1) = 20 of 30 days. Basic: 30.00 x 20/30 = 20.00, support 10.00; Pro credited: 90.00 x 20/30 =
    # 60.00 and support 25.00. Subtotal 20.00 + 10.00 - 60.00 - 25.00 = -55.00; taxable max(0, -55.00) = 0: VAT 0.00.
    # Total 0.00; the 55.00 is carried as credit.
    assert figures(changed) == ["-55.00", "0.00", "0.00", "0.00", "0.00", "0.00"]
    assert (str(changed["amount"]), str(changed["credit_carried"])) == ("0.00", "55.00")
    [carried] = get(client, f"/customers/{cid}/credit-grants")
    assert (carried["source"], carried["invoice_id"], str(carried["amount"])) == ("invoice", changed["id"], "55.00")
    assert balance(client, cid) == "55.00"

    may = one_invoice(client, clock, MAY)
    # May in advance on Basic: 30.00 + 10.00 = 40.00; VAT 8.00; total 48.00, all paid by the carried credit.
    assert figures(may) == ["40.00", "0.00", "8.00", "48.00", "48.00", "0.00"]
    assert ledger(client, cid) == [
        ("grant", "55.00", carried["id"], None, "2024-04-11T00:00:00Z"),
        ("use", "-48.00", carried["id"], may["id"], "2024-05-01T00:00:00Z"),
    ]
    assert balance(client, cid) == "7.00"  # 55.00 - 48.00


# 8. The upcoming invoice ----------------------------------------------------------------------------------------


def test_the_upcoming_invoice_shows_discount_tax_and_the_credit_finalizing_would_use(
    client: TestClient, clock: FrozenClock
) -> None:
    clock.set(utc(JAN))
    tax_rate(client, "Sales tax 10%", "10", default=True)
    coupon(client, "FOREVER20", type="percentage", percent_off=20, duration="forever")
    cid = customer(client, "Preview", invoice_grace_period_hours=0)
    subscribe(client, cid, usage_plan(client, "50.00", "1.00"), JAN)
    redeem(client, cid, "FOREVER20")
    grant(client, cid, "25.00")
    event(client, cid, "api", 10, "2024-01-10T00:00:00Z")
    clock.set(utc("2024-01-20"))

    upcoming = get(client, f"/customers/{cid}/upcoming-invoice")
    # 50.00 fee (to the period's end) + 10 x 1.00 = 60.00; 20% off = 12.00; taxable 48.00, tax 10% = 4.80; total
    # 52.80; finalizing now would use the 25.00 of credit: 27.80 due.
    assert figures(upcoming) == ["60.00", "12.00", "4.80", "52.80", "25.00", "27.80"]
    assert str(upcoming["amount"]) == "52.80"
    # A preview consumes nothing.
    assert balance(client, cid) == "25.00"
    assert coupon_state(client, cid) == [("FOREVER20", 0, None, "active")]

    january = one_invoice(client, clock, FEB)
    # The run bills the same period and usage: the same figures, now consumed.
    assert figures(january) == ["60.00", "12.00", "4.80", "52.80", "25.00", "27.80"]
    assert balance(client, cid) == "0.00"
    assert coupon_state(client, cid) == [("FOREVER20", 1, None, "active")]
