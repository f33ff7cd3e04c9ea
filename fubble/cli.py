"""The ``fubble`` command: serve the API, migrate the database, run billing from the shell."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from fubble import __version__
from fubble.config import get_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

app = typer.Typer(
    help="fubble: usage-based billing. Settings come from FUBBLE_* environment variables (see README).",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema commands.", no_args_is_help=True)
app.add_typer(db_app, name="db")
keys_app = typer.Typer(help="API keys (scopes: admin, write, ingest, read).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default FUBBLE_HOST, 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default FUBBLE_PORT, 8000).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    migrate: Annotated[bool, typer.Option(help="Create/upgrade the database schema before serving.")] = True,
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="Serve without API keys, for local demos; only on a loopback address.")
    ] = False,
) -> None:
    """Serve the HTTP API (creating or upgrading the database first).

    On the first start with authentication on and no API key at all, an admin key is created and printed once.
    """
    import os

    import uvicorn

    from fubble.api.auth import is_loopback

    settings = get_settings()
    bind = host or settings.host
    if no_auth or not settings.auth_enabled:
        if not is_loopback(bind):
            typer.echo(
                f"refusing to serve without authentication on {bind}: --no-auth needs a loopback address "
                "such as 127.0.0.1",
                err=True,
            )
            raise typer.Exit(2)
        os.environ["FUBBLE_AUTH_ENABLED"] = "false"
    if migrate:
        from fubble.db.migrate import upgrade

        upgrade(settings.database_url)
    if not (no_auth or not settings.auth_enabled):
        _print_initial_admin_key(settings.database_url)
    uvicorn.run(
        "fubble.api.asgi:build",
        factory=True,
        host=bind,
        port=port or settings.port,
        workers=workers,
        log_level="info",
    )


def _print_initial_admin_key(url: str) -> None:
    from fubble.api_keys.service import create_initial_admin
    from fubble.clock import SystemClock
    from fubble.db.session import Database

    database = Database(url)
    try:
        with database.transaction() as session:
            session.info["actor"] = "fubble serve (first start)"
            key = create_initial_admin(session, clock=SystemClock())
    finally:
        database.dispose()
    if key is not None:
        typer.echo(
            "No API key existed, so an admin key was created. It is shown only this once; store it now:\n\n"
            f"    {key}\n\nSend it as 'Authorization: Bearer <key>'. Create more with `fubble keys create`.\n"
        )


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="What the key is for, e.g. 'web app ingest'.")],
    scope: Annotated[str, typer.Option(help="admin, write, ingest or read.")] = "write",
) -> None:
    """Create an API key and print its secret (shown only this once)."""
    from fubble.api_keys.scopes import Scope
    from fubble.api_keys.service import create
    from fubble.clock import SystemClock

    if scope not in {s.value for s in Scope}:
        typer.echo(f"unknown scope {scope!r}: use admin, write, ingest or read", err=True)
        raise typer.Exit(2)
    with _session() as session:
        row, key = create(session, name=name, scope=Scope(scope), clock=SystemClock())
        typer.echo(f"created key {row.id} ({row.name}, scope {row.scope}):\n{key}")


@keys_app.command("list")
def keys_list() -> None:
    """List API keys (never their secrets)."""
    from fubble.api_keys.repository import list_page

    with _session() as session:
        typer.echo("id\tscope\tprefix\tname\tcreated\tlast used\trevoked")
        for row in list_page(session, limit=10_000, offset=0):
            typer.echo(
                f"{row.id}\t{row.scope}\t{row.prefix}\t{row.name}\t{row.created_at:%Y-%m-%d %H:%M}\t"
                f"{row.last_used_at or '-'}\t{row.revoked_at or '-'}"
            )


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[int, typer.Argument(help="The key's id (see `fubble keys list`).")]) -> None:
    """Revoke an API key (running servers stop accepting it within 5 seconds)."""
    from fubble.api_keys.service import revoke
    from fubble.clock import SystemClock

    with _session() as session:
        row = revoke(session, key_id, clock=SystemClock())
        typer.echo(f"revoked key {row.id} ({row.name})")


@contextlib.contextmanager
def _session() -> Iterator[Session]:
    """A write transaction for a CLI command; fubble errors become a message and exit status 2."""
    from fubble.db.session import Database
    from fubble.errors import FubbleError

    database = Database(get_settings().database_url)
    try:
        with database.transaction() as session:
            session.info["actor"] = "cli"
            yield session
    except FubbleError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from exc
    finally:
        database.dispose()


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
    from fubble.db.types import to_utc

    with _session() as session:
        invoices = generate_invoices(
            session,
            start=to_utc(start),
            end=to_utc(end),
            customer_id=customer_id,
            clock=SystemClock(),
            settings=get_settings(),
        )
        for invoice in invoices:
            typer.echo(
                f"{invoice.invoice_number}\tcustomer {invoice.customer_id}\t{invoice.status}\t"
                f"{invoice.amount} {invoice.currency}"
            )


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def main() -> None:
    app()
