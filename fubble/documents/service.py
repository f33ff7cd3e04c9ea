"""Invoice documents: an invoice as an HTML page or a PDF for its customer, and the invoices as CSV for finance.

* A document shows the seller (``FUBBLE_SELLER_NAME``, ``FUBBLE_SELLER_ADDRESS``, ``FUBBLE_SELLER_EMAIL``,
  ``FUBBLE_SELLER_TAX_ID``; each left out when unset), the customer, the invoice's number, status, dates and period,
  its lines, and its figures as stored: subtotal, each discount, each tax (name and rate), total, credits applied,
  amount due. Numbers and dates follow the customer's ``locale`` (:mod:`fubble.documents.content`). Any invoice has
  one, drafts included (stamped DRAFT); an unknown invoice is 404.
* The CSV export is :func:`fubble.documents.csv_export.write`, here for both the API and the command line.

Reads only; nothing here writes.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from fubble.config import Settings
from fubble.customers import service as customers
from fubble.documents import csv_export, html
from fubble.documents.content import InvoiceDocument, invoice_document
from fubble.invoices import service as invoices
from fubble.invoices.status import InvoiceStatus

_UNSAFE_IN_FILE_NAMES = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class File:
    content: bytes
    name: str  # a file name for Content-Disposition (letters, digits, '.', '_', '-')


def document(session: Session, invoice_id: int, settings: Settings) -> InvoiceDocument:
    """What the invoice's documents say (404 for an unknown invoice)."""
    invoice = invoices.get(session, invoice_id)
    return invoice_document(invoice, customers.get(session, invoice.customer_id), settings)


def invoice_html(session: Session, invoice_id: int, settings: Settings) -> str:
    return html.render(document(session, invoice_id, settings))


def invoice_pdf(session: Session, invoice_id: int, settings: Settings) -> File:
    invoice = invoices.get(session, invoice_id)
    doc = invoice_document(invoice, customers.get(session, invoice.customer_id), settings)
    name = _UNSAFE_IN_FILE_NAMES.sub("_", invoice.invoice_number) + ".pdf"
    from fubble.documents import pdf  # fpdf2 and its fonts load on the first PDF, not at every start

    return File(pdf.render(doc, changed_at=invoice.updated_at), name)


def invoices_csv(session: Session, *, status: InvoiceStatus | None, limit: int, offset: int) -> str:
    """``GET /invoices/?format=csv``: the page of invoices ``limit``/``offset`` select, as CSV."""
    out = io.StringIO()
    csv_export.write(out, session, status=None if status is None else status.value, limit=limit, offset=offset)
    return out.getvalue()
