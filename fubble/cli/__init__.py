"""The ``fubble`` command: serve the API, migrate the database, manage keys, run billing from the shell.

Each group of commands lives in its own module; :mod:`fubble.cli.output` holds what they share (errors as sentences,
exit statuses, tables, plain help).
"""

from __future__ import annotations

from typing import Annotated

import typer

from fubble import __version__
from fubble.cli.output import PlainCommand, PlainGroup


def new_app(help: str) -> typer.Typer:
    # A crash shows its traceback without local variables: they may hold secrets (keys, database passwords).
    return typer.Typer(
        help=help, cls=PlainGroup, no_args_is_help=True, add_completion=False, pretty_exceptions_show_locals=False
    )


app = new_app("fubble: usage-based billing. Settings come from FUBBLE_* environment variables (see README).")
db_app = new_app("Database schema commands.")
app.add_typer(db_app, name="db")
keys_app = new_app("API keys (scopes: admin, write, ingest, read).")
app.add_typer(keys_app, name="keys")
events_app = new_app("Usage events.")
app.add_typer(events_app, name="events")
invoices_app = new_app("Invoices.")
app.add_typer(invoices_app, name="invoices")


@db_app.command("upgrade", cls=PlainCommand)
def db_upgrade(revision: Annotated[str, typer.Argument(metavar="REVISION", help="Target revision.")] = "head") -> None:
    """Create the database or migrate it to the latest schema (FUBBLE_DATABASE_URL)."""
    from fubble.cli.output import describe_database, migrate, settings

    url = settings().database_url
    migrate(url, revision)
    typer.echo(f"database {describe_database(url)} is at revision {revision}")


@app.command(cls=PlainCommand)
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


# Each registers its commands on the apps above.
from . import billing, events, invoices, keys, serve, worker  # noqa: E402

__all__ = ["app", "billing", "events", "invoices", "keys", "main", "serve", "worker"]


def main() -> None:
    app()
