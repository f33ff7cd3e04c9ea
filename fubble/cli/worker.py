"""``fubble worker``: the background work of ``fubble serve`` in a process of its own (billing, webhooks)."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Annotated

import typer

from fubble.cli import app, output
from fubble.cli.output import PlainCommand, describe_database, fail, settings


@app.command(cls=PlainCommand)
def worker(
    migrate: Annotated[bool, typer.Option(help="Create/upgrade the database schema first.")] = True,
) -> None:
    """Run the billing scheduler, webhook delivery and (with FUBBLE_STRIPE_SECRET_KEY) payment collection until
    SIGINT or SIGTERM.

    Billing: a run as of now every FUBBLE_BILLING_INTERVAL_SECONDS (60; 0 turns it off). Webhooks: due attempts are
    sent every FUBBLE_WEBHOOK_POLL_INTERVAL_SECONDS (1; 0 means 1 here), usage alerts checked every
    FUBBLE_USAGE_ALERT_INTERVAL_SECONDS. Payments: attempts (and refunds of refund credit notes) due every
    FUBBLE_PAYMENT_POLL_INTERVAL_SECONDS, failed payments retried per FUBBLE_PAYMENT_RETRY_SCHEDULE. Any number of
    workers and servers share one database: they take turns through leases and claims in it, so nothing is billed or
    sent twice at once. On a signal, the attempts in flight are finished and recorded before it exits.
    """
    from fubble.billing_runs.scheduler import Scheduler
    from fubble.clock import SystemClock
    from fubble.db.session import Database
    from fubble.payments.worker import PaymentWorker
    from fubble.webhooks.delivery import WebhookWorker

    config = settings()
    if migrate:
        output.migrate(config.database_url)
    try:
        db = Database(config.database_url, sqlite_busy_timeout_ms=config.sqlite_busy_timeout_ms)
    except ValueError as exc:
        fail(f"FUBBLE_DATABASE_URL: {exc}")
    clock = SystemClock()
    stop = threading.Event()

    def on_signal(_number: int, _frame: FrameType | None) -> None:
        stop.set()

    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, on_signal)
    scheduler = Scheduler(db, clock, config)
    webhooks = WebhookWorker(db, clock, config)
    scheduler.start()
    webhooks.start(interval=config.webhook_poll_interval_seconds or 1.0)
    payments = PaymentWorker(db, clock, config)
    payment_interval = config.payment_poll_interval_seconds or 5.0
    payments.start(interval=payment_interval)  # only with FUBBLE_STRIPE_SECRET_KEY
    billing = f"every {config.billing_interval_seconds:g} s" if config.billing_interval_seconds > 0 else "off"
    collecting = f"every {payment_interval:g} s" if config.stripe_secret_key else "off (no FUBBLE_STRIPE_SECRET_KEY)"
    typer.echo(
        f"fubble worker on {describe_database(config.database_url)}: billing {billing}, webhooks every "
        f"{config.webhook_poll_interval_seconds or 1.0:g} s, payments {collecting}; stop with Ctrl-C or SIGTERM",
    )
    try:
        while not stop.wait(0.5):
            pass
    finally:
        payments.stop()
        webhooks.stop()
        scheduler.stop()
        db.dispose()
    typer.echo("fubble worker stopped")
