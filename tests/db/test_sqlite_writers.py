"""SQLite writers take turns without sleeping, across threads and processes, and checkpoint after their turn."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from fubble.db import sqlite_writers
from fubble.db.migrate import upgrade
from fubble.db.session import Database


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'writers.db'}"
    upgrade(url)
    db = Database(url, sqlite_busy_timeout_ms=5_000)
    yield db
    db.dispose()


def _write(db: Database, value: str) -> None:
    with db.transaction() as session:
        session.execute(text("INSERT INTO probe (value) VALUES (:v)"), {"v": value})


@pytest.fixture
def probe(sqlite_db: Database) -> Database:
    with sqlite_db.transaction() as session:
        session.execute(text("CREATE TABLE probe (value TEXT)"))
    return sqlite_db


def test_a_waiting_writer_begins_as_soon_as_the_holder_commits(probe: Database) -> None:
    """SQLite's busy handler would sleep up to 100 ms at a time; a writer waiting for its turn starts at once."""
    holder = probe.session(write=True)
    holder.execute(text("INSERT INTO probe (value) VALUES ('first')"))  # holds the turn
    started = threading.Event()
    done: list[float] = []

    def second() -> None:
        started.set()
        _write(probe, "second")
        done.append(time.monotonic())

    thread = threading.Thread(target=second)
    thread.start()
    started.wait()
    time.sleep(0.3)  # the second writer is waiting by now (its busy handler would be sleeping 100 ms at a time)
    assert not done
    committed = time.monotonic()
    holder.commit()
    holder.close()
    thread.join(5)
    assert done and done[0] - committed < 0.05
    with probe.session(write=False) as session:
        assert session.execute(text("SELECT value FROM probe ORDER BY rowid")).scalars().all() == [
            "first",
            "second",
        ]


_OTHER_PROCESS = """
import sqlite3, sys, time
from fubble.db.sqlite_writers import WriterConnection
conn = sqlite3.connect(sys.argv[1], factory=WriterConnection, isolation_level=None)
conn.take_turn(5000)  # the turn alone: SQLite's own lock stays free
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
conn.end_turn()
"""


def test_writers_of_another_process_take_turns_too(probe: Database, tmp_path: Path) -> None:
    path = str(tmp_path / "writers.db")
    with subprocess.Popen(
        [sys.executable, "-c", _OTHER_PROCESS, path, "0.5"], stdout=subprocess.PIPE, text=True
    ) as other:
        assert other.stdout is not None and other.stdout.readline().strip() == "holding"
        started = time.monotonic()
        _write(probe, "after")
        assert time.monotonic() - started >= 0.3  # waited for the other process's turn to end
    assert other.returncode == 0


def test_a_turn_that_never_comes_ends_in_sqlites_own_busy_error(tmp_path: Path) -> None:
    """After the busy timeout of waiting, the writer goes on to BEGIN IMMEDIATE, and SQLite's busy handler reports
    the lock (a retryable "database is locked"), as without turns."""
    url = f"sqlite:///{tmp_path / 'writers.db'}"
    upgrade(url)
    db = Database(url, sqlite_busy_timeout_ms=200)
    holder = db.session(write=True)
    try:
        holder.execute(text("SELECT 1"))  # holds the turn and the write lock
        with pytest.raises(OperationalError, match="database is locked"), db.transaction() as session:
            session.execute(text("SELECT 1"))
    finally:
        holder.close()
        db.dispose()


def test_a_rolled_back_or_failed_transaction_ends_its_turn(probe: Database) -> None:
    with pytest.raises(OperationalError), probe.transaction() as session:
        session.execute(text("INSERT INTO no_such_table VALUES (1)"))
    _write(probe, "next")  # would wait the busy timeout (5 s) and fail if the turn had not ended
    session = probe.session(write=True)
    session.execute(text("SELECT 1"))
    session.rollback()
    session.close()
    _write(probe, "again")


def _watch_checkpoints(
    monkeypatch: pytest.MonkeyPatch, before: threading.Event | None = None
) -> tuple[threading.Event, list[str]]:
    """An event set once a checkpoint thread has finished, and the paths checkpoints were started for; ``before``, if
    given, holds each checkpoint back until set."""
    done = threading.Event()
    started: list[str] = []
    real = sqlite_writers._checkpoint

    def checkpoint(path: str, shared: sqlite_writers._File) -> None:
        started.append(path)
        if before is not None:
            before.wait(10)
        real(path, shared)
        done.set()

    monkeypatch.setattr(sqlite_writers, "_checkpoint", checkpoint)
    return done, started


def test_a_commit_checkpoints_the_log_after_its_turn(probe: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_writers, "CHECKPOINT_NS", 0)
    done, started = _watch_checkpoints(monkeypatch)
    _write(probe, "x" * 100_000)  # many pages
    assert done.wait(10) and started == [os.path.realpath(str(probe.engine.url.database))]
    with probe.engine.connect() as conn:
        # A checkpoint that finds nothing left to copy: everything logged was checkpointed after the commit.
        busy, logged, copied = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
    assert busy == 0 and logged == copied


def test_a_commit_does_not_wait_for_its_checkpoint(probe: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """The checkpoint runs in a thread of its own: the commit (and so the answer to the request) does not wait."""
    monkeypatch.setattr(sqlite_writers, "CHECKPOINT_NS", 0)
    release = threading.Event()
    done, started = _watch_checkpoints(monkeypatch, before=release)
    _write(probe, "x" * 100_000)  # returns while the checkpoint is held back
    _write(probe, "y" * 100_000)  # a second commit while one is under way starts no other
    deadline = time.monotonic() + 10
    while not started and time.monotonic() < deadline:  # the checkpoint's thread may not have begun yet
        time.sleep(0.001)
    assert not done.is_set() and len(started) == 1
    release.set()
    assert done.wait(10) and len(started) == 1
    with probe.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM probe").scalar() == 2


def test_a_checkpoint_of_a_database_gone_is_skipped(tmp_path: Path) -> None:
    shared = sqlite_writers._File()
    assert shared.checkpointing.acquire(blocking=False)
    sqlite_writers._checkpoint(str(tmp_path / "gone.db"), shared)  # raises nothing, creates nothing
    assert not (tmp_path / "gone.db").exists()
    assert shared.checkpointing.acquire(blocking=False)  # released


def test_no_checkpoint_before_it_is_due(probe: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_writers, "CHECKPOINT_NS", 3600 * 10**9)
    with probe.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
    _write(probe, "x" * 100_000)
    wal = Path(str(probe.engine.url.database) + "-wal")
    assert wal.stat().st_size > 100_000  # still in the log


def test_a_commit_returns_after_syncing_the_log(probe: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """Writers run with synchronous=NORMAL and sync the log themselves, after their turn and before the commit
    returns, so an acknowledged write is on disk as with synchronous=FULL."""
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(sqlite_writers.os, "fsync", fsync)
    session = probe.session(write=True)
    session.execute(text("INSERT INTO probe (value) VALUES ('durable')"))
    assert session.execute(text("PRAGMA synchronous")).scalar_one() == 1  # NORMAL: SQLite does not sync the log
    session.commit()
    session.close()
    assert synced == [str(probe.engine.url.database) + "-wal"]
    with probe.session(write=False) as reader:  # a read transaction syncs nothing
        reader.execute(text("SELECT value FROM probe")).all()
    assert len(synced) == 1


def test_a_write_without_a_turn_is_synced_too(probe: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """A connection that wrote once runs synchronous=NORMAL from then on: a later write through a read session (no
    turn taken) is synced by the commit as well, so no acknowledged write is left unsynced."""
    synced: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(sqlite_writers.os, "fsync", fsync)
    _write(probe, "with a turn")
    assert len(synced) == 1
    session = probe.session(write=False)
    session.execute(text("INSERT INTO probe (value) VALUES ('without a turn')"))
    mode = session.execute(text("PRAGMA synchronous")).scalar_one()
    session.commit()
    session.close()
    assert mode == 2 or len(synced) == 2  # FULL: SQLite syncs it itself; NORMAL: the commit did
