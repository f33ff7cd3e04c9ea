"""GET /customers/{id}/upcoming-invoice: the draft the current period would produce now, priced like the billing run,
with nothing written. The clock is frozen at 2024-01-15T12:00Z."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from fubble.db.models import AuditEntry, BillingCoverage, Customer, Invoice, InvoiceItem
from fubble.db.session import Database

from .billing_driver import Billing, amounts, exact

UNIT = {"tiers": [{"start": 0, "end": None, "price": 1}]}
ITEM_FIELDS = ("description", "metric_name", "quantity", "unit_price", "amount", "subscription_id")
ITEM_FIELDS += ("price_component_id", "period_start", "period_end")


def upcoming(client: TestClient, customer_id: int) -> dict[str, Any]:
    response = client.get(f"/customers/{customer_id}/upcoming-invoice")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = exact(response)
    return body


def fee_and_usage_plan(billing: Billing, fee: int, price: int) -> int:
    return billing.plan(
        [
            {"metric_name": "fee", "pricing_type": "subscription", "pricing_details": {"amount": fee}},
            {
                "metric_name": "api_calls",
                "pricing_type": "tiered",
                "pricing_details": {"tiers": [{"start": 0, "end": None, "price": price}]},
            },
        ]
    )


def comparable(items: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [tuple(item[field] for field in ITEM_FIELDS) for item in items]


def test_mid_period_preview_prices_usage_so_far_and_the_whole_period_fee(client: TestClient, billing: Billing) -> None:
    customer = billing.customer()
    subscription = billing.subscribe(customer, billing.pro_plan(), "2024-01-01T00:00:00")
    billing.event(customer, "api_calls", 1000, "2024-01-03T10:00:00")
    billing.event(customer, "api_calls", 500, "2024-01-10T10:00:00")
    billing.event(customer, "storage_gb", "150", "2024-01-12T00:00:00")
    billing.event(customer, "api_calls", 99, "2023-12-31T23:59:59")  # previous period
    body = upcoming(client, customer)
    assert body["id"] is None and body["invoice_number"] is None and body["status"] == "upcoming"
    assert body["customer_id"] == customer and body["currency"] == "USD"
    assert (body["period_start"], body["period_end"]) == ("2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z")
    assert body["issue_date"] == body["usage_as_of"] == "2024-01-15T12:00:00Z"
    assert body["due_date"] == "2024-02-14T12:00:00Z"
    assert body["paid_date"] is None and body["notes"] is None and body["created_at"] is None
    api, storage, fee = body["invoice_items"]
    assert (api["quantity"], api["amount"]) == (1500, Decimal("12.50"))
    assert (storage["quantity"], storage["amount"]) == (150, Decimal("12.00"))
    assert (fee["quantity"], fee["amount"]) == (1, Decimal("29.99"))
    assert body["amount"] == Decimal("54.49")
    for item in body["invoice_items"]:
        assert item["id"] is None and item["subscription_id"] == subscription
        assert (item["period_start"], item["period_end"]) == ("2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z")
    response = client.get(f"/customers/{customer}/upcoming-invoice")
    assert '"amount":54.49' in response.text and '"amount":12.50' in response.text

    # The billing run over the current period, run now, produces exactly these lines.
    [invoice] = billing.generate("2024-01-01T00:00:00", "2024-02-01T00:00:00", customer)
    assert comparable(invoice["invoice_items"]) == comparable(body["invoice_items"])
    assert invoice["amount"] == body["amount"]


def test_usage_after_now_is_not_counted_yet(client: TestClient, billing: Billing) -> None:
    customer = billing.customer()
    billing.subscribe(customer, fee_and_usage_plan(billing, 31, 1), "2024-01-01T00:00:00")
    billing.event(customer, "api_calls", 3, "2024-01-15T11:59:59")
    billing.event(customer, "api_calls", 5, "2024-01-15T12:00:00")  # exactly now: not before now
    billing.event(customer, "api_calls", 7, "2024-01-20T00:00:00")
    body = upcoming(client, customer)
    assert amounts(body, "api_calls") == [Decimal("3.00")]
    assert amounts(body, "fee") == [Decimal("31.00")]


def test_time_already_invoiced_is_left_out_and_tiers_continue(client: TestClient, billing: Billing, clock: Any) -> None:
    customer = billing.customer()
    billing.subscribe(customer, billing.pro_plan(), "2024-01-01T00:00:00")
    billing.event(customer, "api_calls", 800, "2024-01-03T00:00:00")
    [first] = billing.generate("2024-01-01T00:00:00", "2024-01-10T00:00:00", customer)
    assert amounts(first, "api_calls") == [Decimal("8.00")]
    assert amounts(first, "subscription_fee") == [Decimal("8.71")]  # 29.99 x 9/31
    billing.event(customer, "api_calls", 700, "2024-01-12T00:00:00")

    body = upcoming(client, customer)
    assert (body["period_start"], body["period_end"]) == ("2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z")
    api = [item for item in body["invoice_items"] if item["metric_name"] == "api_calls"]
    assert [(i["quantity"], i["amount"]) for i in api] == [(700, Decimal("4.50"))]  # 200 x 0.01 + 500 x 0.005
    assert amounts(body, "subscription_fee") == [Decimal("21.28")]  # 29.99 x 22/31; with 8.71: 29.99
    for item in body["invoice_items"]:
        assert (item["period_start"], item["period_end"]) == ("2024-01-10T00:00:00Z", "2024-02-01T00:00:00Z")
    assert body["amount"] == Decimal("25.78")

    [second] = billing.generate("2024-01-01T00:00:00", "2024-02-01T00:00:00", customer)
    assert comparable(second["invoice_items"]) == comparable(body["invoice_items"])

    # Now the whole period is invoiced: nothing is left to preview.
    assert upcoming(client, customer)["invoice_items"] == []
    assert upcoming(client, customer)["amount"] == 0

    # Voiding frees the time again.
    billing.void(first["id"])
    billing.void(second["id"])
    again = upcoming(client, customer)
    assert amounts(again, "api_calls") == [Decimal("12.50")]
    assert amounts(again, "subscription_fee") == [Decimal("29.99")]

    # Next period: the clock moves on, the preview follows.
    clock.set(clock.now().replace(month=2, day=3))
    february = upcoming(client, customer)
    assert (february["period_start"], february["period_end"]) == ("2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z")
    assert amounts(february, "api_calls") == [Decimal("0.00")]


def test_usage_uses_each_metrics_aggregation(client: TestClient, billing: Billing) -> None:
    for name, aggregation in (("peak_users", "max"), ("storage_gb", "weighted_sum")):
        response = client.post("/metrics/", json={"name": name, "aggregation": aggregation})
        assert response.status_code == 201, response.text
    unit = {"pricing_type": "tiered", "pricing_details": UNIT}
    plan = billing.plan([{"metric_name": "peak_users", **unit}, {"metric_name": "storage_gb", **unit}])
    customer = billing.customer()
    billing.subscribe(customer, plan, "2024-01-01T00:00:00")
    for quantity in (5, 9, 3):
        billing.event(customer, "peak_users", quantity, "2024-01-02T00:00:00")
    billing.event(customer, "storage_gb", 30, "2024-01-01T00:00:00")
    body = upcoming(client, customer)
    peak, storage = body["invoice_items"]
    assert (peak["quantity"], peak["amount"]) == (9, Decimal("9.00"))
    # 30 GB held from Jan 1 until now (Jan 15 12:00): 14.5 of the period's 31 days so far.
    assert storage["quantity"] == Decimal("14.032258064516") and storage["amount"] == Decimal("14.03")


def test_a_flat_fee_already_charged_in_the_period_is_not_charged_again(client: TestClient, billing: Billing) -> None:
    customer = billing.customer()
    flat = {"metric_name": "platform", "pricing_type": "flat", "pricing_details": {"amount": 100}}
    billing.subscribe(customer, billing.plan([flat]), "2024-01-01T00:00:00")
    assert amounts(upcoming(client, customer), "platform") == [Decimal("100.00")]
    billing.generate("2024-01-01T00:00:00", "2024-01-05T00:00:00", customer)
    body = upcoming(client, customer)
    assert body["invoice_items"] == [] and body["amount"] == 0


def test_plan_change_mid_period_shows_both_subscriptions(client: TestClient, billing: Billing) -> None:
    customer = billing.customer()
    old = billing.subscribe(customer, fee_and_usage_plan(billing, 31, 1), "2023-12-01T00:00:00", "2024-01-10T00:00:00")
    new = billing.subscribe(customer, fee_and_usage_plan(billing, 62, 2), "2024-01-10T00:00:00")
    billing.event(customer, "api_calls", 11, "2023-12-20T00:00:00")  # old's previous period: not in the preview
    billing.event(customer, "api_calls", 3, "2024-01-05T00:00:00")  # old's
    billing.event(customer, "api_calls", 4, "2024-01-12T00:00:00")  # new's
    body = upcoming(client, customer)
    assert (body["period_start"], body["period_end"]) == ("2024-01-01T00:00:00Z", "2024-02-10T00:00:00Z")
    by_subscription = {
        (item["subscription_id"], item["metric_name"]): (item["quantity"], item["amount"], item["period_start"])
        for item in body["invoice_items"]
    }
    assert by_subscription == {
        (old, "fee"): (1, Decimal("9.00"), "2024-01-01T00:00:00Z"),  # 31 x 9/31, to its end
        (old, "api_calls"): (3, Decimal("3.00"), "2024-01-01T00:00:00Z"),
        (new, "fee"): (1, Decimal("62.00"), "2024-01-10T00:00:00Z"),  # its whole first period
        (new, "api_calls"): (4, Decimal("8.00"), "2024-01-10T00:00:00Z"),
    }
    assert body["amount"] == Decimal("82.00")


def test_overlapping_subscriptions_bill_usage_once(client: TestClient, billing: Billing) -> None:
    customer = billing.customer()
    first = billing.subscribe(customer, fee_and_usage_plan(billing, 0, 1), "2024-01-01T00:00:00")
    second = billing.subscribe(customer, fee_and_usage_plan(billing, 0, 10), "2024-01-08T00:00:00")
    billing.event(customer, "api_calls", 2, "2024-01-05T00:00:00")
    billing.event(customer, "api_calls", 3, "2024-01-09T00:00:00")
    body = upcoming(client, customer)
    usage = {i["subscription_id"]: i["amount"] for i in body["invoice_items"] if i["metric_name"] == "api_calls"}
    assert usage == {first: Decimal("2.00"), second: Decimal("30.00")}


def test_customers_without_a_current_subscription_get_an_empty_preview(client: TestClient, billing: Billing) -> None:
    nobody = billing.customer("EUR")
    body = upcoming(client, nobody)
    assert body["invoice_items"] == [] and body["amount"] == 0 and body["currency"] == "EUR"
    assert body["period_start"] is None and body["period_end"] is None
    assert '"amount":0.00' in client.get(f"/customers/{nobody}/upcoming-invoice").text
    future = billing.customer()
    billing.subscribe(future, fee_and_usage_plan(billing, 31, 1), "2024-02-01T00:00:00")
    assert upcoming(client, future)["invoice_items"] == []
    ended = billing.customer()
    billing.subscribe(ended, fee_and_usage_plan(billing, 31, 1), "2023-10-01T00:00:00", "2023-12-01T00:00:00")
    assert upcoming(client, ended)["invoice_items"] == []


def test_currency_and_anchor_of_the_period(client: TestClient, billing: Billing) -> None:
    customer = billing.customer("JPY")
    billing.subscribe(customer, fee_and_usage_plan(billing, 3100, 7), "2023-12-20T00:00:00")
    billing.event(customer, "api_calls", 2, "2024-01-02T00:00:00")
    body = upcoming(client, customer)
    assert (body["period_start"], body["period_end"]) == ("2023-12-20T00:00:00Z", "2024-01-20T00:00:00Z")
    assert amounts(body, "fee") == [Decimal(3100)] and amounts(body, "api_calls") == [Decimal(14)]
    assert body["amount"] == 3114
    assert '"amount":3114,' in client.get(f"/customers/{customer}/upcoming-invoice").text


def _counts(db: Database) -> tuple[int, ...]:
    with db.transaction() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Invoice, InvoiceItem, BillingCoverage, AuditEntry)
        ) + tuple(session.scalars(select(Customer.invoice_seq).order_by(Customer.id)))


def test_a_preview_writes_nothing(client: TestClient, billing: Billing, db: Database) -> None:
    customer = billing.customer()
    billing.subscribe(customer, billing.pro_plan(), "2024-01-01T00:00:00")
    billing.event(customer, "api_calls", 1500, "2024-01-03T00:00:00")
    billing.generate("2024-01-01T00:00:00", "2024-01-02T00:00:00", customer)
    before = _counts(db)
    for _ in range(3):
        assert upcoming(client, customer)["invoice_items"]
    assert _counts(db) == before
    [invoice] = billing.generate("2024-01-02T00:00:00", "2024-02-01T00:00:00", customer)
    assert invoice["invoice_number"].endswith("-000002")  # the preview took no number


def test_errors_and_scopes(client: TestClient, anon_client: TestClient, make_key: Callable[[str], str]) -> None:
    assert client.get("/customers/999/upcoming-invoice").status_code == 404
    assert "customer 999 not found" in client.get("/customers/999/upcoming-invoice").json()["detail"]
    for bad in ("0", "-1", "abc", "99999999999999999999"):
        assert client.get(f"/customers/{bad}/upcoming-invoice").status_code == 422, bad
    assert anon_client.get("/customers/1/upcoming-invoice").status_code == 401
    ingest = {"Authorization": f"Bearer {make_key('ingest')}"}
    assert anon_client.get("/customers/1/upcoming-invoice", headers=ingest).status_code == 403
    read = {"Authorization": f"Bearer {make_key('read')}"}
    assert anon_client.get("/customers/1/upcoming-invoice", headers=read).status_code == 404
    operation = client.get("/openapi.json").json()["paths"]["/customers/{customer_id}/upcoming-invoice"]["get"]
    assert operation["x-required-scope"] == "read"
    assert {"200", "404", "422"} <= set(operation["responses"])
