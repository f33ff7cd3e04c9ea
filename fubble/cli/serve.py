"""``fubble serve``: migrate, print where it serves, and run the HTTP API in one or more worker processes."""

from __future__ import annotations

import os
import socket
from typing import Annotated, Any

import typer

from fubble import __version__
from fubble.cli import app, output
from fubble.cli.output import USAGE, PlainCommand, describe_database, fail, session, settings
from fubble.config import get_settings

ASGI_APP = "fubble.api.asgi:build"


def default_workers() -> int:
    """One worker per CPU core this process may run on."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


WORKERS_HELP = (
    "Worker processes, each listening on its own socket (SO_REUSEPORT) so connections spread evenly. Default: "
    f"FUBBLE_WORKERS, else one per CPU core ({default_workers()} here), on both databases: PostgreSQL works in "
    "parallel, and on SQLite writers take turns on one lock while reads, request parsing and pricing run in parallel "
    "(2 workers serve more than 1 on either)."
)


@app.command(cls=PlainCommand)
def serve(
    host: Annotated[
        str | None, typer.Option(metavar="ADDRESS", help="Bind address (default FUBBLE_HOST, 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(metavar="PORT", help="Port (default FUBBLE_PORT, 8000).")] = None,
    workers: Annotated[int | None, typer.Option(min=1, metavar="N", help=WORKERS_HELP)] = None,
    migrate: Annotated[bool, typer.Option(help="Create/upgrade the database schema before serving.")] = True,
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="Serve without API keys, for local demos; only on a loopback address.")
    ] = False,
    access_log: Annotated[
        bool,
        typer.Option(help="Log every request to stderr (one line each: method, path, status, duration, request id)."),
    ] = True,
) -> None:
    """Serve the HTTP API (creating or upgrading the database first).

    On the first start with authentication on and no API key at all, an admin key is created and printed once.

    Billing runs by itself: every FUBBLE_BILLING_INTERVAL_SECONDS (60; 0 turns it off) one server process, taking turns
    with the others through a lease in the database, bills every period due as of now (GET /billing/runs lists them).
    Each process also sends due webhook attempts (FUBBLE_WEBHOOK_POLL_INTERVAL_SECONDS; 0 leaves it to `fubble
    worker`), checks usage alerts and, with FUBBLE_STRIPE_SECRET_KEY set, collects payments of finalized invoices.
    """
    import logging.config

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from fubble.api import listeners
    from fubble.api.auth import is_loopback
    from fubble.observability import logs
    from fubble.observability.workers import shared_metrics

    config = settings()
    # One handler for this process and (through uvicorn, which applies it again) each worker: JSON lines or text.
    # uvicorn's own access log stays off: fubble's (logger fubble.access) has the duration and the request id.
    log_config = logs.log_config(logs.chosen_format(config.log_format), access_log=access_log)
    logging.config.dictConfig(log_config)
    bind = host or config.host
    auth_off = no_auth or not config.auth_enabled
    if auth_off:
        if not is_loopback(bind):
            fail(
                f"refusing to serve without authentication on {bind}: --no-auth needs a loopback address such as "
                "127.0.0.1",
                USAGE,
            )
        # Every worker, this process included, builds its app from the settings: read them afresh, with auth off.
        os.environ["FUBBLE_AUTH_ENABLED"] = "false"
        get_settings.cache_clear()
    count = workers or config.workers or default_workers()
    if migrate:
        output.migrate(config.database_url)
    if not auth_off:
        _print_initial_admin_key(config.database_url)
    options: dict[str, Any] = {
        "factory": True,
        "host": bind,
        "port": config.port if port is None else port,
        "log_level": "info",
        "log_config": log_config,
        "access_log": False,
        "http": "fubble.api.http_protocol:CoalescingProtocol",
        "workers": count,
    }
    server = uvicorn.Config(ASGI_APP, **options)
    sock = _listen(server.host, server.port, reuse_port=count > 1 and listeners.SUPPORTED)
    base = f"http://{_bracketed(server.host)}:{sock.getsockname()[1]}"
    typer.echo(
        f"fubble {__version__} serving {base} (docs: {base}/docs) with {count} worker{'s' if count > 1 else ''} on "
        f"{describe_database(config.database_url)}" + (", without authentication (loopback only)" if auth_off else "")
    )
    with shared_metrics(count):  # several workers write their metrics to one directory, for /-/metrics
        if count == 1:
            uvicorn.Server(server).run(sockets=[sock])
        else:  # each worker gets a listening socket of its own in one SO_REUSEPORT group (fubble.api.listeners)
            Multiprocess(server, sockets=[sock]).run()


def _listen(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    """The bound (not yet listening) socket the server will accept on; a busy port ends the command."""
    from fubble.api import listeners

    family = listeners.family_of(host)
    try:
        # A plain bind first, even for an SO_REUSEPORT group: it fails while anything listens on the address, also
        # another multi-worker fubble (whose group would otherwise silently share the port with this one).
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
        except BaseException:
            sock.close()
            raise
        if reuse_port:
            port = sock.getsockname()[1]
            sock.close()
            return listeners.bound(family, host, port)
        sock.set_inheritable(True)
        return sock
    except OSError as exc:
        fail(f"cannot listen on {_bracketed(host)}:{port}: {exc.strerror or exc}")


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _print_initial_admin_key(url: str) -> None:
    from fubble.api_keys.service import create_initial_admin
    from fubble.clock import SystemClock

    with session(url, actor="fubble serve (first start)") as active:
        key = create_initial_admin(active, clock=SystemClock())
    if key is not None:
        typer.echo(
            "No API key existed, so an admin key was created. It is shown only this once; store it now:\n\n"
            f"    {key}\n\nSend it as 'Authorization: Bearer <key>'. Create more with `fubble keys create`.\n"
        )
