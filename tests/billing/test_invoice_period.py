"""A generated invoice's ``period_start``/``period_end`` say the time it bills (earliest line start to latest line
end), not the window that was asked for."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .billing_driver import Billing

FEE = [
    {
        "metric_name": "base_fee",
        "display_name": "Base",
        "pricing_type": "subscription",
        "pricing_details": {"amount": 31},
    }
]


def _span(invoice: dict[str, Any]) -> tuple[str, str]:
    return invoice["period_start"], invoice["period_end"]


def _lines_hull(invoice: dict[str, Any]) -> tuple[str, str]:
    items = invoice["invoice_items"]
    return min(i["period_start"] for i in items), max(i["period_end"] for i in items)


def test_a_window_overlapping_an_invoiced_month_says_the_part_it_bills(billing: Billing) -> None:
    customer = billing.customer()
    billing.subscribe(customer, billing.plan(FEE), "2024-01-01T00:00:00")
    [february] = billing.generate("2024-02-01T00:00:00", "2024-03-01T00:00:00", customer)
    assert _span(february) == ("2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z")
    assert february["amount"] == Decimal("31.00")

    [march] = billing.generate("2024-02-15T00:00:00", "2024-03-15T00:00:00", customer)
    assert march["id"] != february["id"]
    # February was invoiced already: this invoice bills [March 1, March 15): 14 of March's 31 days of 31.00 = 14.00.
    assert march["amount"] == Decimal("14.00")
    assert _span(march) == ("2024-03-01T00:00:00Z", "2024-03-15T00:00:00Z") == _lines_hull(march)


def test_subscription_start_and_end_inside_the_window_bound_the_period(billing: Billing) -> None:
    customer = billing.customer()
    plan = billing.plan(FEE)
    billing.subscribe(customer, plan, "2024-02-10T00:00:00", "2024-03-10T00:00:00")
    billing.subscribe(customer, plan, "2024-03-20T00:00:00", "2024-03-25T12:00:00")
    [invoice] = billing.generate("2024-01-01T00:00:00", "2024-04-01T00:00:00", customer)
    # Feb 10 - Mar 10 is one whole period of the first subscription (31.00); the second bills 5.5 days of its period
    # Mar 20 - Apr 20 (31 days): 31 x 5.5/31 = 5.50.
    assert sorted(i["amount"] for i in invoice["invoice_items"]) == [Decimal("5.50"), Decimal("31.00")]
    assert invoice["amount"] == Decimal("36.50")
    assert _span(invoice) == ("2024-02-10T00:00:00Z", "2024-03-25T12:00:00Z") == _lines_hull(invoice)
    # The stored invoice says the same.
    fetched = billing.client.get(f"/invoices/{invoice['id']}").json()
    assert _span(fetched) == ("2024-02-10T00:00:00Z", "2024-03-25T12:00:00Z")
