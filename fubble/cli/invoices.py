"""``fubble invoices export``: the finance CSV (a row per invoice line) from the shell."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, TextIO

import typer

from fubble.cli import invoices_app
from fubble.cli.output import PlainCommand, fail, session
from fubble.invoices.status import InvoiceStatus


@invoices_app.command("export", cls=PlainCommand)
def invoices_export(
    status: Annotated[
        InvoiceStatus | None,
        typer.Option(metavar="STATUS", help="Only invoices in this status: draft, pending, paid, failed or void."),
    ] = None,
    limit: Annotated[int | None, typer.Option(metavar="N", help="At most N invoices (default: all of them).")] = None,
    offset: Annotated[int, typer.Option(metavar="N", help="Skip the first N invoices (by id).")] = 0,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", metavar="FILE", help="Write to FILE instead of standard output.")
    ] = None,
) -> None:
    """Export invoices as CSV for finance: a header row, then a row per invoice line with its invoice's fields and
    sums, invoices by id, exactly as GET /invoices/?format=csv answers it.

    Columns: invoice_id, invoice_number, customer_id, status, currency, issue_date, due_date, period_start,
    period_end, line_id, description, metric_name, quantity, unit_price, line_amount, subtotal, discount_amount,
    tax_amount, total, credits_applied, amount_due. Amounts are plain decimals with the currency's places (12.50);
    times are UTC (ISO 8601). --limit and --offset count invoices, not rows. The export reads one snapshot of the
    database; with --output the file appears only once it is complete.

    Exit status: 0 done, 1 refused (a database that cannot be used, a file that cannot be written), 2 a wrong
    command line.
    """
    from fubble.documents.csv_export import write

    if limit is not None and limit < 1:
        fail("--limit must be at least 1", 2)
    if offset < 0:
        fail("--offset must be 0 or more", 2)
    with _target(output) as out, session(write=False) as active:
        count = write(out, active, status=None if status is None else status.value, limit=limit, offset=offset)
    if output is not None:
        typer.echo(f"exported {count} invoice{'s' * (count != 1)} to {output}", err=True)


@contextlib.contextmanager
def _target(output: Path | None) -> Iterator[TextIO]:
    """Standard output, or a file written beside ``output`` and renamed to it once complete."""
    if output is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    partial = output.with_name(output.name + ".partial")
    try:
        file = partial.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
    try:
        with file:
            yield file
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
