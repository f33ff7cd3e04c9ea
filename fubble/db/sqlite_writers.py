"""How SQLite writers share a database file: they take turns without sleeping, and checkpoint outside their turn.

**Turns.** SQLite lets one transaction write at a time. A writer that finds the lock taken is left to SQLite's busy
handler, which *sleeps* (1, 2, 5 ... up to 100 ms at a time) and tries again: when the holder commits, the next
writer may still be asleep while the database sits idle. Under load (batches from several clients, the group commits
of two server processes) that idle time was a large share of the total. So writers queue up in front of ``BEGIN
IMMEDIATE`` instead: the threads of one process on a :class:`threading.Lock`, which hands over at once, and the one
thread per process that holds it against the other processes on an exclusive ``flock`` of a file next to the database
(``<database>-writers``), polled every half millisecond. The turn ends with the transaction (commit, rollback, the
connection closing). SQLite's own lock still guards the data: a writer that has waited longer than the busy timeout (a
stuck transaction, or a writer that does not take turns, such as the ``sqlite3`` shell) goes on to ``BEGIN
IMMEDIATE`` and SQLite's busy handler, which gives the usual "database is locked" error if the lock stays taken.

**Syncing.** A commit is durable once the log is on disk. With ``synchronous=FULL``, SQLite syncs the log inside
``COMMIT``, during the turn. Writers here run with ``synchronous=NORMAL`` (SQLite writes the log but does not sync it)
and sync the log file themselves right after their turn, before the commit returns: the same guarantee (nothing is
acknowledged before it is on disk), while the next writer already works (a 10,000-event batch: 6 of its 13 ms of
commit). Checkpoints still sync as they always do, so the log is never reused before its content is in the database
file on disk.

**Cache.** Writers get a page cache of :data:`WRITER_CACHE_KIB` instead of SQLite's 2 MB, so that a large batch's
changed pages stay in memory until its commit.

**Checkpoints.** In WAL mode, SQLite copies the log back into the database file (a checkpoint) by itself once the log
holds 1,000 pages, inside the ``COMMIT`` that crosses that mark: during that writer's turn, so every other writer waits
for it too (a 10,000-event batch: 60 ms of commit, 40 of them checkpoint). Here the commit that ends a turn starts a
checkpoint (``PASSIVE``: it never blocks other writers or readers) when the last checkpoint of this process is more than
:data:`CHECKPOINT_NS` old, in a thread and on a connection of its own, and returns without waiting for it: the server
answers and reads its next request meanwhile (1,000 customers per 10,000-event batch: 107,000-109,000 -> 114,000
events/s, interleaved). Should the database be gone by then, the checkpoint is skipped. SQLite's own automatic
checkpoint stays as a backstop, at :data:`BACKSTOP_PAGES`. The backstop is not rare: the log starts over from its
beginning only when a write transaction begins with every committed page already copied back, and with two processes
writing large batches the other one has nearly always committed since the last checkpoint. So the log grows until the
backstop's checkpoint, which copies the last batch back inside a commit again (1,000 customers per 10,000-event batch:
about 4,700 pages and 45 ms, during the turn). At 10,000 pages that came every third batch (37 ms of commit per batch on
average, 15 without it); at 40,000, every eighth or so (15-20 ms), for a log of up to 160 MB on disk.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: writers of other processes are then left to SQLite's busy handler
    fcntl = None  # type: ignore[assignment]

_POLL_SECONDS = 0.0005
CHECKPOINT_NS = 250_000_000  # at most one checkpoint per process every 0.25 s
BACKSTOP_PAGES = 40_000  # SQLite's automatic checkpoint, should the log grow this long (160 MB of 4 KiB pages)
# A writer's page cache: a 10,000-event batch changes about 3 MB of pages, more than SQLite's default 2 MB, which made
# it spill pages to the log before the commit and read them back (an insert took 15-20% longer).
WRITER_CACHE_KIB = 32 * 1024


class _File:
    """What the connections of one process share about one database file."""

    def __init__(self) -> None:
        self.turns = threading.Lock()
        self.checkpointing = threading.Lock()
        self.last_checkpoint = time.monotonic_ns()


_FILES: dict[str, _File] = {}
_FILES_GUARD = threading.Lock()


def _shared(path: str) -> _File:
    with _FILES_GUARD:
        shared = _FILES.get(path)
        if shared is None:
            shared = _FILES[path] = _File()
        return shared


class WriterConnection(sqlite3.Connection):
    """A SQLite connection whose write transactions take turns (:meth:`take_turn` before ``BEGIN IMMEDIATE``) and
    checkpoint after them. Use as ``sqlite3.connect(..., factory=WriterConnection)``."""

    _file: _File | None = None
    _path = ""
    _fd = -1
    _held = 0  # 0: no turn; 1: the process's lock; 2: that and the file lock
    _writing = False  # in a write transaction (begun after take_turn)
    _synced_changes = 0  # total_changes when the log was last synced

    def take_turn(self, timeout_ms: int) -> None:
        """Wait (at most ``timeout_ms`` milliseconds) until this connection may begin a write transaction."""
        if self._file is None:
            (path,) = (row[2] for row in self.execute("PRAGMA database_list") if row[1] == "main")
            self._path = os.path.realpath(path)
            self._fd = os.open(self._path + "-writers", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            self._file = _shared(self._path)
            self.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
            self.execute("PRAGMA synchronous=NORMAL")  # commit() syncs the log itself, after the turn
            self.execute(f"PRAGMA cache_size=-{WRITER_CACHE_KIB}")
        self._writing = True
        deadline = time.monotonic_ns() + timeout_ms * 1_000_000
        if not self._file.turns.acquire(timeout=timeout_ms / 1000):
            return  # SQLite's busy handler takes over
        self._held = 1
        while fcntl is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic_ns() >= deadline:
                    return
                time.sleep(_POLL_SECONDS)
                continue
            self._held = 2
            return

    def end_turn(self) -> bool:
        """End this connection's turn; whether it had one."""
        held, self._held = self._held, 0
        if held == 2 and fcntl is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        if held and self._file is not None:
            self._file.turns.release()
        return bool(held)

    def commit(self) -> None:
        writing, self._writing = self._writing, False
        try:
            super().commit()
        finally:
            self.end_turn()
        # Also a write that did not take a turn (a read session that wrote): this connection runs synchronous=NORMAL.
        if writing or (self._file is not None and self.total_changes != self._synced_changes):
            self._sync_log()
            self._synced_changes = self.total_changes
            self._checkpoint_if_due()

    def rollback(self) -> None:
        self._writing = False
        try:
            super().rollback()
        finally:
            self.end_turn()

    def _sync_log(self) -> None:
        """Put the log, and so this commit, on disk. The log file exists while this connection is open; should it not
        (a journal mode other than WAL), the database file is synced instead."""
        try:
            fd = os.open(self._path + "-wal", os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            fd = os.open(self._path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.end_turn()
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def _checkpoint_if_due(self) -> None:
        shared = self._file
        if shared is None or time.monotonic_ns() - shared.last_checkpoint < CHECKPOINT_NS:
            return
        if not shared.checkpointing.acquire(blocking=False):
            return  # another thread of this process is at it
        thread = threading.Thread(target=_checkpoint, args=(self._path, shared), name="sqlite-checkpoint", daemon=True)
        thread.start()


def _checkpoint(path: str, shared: _File) -> None:
    """Copy the log back into the database file (``PASSIVE``), on a connection of its own, in a thread of its own:
    the commit that found it due has returned meanwhile. Holds ``shared.checkpointing`` (taken by the caller)."""
    try:
        conn = sqlite3.connect(f"{Path(path).as_uri()}?mode=rw", uri=True)
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        pass  # the file is gone (a test's database), or unreadable: a later checkpoint, or the backstop, copies it
    finally:
        shared.last_checkpoint = time.monotonic_ns()
        shared.checkpointing.release()
