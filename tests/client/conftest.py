"""One real ``fubble serve`` process (SQLite, authentication on, an admin key) for the client tests of this run, and
what the tests name their objects with (the server is shared, so names carry a suffix of their own)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.server import ServerProcess
from fubble.api_keys import service as key_service
from fubble.api_keys.scopes import Scope
from fubble.clock import SystemClock
from fubble.db.migrate import upgrade
from fubble.db.session import Database


@dataclass(frozen=True)
class Served:
    base: str
    key: str
    db_path: Path


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("client-server")
    db_path = root / "served.db"
    url = f"sqlite:///{db_path}"
    upgrade(url)
    database = Database(url)
    with database.transaction() as session:
        _row, key = key_service.create(session, name="client tests", scope=Scope.admin, clock=SystemClock())
    database.dispose()
    server = ServerProcess(
        url,
        workers=1,
        log_dir=root,
        access_log=False,
        extra_args=["--no-migrate"],
        extra_env={
            "FUBBLE_BILLING_INTERVAL_SECONDS": "0",  # the tests bill 2024 themselves
            "FUBBLE_SQLITE_BUSY_TIMEOUT_MS": "50",  # a write lock held by a test turns into a 503 quickly
        },
    )
    base = server.start()
    try:
        yield Served(base, key, db_path)
    finally:
        server.stop()


@pytest.fixture
def suffix() -> str:
    return uuid.uuid4().hex[:10]
