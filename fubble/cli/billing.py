"""``fubble bill``: a billing run from the shell, printed as a table of invoices and a total per currency."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import typer

from fubble.cli import app
from fubble.cli.output import PlainCommand, console, session, settings, table, when

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from fubble.db.models import Invoice

# The service's field names, as this command calls them in its errors.
OPTION_NAMES = {"start_date": "--start", "end_date": "--end", "customer_id": "--customer-id"}


@dataclass(frozen=True)
class BilledInvoice:
    """One invoice of a billing run, as printed."""

    customer: str
    number: str
    period_start: datetime | None
    period_end: datetime | None
    amount: Decimal
    currency: str
    status: str
    new: bool  # created by this run (else it already billed this window)


def billed(session: Session, invoices: Sequence[Invoice], *, since: datetime) -> list[BilledInvoice]:
    """The run's invoices for printing; those created at or after ``since`` (the run's start) are new."""
    from sqlalchemy import select

    from fubble.db.models import Customer

    ids = sorted({invoice.customer_id for invoice in invoices})
    names: dict[int, str] = {}
    for at in range(0, len(ids), 500):
        chunk = ids[at : at + 500]
        names.update(session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(chunk))).tuples().all())
    return [
        BilledInvoice(
            customer=f"{invoice.customer_id} {names.get(invoice.customer_id, '')}".strip(),
            number=invoice.invoice_number,
            period_start=invoice.period_start,
            period_end=invoice.period_end,
            amount=invoice.amount,
            currency=invoice.currency,
            status=invoice.status,
            new=invoice.created_at >= since,
        )
        for invoice in invoices
    ]


def print_invoices(invoices: Sequence[BilledInvoice]) -> None:
    """A row per invoice, then a total line per currency (amounts of different currencies are never added)."""
    out = console()
    if not invoices:
        out.print("no invoices: no subscription is active in this window")
        return
    grid = table("customer", "invoice", "period", "amount", "currency", "status", right=("amount",))
    for invoice in invoices:
        state = f"new {invoice.status}" if invoice.new else f"already existing, {invoice.status}"
        grid.add_row(
            invoice.customer, invoice.number, period(invoice.period_start, invoice.period_end), str(invoice.amount),
            invoice.currency, state,
        )  # fmt: skip
    out.print(grid)
    for line in total_lines(invoices):
        out.print(line)


def total_lines(invoices: Sequence[BilledInvoice]) -> list[str]:
    by_currency: dict[str, list[BilledInvoice]] = {}
    for invoice in invoices:
        by_currency.setdefault(invoice.currency, []).append(invoice)
    lines = []
    for currency, group in sorted(by_currency.items()):
        amount = sum((invoice.amount for invoice in group), Decimal(0))
        new = sum(1 for invoice in group if invoice.new)
        count = f"{len(group)} invoice{'s' if len(group) != 1 else ''}"
        lines.append(f"total {amount} {currency} over {count} ({new} new, {len(group) - new} already existing)")
    return lines


def period(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return "-"
    if start.time() == end.time() == time(0):
        return f"{start:%Y-%m-%d} to {end:%Y-%m-%d}"
    return f"{when(start)} to {when(end)}"


@app.command(cls=PlainCommand)
def bill(
    start: Annotated[
        datetime, typer.Option(metavar="DATE", help="Window start (inclusive), ISO 8601; without an offset: UTC.")
    ],
    end: Annotated[
        datetime, typer.Option(metavar="DATE", help="Window end (exclusive), ISO 8601; without an offset: UTC.")
    ],
    customer_id: Annotated[int | None, typer.Option(metavar="ID", help="Bill only this customer.")] = None,
) -> None:
    """Generate draft invoices for [START, END), like POST /invoices/generate.

    Prints a row per invoice (customer, number, period, amount, and whether this run created it or it already
    billed the window) and a total per currency. Running the same window again creates nothing.
    """
    from fubble.billing.service import generate_invoices
    from fubble.clock import SystemClock
    from fubble.db.types import to_utc

    clock = SystemClock()
    config = settings()
    started = clock.now()
    with session(names=OPTION_NAMES) as active:
        invoices = generate_invoices(
            active, start=to_utc(start), end=to_utc(end), customer_id=customer_id, clock=clock, settings=config
        )
        rows = billed(active, invoices, since=started)
    print_invoices(rows)
