"""HTTP routes of the invoice documents: an invoice as an HTML page or a PDF.

(The CSV export is ``GET /invoices/?format=csv``, in :mod:`fubble.invoices.router`.)
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi.responses import HTMLResponse, Response

from fubble.api.deps import SessionDep, SettingsDep, id_path
from fubble.api.routing import new_router
from fubble.documents import service
from fubble.errors_doc import responses

router = new_router(tag="invoices")

InvoiceId = Annotated[int, id_path("The invoice's id")]

# The page only shows text and its own styles: nothing in it may load or run anything.
HTML_POLICY = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

DOCUMENT = """The invoice for its customer: the seller (settings `FUBBLE_SELLER_NAME`, `FUBBLE_SELLER_ADDRESS`,
`FUBBLE_SELLER_EMAIL`, `FUBBLE_SELLER_TAX_ID`), the customer (name, company, address, email), the invoice's number,
status, issue and due dates and period, a row per line (description, quantity, unit price, amount), then subtotal,
each discount, each tax (name and rate), total, credits applied and amount due. Amounts and dates are written for the
customer's `locale` (`100,00 €` for de_DE), exactly as stored (never rounded); headings are English. Any invoice has
one; a draft is stamped DRAFT and a void invoice VOID."""


class PDFResponse(Response):
    media_type = "application/pdf"


def _document(media_type: str, what: str) -> dict[int | str, dict[str, Any]]:
    schema = {"type": "string"} if media_type == "text/html" else {"type": "string", "format": "binary"}
    return {200: {"description": what, "content": {media_type: {"schema": schema}}}, **responses(404, 422)}


@router.get(
    "/invoices/{invoice_id}/html",
    summary="The invoice as an HTML page",
    description=DOCUMENT,
    response_class=Response,  # no media type of its own: errors stay documented as JSON, the 200 as below
    responses=_document("text/html", "A self-contained HTML page (inline styles, no script)."),
)
def invoice_html(invoice_id: InvoiceId, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    page = service.invoice_html(session, invoice_id, settings)
    return HTMLResponse(page, headers={"Content-Security-Policy": HTML_POLICY})


@router.get(
    "/invoices/{invoice_id}/pdf",
    summary="The invoice as a PDF",
    description=DOCUMENT + "\n\nA4, fonts embedded; `Content-Disposition` names it after the invoice number.",
    response_class=Response,
    responses=_document("application/pdf", "The PDF document."),
)
def invoice_pdf(invoice_id: InvoiceId, session: SessionDep, settings: SettingsDep) -> PDFResponse:
    file = service.invoice_pdf(session, invoice_id, settings)
    return PDFResponse(file.content, headers={"Content-Disposition": f'inline; filename="{file.name}"'})
