"""Admission control (fubble.api.admission): when every transaction slot of a worker is taken, a request waits its
turn or is refused fast with 503 and ``Retry-After``, before anything was done.

To fill the slots deterministically, a connection of the test holds a lock that customer creation needs (SQLite: the
write lock; PostgreSQL: a table lock on ``customers``): the admitted ``POST /customers/`` requests wait for it inside
their transactions, holding their slots, until the test lets go.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psycopg
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from bench.server import free_port
from fubble.api import admission
from fubble.api.app import create_app
from fubble.clock import FrozenClock
from fubble.config import Settings
from fubble.db.session import Database

QUEUE = 3
QUEUE_TIMEOUT_S = 0.5


@contextlib.contextmanager
def customers_locked(db: Database) -> Iterator[None]:
    url = make_url(db.url)
    if db.dialect == "sqlite":
        blocker = sqlite3.connect(str(url.database), isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            blocker.rollback()
            blocker.close()
        return
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn:
        conn.execute("LOCK TABLE customers IN SHARE ROW EXCLUSIVE MODE")  # blocks INSERTs, not reads
        yield
        conn.rollback()


async def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        await asyncio.sleep(0.01)


def test_a_full_worker_queues_then_refuses_fast_and_writes_only_what_it_answered(
    db: Database, clock: FrozenClock, make_key: Callable[[str], str]
) -> None:
    settings = Settings(database_url=db.url, request_queue_max=QUEUE, request_queue_timeout_s=QUEUE_TIMEOUT_S)
    app = create_app(settings, clock=clock, database=db)
    headers = {"Authorization": f"Bearer {make_key('admin')}"}

    async def scenario() -> dict[str, Any]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers) as client:

            async def create(n: int) -> tuple[httpx.Response, float]:
                began = time.monotonic()
                response = await client.post("/customers/", json={"name": f"C{n}", "email": f"c{n}@example.com"})
                return response, time.monotonic() - began

            assert (await client.get("/customers/")).status_code == 200  # the key is checked and its use recorded
            gate = admission.gate(app.state)
            with customers_locked(db):
                admitted = [asyncio.create_task(create(n)) for n in range(gate.size)]
                await until(lambda: gate.inside == gate.size, "every slot is taken")
                queued = [asyncio.create_task(create(gate.size + n)) for n in range(QUEUE)]
                await until(lambda: gate.waiting == QUEUE, "the queue is full")
                overflow, overflow_took = await create(999)  # one more than the queue holds: refused at once
                timed_out = await asyncio.gather(*queued)  # refused when their wait ran out
                reads = await client.get("/customers/")  # a read needs a slot too: refused as well
                scrape = await client.get("/-/metrics")  # no database: answered, full or not
            served = await asyncio.gather(*admitted)  # the lock is gone: the admitted ones commit
            after = await client.get("/customers/", params={"limit": 1000})
        return {
            "overflow": (overflow, overflow_took),
            "timed_out": timed_out,
            "read": reads,
            "scrape": scrape,
            "served": served,
            "after": after,
            "size": gate.size,
        }

    outcome = asyncio.run(scenario())

    overflow, took = outcome["overflow"]
    assert overflow.status_code == 503, overflow.text
    assert overflow.headers["Retry-After"] == "1"
    assert "busy" in overflow.json()["detail"]
    assert took < QUEUE_TIMEOUT_S  # refused without waiting
    for response, waited in outcome["timed_out"]:
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"] == "1"
        assert QUEUE_TIMEOUT_S * 0.9 <= waited < QUEUE_TIMEOUT_S + 5
    assert outcome["read"].status_code == 503
    assert outcome["scrape"].status_code == 200 and "fubble_http_request_duration_seconds" in outcome["scrape"].text
    assert [response.status_code for response, _ in outcome["served"]] == [201] * outcome["size"]
    stored = sorted(c["email"] for c in outcome["after"].json())
    assert stored == sorted(response.json()["email"] for response, _ in outcome["served"])


def test_the_slots_leave_room_for_every_connection_and_thread_used_beside_them(db: Database) -> None:
    threads = 40  # anyio's default thread pool
    size = admission.slots(db.max_connections, threads)
    assert size + admission.RESERVED <= min(db.max_connections, threads)
    assert size >= 8


def test_an_unreachable_database_is_a_503_with_retry_after_too() -> None:
    """The other 503 (fubble.api.errors): the database cannot be reached. Same documented answer."""
    nowhere = f"postgresql://postgres@127.0.0.1:{free_port()}/fubble"  # nothing listens there
    with TestClient(create_app(Settings(database_url=nowhere)), raise_server_exceptions=False) as client:
        response = client.get("/health")
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "1"
    assert "unavailable" in response.json()["detail"]


def test_every_operation_documents_the_503_and_its_retry_after(anon_client: TestClient) -> None:
    schema = anon_client.get("/openapi.json").json()
    operations = [(path, op) for path, item in schema["paths"].items() for op in item.values()]
    assert len(operations) > 40
    for path, operation in operations:
        busy = operation["responses"].get("503")
        assert busy is not None, path
        assert busy["headers"]["Retry-After"]["schema"] == {"type": "integer"}, path
