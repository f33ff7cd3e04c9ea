"""Admission control: how many request transactions a worker process runs at once, and what the others do meanwhile.

A request's transaction holds a pooled database connection (and on SQLite, once it writes, the process's write turn)
from its first statement to its commit, and its synchronous parts run in the thread pool: the endpoint in one
thread-pool call, the commit in another. Without a bound, a burst of clients took every thread-pool slot with
requests waiting for a connection (or for the write turn), and the transactions that held one could not get a slot
to commit: every request stalled until the pool's 30-second timeout, then failed with a 500.

So a request enters the gate of its worker *before* its session is opened (:func:`admitted`, used by
:func:`fubble.api.routing.in_transaction`, the one way the routes run a transaction). At most :func:`slots` are
inside at once: fewer than the database connections of the pool and the threads of the thread pool, minus
:data:`RESERVED` for the work that runs beside the request transactions (the group commit of single events, API key
checks). So an admitted transaction always gets a connection without waiting for another request, and a thread
whenever it needs one: it runs to its commit. The others wait their turn, first come first served, without holding
anything; one that would wait longer than ``request_queue_timeout_s``, or find ``request_queue_max`` requests waiting
already, is refused with 503 and ``Retry-After`` (:class:`~fubble.errors.Unavailable`) before it did anything, so a
refusal never leaves a partial write.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from anyio import to_thread

from fubble.errors import Unavailable

# Connections and threads kept for what runs beside the request transactions: the group commit of single events
# (one transaction at a time), API key lookups and last-use updates (fubble.api.auth), a batch route's turns.
RESERVED = 4


def slots(connections: int, threads: int) -> int:
    """How many request transactions one worker runs at once, given its pool's connections and its thread pool's
    threads."""
    return max(1, min(connections, threads) - RESERVED)


class Gate:
    """The transaction slots of one worker process (for one event loop: a semaphore belongs to one)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, size: int, *, max_waiting: int, timeout_s: float) -> None:
        self.loop = loop
        self.size = size
        self.max_waiting = max_waiting
        self.timeout_s = timeout_s
        self.waiting = 0  # requests waiting for a slot
        self.inside = 0  # requests holding one
        self._slots = asyncio.Semaphore(size)

    @asynccontextmanager
    async def admitted(self) -> AsyncIterator[None]:
        if self._slots.locked():  # every slot taken: wait in line, if the line is not too long and moves in time
            if self.waiting >= self.max_waiting:
                raise _refusal(f"{self.waiting} requests are waiting already")
            self.waiting += 1
            try:
                async with asyncio.timeout(self.timeout_s):
                    await self._slots.acquire()
            except TimeoutError:
                raise _refusal(f"no transaction slot came free within {self.timeout_s:g} s") from None
            finally:
                self.waiting -= 1
        else:
            await self._slots.acquire()  # a free slot: taken without waiting
        self.inside += 1
        try:
            yield
        finally:
            self.inside -= 1
            self._slots.release()


def _refusal(why: str) -> Unavailable:
    return Unavailable(f"the server is busy ({why}); retry in a second")


def gate(state: Any) -> Gate:
    """The worker's gate for the running event loop (``state`` is ``app.state``; the test client may run each request
    in a loop of its own)."""
    loop = asyncio.get_running_loop()
    current: Gate | None = getattr(state, "admission", None)
    if current is None or current.loop is not loop:
        threads = int(to_thread.current_default_thread_limiter().total_tokens)
        settings = state.settings
        current = state.admission = Gate(
            loop,
            slots(state.db.max_connections, threads),
            max_waiting=settings.request_queue_max,
            timeout_s=settings.request_queue_timeout_s,
        )
    return current


def admitted(state: Any) -> Any:
    """``async with admitted(app.state):`` run a request transaction inside the worker's gate (503 if refused)."""
    return gate(state).admitted()
