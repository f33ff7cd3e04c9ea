from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from fubble.db import session as session_module
from fubble.db.session import Database


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_in_memory_sqlite_is_refused_with_a_clear_message(url: str) -> None:
    with pytest.raises(ValueError, match="in-memory SQLite is not supported"):
        Database(url)


def _backend_pid(database: Database) -> int:
    with database.transaction() as session:
        return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_postgresql_connection_lost_while_idle_is_replaced_before_use(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pooled connections are checked only after sitting idle (here: any idle time counts); one that died meanwhile
    is replaced, so the transaction that follows does not fail."""
    database = Database(postgres_url)
    try:
        first = _backend_pid(database)
        with psycopg.connect(postgres_url.replace("+psycopg", ""), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (first,))
        monkeypatch.setattr(session_module, "IDLE_BEFORE_PING_NS", 0)
        assert _backend_pid(database) != first  # a new connection, and no error
    finally:
        database.dispose()


def test_a_connection_in_steady_use_is_not_pinged(postgres_url: str) -> None:
    """Within the idle limit a connection is handed out as is: a dead one then fails its transaction (and is replaced
    for the next one), rather than every transaction paying a round trip for a ping."""
    database = Database(postgres_url)
    try:
        first = _backend_pid(database)
        with psycopg.connect(postgres_url.replace("+psycopg", ""), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (first,))
        with pytest.raises(OperationalError):
            _backend_pid(database)
        assert _backend_pid(database) != first
    finally:
        database.dispose()
