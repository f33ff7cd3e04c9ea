"""Batches answered by the fast path take turns in a worker process: at most ``FUBBLE_BATCH_WRITES_PER_WORKER``
transactions at a time (by default 1 on SQLite, 2 on PostgreSQL); the others wait, and every batch is stored."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fubble.api.app import create_app
from fubble.clock import FrozenClock
from fubble.config import Settings
from fubble.db.session import Database
from fubble.events import batch_store

from .helpers import all_events, event


@pytest.fixture
def most_at_once(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """``[the most batch transactions seen at once]``: each batch is held inside its transaction for 50 ms, so that
    batches sent together overlap unless they wait for a turn."""
    record = batch_store.record_parsed_batch
    lock = threading.Lock()
    now, most = [0], [0]

    def held(*args: Any, **kwargs: Any) -> Any:
        with lock:
            now[0] += 1
            most[0] = max(most[0], now[0])
        try:
            time.sleep(0.05)
            return record(*args, **kwargs)
        finally:
            with lock:
                now[0] -= 1

    monkeypatch.setattr(batch_store, "record_parsed_batch", held)
    return most


def _send_together(client: TestClient, customer_id: int, batches: int) -> None:
    def send(b: int) -> int:
        body = {"events": [event(customer_id, event_id=f"b{b}-{i}", quantity=1) for i in range(5)]}
        return client.post("/events/batch", json=body).status_code

    with ThreadPoolExecutor(max_workers=batches) as pool:
        assert list(pool.map(send, range(batches))) == [200] * batches
    assert len(all_events(client, customer_id)) == 5 * batches


def test_batches_take_the_default_turns(
    client: TestClient, customer_id: int, db: Database, most_at_once: list[int]
) -> None:
    _send_together(client, customer_id, 6)
    assert most_at_once == [2 if db.dialect == "postgresql" else 1]


@pytest.fixture
def three_turns_client(db: Database, clock: FrozenClock, admin_key: str) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=db.url, batch_writes_per_worker=3), clock=clock, database=db)
    with TestClient(app, headers={"Authorization": f"Bearer {admin_key}"}) as client:
        yield client


def test_the_turns_are_a_setting(three_turns_client: TestClient, customer_id: int, most_at_once: list[int]) -> None:
    _send_together(three_turns_client, customer_id, 6)
    assert most_at_once == [3]
