"""GET /invoices/{invoice_id}/html: the same document as a self-contained page, escaped, in the customer's locale."""

from __future__ import annotations

import re
from html import unescape

from fastapi.testclient import TestClient

from tests.documents.helpers import created, german_invoice


def text_of(page: str) -> str:
    """The page's visible text, one space between words (tags and the head left out; no-break spaces kept)."""
    body = page.split("<body>", 1)[1]
    return re.sub(r"[ \t\r\n]+", " ", unescape(re.sub(r"<[^>]+>", " ", body))).strip()


def test_the_page_shows_seller_customer_lines_and_figures(client: TestClient) -> None:
    invoice = german_invoice(client)
    response = client.get(f"/invoices/{invoice['id']}/html")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    page = response.text
    assert '<html lang="de-DE">' in page and "<title>Invoice INV-20240115-1-000001</title>" in page
    assert "<script" not in page and "http" not in page  # nothing to run, nothing to fetch
    nbsp = "\xa0"
    assert text_of(page) == (
        "Invoice INV-20240115-1-000001 "
        "From Fubble GmbH Hauptstraße 1 10115 Berlin billing@fubble.example Tax ID: DE123456789 "
        "Bill to Müller & Söhne Müller & Söhne KG Königsallee 5 40212 Düsseldorf rechnung@mueller.example "
        "Invoice number INV-20240115-1-000001 Status Pending Issue date 15.01.2024 Due date 14.02.2024 "
        "Description Quantity Unit price Amount "
        f"API calls 1.000 0,08{nbsp}€ 80,00{nbsp}€ Support 1 20,00{nbsp}€ 20,00{nbsp}€ "
        f"Subtotal 100,00{nbsp}€ Coupon WELCOME10 -10,00{nbsp}€ VAT (20{nbsp}%) 18,00{nbsp}€ Total 108,00{nbsp}€ "
        f"Credits applied -8,00{nbsp}€ Amount due 100,00{nbsp}€"
    )


def test_names_and_descriptions_are_escaped(client: TestClient) -> None:
    evil = "<script>alert('x')</script>"
    customer = created(client.post("/customers/", json={"name": evil, "email": "evil@example.com"}))
    lines = [{"description": '<img src=x onerror="alert(1)">', "amount": "1.00"}]
    invoice = created(client.post("/invoices/", json={"customer_id": customer["id"], "items": lines, "notes": evil}))
    page = client.get(f"/invoices/{invoice['id']}/html").text
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page


def test_en_us_by_default_with_the_period_and_a_draft_stamp(client: TestClient) -> None:
    """A generated invoice of an en_US customer (the default) in USD: its period shown by its first and last day."""
    fee = {"metric_name": "fee", "pricing_type": "subscription", "pricing_details": {"amount": "1234.5"}}
    plan = created(
        client.post("/plans/", json={"name": "Big", "billing_frequency": "monthly", "price_components": [fee]})
    )
    customer = created(client.post("/customers/", json={"name": "Acme", "email": "ap@acme.example"}))
    assert customer["locale"] == "en_US"
    subscription = {"plan_id": plan["id"], "start_date": "2023-09-01T00:00:00"}
    assert client.post(f"/customers/{customer['id']}/subscriptions", json=subscription).status_code in (200, 201)
    window = {"start_date": "2023-09-01T00:00:00", "end_date": "2023-10-01T00:00:00"}
    [invoice] = client.post("/invoices/generate", params=window).json()
    text = text_of(client.get(f"/invoices/{invoice['id']}/html").text)
    assert text.startswith(f"Invoice {invoice['invoice_number']} DRAFT From Fubble GmbH ")
    assert " Bill to Acme ap@acme.example Invoice number " in text
    period = "Period Sep 1, 2023 \u2013 Sep 30, 2023"  # an en dash between the first and the last day
    assert f"Status Draft Issue date Jan 15, 2024 Due date Feb 14, 2024 {period}" in text
    assert text.endswith(
        "Description Quantity Unit price Amount fee (2023-09-01 \u2013 2023-10-01) (full period) 1 $1,234.50 $1,234.50 "
        "Subtotal $1,234.50 Total $1,234.50 Credits applied $0.00 Amount due $1,234.50"
    )
