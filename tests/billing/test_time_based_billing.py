"""A ``time_based`` plan priced per hour whose events report seconds (``event_unit``) bills hours, not seconds."""

from __future__ import annotations

from decimal import Decimal

from .billing_driver import Billing, exact, lines

GPU = {
    "metric_name": "gpu_seconds",
    "display_name": "GPU time",
    "pricing_type": "time_based",
    "pricing_details": {"rate_per_unit": "2.50", "unit": "hour", "event_unit": "second"},
}


def test_events_in_seconds_on_an_hourly_price(billing: Billing) -> None:
    plan = billing.plan([GPU])
    stored = exact(billing.client.get(f"/plans/{plan}"))["price_components"][0]["pricing_details"]
    assert stored == {"rate_per_unit": Decimal("2.5"), "unit": "hour", "event_unit": "second"}
    customer = billing.customer()
    billing.subscribe(customer, plan, "2024-01-01T00:00:00")
    billing.event(customer, "gpu_seconds", 3600, "2024-01-03T00:00:00")
    billing.event(customer, "gpu_seconds", 1800, "2024-01-20T00:00:00")
    billing.event(customer, "gpu_seconds", 7, "2024-01-31T23:59:59")
    [invoice] = billing.generate("2024-01-01T00:00:00", "2024-02-01T00:00:00", customer)
    [line] = lines(invoice, "gpu_seconds")
    # 5,407 seconds = 1.501944... hours x 2.50 = 3.754861... -> 3.75 (not 5,407 x 2.50 = 13,517.50).
    assert line["amount"] == Decimal("3.75") and invoice["amount"] == Decimal("3.75")
    assert line["quantity"] == Decimal("1.501944444444") and line["unit_price"] == Decimal("2.5")
    assert "5407 second(s) \N{ALMOST EQUAL TO} 1.501944444444 hour(s) x 2.5" in line["description"]
