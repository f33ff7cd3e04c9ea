"""GET /invoices/{invoice_id}/pdf: rendered through HTTP and read back with pypdf, every figure written out."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient
from pypdf import PdfReader

from tests.documents.helpers import german_invoice

# What pypdf reads back, line by line. Babel writes "100,00 €" and "20 %" with a no-break space (U+00A0), which
# pypdf returns as such in some places and as a plain space in others: the text is compared with plain spaces.
GERMAN_PDF = [
    "Invoice INV-20240115-1-000001",
    "FROM",
    "Fubble GmbH",
    "Hauptstraße 1",
    "10115 Berlin",
    "billing@fubble.example",
    "Tax ID: DE123456789",
    "BILL TO",
    "Müller & Söhne",
    "Müller & Söhne KG",
    "Königsallee 5",
    "40212 Düsseldorf",
    "rechnung@mueller.example",
    "Invoice number INV-20240115-1-000001",
    "Status Pending",
    "Issue date 15.01.2024",
    "Due date 14.02.2024",  # 30 days later, the customer's (Berlin) date
    "Description Quantity Unit price Amount",
    "API calls 1.000 0,08 € 80,00 €",
    "Support 1 20,00 € 20,00 €",
    "Subtotal 100,00 €",
    "Coupon WELCOME10 -10,00 €",
    "VAT (20 %) 18,00 €",  # 20% of 90.00
    "Total 108,00 €",
    "Credits applied -8,00 €",
    "Amount due 100,00 €",
]


def pdf_text(content: bytes) -> list[str]:
    reader = PdfReader(io.BytesIO(content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return [line.strip() for line in text.replace("\xa0", " ").splitlines() if line.strip()]


def test_the_pdf_shows_every_figure_in_the_customers_locale(client: TestClient) -> None:
    invoice = german_invoice(client)
    response = client.get(f"/invoices/{invoice['id']}/pdf")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == 'inline; filename="INV-20240115-1-000001.pdf"'
    assert response.content.startswith(b"%PDF-")
    assert pdf_text(response.content) == GERMAN_PDF
    reader = PdfReader(io.BytesIO(response.content))
    assert reader.metadata is not None and reader.metadata.title == "Invoice INV-20240115-1-000001"
    assert client.get(f"/invoices/{invoice['id']}/pdf").content == response.content  # the same invoice, same bytes


def test_a_draft_pdf_is_stamped_and_shows_no_credit_yet(client: TestClient) -> None:
    invoice = german_invoice(client, finalize=False)
    lines = pdf_text(client.get(f"/invoices/{invoice['id']}/pdf").content)
    assert lines[0] == "Invoice INV-20240115-1-000001 DRAFT"
    assert "Status Draft" in lines
    # A draft applies no credit: amount due is the total (the 0 is never written -0,00).
    assert lines[-3:] == ["Total 108,00 €", "Credits applied 0,00 €", "Amount due 108,00 €"]


def test_unknown_invoice_is_404_as_json(client: TestClient) -> None:
    for kind in ("pdf", "html"):
        response = client.get(f"/invoices/999/{kind}")
        assert response.status_code == 404, response.text
        assert response.json() == {"detail": "invoice 999 not found"}
        assert client.get(f"/invoices/0/{kind}").status_code == 422
