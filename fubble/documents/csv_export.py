"""The finance export: invoices as CSV, one row per invoice line (``GET /invoices/?format=csv`` and
``fubble invoices export`` both write it with :func:`write`).

Rules kept here:

* A header row, then for each invoice (by id) a row per line (by line id), each repeating the invoice's fields and
  sums; an invoice without lines still has one row, its line columns empty. ``limit`` and ``offset`` count invoices,
  never rows.
* Amounts (line amount, subtotal, discount, tax, total, credits applied, amount due) are plain decimals with exactly
  the currency's places (``12.50``, ``1000`` JPY), never formatted for a locale; quantities and unit prices keep all
  their digits (``0.001234``), never an exponent. Times are UTC, ISO 8601 with ``Z``; an absent one is empty.
* A text cell that a spreadsheet would read as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a
  carriage return) is written with a leading ``'``, so opening the file never runs anything.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import TextIO

from sqlalchemy.orm import Session

from fubble.db.models import Invoice, InvoiceItem
from fubble.db.types import decimal_text, to_utc
from fubble.documents import repository
from fubble.invoices.money import in_minor_units
from fubble.invoices.schemas import figures

COLUMNS = (
    "invoice_id",
    "invoice_number",
    "customer_id",
    "status",
    "currency",
    "issue_date",
    "due_date",
    "period_start",
    "period_end",
    "line_id",
    "description",
    "metric_name",
    "quantity",
    "unit_price",
    "line_amount",
    "subtotal",
    "discount_amount",
    "tax_amount",
    "total",
    "credits_applied",
    "amount_due",
)
PAGE = 500  # invoices read at a time
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def write(
    out: TextIO, session: Session, *, status: str | None = None, limit: int | None = None, offset: int = 0
) -> int:
    """Write the header and the rows of the invoices (only ``status``'s, if given), skipping ``offset`` invoices
    and writing at most ``limit`` (``None``: all); returns how many invoices were written."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    written = 0
    last: int | None = None
    while limit is None or written < limit:
        size = PAGE if limit is None else min(PAGE, limit - written)
        page = repository.export_page(session, status=status, after_id=last, offset=offset, limit=size)
        writer.writerows(rows(page))
        written += len(page)
        if len(page) < size:
            break
        last, offset = page[-1].id, 0
        session.expunge_all()  # a long export keeps only the page it writes
    return written


def rows(invoices: Iterable[Invoice]) -> Iterator[list[str]]:
    for invoice in invoices:
        head = _invoice_cells(invoice)
        sums = figures(invoice)
        tail = [
            _money(sums[name], invoice.currency)
            for name in ("subtotal", "discount_amount", "tax_amount", "total", "credits_applied", "amount_due")
        ]
        items: list[InvoiceItem | None] = list(invoice.invoice_items) or [None]
        for item in items:
            yield [*head, *_line_cells(item, invoice.currency), *tail]


def _invoice_cells(invoice: Invoice) -> list[str]:
    return [
        str(invoice.id),
        _text(invoice.invoice_number),
        str(invoice.customer_id),
        invoice.status,
        invoice.currency,
        _time(invoice.issue_date),
        _time(invoice.due_date),
        _time(invoice.period_start),
        _time(invoice.period_end),
    ]


def _line_cells(item: InvoiceItem | None, currency: str) -> list[str]:
    if item is None:
        return [""] * 6
    return [
        str(item.id),
        _text(item.description),
        _text(item.metric_name or ""),
        decimal_text(item.quantity),
        decimal_text(item.unit_price),
        _money(item.amount, currency),
    ]


def _money(value: Decimal, currency: str) -> str:
    """Exactly the currency's places (amounts are stored in its minor unit: nothing is ever rounded); never ``-0``."""
    amount = in_minor_units(value, currency, ("amount",))
    return decimal_text(abs(amount) if amount == 0 else amount)


def _time(value: datetime | None) -> str:
    return "" if value is None else to_utc(value).isoformat().replace("+00:00", "Z")


def _text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_STARTS) else value
