"""``fubble keys create|list|revoke``: API keys from the shell."""

from __future__ import annotations

from typing import Annotated

import typer

from fubble.api_keys.scopes import Scope
from fubble.cli import keys_app
from fubble.cli.output import PlainCommand, console, fail, session, table, when


@keys_app.command("create", cls=PlainCommand)
def keys_create(
    name: Annotated[str, typer.Argument(metavar="NAME", help="What the key is for, e.g. 'web app ingest'.")],
    scope: Annotated[Scope, typer.Option(metavar="SCOPE", help="admin, write, ingest or read.")] = Scope.write,
) -> None:
    """Create an API key and print its secret (shown only this once, on the last line)."""
    from fubble.api_keys.service import create
    from fubble.clock import SystemClock

    if not 1 <= len(name) <= 255 or not name.strip() or "\x00" in name:
        fail("the name must be 1 to 255 characters, not blank")
    with session() as active:
        row, key = create(active, name=name, scope=scope, clock=SystemClock())
        typer.echo(f"created key {row.id} ({row.name}, scope {row.scope}):\n{key}")


@keys_app.command("list", cls=PlainCommand)
def keys_list() -> None:
    """List API keys (never their secrets); times are UTC."""
    from fubble.api_keys.repository import list_page

    grid = table("id", "scope", "prefix", "name", "created", "last used", "revoked", right=("id",))
    with session() as active:
        offset, page = 0, 1000
        while rows := list_page(active, limit=page, offset=offset):  # every key, a page at a time
            for row in rows:
                grid.add_row(
                    str(row.id), row.scope, row.prefix, row.name, when(row.created_at), when(row.last_used_at),
                    when(row.revoked_at),
                )  # fmt: skip
            offset += page
    console().print(grid)


@keys_app.command("revoke", cls=PlainCommand)
def keys_revoke(
    key_id: Annotated[int, typer.Argument(metavar="ID", help="The key's id (see `fubble keys list`).")],
) -> None:
    """Revoke an API key (running servers stop accepting it within 5 seconds)."""
    from fubble.api_keys import repository
    from fubble.api_keys.service import revoke
    from fubble.clock import SystemClock

    with session() as active:
        before = repository.get(active, key_id)
        if before is not None and before.revoked_at is not None:
            fail(f"API key {key_id} ({before.name}) was already revoked at {when(before.revoked_at)} UTC")
        row = revoke(active, key_id, clock=SystemClock())
        typer.echo(f"revoked key {row.id} ({row.name})")
