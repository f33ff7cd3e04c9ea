"""``fubble bill``: a billing run as of now (or an earlier instant), or draft invoices for a window, from the shell;
printed as a table of invoices and a total per currency."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import typer

from fubble.cli import app
from fubble.cli.output import USAGE, PlainCommand, console, fail, session, settings, table, when

if TYPE_CHECKING:
    from rich.console import Console
    from sqlalchemy.orm import Session

    from fubble.billing_runs.job import Progress
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
        query = select(Customer.id, Customer.name).where(Customer.id.in_(chunk))
        names.update((customer_id, name) for customer_id, name in session.execute(query))
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
    rows = [
        [
            invoice.customer, invoice.number, period(invoice.period_start, invoice.period_end), str(invoice.amount),
            invoice.currency, f"new {invoice.status}" if invoice.new else f"already existing, {invoice.status}",
        ]
        for invoice in invoices
    ]  # fmt: skip
    print_table(out, ("customer", "invoice", "period", "amount", "currency", "status"), rows, right=("amount",))
    for line in total_lines(invoices):
        out.print(line)


def print_table(out: Console, columns: Sequence[str], rows: Sequence[Sequence[str]], right: tuple[str, ...]) -> None:
    """The rows as :func:`fubble.cli.output.table` prints them (a bold header, a rule, cells apart by three spaces,
    never wrapped), written as plain lines: a run of thousands of invoices prints in milliseconds (a rich table takes
    most of a millisecond per row)."""
    widths = [max(len(column), *(len(row[n]) for row in rows)) for n, column in enumerate(columns)]

    def line(cells: Sequence[str]) -> str:
        return "   ".join(
            cell.rjust(width) if column in right else cell.ljust(width)
            for column, cell, width in zip(columns, cells, widths, strict=True)
        )

    out.out(line(columns), style="bold", highlight=False)
    out.out("─" * (sum(widths) + 3 * (len(widths) - 1)), highlight=False)
    out.out("\n".join(line(row) for row in rows), highlight=False)


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


def instant(value: str | datetime) -> datetime:
    """``--as-of``: an ISO 8601 date or time (``2024-03-01``, ``2024-03-01T12:00:00``, with ``Z`` or an offset);
    without an offset, UTC."""
    from fubble.db.types import to_utc

    if isinstance(value, datetime):
        return to_utc(value)
    try:
        return to_utc(datetime.fromisoformat(value.strip()))
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 date or time, such as 2024-03-01T00:00:00Z") from None


@app.command(cls=PlainCommand)
def bill(
    start: Annotated[
        datetime | None,
        typer.Option(metavar="DATE", help="Window start (inclusive), ISO 8601; without an offset: UTC."),
    ] = None,
    end: Annotated[
        datetime | None,
        typer.Option(metavar="DATE", help="Window end (exclusive), ISO 8601; without an offset: UTC."),
    ] = None,
    customer_id: Annotated[
        int | None, typer.Option(metavar="ID", help="Bill only this customer (with --start and --end).")
    ] = None,
    as_of: Annotated[
        datetime | None,
        typer.Option(
            metavar="DATETIME",
            parser=instant,
            help="Bill as of this earlier instant instead of now (a run only; not with --start/--end), ISO 8601 "
            "such as 2024-03-01T00:00:00Z; without an offset: UTC. Never in the future.",
        ),
    ] = None,
) -> None:
    """Run billing as of now (or --as-of), or generate draft invoices for a window [--start, --end).

    Without --start and --end: a billing run, like POST /billing/runs. It bills every period that has ended by then and
    is not invoiced yet (fixed fees of plans with fees in advance: once their period has begun), for every subscription
    of every customer not on a test clock: one invoice per customer and period end, finalized (pending) once its grace
    period (FUBBLE_GRACE_PERIOD_HOURS, or the customer's) is over, else a draft that later runs refresh and finalize. It
    prints the run (id, as of, invoices created and finalized) and a row per invoice it created (customer, number,
    period, amount, status), then a total per currency. Customers are billed in batches of 500, each committed on its
    own: a run interrupted (Ctrl-C, a crash) keeps the batches it committed, and running it again bills the rest, never
    a period twice. On a terminal, a progress bar on stderr counts customers.

    With --start and --end: draft invoices for that window, like POST /invoices/generate; a row per invoice (customer,
    number, period, amount, and whether this run created it or it already billed the window) and a total per currency.
    Running the same window again creates nothing.

    Exit status: 0 done, 1 refused (--as-of in the future, an unknown customer, a database that cannot be used), 2 a
    wrong command line.
    """
    if start is None and end is None:
        if customer_id is not None:
            fail("--customer-id needs --start and --end: a billing run bills every customer", USAGE)
        run(as_of)
        return
    if start is None or end is None:
        fail(
            "--start and --end go together (the window is [--start, --end)): "
            f"{'--start' if start is None else '--end'} is missing",
            USAGE,
        )
    if as_of is not None:
        fail("--as-of is for a billing run, without --start and --end", USAGE)
    window(start, end, customer_id)


def window(start: datetime, end: datetime, customer_id: int | None) -> None:
    """Draft invoices for [start, end), like POST /invoices/generate."""
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


def run(as_of: datetime | None) -> None:
    """A billing run as of ``as_of`` (default now), with ``trigger="cli"``, then its summary and its invoices."""
    from sqlalchemy import select

    from fubble.billing_runs import repository, service
    from fubble.billing_runs.job import run_billing
    from fubble.clock import SystemClock
    from fubble.db.models import Invoice
    from fubble.db.session import Database

    clock = SystemClock()
    config = settings()
    now = clock.now()
    moment = now if as_of is None else as_of
    with session(names=RUN_NAMES) as active:  # its errors (and the database's) end the command with a sentence
        service.check_as_of(moment, now)
        database = Database(config.database_url, sqlite_busy_timeout_ms=config.sqlite_busy_timeout_ms)
        try:
            with progress_bar() as progress:
                run_id = run_billing(
                    database, as_of=moment, trigger="cli", clock=clock, settings=config, progress=progress
                )
        finally:
            database.dispose()
        record = repository.get(active, run_id)
        assert record is not None
        query = select(Invoice).where(Invoice.billing_run_id == run_id).order_by(Invoice.id)
        rows = billed(active, list(active.scalars(query)), since=record.started_at)
        summary = (record.id, record.as_of, record.invoices_created, record.invoices_finalized)
    print_run(*summary, rows)


# The service's field names, as a run calls them in its errors.
RUN_NAMES = {"as_of": "--as-of"}


@contextlib.contextmanager
def progress_bar() -> Iterator[Progress | None]:
    """A progress bar of customers billed on stderr when it is a terminal; ``None`` (quiet) otherwise."""
    from rich import progress
    from rich.console import Console

    err = Console(stderr=True)
    if not err.is_terminal:
        yield None
        return
    columns = (
        progress.TextColumn("billing customers"),
        progress.BarColumn(),
        progress.MofNCompleteColumn(),
        progress.TimeElapsedColumn(),
    )
    with progress.Progress(*columns, console=err) as bar:
        task = bar.add_task("billing", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


def print_run(run_id: int, as_of: datetime, created: int, finalized: int, invoices: Sequence[BilledInvoice]) -> None:
    """The run's figures, then its invoices as :func:`print_invoices` shows them."""
    out = console()
    grid = table("run", "as of", "invoices created", "finalized", right=("invoices created", "finalized"))
    grid.add_row(str(run_id), when(as_of), str(created), str(finalized))
    out.print(grid)
    out.print()
    if invoices:
        print_invoices(invoices)
    else:
        out.print("no invoice created: nothing due by then was left to invoice")
