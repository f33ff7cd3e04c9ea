"""An invoice's `discounts` and `taxes` (the stored rows behind discount_amount and tax_amount) in every invoice
response, read for a whole page at once, fresh after a change in the same request; and in the previews."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event

from fubble.api.json import dumps
from fubble.billing.render import invoices_json
from fubble.db.models import Invoice, InvoiceDiscount, InvoiceTax
from fubble.db.session import Database
from fubble.invoices.schemas import InvoiceOut
from tests.documents.helpers import GERMAN, LINES, created, german_invoice
from tests.invoices.helpers import exact

DISCOUNT = {"coupon_id": 1, "description": "Coupon WELCOME10", "amount": Decimal("10.00")}
TAX = {"tax_rate_id": 1, "name": "VAT", "rate": 20, "taxable_amount": Decimal("90.00"), "amount": Decimal("18.00")}


def test_an_invoice_shows_its_discounts_and_taxes(client: TestClient) -> None:
    draft = german_invoice(client, finalize=False)
    body = exact(client.get(f"/invoices/{draft['id']}"))
    assert body["discounts"] == [DISCOUNT] and body["taxes"] == [TAX]
    assert '"taxes":[{"tax_rate_id":1,"name":"VAT","rate":20,"taxable_amount":90.00,"amount":18.00}]' in (
        client.get(f"/invoices/{draft['id']}").text
    )
    # Created in the same request as its rows: the answer already has them.
    assert draft["discounts"] == [DISCOUNT] and draft["taxes"] == [TAX]
    # A line added: the same request answers the new rows (the old ones are not kept in the session).
    response = client.post(f"/invoices/{draft['id']}/items", json={"description": "More", "amount": "10.00"})
    assert response.status_code == 201, response.text
    removed = client.delete(f"/invoices/{draft['id']}/items/{response.json()['id']}")
    assert removed.status_code == 200, removed.text
    assert exact(removed)["taxes"] == [TAX]
    more = client.post(f"/invoices/{draft['id']}/items", json={"description": "More", "amount": "10.00"})
    assert more.status_code == 201
    finalized = exact(client.put(f"/invoices/{draft['id']}/finalize"))
    assert finalized["discounts"] == [{**DISCOUNT, "amount": Decimal("11.00")}]
    assert finalized["taxes"] == [{**TAX, "taxable_amount": Decimal("99.00"), "amount": Decimal("19.80")}]
    assert (finalized["total"], finalized["credits_applied"], finalized["amount_due"]) == (
        Decimal("118.80"),
        Decimal("8.00"),
        Decimal("110.80"),
    )


def test_an_invoice_without_terms_has_empty_lists(client: TestClient) -> None:
    customer = created(client.post("/customers/", json={"name": "Plain", "email": "plain@example.com"}))
    invoice = created(client.post("/invoices/", json={"customer_id": customer["id"], "items": LINES}))
    assert invoice["discounts"] == [] and invoice["taxes"] == []


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def test_a_page_reads_the_rows_in_a_fixed_number_of_queries(client: TestClient, db: Database) -> None:
    german_invoice(client)
    customer = client.get("/customers/1").json()
    with statements(db) as one:
        assert len(client.get("/invoices/").json()) == 1
    for _ in range(4):
        created(client.post("/invoices/", json={"customer_id": customer["id"], "items": LINES}))
    with statements(db) as five:
        page = exact(client.get("/invoices/"))
    assert len(page) == 5 and all(i["taxes"] == [TAX] and i["discounts"] == [DISCOUNT] for i in page)
    assert len(five) == len(one)  # not a query per invoice
    with statements(db) as theirs:
        assert len(client.get(f"/invoices/customer/{customer['id']}").json()) == 5
    assert len(theirs) <= len(one) + 1  # + the customer's existence


def test_the_fast_generate_encoder_writes_the_lists_as_the_generic_one() -> None:
    moment = datetime(2024, 1, 15, tzinfo=UTC)
    invoice = Invoice(
        id=3, invoice_number="INV-1", customer_id=1, status="draft", currency="EUR", issue_date=moment,
        due_date=moment, amount=Decimal("9.60"), notes='"quoted"\n', created_at=moment, updated_at=moment,
        subtotal=Decimal("10.00"), discount_amount=Decimal("2.00"), tax_amount=Decimal("1.60"), total=Decimal("9.60"),
        credits_applied=Decimal("0.00"), amount_due=Decimal("9.60"),
        discounts=[
            InvoiceDiscount(coupon_id=4, description='Coupon "A"', amount=Decimal("1.50")),
            InvoiceDiscount(coupon_id=5, description="Coupon B", amount=Decimal("0.50")),
        ],
        taxes=[
            InvoiceTax(
                tax_rate_id=6, name="VAT ü", rate=Decimal("20.0"), taxable=Decimal("8.00"), amount=Decimal("1.60")
            )
        ],
    )  # fmt: skip
    assert invoices_json([invoice]) == dumps([InvoiceOut.of(invoice)])


def test_previews_show_the_discounts_and_taxes_they_would_apply(client: TestClient) -> None:
    german_invoice(client, credit=None)
    fee = {"metric_name": "fee", "pricing_type": "subscription", "pricing_details": {"amount": "50"}}
    plan = created(
        client.post("/plans/", json={"name": "Fee", "billing_frequency": "monthly", "price_components": [fee]})
    )
    response = client.post(f"/plans/{plan['id']}/preview", json={"customer_id": 1, "start_date": "2024-01-01"})
    assert response.status_code == 200, response.text
    preview = exact(response)
    assert preview["subtotal"] == Decimal("50.00")
    assert preview["discounts"] == [{**DISCOUNT, "amount": Decimal("5.00")}]
    assert preview["taxes"] == [{**TAX, "taxable_amount": Decimal("45.00"), "amount": Decimal("9.00")}]
    subscription = {"plan_id": plan["id"], "start_date": "2024-01-01T00:00:00"}
    assert client.post("/customers/1/subscriptions", json=subscription).status_code in (200, 201)
    upcoming = exact(client.get("/customers/1/upcoming-invoice"))
    assert (upcoming["discounts"], upcoming["taxes"]) == (preview["discounts"], preview["taxes"])
    assert GERMAN["currency"] == upcoming["currency"] == "EUR"
