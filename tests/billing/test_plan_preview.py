"""POST /plans/{plan_id}/preview: the first invoice a customer would get on a plan, priced like the billing run on a
subscription that does not exist, with the customer's coupons, taxes and credits applied as on the upcoming invoice,
and nothing written. The clock is frozen at 2024-01-15T12:00Z."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from itertools import count
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from fubble.db.models import (
    AuditEntry,
    BillingCoverage,
    CouponRedemption,
    CreditGrant,
    CreditLedgerEntry,
    Customer,
    Invoice,
    InvoiceItem,
    Subscription,
)
from fubble.db.session import Database

from .billing_driver import Billing, amounts, exact

FIGURES = ("subtotal", "discount_amount", "tax_amount", "total", "credits_applied", "amount_due")
ITEM_FIELDS = (
    *("description", "metric_name", "quantity", "unit_price", "amount"),
    *("price_component_id", "period_start", "period_end", "kind"),
)
_EMAILS = count(1)
TIERS = {
    "tiers": [
        {"start": 0, "end": 1000, "price": "0.01"},
        {"start": 1000, "end": None, "price": "0.005", "flat_amount": 2},
    ]
}


def fee_and_tiers_plan(billing: Billing, **plan: Any) -> int:
    """A $31 monthly fee and graduated API calls: 1 cent each up to 1,000, then half a cent plus $2 once reached."""
    components = [
        {"metric_name": "fee", "pricing_type": "subscription", "pricing_details": {"amount": 31}},
        {"metric_name": "api_calls", "pricing_type": "tiered", "pricing_details": TIERS},
    ]
    body = {"name": "Plan", "billing_frequency": "monthly", "price_components": components, **plan}
    response = billing.client.post("/plans/", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def with_usage(billing: Billing, **customer: Any) -> int:
    """A customer with 1,500 API calls in January before now, and some that a preview from Jan 1 must leave out."""
    body = {"name": "Preview", "email": f"preview{next(_EMAILS)}@example.com", "currency": "USD", **customer}
    response = billing.client.post("/customers/", json=body)
    assert response.status_code == 201, response.text
    cid = int(response.json()["id"])
    billing.event(cid, "api_calls", 99, "2023-12-31T23:59:59")  # before the start
    billing.event(cid, "api_calls", 1200, "2024-01-03T10:00:00")
    billing.event(cid, "api_calls", 300, "2024-01-14T23:00:00")
    billing.event(cid, "api_calls", 7, "2024-01-15T12:00:00")  # exactly now: not before now
    billing.event(cid, "api_calls", 40, "2024-01-20T00:00:00")  # after now
    return cid


def preview(client: TestClient, plan_id: int, customer_id: int, **fields: Any) -> dict[str, Any]:
    response = client.post(f"/plans/{plan_id}/preview", json={"customer_id": customer_id, **fields})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = exact(response)
    return body


def figures(body: dict[str, Any]) -> tuple[Decimal, ...]:
    return tuple(body[name] for name in FIGURES)


def comparable(items: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [tuple(item[name] for name in ITEM_FIELDS) for item in items]


JAN_1 = {"start_date": "2024-01-01T00:00:00Z"}


def test_first_period_of_the_plan_priced_on_usage_so_far(client: TestClient, billing: Billing) -> None:
    plan = fee_and_tiers_plan(billing)
    customer = with_usage(billing)
    body = preview(client, plan, customer, **JAN_1)
    assert body["id"] is None and body["invoice_number"] is None and body["status"] == "upcoming"
    assert body["customer_id"] == customer and body["currency"] == "USD"
    assert (body["period_start"], body["period_end"]) == ("2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z")
    assert body["issue_date"] == body["usage_as_of"] == "2024-01-15T12:00:00Z"
    assert body["due_date"] == "2024-02-14T12:00:00Z"
    fee, api = body["invoice_items"]
    assert (fee["metric_name"], fee["quantity"], fee["amount"]) == ("fee", 1, Decimal("31.00"))
    # 1,000 x 0.01 + 500 x 0.005 + the second tier's flat $2
    assert (api["metric_name"], api["quantity"], api["amount"]) == ("api_calls", 1500, Decimal("14.50"))
    for item in body["invoice_items"]:
        assert item["id"] is None and item["subscription_id"] is None and item["kind"] == "usage"
        assert (item["period_start"], item["period_end"]) == ("2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z")
    assert body["amount"] == Decimal("45.50")
    assert figures(body) == tuple(Decimal(v) for v in ("45.50", "0.00", "0.00", "45.50", "0.00", "45.50"))
    text = client.post(f"/plans/{plan}/preview", json={"customer_id": customer, **JAN_1}).text
    assert '"amount":45.50' in text and '"amount":14.50' in text  # the currency's places, on the wire

    # Subscribing exactly so makes the upcoming invoice this preview (the same lines, with the subscription's id).
    subscription = billing.subscribe(customer, plan, "2024-01-01T00:00:00")
    upcoming = exact(client.get(f"/customers/{customer}/upcoming-invoice"))
    assert comparable(upcoming["invoice_items"]) == comparable(body["invoice_items"])
    assert {item["subscription_id"] for item in upcoming["invoice_items"]} == {subscription}
    assert figures(upcoming) == figures(body)

    # The customer's real subscriptions and invoices are ignored: tiers start at zero, the fee is charged whole.
    billing.generate("2024-01-01T00:00:00", "2024-01-10T00:00:00", customer)
    again = preview(client, plan, customer, **JAN_1)
    assert comparable(again["invoice_items"]) == comparable(body["invoice_items"])


def test_start_defaults_to_now_and_a_future_start_has_no_usage(client: TestClient, billing: Billing) -> None:
    plan = fee_and_tiers_plan(billing)
    customer = with_usage(billing)
    body = preview(client, plan, customer)
    assert (body["period_start"], body["period_end"]) == ("2024-01-15T12:00:00Z", "2024-02-15T12:00:00Z")
    assert amounts(body, "fee") == [Decimal("31.00")] and amounts(body, "api_calls") == [Decimal("0.00")]
    later = preview(client, plan, customer, start_date="2024-03-01T00:00:00Z")
    assert (later["period_start"], later["period_end"]) == ("2024-03-01T00:00:00Z", "2024-04-01T00:00:00Z")
    assert later["amount"] == Decimal("31.00") and later["usage_as_of"] == "2024-01-15T12:00:00Z"
    # A start long past: its whole first period is over, all of its usage counts.
    past = preview(client, plan, customer, start_date="2023-12-20T00:00:00Z")
    assert (past["period_start"], past["period_end"]) == ("2023-12-20T00:00:00Z", "2024-01-20T00:00:00Z")
    assert [i["quantity"] for i in past["invoice_items"] if i["metric_name"] == "api_calls"] == [1599]


def test_the_customers_test_clock_is_its_now(client: TestClient, billing: Billing) -> None:
    response = client.post("/test-clocks", json={"frozen_time": "2024-01-10T00:00:00Z"})
    assert response.status_code == 201, response.text
    plan = fee_and_tiers_plan(billing)
    customer = with_usage(billing, test_clock_id=response.json()["id"])
    body = preview(client, plan, customer)
    assert body["issue_date"] == body["usage_as_of"] == body["period_start"] == "2024-01-10T00:00:00Z"
    since_jan_1 = preview(client, plan, customer, **JAN_1)
    assert since_jan_1["usage_as_of"] == "2024-01-10T00:00:00Z"
    assert [i["quantity"] for i in since_jan_1["invoice_items"] if i["metric_name"] == "api_calls"] == [1200]
    assert amounts(since_jan_1, "api_calls") == [Decimal("13.00")]  # 10 + 200 x 0.005 + 2


def test_coupons_and_taxes_apply_as_on_the_upcoming_invoice(client: TestClient, billing: Billing) -> None:
    plan = fee_and_tiers_plan(billing)
    other = fee_and_tiers_plan(billing)
    customer = with_usage(billing)
    coupons: list[dict[str, Any]] = [
        {"code": "TENPCT", "type": "percentage", "percent_off": 10, "duration": "forever"},
        {"code": "OTHERPLAN", "type": "percentage", "percent_off": 50, "duration": "forever", "plan_ids": [other]},
        {"code": "FIXED", "type": "fixed", "amount_off": "0.45", "currency": "USD", "duration": "once"},
    ]
    for coupon in coupons:
        response = client.post("/coupons/", json=coupon)
        assert response.status_code == 201, response.text
        response = client.post(f"/customers/{customer}/coupons", json={"code": coupon["code"]})
        assert response.status_code == 201, response.text
    response = client.post("/tax-rates/", json={"name": "VAT", "rate": 20, "applies_by_default": True})
    assert response.status_code == 201, response.text

    body = preview(client, plan, customer, **JAN_1)
    # 45.50 - (4.55 + 0.45) = 40.50; VAT 20% = 8.10; total 48.60
    assert figures(body) == tuple(Decimal(v) for v in ("45.50", "5.00", "8.10", "48.60", "0.00", "48.60"))
    assert body["amount"] == Decimal("48.60")
    # On the other plan its 50% coupon applies too, after the 10% one: 4.55 + 20.48 (40.95 / 2, half-up) + 0.45;
    # VAT 20% of 20.02 = 4.004 -> 4.00
    on_other = preview(client, other, customer, **JAN_1)
    assert figures(on_other) == tuple(Decimal(v) for v in ("45.50", "25.48", "4.00", "24.02", "0.00", "24.02"))

    billing.subscribe(customer, plan, "2024-01-01T00:00:00")
    upcoming = exact(client.get(f"/customers/{customer}/upcoming-invoice"))
    assert figures(upcoming) == figures(body)


def test_credits_are_applied(client: TestClient, billing: Billing) -> None:
    plan = fee_and_tiers_plan(billing)
    customer = with_usage(billing)

    def grant(amount: str) -> None:
        response = client.post(f"/customers/{customer}/credit-grants", json={"amount": amount, "description": "Pre"})
        assert response.status_code == 201, response.text

    grant("20")
    body = preview(client, plan, customer, **JAN_1)
    assert figures(body) == tuple(Decimal(v) for v in ("45.50", "0.00", "0.00", "45.50", "20.00", "25.50"))
    grant("100")
    body = preview(client, plan, customer, **JAN_1)
    assert figures(body) == tuple(Decimal(v) for v in ("45.50", "0.00", "0.00", "45.50", "45.50", "0.00"))
    balance = exact(client.get(f"/customers/{customer}/credit-balance"))
    assert balance["balance"] == Decimal("120.00")  # previewing used none of it


def test_a_calendar_anchor_prorates_the_first_period(client: TestClient, billing: Billing) -> None:
    plan = fee_and_tiers_plan(billing)
    customer = with_usage(billing)
    start = {"start_date": "2024-01-10T00:00:00Z"}
    body = preview(client, plan, customer, billing_anchor="calendar", **start)
    assert (body["period_start"], body["period_end"]) == ("2024-01-10T00:00:00Z", "2024-02-01T00:00:00Z")
    assert amounts(body, "fee") == [Decimal("22.00")]  # 31 x 22/31
    assert amounts(body, "api_calls") == [Decimal("3.00")]  # the 300 calls of Jan 14
    assert body["amount"] == Decimal("25.00")
    anniversary = preview(client, plan, customer, **start)
    assert (anniversary["period_start"], anniversary["period_end"]) == ("2024-01-10T00:00:00Z", "2024-02-10T00:00:00Z")
    assert amounts(anniversary, "fee") == [Decimal("31.00")]

    # The customer's time zone places the calendar boundary: local midnight on Feb 1 in Paris.
    paris = with_usage(billing, timezone="Europe/Paris")
    local = preview(client, plan, paris, billing_anchor="calendar", start_date="2024-01-15T23:00:00Z")
    assert (local["period_start"], local["period_end"]) == ("2024-01-15T23:00:00Z", "2024-01-31T23:00:00Z")
    assert amounts(local, "fee") == [Decimal("16.00")]  # 31 x 16/31


def test_price_overrides_replace_the_plans_prices(client: TestClient, billing: Billing) -> None:
    plan = fee_and_tiers_plan(billing)
    customer = with_usage(billing)
    cheap = {"tiers": [{"start": 0, "end": None, "price": "0.002"}]}
    body = preview(
        client, plan, customer, price_overrides=[{"metric_name": "api_calls", "pricing_details": cheap}], **JAN_1
    )
    assert amounts(body, "api_calls") == [Decimal("3.00")] and body["amount"] == Decimal("34.00")
    flat = [{"metric_name": "fee", "pricing_type": "flat", "pricing_details": {"amount": 5}}]
    assert amounts(preview(client, plan, customer, price_overrides=flat, **JAN_1), "fee") == [Decimal("5.00")]
    response = client.post(
        f"/plans/{plan}/preview",
        json={"customer_id": customer, "price_overrides": [{"metric_name": "nope", "pricing_details": cheap}]},
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "price_overrides", 0, "metric_name"]


def test_a_commitment_true_up_in_a_plan_currency(client: TestClient, billing: Billing) -> None:
    plan = billing.client.post(
        "/plans/",
        json={
            "name": "Yen",
            "billing_frequency": "monthly",
            "currency": "JPY",
            "minimum_commitment": 5000,
            "price_components": [
                {"metric_name": "fee", "pricing_type": "subscription", "pricing_details": {"amount": 3100}},
                {
                    "metric_name": "api_calls",
                    "pricing_type": "tiered",
                    "pricing_details": {"tiers": [{"start": 0, "end": None, "price": 7}]},
                },
            ],
        },
    ).json()["id"]
    customer = billing.customer("JPY")
    billing.event(customer, "api_calls", 2, "2024-01-02T00:00:00")
    body = preview(client, plan, customer, **JAN_1)
    assert [(i["metric_name"], i["kind"], i["amount"]) for i in body["invoice_items"]] == [
        ("fee", "usage", 3100),
        ("api_calls", "usage", 14),
        (None, "commitment", 1886),
    ]
    assert body["amount"] == 5000 and body["currency"] == "JPY"
    response = client.post(f"/plans/{plan}/preview", json={"customer_id": customer, **JAN_1})
    assert '"amount":5000,' in response.text
    usd = billing.customer("USD")
    response = client.post(f"/plans/{plan}/preview", json={"customer_id": usd})
    assert response.status_code == 409, response.text
    assert "JPY" in response.json()["detail"] and "USD" in response.json()["detail"]


def test_refusals(client: TestClient, billing: Billing) -> None:
    plan = fee_and_tiers_plan(billing)
    customer = billing.customer()

    def post(plan_id: Any, body: Any) -> Any:
        return client.post(f"/plans/{plan_id}/preview", json=body)

    assert post(999, {"customer_id": customer}).status_code == 404
    assert "plan 999 not found" in post(999, {"customer_id": customer}).json()["detail"]
    assert post(plan, {"customer_id": 999}).status_code == 404
    assert "customer 999 not found" in post(plan, {"customer_id": 999}).json()["detail"]
    for bad in (
        {},
        {"customer_id": 0},
        {"customer_id": "x"},
        {"customer_id": customer, "plan_id": plan},
        {"customer_id": customer, "billing_anchor": "weekly"},
        {"customer_id": customer, "billing_anchor": None},
        {"customer_id": customer, "start_date": "yesterday"},
        {"customer_id": customer, "price_overrides": None},
        {"customer_id": customer, "price_overrides": [{"metric_name": "fee"}]},
    ):
        assert post(plan, bad).status_code == 422, bad
    for bad_id in ("0", "-1", "abc", "99999999999999999999"):
        assert post(bad_id, {"customer_id": customer}).status_code == 422, bad_id

    eur = fee_and_tiers_plan(billing, currency="EUR")
    response = post(eur, {"customer_id": customer})
    assert response.status_code == 409 and "EUR" in response.json()["detail"]
    assert client.put(f"/plans/{plan}/deactivate").status_code == 200
    response = post(plan, {"customer_id": customer})
    assert response.status_code == 409 and "inactive" in response.json()["detail"]
    # The plan routes next to it are untouched.
    assert client.get(f"/plans/{plan}").status_code == 200


def _counts(db: Database) -> tuple[int, ...]:
    models = (
        Invoice,
        InvoiceItem,
        BillingCoverage,
        AuditEntry,
        Subscription,
        CreditGrant,
        CreditLedgerEntry,
        CouponRedemption,
    )
    with db.transaction() as session:
        return tuple(session.scalar(select(func.count()).select_from(model)) or 0 for model in models) + tuple(
            session.scalars(select(Customer.invoice_seq).order_by(Customer.id))
        )


def test_a_preview_writes_nothing(client: TestClient, billing: Billing, db: Database) -> None:
    plan = fee_and_tiers_plan(billing)
    customer = with_usage(billing)
    response = client.post(
        "/coupons/", json={"code": "ONCE", "type": "percentage", "percent_off": 5, "duration": "once"}
    )
    assert response.status_code == 201, response.text
    assert client.post(f"/customers/{customer}/coupons", json={"code": "ONCE"}).status_code == 201
    grant = {"amount": 10, "description": "Prepaid"}
    assert client.post(f"/customers/{customer}/credit-grants", json=grant).status_code == 201
    billing.subscribe(customer, plan, "2024-01-01T00:00:00")
    billing.generate("2024-01-01T00:00:00", "2024-01-02T00:00:00", customer)
    before = _counts(db)
    invoices = billing.invoice_count()
    for _ in range(3):
        assert preview(client, plan, customer, **JAN_1)["credits_applied"] == Decimal("10.00")
    headers = {"Idempotency-Key": "plan-preview-1"}
    replies = [client.post(f"/plans/{plan}/preview", json={"customer_id": customer}, headers=headers) for _ in "ab"]
    assert [r.status_code for r in replies] == [200, 200] and replies[0].text == replies[1].text
    assert _counts(db) == before and billing.invoice_count() == invoices
    coupons = client.get(f"/customers/{customer}/coupons").json()
    assert [(c["periods_used"], c["status"]) for c in coupons] == [(0, "active")]
    [invoice] = billing.generate("2024-01-02T00:00:00", "2024-02-01T00:00:00", customer)
    assert invoice["invoice_number"].endswith("-000002")  # the previews took no number


def test_a_read_operation(client: TestClient, anon_client: TestClient, make_key: Callable[[str], str]) -> None:
    billing = Billing(client)
    plan = fee_and_tiers_plan(billing)
    customer = billing.customer()
    url, body = f"/plans/{plan}/preview", {"customer_id": customer}
    assert anon_client.post(url, json=body).status_code == 401
    ingest = {"Authorization": f"Bearer {make_key('ingest')}"}
    assert anon_client.post(url, json=body, headers=ingest).status_code == 403
    read = {"Authorization": f"Bearer {make_key('read')}"}
    response = anon_client.post(url, json=body, headers=read)
    assert response.status_code == 200, response.text
    assert anon_client.post(url + "/", json=body, headers=read).json() == response.json()
    operation = client.get("/openapi.json").json()["paths"]["/plans/{plan_id}/preview"]["post"]
    assert operation["x-required-scope"] == "read"
    assert {"200", "404", "409", "422"} <= set(operation["responses"])
    assert "plans" in operation["tags"] and "first billing period" in operation["description"]
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/UpcomingInvoiceOut")
