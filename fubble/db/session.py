"""Engines and sessions: the one place that knows how to talk to SQLite or PostgreSQL.

SQLite runs in WAL mode with ``synchronous=FULL`` (an acknowledged write survives a crash), foreign keys on, and
writers that take the write lock up front (``BEGIN IMMEDIATE``) so read-then-write transactions never fail halfway;
they queue for it and checkpoint as :mod:`fubble.db.sqlite_writers` describes.
It also gets exact-decimal aggregate functions (see :mod:`fubble.db.functions`).

PostgreSQL reads (``Database.session(write=False)``) run without a transaction (autocommit). Under READ COMMITTED every
statement takes its own snapshot anyway, so a read transaction added nothing but its ``BEGIN`` and ``ROLLBACK`` round
trips: 1-2 ms of an 8-10 ms upcoming invoice or usage series. Such a session refuses to write (a programming error:
reads never commit), and a read that must see one snapshot across statements, or streams through a server-side
cursor, opens one with :func:`snapshot`.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from fubble.db.functions import register_sqlite_functions
from fubble.db.sqlite_writers import WriterConnection


def normalize_url(url: str) -> str:
    """Accept the usual spellings (``postgres://``, ``postgresql://``) and pick the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


# Each engine's connection pool: (pool_size, max_overflow). The request pipeline admits fewer transactions at once
# than the pool holds connections (fubble.api.admission), so a request never waits for another's connection.
POOL_SIZES = {"sqlite": (8, 16), "postgresql": (10, 20)}


def make_engine(url: str, *, sqlite_busy_timeout_ms: int = 30_000) -> Engine:
    url = normalize_url(url)
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        if make_url(url).database in (None, "", ":memory:"):
            # Each pooled connection would open its own empty database.
            raise ValueError("in-memory SQLite is not supported: give a file, e.g. sqlite:///./fubble.db")
        engine = create_engine(
            url,
            connect_args={
                "check_same_thread": False,
                "timeout": sqlite_busy_timeout_ms / 1000,
                "factory": WriterConnection,
            },
            pool_size=POOL_SIZES["sqlite"][0],
            max_overflow=POOL_SIZES["sqlite"][1],
        )
        _configure_sqlite(engine, sqlite_busy_timeout_ms)
        return engine
    if backend == "postgresql":
        pool_size, max_overflow = POOL_SIZES["postgresql"]
        engine = create_engine(url, pool_size=pool_size, max_overflow=max_overflow)
        _ping_idle_connections(engine)
        return engine
    raise ValueError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")


# A pooled connection unused for this long is checked with a round trip before it is handed out (see below).
IDLE_BEFORE_PING_NS = 10 * 1_000_000_000


def _ping_idle_connections(engine: Engine) -> None:
    """Check a pooled PostgreSQL connection before use only if it sat idle for a while (a restarted server or a
    dropped connection shows there); one in steady use is handed out without the extra round trip that
    ``pool_pre_ping`` would cost every transaction. A connection that died in between fails its transaction, and
    SQLAlchemy then replaces every pooled connection older than that failure."""

    @event.listens_for(engine, "checkin")
    def on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["fubble_idle_since"] = time.monotonic_ns()

    @event.listens_for(engine, "checkout")
    def on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("fubble_idle_since")
        if idle_since is None or time.monotonic_ns() - idle_since < IDLE_BEFORE_PING_NS:
            return
        try:
            dbapi_connection.execute("SELECT 1")
            dbapi_connection.rollback()
        except Exception as exc:  # the pool then discards this connection and connects anew
            raise DisconnectionError("connection lost while idle") from exc


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN itself (pysqlite's own transaction handling is broken).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()
        register_sqlite_functions(dbapi_connection)

    @event.listens_for(engine, "begin")
    def on_begin(conn: Any) -> None:
        if not conn.get_execution_options().get("fubble_write", False):
            conn.exec_driver_sql("BEGIN")
            return
        driver = conn.connection.dbapi_connection
        driver.take_turn(busy_timeout_ms)  # see fubble.db.sqlite_writers
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            driver.end_turn()
            raise


class Database:
    """Owns the engine and hands out sessions. Sessions never commit on their own: the caller's boundary does."""

    def __init__(self, url: str, *, sqlite_busy_timeout_ms: int = 30_000) -> None:
        self.url = normalize_url(url)
        self.engine = make_engine(self.url, sqlite_busy_timeout_ms=sqlite_busy_timeout_ms)
        self.dialect = self.engine.dialect.name
        self.max_connections = sum(POOL_SIZES[self.dialect])  # the most the pool holds at once
        read_bind = self.engine
        if self.dialect == "postgresql":
            read_bind = self.engine.execution_options(isolation_level="AUTOCOMMIT")
            event.listen(read_bind, "before_cursor_execute", _refuse_writes)
        self._read = sessionmaker(bind=read_bind, expire_on_commit=False, autoflush=True)
        self._write = sessionmaker(
            bind=self.engine.execution_options(fubble_write=True), expire_on_commit=False, autoflush=True
        )

        from fubble.audit.recorder import install as install_audit

        install_audit(self._write)

    def session(self, *, write: bool) -> Session:
        return (self._write if write else self._read)()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write unit of work for jobs and the CLI: commits on success, rolls back on error."""
        session = self.session(write=True)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


_READS = ("SELECT", "WITH", "BEGIN", "COMMIT", "ROLLBACK", "SHOW")


def _refuse_writes(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    """A PostgreSQL read session runs in autocommit, where a write would be committed at once: refuse it."""
    if not statement.lstrip()[:8].upper().startswith(_READS):
        raise RuntimeError(f"a read session must not write: {statement[:80]!r}")


@contextmanager
def snapshot(session: Session) -> Iterator[None]:
    """Run the block in one read-only REPEATABLE READ transaction: one snapshot for all its statements, and
    server-side cursors (``yield_per``) work. Only PostgreSQL read sessions need it (they run in autocommit; SQLite
    reads are a transaction already); elsewhere it does nothing."""
    driver: Any = session.connection().connection.dbapi_connection
    if not getattr(driver, "autocommit", False):
        yield
        return
    with driver.cursor() as cursor:
        cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    try:
        yield
    finally:
        with driver.cursor() as cursor:
            cursor.execute("COMMIT")
