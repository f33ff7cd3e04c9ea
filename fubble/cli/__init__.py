"""The ``fubble`` command: serve the API, migrate the database, run billing from the shell."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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
events_app = typer.Typer(help="Usage events.", no_args_is_help=True)
app.add_typer(events_app, name="events")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default FUBBLE_HOST, 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default FUBBLE_PORT, 8000).")] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Worker processes, each listening on its own socket (SO_REUSEPORT) so connections spread evenly "
            "(PostgreSQL: about one per core; SQLite has one writer at a time: keep 1 unless the load is mostly "
            "batches).",
        ),
    ] = 1,
    migrate: Annotated[bool, typer.Option(help="Create/upgrade the database schema before serving.")] = True,
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="Serve without API keys, for local demos; only on a loopback address.")
    ] = False,
    access_log: Annotated[bool, typer.Option(help="Log every request (one line each) to stderr.")] = True,
) -> None:
    """Serve the HTTP API (creating or upgrading the database first).

    On the first start with authentication on and no API key at all, an admin key is created and printed once.
    """
    import os

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from fubble.api import listeners
    from fubble.api.auth import is_loopback

    settings = get_settings()
    bind = host or settings.host
    auth_off = no_auth or not settings.auth_enabled
    if auth_off:
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
    if not auth_off:
        _print_initial_admin_key(settings.database_url)
    options: dict[str, Any] = {
        "factory": True,
        "host": bind,
        "port": port or settings.port,
        "log_level": "info",
        "access_log": access_log,
        "http": "fubble.api.http_protocol:CoalescingProtocol",
    }
    if workers == 1 or not listeners.SUPPORTED:
        uvicorn.run("fubble.api.asgi:build", workers=workers, **options)
        return
    # A listening socket per worker, so the kernel spreads connections over the workers (fubble.api.listeners).
    config = uvicorn.Config("fubble.api.asgi:build", workers=workers, **options)
    try:
        sock = listeners.bound(listeners.family_of(config.host), config.host, config.port)
    except OSError as exc:
        typer.echo(f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"fubble serving on http://{config.host}:{sock.getsockname()[1]} with {workers} workers", err=True)
    Multiprocess(config, sockets=[sock]).run()


def _print_initial_admin_key(url: str) -> None:
    from fubble.api_keys.service import create_initial_admin
    from fubble.clock import SystemClock

    with _session(url, actor="fubble serve (first start)") as session:
        key = create_initial_admin(session, clock=SystemClock())
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
    if not 1 <= len(name) <= 255 or not name.strip() or "\x00" in name:
        typer.echo("the name must be 1 to 255 characters, not blank", err=True)
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
        offset, page = 0, 1000
        while rows := list_page(session, limit=page, offset=offset):  # every key, a page at a time
            for row in rows:
                typer.echo(
                    f"{row.id}\t{row.scope}\t{row.prefix}\t{row.name}\t{row.created_at:%Y-%m-%d %H:%M}\t"
                    f"{row.last_used_at or '-'}\t{row.revoked_at or '-'}"
                )
            offset += page


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[int, typer.Argument(help="The key's id (see `fubble keys list`).")]) -> None:
    """Revoke an API key (running servers stop accepting it within 5 seconds)."""
    from fubble.api_keys.service import revoke
    from fubble.clock import SystemClock

    with _session() as session:
        row = revoke(session, key_id, clock=SystemClock())
        typer.echo(f"revoked key {row.id} ({row.name})")


@contextlib.contextmanager
def _session(url: str | None = None, *, actor: str = "cli") -> Iterator[Session]:
    """A write transaction for a CLI command (on FUBBLE_DATABASE_URL unless ``url`` is given); fubble errors become
    a message and exit status 2."""
    from fubble.db.session import Database
    from fubble.errors import FubbleError

    database = Database(url or get_settings().database_url)
    try:
        with database.transaction() as session:
            session.info["actor"] = actor
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


@events_app.command("import")
def events_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="NDJSON or CSV file.")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="ndjson or csv (default: from the extension .ndjson/.jsonl/.csv).")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=100_000, help="Events per transaction.")] = 5000,
    restart: Annotated[bool, typer.Option("--restart", help="Ignore a checkpoint and import from line 1.")] = False,
) -> None:
    """Import usage events from FILE in all-or-nothing batches, like POST /events/batch.

    NDJSON: one event object per line (the fields of POST /events/). CSV: a header line naming the columns
    event_id, customer_id or external_customer_id, metric_name, quantity, event_time (ISO 8601), and optionally
    properties (a JSON object) and/or properties.NAME columns (each a string property NAME). Empty cells are
    left out.

    Idempotent: an event without event_id gets one derived from the file and its line number, so importing the
    same file again adds nothing. Resumable: after each batch, FILE.fubble-import.json records where to continue;
    running the command again resumes there (--restart ignores it). A bad line stops the import with exit status
    2, printing its line number and reason; earlier batches stay stored, so fix the line and run it again.
    """
    from fubble.clock import SystemClock
    from fubble.events.importer import run

    def echo(message: str, err: bool) -> None:
        typer.echo(message, err=err)

    status = run(
        get_settings().database_url,
        file,
        clock=SystemClock(),
        fmt=fmt,
        batch_size=batch_size,
        restart=restart,
        echo=echo,
    )
    raise typer.Exit(status)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def main() -> None:
    app()
