"""What an invoice document says, every figure already written for its reader: :func:`invoice_document` turns an
invoice, its customer and the seller settings into an :class:`InvoiceDocument`, which the HTML and PDF renderers
(:mod:`fubble.documents.html`, :mod:`fubble.documents.pdf`) only lay out.

Rules kept here:

* Amounts are written by Babel's ``format_currency`` for the invoice's currency in the customer's ``locale``
  (``100,00 €`` for de_DE), from the exact ``Decimal`` and never rounded (``decimal_quantization=False``: a unit price
  of 0.001234 shows all its digits; amounts already have exactly the currency's places). Quantities and tax rates are
  written by Babel too (``1.000``, ``20 %``).
* Dates are the customer's local dates (its ``timezone``) in Babel's medium format for its locale. A billing period
  ``[start, end)`` is shown by its first and last day (the day before a period ending at local midnight).
* Words (headings, labels) are English whatever the locale; only numbers and dates follow it.
* A draft or void invoice is stamped DRAFT or VOID.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent

from fubble.config import Settings
from fubble.db.models import Customer, Invoice
from fubble.db.types import to_utc
from fubble.documents.locales import babel_locale
from fubble.invoices.schemas import carried, figures
from fubble.pricing.periods import zone

STAMPS = {"draft": "DRAFT", "void": "VOID"}
EN_DASH = "\u2013"
_INSTANT = timedelta(microseconds=1)


@dataclass(frozen=True)
class Row:
    """One invoice line, written."""

    description: str
    quantity: str
    unit_price: str
    amount: str


@dataclass(frozen=True)
class Figure:
    """One line of the totals: a label and an amount, ``strong`` for the total and the amount due."""

    label: str
    amount: str
    strong: bool = False


@dataclass(frozen=True)
class InvoiceDocument:
    number: str
    status: str
    stamp: str | None  # DRAFT, VOID or nothing
    language: str  # the customer's locale as a BCP 47 tag (de-DE), for the HTML
    seller: list[str]  # lines: name, address, email, tax id (those set)
    customer: list[str]  # lines: name, company, address, email (those it has)
    facts: list[tuple[str, str]]  # (label, value): number, status, issue date, due date, period
    rows: list[Row]
    totals: list[Figure]  # subtotal, each discount, each tax, total, credits applied, amount due
    notes: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"Invoice {self.number}" + (f" ({self.stamp})" if self.stamp else "")


def invoice_document(invoice: Invoice, customer: Customer, settings: Settings) -> InvoiceDocument:
    locale = babel_locale(customer.locale)
    write = _Writer(locale, invoice.currency, customer.timezone)
    facts = [
        ("Invoice number", invoice.invoice_number),
        ("Status", invoice.status.capitalize()),
        ("Issue date", write.when(invoice.issue_date)),
        ("Due date", write.when(invoice.due_date)),
    ]
    if invoice.period_start is not None and invoice.period_end is not None:
        facts.append(("Period", write.period(invoice.period_start, invoice.period_end)))
    if invoice.paid_date is not None:
        facts.append(("Paid on", write.when(invoice.paid_date)))
    rows = [
        Row(item.description, write.quantity(item.quantity), write.money(item.unit_price), write.money(item.amount))
        for item in invoice.invoice_items
    ]
    return InvoiceDocument(
        number=invoice.invoice_number,
        status=invoice.status,
        stamp=STAMPS.get(invoice.status),
        language=str(locale).replace("_", "-"),
        seller=seller_lines(settings),
        customer=customer_lines(customer),
        facts=facts,
        rows=rows,
        totals=_totals(invoice, write),
        notes=(invoice.notes or "").splitlines(),
    )


def _totals(invoice: Invoice, write: _Writer) -> list[Figure]:
    sums = figures(invoice)
    lines = [Figure("Subtotal", write.money(sums["subtotal"]))]
    lines += [Figure(row.description, write.money(_minus(row.amount))) for row in invoice.discounts]
    lines += [Figure(f"{row.name} ({write.percent(row.rate)})", write.money(row.amount)) for row in invoice.taxes]
    lines.append(Figure("Total", write.money(sums["total"]), strong=True))
    lines.append(Figure("Credits applied", write.money(_minus(sums["credits_applied"]))))
    lines.append(Figure("Amount due", write.money(sums["amount_due"]), strong=True))
    credit = carried(invoice)
    if credit > 0:
        lines.append(Figure("Credited to your balance", write.money(credit)))
    return lines


def _minus(amount: Decimal) -> Decimal:
    """What is taken off, shown negative (0 stays 0, never -0)."""
    return -amount if amount else abs(amount)


def seller_lines(settings: Settings) -> list[str]:
    """The seller block from the settings (each unset one left out); an address's lines are apart by newlines or by
    a literal ``\\n`` (as an environment variable carries them)."""
    lines = [settings.seller_name or ""]
    lines += _lines(settings.seller_address)
    lines.append(settings.seller_email or "")
    lines.append(f"Tax ID: {settings.seller_tax_id}" if settings.seller_tax_id else "")
    return [line for line in lines if line]


def customer_lines(customer: Customer) -> list[str]:
    """Name, company, address (the billing address, else the address), email."""
    lines = [customer.name, customer.company_name or ""]
    lines += _lines(customer.billing_address or customer.address)
    lines.append(customer.email)
    return [line for line in lines if line]


def _lines(text: str | None) -> list[str]:
    if not text:
        return []
    return [line.strip() for line in text.replace("\\n", "\n").splitlines() if line.strip()]


class _Writer:
    """Numbers and dates as the customer's locale writes them."""

    def __init__(self, locale: Locale, currency: str, timezone: str) -> None:
        self.locale = locale
        self.currency = currency
        self.zone = zone(timezone)

    def money(self, amount: Decimal) -> str:
        amount = abs(amount) if amount == 0 else amount  # never -0
        return format_currency(amount, self.currency, locale=self.locale, decimal_quantization=False)

    def quantity(self, value: Decimal) -> str:
        return format_decimal(value, locale=self.locale, decimal_quantization=False)

    def percent(self, rate: Decimal) -> str:
        return format_percent(rate.scaleb(-2), locale=self.locale, decimal_quantization=False)

    def when(self, moment: datetime) -> str:
        return self._day(to_utc(moment).astimezone(self.zone).date())

    def period(self, start: datetime, end: datetime) -> str:
        first = to_utc(start).astimezone(self.zone).date()
        last = max(first, (to_utc(end).astimezone(self.zone) - _INSTANT).date())
        if first == last:
            return self._day(first)
        return f"{self._day(first)} {EN_DASH} {self._day(last)}"

    def _day(self, day: date) -> str:
        return format_date(day, format="medium", locale=self.locale)
