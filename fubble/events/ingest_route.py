"""The fast path of ``POST /events/`` and ``POST /events/batch``, in front of the middleware (see
:mod:`fubble.api.fast_route`).

The common request (a JSON body the decoder of :mod:`fubble.events.decoder` is certain about, no query string, no
``Idempotency-Key``) is answered here: the API key is checked like every route checks it (``ingest`` scope), single
events go to the group committer, batches run in one transaction of their own (committed before the answer, rolled
back on error, retried on a retryable database error: :func:`fubble.api.routing.in_transaction`). Everything else
goes to the FastAPI routes of :mod:`fubble.events.router`, which stay the definition of these operations: their
OpenAPI documentation, and every response for a request the fast path leaves to them (a body it is not certain
about, an Idempotency-Key, a query string, another content type). Errors the fast path meets (401/403, a batch the
service refuses, a single event's 404/409/422 from the group committer) go to the app's error handlers, so they are
rendered exactly like the FastAPI routes' errors.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from fubble.api.fast_route import JSON, FastAPIWithFastRoutes, FastRequest
from fubble.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from fubble.api.json import ExactJSONResponse
from fubble.api.routing import in_transaction
from fubble.api_keys.scopes import Scope
from fubble.errors import Conflict, InvalidInput
from fubble.events import batch_store, decoder, group_commit
from fubble.events.event_json import event_json
from fubble.events.schemas import BatchResult
from fubble.webhooks import rejections

_IDEMPOTENCY_KEY = IDEMPOTENCY_HEADER.lower().encode()
_REPLAY_HEADERS = {"Idempotent-Replay": "true"}
_SCOPE = Scope.ingest.value  # a plain string, as FubbleRoute passes it (it is quoted in the 403 message)


def install(app: FastAPIWithFastRoutes) -> None:
    """Answer plain requests for these two paths in front of the app's middleware and routes."""
    app.add_fast_route("/events/", record_event)
    app.add_fast_route("/events/batch", record_batch)


def _plain(request: FastRequest) -> bool:
    """Whether the request is of the shape the fast path answers (the rest goes to the FastAPI route)."""
    return (
        not request.scope["query_string"]  # a query parameter could hold a NUL: the pipeline refuses those
        and request.header(b"content-type") == JSON
        and request.header(_IDEMPOTENCY_KEY) is None
    )


async def record_event(request: FastRequest) -> Response | None:
    if not _plain(request):
        return None
    state = request.app.state
    await state.auth.authenticate(request, _SCOPE)
    event = decoder.decode_event(await request.read_body())
    if event is None:
        return None
    recorded = await group_commit.committer(state).record(event)  # a FubbleError goes to the app's error handler
    body = event_json(recorded.event)
    if recorded.replay:
        return Response(body, status_code=200, headers=_REPLAY_HEADERS, media_type=ExactJSONResponse.media_type)
    return Response(body, status_code=201, media_type=ExactJSONResponse.media_type)


async def record_batch(request: FastRequest) -> Response | None:
    if not _plain(request):
        return None
    state = request.app.state
    principal = await state.auth.authenticate(request, _SCOPE)
    events = decoder.decode_batch(await request.read_body(), state.settings.max_batch_events)
    if events is None:
        return None
    clock = state.clock

    def record(session: Session) -> BatchResult:
        try:
            return batch_store.record_parsed_batch(session, events, clock=clock)
        except (InvalidInput, Conflict) as exc:  # webhooks: events.rejected, after the batch is rolled back
            rejections.batch_refused(state.db, clock, session, exc, len(events))
            raise

    async def work(session: Session) -> BatchResult:
        return await run_in_threadpool(record, session)

    # An error (the 422 listing every bad event, a 409) goes to the app's error handler, like the FastAPI route's:
    # the events are the ones EventIn would give, checked by the same service code. Not re-run through the FastAPI
    # route: a second run could see other data (a concurrent request's commit) and answer differently.
    async with batch_turns(state):
        return ExactJSONResponse(await in_transaction(state, principal, "POST /events/batch", work))


def batch_turns(state: Any) -> asyncio.Semaphore:
    """The turns batch transactions take in this worker process (``state`` is ``app.state``), for the running event
    loop (the test client may run each request in a loop of its own; a semaphore belongs to one loop).

    Concurrent batches in one process do not go faster together: they share one interpreter lock, and the rollup
    rows of the same customers and hours, which the second batch waits for until the first commits. With 16 clients
    sending batches of 100 events to 2 workers, taking turns took PostgreSQL from 8,000 to 17,000-19,000 events/s and
    SQLite from 20,000 to 27,000-31,000; with 4 clients sending batches of 10,000, PostgreSQL from 64,000-70,000 to
    86,000-102,000 and SQLite from 53,000-64,000 to 85,000. On PostgreSQL a second turn lets a batch's Python work
    overlap the database server's work on another (1 worker, 2 clients: 67,000 events/s with one turn, 93,000-117,000
    with two)."""
    loop = asyncio.get_running_loop()
    current: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = getattr(state, "batch_turns", None)
    if current is None or current[0] is not loop:
        turns = state.settings.batch_writes_per_worker or (2 if state.db.dialect == "postgresql" else 1)
        current = state.batch_turns = (loop, asyncio.Semaphore(turns))
    return current[1]
