from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from fubble.db import session as session_module
from fubble.db.session import Database, snapshot


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


def _add_customer(db: Database, n: int) -> None:
    with db.transaction() as session:
        session.execute(
            text(
                "INSERT INTO customers (name, email, currency, invoice_seq, created_at, updated_at) "
                "VALUES ('c', :email, 'USD', 0, :now, :now)"
            ),
            {"email": f"c{n}@snapshot.example.com", "now": datetime(2024, 1, 1, tzinfo=UTC)},
        )


def _customers(session: Session) -> int:
    return int(session.execute(text("SELECT count(*) FROM customers")).scalar_one())


def test_a_snapshot_sees_one_state_of_the_database(db: Database) -> None:
    """Inside ``snapshot`` a read sees the database as it was at its first statement; a PostgreSQL read session
    outside one sees each commit (it runs in autocommit: no BEGIN and ROLLBACK round trips)."""
    _add_customer(db, 1)
    reader = db.session(write=False)
    try:
        with snapshot(reader):
            assert _customers(reader) == 1
            _add_customer(db, 2)
            assert _customers(reader) == 1
        if db.dialect == "postgresql":
            assert _customers(reader) == 2
    finally:
        reader.close()


@pytest.mark.parametrize("database", ["postgres"], indirect=True)  # SQLite reads are transactions never committed
def test_a_postgresql_read_session_refuses_to_write(db: Database) -> None:
    """In autocommit a write would be committed at once, though reads never commit: it is refused instead."""
    assert db.dialect == "postgresql"
    _add_customer(db, 1)
    reader = db.session(write=False)
    try:
        with pytest.raises(RuntimeError, match="must not write"):
            reader.execute(text("DELETE FROM customers"))
    finally:
        reader.close()
    with db.transaction() as session:
        assert _customers(session) == 1
