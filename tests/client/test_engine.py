"""``fubble.Engine``: the client's namespaces in-process, on a new SQLite file and on a new PostgreSQL database,
migrated on first use; the scenario to the cent at a frozen "now"; the same errors as the client."""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest

import fubble
from bench.server import database_url
from fubble import Engine, errors
from fubble.client import InvalidInputError, NotFoundError
from fubble.clock import FrozenClock
from fubble.customers.schemas import CustomerOut
from tests.client import scenario
from tests.conftest import require_postgres

NOW = datetime(2024, 3, 5, 12, tzinfo=UTC)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'billing.db'}"


@pytest.fixture
def postgres_db() -> Iterator[str]:
    require_postgres()
    with database_url("postgres", prefix="fubble_engine") as url:
        yield url


def test_the_scenario_on_a_new_sqlite_file(sqlite_url: str, suffix: str) -> None:
    with Engine(sqlite_url, clock=FrozenClock(NOW)) as engine:
        outcome = scenario.run(engine, suffix, bill_as_of=None)  # a run as of the engine's now
        scenario.check(outcome)
        assert engine.billing.list_runs()[0].as_of == NOW
    with Engine(sqlite_url) as again:  # the same file, already migrated: everything is there
        assert again.invoices.get(outcome.february.id) == outcome.february
        assert again.customers.get(outcome.customer_id).external_id == suffix


def test_the_scenario_on_a_new_postgresql_database(postgres_db: str, suffix: str) -> None:
    with Engine(postgres_db, clock=FrozenClock(NOW)) as engine:
        scenario.check(scenario.run(engine, suffix, bill_as_of=None))


def test_errors_are_the_clients(sqlite_url: str) -> None:
    with Engine(sqlite_url) as engine:
        with pytest.raises(errors.NotFound) as missing:
            engine.invoices.get(1)
        assert isinstance(missing.value, NotFoundError) and missing.value.detail == "invoice 1 not found"
        with pytest.raises(InvalidInputError) as invalid:
            engine.customers.create(name="Bad", email="a@example.com", currency="DOLLARS")
        assert [entry["loc"] for entry in invalid.value.detail] == [["body", "currency"]]


def test_the_clock_is_the_engines_now(sqlite_url: str) -> None:
    clock = FrozenClock(NOW)
    with Engine(sqlite_url, clock=clock) as engine:
        customer = engine.customers.create(name="Then", email="then@example.com")
        assert customer.created_at == NOW
        engine.metrics.create(name="calls")
        assert engine.events.record(customer_id=customer.id, metric_name="calls", quantity=2).event_time == NOW


def test_callers_in_threads_and_inside_a_running_event_loop(sqlite_url: str) -> None:
    """As from a web app's worker threads, and from a notebook (whose event loop runs in the calling thread)."""
    with Engine(sqlite_url) as engine:
        with ThreadPoolExecutor(4) as pool:
            made = list(pool.map(lambda n: engine.customers.create(name=f"c{n}", email=f"c{n}@example.com"), range(8)))
        assert sorted(c.id for c in made) == list(range(1, 9))

        async def notebook_cell() -> list[CustomerOut]:
            return engine.customers.list(limit=3)

        assert [c.id for c in asyncio.run(notebook_cell())] == [1, 2, 3]


def test_a_closed_engine_refuses_calls(sqlite_url: str) -> None:
    engine = Engine(sqlite_url)
    engine.customers.list()
    engine.close()
    engine.close()
    with pytest.raises(RuntimeError):
        engine.customers.list()


def test_an_engine_dropped_without_close_is_closed_and_never_holds_the_process(sqlite_url: str) -> None:
    """Its event loop runs in a daemon thread (a script that never closes it still exits), which stops when the
    engine is collected."""
    before = set(threading.enumerate())
    engine = Engine(sqlite_url)
    engine.customers.list()
    [loop] = [thread for thread in set(threading.enumerate()) - before if thread.name == "fubble-engine"]
    assert loop.daemon
    del engine
    gc.collect()
    loop.join(5)
    assert not loop.is_alive()


def test_fubble_exports_the_engine_lazily() -> None:
    assert fubble.__all__ == ["Engine", "__version__"]
    assert fubble.Engine is Engine
    light = "import sys, fubble; assert 'fubble.client' not in sys.modules and 'fastapi' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", light], timeout=60).returncode == 0
