"""Nothing is billed twice: repeated and overlapping windows, voiding, boundaries, time zones, overlapping plans."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient

from .billing_driver import Billing, amounts, lines

JAN_1, JAN_16, FEB_1, MAR_1 = "2024-01-01T00:00:00", "2024-01-16T00:00:00", "2024-02-01T00:00:00", "2024-03-01T00:00:00"
UNIT = {"tiers": [{"start": 0, "end": None, "price": 1}]}


def _pro_customer(billing: Billing) -> int:
    customer = billing.customer()
    billing.subscribe(customer, billing.pro_plan(), JAN_1)
    billing.event(customer, "api_calls", 800, "2024-01-05T00:00:00")
    billing.event(customer, "storage_gb", 50, "2024-01-05T00:00:00")
    billing.event(customer, "api_calls", 700, "2024-01-20T00:00:00")
    billing.event(customer, "storage_gb", 100, "2024-01-20T00:00:00")
    return customer


def test_generating_the_same_window_twice_returns_the_same_invoices(billing: Billing) -> None:
    _pro_customer(billing)
    _pro_customer(billing)
    first = billing.generate(JAN_1, FEB_1)
    assert len(first) == 2
    assert billing.invoice_count() == 2
    second = billing.generate(JAN_1, FEB_1, style="query")
    assert second == first
    assert billing.invoice_count() == 2
    # a window inside an invoiced one also returns it, and creates nothing
    inside = billing.generate("2024-01-10T00:00:00", "2024-01-12T00:00:00", first[0]["customer_id"])
    assert [i["id"] for i in inside] == [first[0]["id"]]
    assert billing.invoice_count() == 2


def test_overlapping_window_bills_only_the_new_part_continuing_tiers(billing: Billing) -> None:
    customer = _pro_customer(billing)
    [first] = billing.generate(JAN_1, JAN_16)
    assert amounts(first, "api_calls") == [Decimal("8.00")]  # 800 x 0.01
    assert amounts(first, "storage_gb") == [Decimal("5.00")]  # 50 x 0.10
    assert amounts(first, "subscription_fee") == [Decimal("14.51")]  # 29.99 x 15/31
    [second] = billing.generate(JAN_1, FEB_1, customer)
    assert second["id"] != first["id"]
    assert {item["period_start"] for item in second["invoice_items"]} == {"2024-01-16T00:00:00Z"}
    assert amounts(second, "api_calls") == [Decimal("4.50")]  # units 800..1500 of the period: 200 x 0.01 + 500 x 0.005
    assert amounts(second, "storage_gb") == [Decimal("7.00")]  # 150 x 0.08 for the period, less 5.00 billed
    assert amounts(second, "subscription_fee") == [Decimal("15.48")]  # 29.99 x 16/31
    assert first["amount"] + second["amount"] == Decimal("54.49")  # the one-month total
    assert billing.generate(JAN_1, FEB_1) == [first, second]  # both bill January now
    assert billing.invoice_count() == 2


def test_voiding_frees_the_window(billing: Billing) -> None:
    _pro_customer(billing)
    [invoice] = billing.generate(JAN_1, FEB_1)
    billing.void(invoice["id"])
    [again] = billing.generate(JAN_1, FEB_1)
    assert again["id"] != invoice["id"]
    assert again["amount"] == invoice["amount"] == Decimal("54.49")
    assert [i["amount"] for i in again["invoice_items"]] == [i["amount"] for i in invoice["invoice_items"]]
    assert billing.generate(JAN_1, FEB_1) == [again]  # the void one is not returned
    assert billing.invoice_count() == 2


def test_voiding_a_part_frees_only_that_part(billing: Billing) -> None:
    _pro_customer(billing)
    [first] = billing.generate(JAN_1, JAN_16)
    [second] = billing.generate(JAN_16, FEB_1)
    billing.void(first["id"])
    [again] = billing.generate(JAN_1, FEB_1)
    assert {item["period_end"] for item in again["invoice_items"]} == {"2024-01-16T00:00:00Z"}
    # The second half (700 calls, 100 GB) is still billed, so the first half now continues from it. (The second
    # invoice was priced after the now-void first one; to re-price a whole period, void all of its invoices.)
    assert amounts(again, "api_calls") == [Decimal("5.50")]  # units 700..1500: 300 x 0.01 + 500 x 0.005
    assert amounts(again, "storage_gb") == [Decimal("4.00")]  # 150 x 0.08, less 100 x 0.08 billed
    assert amounts(again, "subscription_fee") == [Decimal("14.51")]
    assert billing.generate(JAN_1, FEB_1) == [second, again]
    billing.void(second["id"])
    billing.void(again["id"])
    [whole] = billing.generate(JAN_1, FEB_1)
    assert whole["amount"] == Decimal("54.49")


def test_event_on_a_boundary_is_billed_once(billing: Billing) -> None:
    customer = billing.customer()
    billing.subscribe(
        customer, billing.plan([{"metric_name": "api_calls", "pricing_type": "tiered", "pricing_details": UNIT}]), JAN_1
    )
    billing.event(customer, "api_calls", 10, FEB_1)
    [both] = billing.generate(JAN_1, MAR_1)
    assert [line["quantity"] for line in lines(both, "api_calls")] == [0, 10]
    billing.void(both["id"])
    [january] = billing.generate(JAN_1, FEB_1)
    [february] = billing.generate(FEB_1, MAR_1)
    assert amounts(january, "api_calls") == [Decimal("0.00")]
    assert amounts(february, "api_calls") == [Decimal("10.00")]


def test_offset_timestamps_land_in_the_right_period(billing: Billing) -> None:
    customer = billing.customer()
    billing.subscribe(
        customer, billing.plan([{"metric_name": "api_calls", "pricing_type": "tiered", "pricing_details": UNIT}]), JAN_1
    )
    billing.event(customer, "api_calls", 1, "2024-02-01T00:30:00+01:00")  # 2024-01-31T23:30Z: January
    billing.event(customer, "api_calls", 20, "2024-01-31T23:30:00-01:00")  # 2024-02-01T00:30Z: February
    [invoice] = billing.generate("2024-01-01T01:00:00+01:00", "2024-03-01T00:00:00Z")
    assert invoice["period_start"] == "2024-01-01T00:00:00Z"
    assert [line["quantity"] for line in lines(invoice, "api_calls")] == [1, 20]


def test_overlapping_subscriptions_do_not_double_bill_usage(billing: Billing) -> None:
    customer = billing.customer()
    cheap = billing.plan([{"metric_name": "api_calls", "pricing_type": "tiered", "pricing_details": UNIT}])
    dear = billing.plan(
        [
            {
                "metric_name": "api_calls",
                "pricing_type": "tiered",
                "pricing_details": {"tiers": [{"start": 0, "price": 2}]},
            },
            {"metric_name": "support", "pricing_type": "flat", "pricing_details": {"amount": 5}},
        ]
    )
    fee_only = billing.plan([{"metric_name": "api_calls", "pricing_type": "flat", "pricing_details": {"amount": 1}}])
    base = billing.subscribe(customer, cheap, JAN_1)
    upgrade = billing.subscribe(customer, dear, "2024-01-10T00:00:00", "2024-01-20T00:00:00")
    billing.subscribe(customer, fee_only, "2024-01-12T00:00:00")  # prices no usage, so claims none
    billing.event(customer, "api_calls", 1, "2024-01-05T00:00:00")
    billing.event(customer, "api_calls", 10, "2024-01-15T00:00:00")
    billing.event(customer, "api_calls", 100, "2024-01-25T00:00:00")
    billing.event(customer, "api_calls", 1000, "2023-12-25T00:00:00")  # before any subscription: never billed
    [invoice] = billing.generate("2023-12-01T00:00:00", FEB_1)
    usage = [(i["subscription_id"], i["quantity"], i["amount"]) for i in invoice["invoice_items"] if i["quantity"] != 1]
    assert usage == [(base, 101, Decimal("101.00")), (upgrade, 10, Decimal("20.00"))]
    assert sum(q for _, q, _ in usage) == 111
    assert invoice["amount"] == Decimal("101.00") + Decimal("20.00") + Decimal("5.00") + Decimal("1.00")


def test_same_start_ties_go_to_the_highest_id(billing: Billing) -> None:
    customer = billing.customer()
    plan = billing.plan([{"metric_name": "api_calls", "pricing_type": "tiered", "pricing_details": UNIT}])
    billing.subscribe(customer, plan, JAN_1)
    second = billing.subscribe(customer, plan, JAN_1)
    billing.event(customer, "api_calls", 4, "2024-01-05T00:00:00")
    [invoice] = billing.generate(JAN_1, FEB_1)
    assert [(i["subscription_id"], i["quantity"]) for i in invoice["invoice_items"] if i["quantity"]] == [(second, 4)]


def test_events_before_start_and_at_subscription_end_are_not_billed(client: TestClient, billing: Billing) -> None:
    customer = billing.customer()
    plan = billing.plan([{"metric_name": "api_calls", "pricing_type": "tiered", "pricing_details": UNIT}])
    billing.subscribe(customer, plan, "2024-01-10T00:00:00", "2024-01-20T00:00:00")
    billing.event(customer, "api_calls", 1, "2024-01-09T23:59:59")
    billing.event(customer, "api_calls", 2, "2024-01-10T00:00:00")
    billing.event(customer, "api_calls", 4, "2024-01-20T00:00:00")
    [invoice] = billing.generate(JAN_1, FEB_1)
    assert [line["quantity"] for line in lines(invoice, "api_calls")] == [2]
