"""Group commit for single events: concurrent ``POST /events/`` requests share one transaction and one commit.

A commit is durable only once it is on disk (SQLite ``synchronous=FULL``, PostgreSQL's WAL flush), which costs a
few milliseconds, so one transaction per event caps a server at a few hundred events per second. Instead, each
request hands its validated event to the process's :class:`GroupCommitter` and waits. The committer records every
event waiting at that moment in one transaction (:func:`fubble.events.service.record_many`: each event gets exactly
the outcome it would get alone — stored, a replay, or its own 404/409/422), commits once, then answers each request.
Requests that arrive while a commit runs form the next group, so groups grow with the load and a lone request is
not delayed at all. An event is still acknowledged only after the commit that stored it.

A transaction that fails as a whole (say a deadlock or a lost connection) is retried like the request pipeline
retries one; if it still fails, each event of the group is recorded in a transaction of its own, so an event that
breaks a transaction only fails its own request.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from typing import Any

from starlette.concurrency import run_in_threadpool

from fubble.api.routing import MAX_RETRIES, is_retryable
from fubble.clock import Clock
from fubble.db.session import Database
from fubble.errors import FubbleError
from fubble.events import service

MAX_GROUP = 1000  # events per transaction


class GroupCommitter:
    """Collects single events from concurrent requests and records them in shared transactions."""

    def __init__(self, database: Database, clock: Clock) -> None:
        self.database = database
        self.clock = clock
        self._waiting: list[tuple[service.ValidEvent, asyncio.Future[service.Recorded]]] = []
        self._drainer: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def record(self, event: service.ValidEvent) -> service.Recorded:
        """Record the event (in a transaction shared with other requests) and return it once committed; raises the
        same errors as :func:`fubble.events.service.record`."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[service.Recorded] = loop.create_future()
        self._waiting.append((event, future))
        if self._drainer is None or self._drainer.done():
            self._drainer = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting[:MAX_GROUP], self._waiting[MAX_GROUP:]
            try:
                outcomes: list[Any] = await run_in_threadpool(self._commit, [event for event, _ in group])
            except Exception as exc:  # nothing of the group was stored
                outcomes = [exc] * len(group)
            for (_, future), outcome in zip(group, outcomes, strict=True):
                if future.done():  # the request was cancelled (client gone); its event may well be stored
                    continue
                if isinstance(outcome, BaseException):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)

    def _commit(self, events: Sequence[service.ValidEvent]) -> list[service.Recorded | Exception]:
        try:
            return list(self._transaction(events))
        except Exception:
            if len(events) == 1:
                raise
        # Something broke the shared transaction: give each event a transaction of its own.
        outcomes: list[service.Recorded | Exception] = []
        for event in events:
            try:
                outcomes.extend(self._transaction([event]))
            except Exception as exc:
                outcomes.append(exc)
        return outcomes

    def _transaction(self, events: Sequence[service.ValidEvent]) -> list[service.Recorded | FubbleError]:
        attempt = 0
        while True:
            session = self.database.session(write=True)
            session.info.update(
                actor="event ingestion", api_key_id=None, request="POST /events/ (group commit)", now=self.clock.now()
            )
            try:
                outcomes = service.record_many(session, events, clock=self.clock)
                session.commit()
                return outcomes
            except Exception as exc:
                session.rollback()
                if attempt < MAX_RETRIES and is_retryable(exc):
                    attempt += 1
                    time.sleep(random.uniform(0.005, 0.02) * 2**attempt)
                    continue
                raise
            finally:
                session.close()


def committer(state: Any) -> GroupCommitter:
    """The app's committer for the running event loop (``state`` is ``app.state``; the test client may run each
    request in a loop of its own, and a committer's futures belong to one loop)."""
    loop = asyncio.get_running_loop()
    current: GroupCommitter | None = getattr(state, "event_committer", None)
    if current is None or current._loop is not loop:
        current = GroupCommitter(state.db, state.clock)
        current._loop = loop
        state.event_committer = current
    return current
