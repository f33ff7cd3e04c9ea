"""The ``fubble`` command: serve the API, migrate the database, run billing from the shell."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from fubble import __version__
from fubble.config import get_settings

app = typer.Typer(
    help="fubble: usage-based billing. Settings come from FUBBLE_* environment variables (see README).",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema commands.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default FUBBLE_HOST, 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default FUBBLE_PORT, 8000).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    migrate: Annotated[bool, typer.Option(help="Create/upgrade the database schema before serving.")] = True,
) -> None:
    """Serve the HTTP API (creating or upgrading the database first)."""
    import uvicorn

    settings = get_settings()
    if migrate:
        from fubble.db.migrate import upgrade

        upgrade(settings.database_url)
    uvicorn.run(
        "fubble.api.asgi:build",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level="info",
    )


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Create the database or migrate it to the latest schema (FUBBLE_DATABASE_URL)."""
    from fubble.db.migrate import upgrade

    url = get_settings().database_url
    upgrade(url, revision)
    typer.echo(f"database at {url} is at revision {revision}")


@app.command()
def bill(
    start: Annotated[datetime, typer.Option(help="Window start (inclusive), ISO 8601; naive means UTC.")],
    end: Annotated[datetime, typer.Option(help="Window end (exclusive), ISO 8601; naive means UTC.")],
    customer_id: Annotated[int | None, typer.Option(help="Bill only this customer.")] = None,
) -> None:
    """Generate draft invoices for [START, END), like POST /invoices/generate; prints one line per invoice."""
    from fubble.billing.service import generate_invoices
    from fubble.clock import SystemClock
    from fubble.db.session import Database
    from fubble.db.types import to_utc
    from fubble.errors import FubbleError

    settings = get_settings()
    database = Database(settings.database_url)
    try:
        with database.transaction() as session:
            invoices = generate_invoices(
                session, start=to_utc(start), end=to_utc(end), customer_id=customer_id,
                clock=SystemClock(), settings=settings,
            )
            for invoice in invoices:
                typer.echo(f"{invoice.invoice_number}\tcustomer {invoice.customer_id}\t{invoice.status}\t"
                           f"{invoice.amount} {invoice.currency}")
    except FubbleError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from exc
    finally:
        database.dispose()


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def main() -> None:
    app()
