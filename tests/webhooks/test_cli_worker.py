"""``fubble worker``: the real command in a subprocess delivers a queued message, and stops on SIGTERM."""

from __future__ import annotations

from pathlib import Path

from standardwebhooks import Webhook

from fubble.clock import SystemClock
from fubble.config import Settings
from fubble.db.migrate import upgrade
from fubble.db.session import Database
from fubble.webhooks import outbox, service
from fubble.webhooks.event_types import EventType
from fubble.webhooks.schemas import EndpointCreate
from tests.cli.commands import environment, run_worker
from tests.webhooks.conftest import Receiver


def test_the_worker_command_delivers_until_sigterm(tmp_path: Path, receiver: Receiver) -> None:
    url = f"sqlite:///{tmp_path / 'worker.db'}"
    upgrade(url)
    db = Database(url)
    clock = SystemClock()
    try:
        with db.transaction() as session:
            body = EndpointCreate(url=receiver.url, event_types=[EventType.INVOICE_PAID])
            settings = Settings(database_url=url, webhook_allow_private_urls=True)
            secret = service.create(session, body, clock=clock, settings=settings).secret
        with db.transaction() as session:
            outbox.emit(session, EventType.INVOICE_PAID, {"id": 7}, at=clock.now())
    finally:
        db.dispose()
    env = environment(
        url,
        FUBBLE_WEBHOOK_ALLOW_PRIVATE_URLS="true",
        FUBBLE_WEBHOOK_POLL_INTERVAL_SECONDS="0.05",
        FUBBLE_BILLING_INTERVAL_SECONDS="0",
    )
    returncode, output = run_worker(env, lambda: bool(receiver.received))
    assert returncode == 0, output
    assert (
        "fubble worker on" in output and "billing off" in output and output.rstrip().endswith("fubble worker stopped")
    )
    (got,) = receiver.received
    assert Webhook(secret).verify(got.body, got.headers) == {
        "type": "invoice.paid",
        "timestamp": got.payload["timestamp"],
        "data": {"id": 7},
    }
