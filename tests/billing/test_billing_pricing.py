"""What a generated invoice charges: the guide's Pro plan, periods, proration, tiers per period, currencies."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient

from .billing_driver import Billing, amounts, lines

UNIT = {"tiers": [{"start": 0, "end": None, "price": 1}]}


def test_pro_plan_full_month_is_exact(client: TestClient, billing: Billing) -> None:
    customer = billing.customer()
    subscription = billing.subscribe(customer, billing.pro_plan(), "2024-01-01T00:00:00")
    billing.event(customer, "api_calls", 1000, "2024-01-03T10:00:00")
    billing.event(customer, "api_calls", 500, "2024-01-20T10:00:00")
    billing.event(customer, "storage_gb", "150", "2024-01-31T23:59:59")
    billing.event(customer, "api_calls", 7, "2024-02-01T00:00:00")  # next period: not in this invoice
    [invoice] = billing.generate("2024-01-01T00:00:00", "2024-02-01T00:00:00")
    assert invoice["amount"] == Decimal("54.49")
    api, storage, fee = invoice["invoice_items"]
    assert (api["quantity"], api["amount"]) == (1500, Decimal("12.50"))
    assert (storage["quantity"], storage["amount"], storage["unit_price"]) == (150, Decimal("12.00"), Decimal("0.08"))
    assert (fee["quantity"], fee["amount"]) == (1, Decimal("29.99"))
    assert api["description"].startswith("API Calls (2024-01-01 \N{EN DASH} 2024-02-01)")
    assert "1000 x 0.01 + 500 x 0.005" in api["description"]
    for item in invoice["invoice_items"]:
        assert item["subscription_id"] == subscription
        assert item["period_start"] == "2024-01-01T00:00:00Z"
        assert item["period_end"] == "2024-02-01T00:00:00Z"
    text = client.get(f"/invoices/{invoice['id']}").text
    assert '"amount":54.49' in text and '"amount":12.50' in text and '"amount":12.00' in text


def test_month_end_anchor(billing: Billing) -> None:
    customer = billing.customer()
    fee = {"metric_name": "seat", "pricing_type": "subscription", "pricing_details": {"amount": 30}}
    billing.subscribe(customer, billing.plan([fee]), "2024-01-31T00:00:00")
    [invoice] = billing.generate("2024-01-31T00:00:00", "2024-03-31T00:00:00")
    periods = [(i["period_start"], i["period_end"]) for i in invoice["invoice_items"]]
    assert periods == [
        ("2024-01-31T00:00:00Z", "2024-02-29T00:00:00Z"),
        ("2024-02-29T00:00:00Z", "2024-03-31T00:00:00Z"),
    ]
    assert invoice["amount"] == Decimal("60.00")
    # April continues on the anchor day, clamped: Mar 31 - Apr 30.
    [april] = billing.generate("2024-03-31T00:00:00", "2024-04-30T00:00:00")
    assert amounts(april, "seat") == [Decimal("30.00")]


def test_mid_period_cancel_prorates_the_fee_and_ignores_later_usage(client: TestClient, billing: Billing) -> None:
    customer = billing.customer()
    plan = billing.plan(
        [
            {"metric_name": "api_calls", "pricing_type": "tiered", "pricing_details": UNIT},
            {"metric_name": "fee", "pricing_type": "subscription", "pricing_details": {"amount": 31}},
        ]
    )
    subscription = billing.subscribe(customer, plan, "2024-01-01T00:00:00")
    cancel = client.put(
        f"/customers/{customer}/subscriptions/{subscription}/cancel", params={"end_date": "2024-01-16T00:00:00"}
    )
    assert cancel.status_code == 200, cancel.text
    billing.event(customer, "api_calls", 3, "2024-01-15T23:59:59.999999")
    billing.event(customer, "api_calls", 500, "2024-01-16T00:00:00")  # after the end: never billed
    [invoice] = billing.generate("2024-01-01T00:00:00", "2024-02-01T00:00:00")
    assert amounts(invoice, "fee") == [Decimal("15.00")]  # 15 of 31 days
    assert amounts(invoice, "api_calls") == [Decimal("3.00")]
    assert lines(invoice, "fee")[0]["period_end"] == "2024-01-16T00:00:00Z"
    assert invoice["amount"] == Decimal("18.00")
    assert billing.generate("2024-01-16T00:00:00", "2024-03-01T00:00:00") == []


def test_window_spanning_two_periods_resets_tiers(billing: Billing) -> None:
    customer = billing.customer()
    billing.subscribe(customer, billing.pro_plan(), "2024-01-01T00:00:00")
    billing.event(customer, "api_calls", 1500, "2024-01-10T00:00:00")
    billing.event(customer, "api_calls", 1500, "2024-02-10T00:00:00")
    [invoice] = billing.generate("2024-01-01T00:00:00", "2024-03-01T00:00:00")
    assert amounts(invoice, "api_calls") == [Decimal("12.50"), Decimal("12.50")]
    assert amounts(invoice, "subscription_fee") == [Decimal("29.99"), Decimal("29.99")]
    assert [i["period_start"] for i in lines(invoice, "api_calls")] == ["2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z"]
    assert invoice["amount"] == Decimal("84.98")
    assert len(invoice["invoice_items"]) == 6


def test_flat_fee_once_per_period_even_when_billed_in_parts(billing: Billing) -> None:
    customer = billing.customer()
    plan = billing.plan([{"metric_name": "platform", "pricing_type": "flat", "pricing_details": {"amount": "19.99"}}])
    billing.subscribe(customer, plan, "2024-01-01T00:00:00")
    [first] = billing.generate("2024-01-01T00:00:00", "2024-01-10T00:00:00")
    assert amounts(first, "platform") == [Decimal("19.99")]
    [second] = billing.generate("2024-01-01T00:00:00", "2024-02-01T00:00:00")
    assert second["id"] != first["id"]
    assert lines(second, "platform") == []  # January's fee is on the first invoice already
    assert second["amount"] == Decimal("0.00")
    [february] = billing.generate("2024-02-01T00:00:00", "2024-02-10T00:00:00")
    assert amounts(february, "platform") == [Decimal("19.99")]


def test_jpy_rounds_to_whole_yen(client: TestClient, billing: Billing) -> None:
    customer = billing.customer("JPY")
    plan = billing.plan(
        [
            {
                "metric_name": "api_calls",
                "pricing_type": "tiered",
                "pricing_details": {"tiers": [{"start": 0, "price": "0.5"}]},
            },
            {"metric_name": "fee", "pricing_type": "subscription", "pricing_details": {"amount": 1000}},
        ]
    )
    billing.subscribe(customer, plan, "2024-01-01T00:00:00")
    billing.event(customer, "api_calls", 3, "2024-01-05T00:00:00")
    [invoice] = billing.generate("2024-01-01T00:00:00", "2024-01-16T00:00:00")
    assert invoice["currency"] == "JPY"
    assert amounts(invoice, "api_calls") == [Decimal(2)]  # 1.5 rounds half-up
    assert amounts(invoice, "fee") == [Decimal(484)]  # 1000 * 15/31 = 483.87
    text = client.get(f"/invoices/{invoice['id']}").text
    assert '"amount":486,' in text


def test_dynamic_price_follows_factor_changes(client: TestClient, billing: Billing) -> None:
    for value, since in (("0.5", "2024-01-01T00:00:00"), ("1", "2024-01-16T00:00:00")):
        response = client.put("/pricing-factors/market_factor", json={"value": value, "effective_from": since})
        assert response.status_code in (200, 201), response.text
    customer = billing.customer()
    details = {"base_rate": "0.10", "formula": "base_rate * (1 + market_factor)"}
    billing.subscribe(
        customer,
        billing.plan([{"metric_name": "gpu", "pricing_type": "dynamic", "pricing_details": details}]),
        "2024-01-01T00:00:00",
    )
    billing.event(customer, "gpu", 100, "2024-01-10T00:00:00")  # at 0.15
    billing.event(customer, "gpu", 100, "2024-01-20T00:00:00")  # at 0.20
    [invoice] = billing.generate("2024-01-01T00:00:00", "2024-02-01T00:00:00")
    [line] = lines(invoice, "gpu")
    assert (line["quantity"], line["amount"]) == (200, Decimal("35.00"))


def test_invoice_total_is_the_sum_of_its_lines(billing: Billing) -> None:
    customer = billing.customer()
    billing.subscribe(customer, billing.pro_plan(), "2024-01-07T08:00:00")
    for day in range(1, 29):
        billing.event(customer, "api_calls", f"{day}.5", f"2024-02-{day:02d}T12:00:00")
    [invoice] = billing.generate("2024-01-01T00:00:00", "2024-03-01T00:00:00")
    total = sum((Decimal(str(item["amount"])) for item in invoice["invoice_items"]), Decimal(0))
    assert invoice["amount"] == total
    fees = lines(invoice, "subscription_fee")
    assert [f["period_start"] for f in fees] == ["2024-01-07T08:00:00Z", "2024-02-07T08:00:00Z"]
    assert fees[0]["description"].startswith(
        "Base Subscription (2024-01-07 08:00:00 UTC \N{EN DASH} 2024-02-07 08:00:00 UTC)"
    )
