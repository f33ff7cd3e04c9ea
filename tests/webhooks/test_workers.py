"""Several delivery workers on one database: each attempt is sent once, and a dead worker's claims are taken over
once they expire."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from fubble.clock import FrozenClock
from fubble.config import Settings
from fubble.db.session import Database
from fubble.webhooks import outbox, repository
from fubble.webhooks.delivery import WebhookWorker
from fubble.webhooks.event_types import EventType
from tests.webhooks.conftest import Receiver, endpoint

MESSAGES = 60


def emit_many(db: Database, clock: FrozenClock, count: int) -> None:
    with db.transaction() as session:
        for n in range(count):
            outbox.emit(session, EventType.INVOICE_CREATED, {"n": n}, at=clock.now())


def test_two_workers_at_once_send_each_attempt_once(
    client: TestClient, receiver: Receiver, db: Database, clock: FrozenClock, settings: Settings
) -> None:
    hook = endpoint(client, receiver.url, "invoice.created")
    emit_many(db, clock, MESSAGES)
    start = threading.Barrier(2)
    claimed: dict[str, int] = {}

    def drain(worker: WebhookWorker) -> None:
        start.wait()
        total = 0
        while sent := worker.deliver_due(limit=3):
            total += sent
        claimed[worker.holder] = total

    workers = [WebhookWorker(db, clock, settings, holder=f"worker {n}") for n in (1, 2)]
    threads = [threading.Thread(target=drain, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    for worker in workers:
        worker.close()

    ids = Counter(r.headers["webhook-id"] for r in receiver.received)
    assert len(ids) == MESSAGES and set(ids.values()) == {1}
    assert sum(claimed.values()) == MESSAGES
    log = client.get(f"/webhook-endpoints/{hook['id']}/deliveries", params={"limit": 1000}).json()
    assert len(log) == MESSAGES and {(e["attempt"], e["status_code"]) for e in log} == {(1, 200)}
    assert sorted(r.payload["data"]["n"] for r in receiver.received) == list(range(MESSAGES))


def test_a_dead_workers_claims_expire(
    client: TestClient, receiver: Receiver, db: Database, clock: FrozenClock, worker: WebhookWorker
) -> None:
    endpoint(client, receiver.url, "invoice.created")
    emit_many(db, clock, 2)
    real_now = datetime.now(UTC)
    with db.transaction() as session:  # a worker claims both, then dies before sending
        taken = repository.claim(
            session,
            due_by=clock.now(),
            lease_now=real_now,
            until=real_now + timedelta(seconds=0.3),
            holder="dead worker",
            limit=10,
        )
    assert len(taken) == 2
    assert worker.deliver_due() == 0  # claimed by another
    threading.Event().wait(0.35)
    assert worker.deliver_due() == 2
    assert len(receiver.received) == 2
    with db.transaction() as session:  # the dead worker's late report is ignored: its claim is gone
        assert not repository.record(
            session, taken[0], holder="dead worker", at=clock.now(), status_code=500, error="HTTP 500",
            next_attempt_at=None,
        )  # fmt: skip
