"""Fixtures of the robustness tests: a fresh database per test (SQLite file or PostgreSQL database) and real server
processes on it, always killed at the end.

PostgreSQL: the session's ``postgres_url`` fixture decides whether PostgreSQL is reachable (skip locally, fail in CI /
with ``FUBBLE_REQUIRE_POSTGRES=1``); each test then gets its OWN empty database on that server
(:func:`bench.server.database_url`), because a server process must start from an empty schema and the session
database is shared with the in-process tests.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bench.server import ServerProcess, create_admin_key, database_url

BACKENDS = ["sqlite", "postgres"]
ServerFactory = Callable[..., tuple[ServerProcess, str]]


@contextlib.contextmanager
def fresh_database(request: pytest.FixtureRequest, kind: str, directory: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{directory}/robustness.db"
        return
    request.getfixturevalue("postgres_url")  # skips (or fails in CI) when PostgreSQL is unreachable
    with database_url("postgres") as url:
        yield url


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(request, request.param, tmp_path) as url:
        yield url


@pytest.fixture
def server_factory(db_url: str, tmp_path: Path) -> Iterator[ServerFactory]:
    """``make(workers=1) -> (server, admin key)``: migrates ``db_url`` and creates an admin key with the real CLI
    (``fubble db upgrade`` + ``fubble keys create --scope admin``), then starts ``fubble serve``. Every server made
    is stopped (or killed) at the end, even when the test fails."""
    servers: list[ServerProcess] = []

    def make(workers: int = 1) -> tuple[ServerProcess, str]:
        key = create_admin_key(db_url)
        server = ServerProcess(db_url, workers=workers, log_dir=tmp_path)
        servers.append(server)
        server.start()
        return server, key

    try:
        yield make
    finally:
        for server in servers:
            server.stop()
