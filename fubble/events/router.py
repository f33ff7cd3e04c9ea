from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, TypeVar

from fastapi import Body, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from fubble.api import idempotency
from fubble.api.deps import ClockDep, CustomerId, PageDep, SessionDep, SettingsDep
from fubble.api.fields import ShortText
from fubble.api.json import ExactJSONResponse
from fubble.api.routing import new_router
from fubble.errors import Conflict, InvalidInput
from fubble.errors_doc import responses
from fubble.events import batch_store, decoder, group_commit, service
from fubble.events.schemas import BatchResult, EventBatchBody, EventBody, EventOut, QueryTime
from fubble.webhooks import rejections

router = new_router("/events", tag="events")

StartDate = Annotated[
    QueryTime | None,
    Query(
        description="Include events at or after this instant (ISO 8601; naive means UTC).",
        examples=["2023-09-01T00:00:00"],
    ),
]
EndDate = Annotated[
    QueryTime | None,
    Query(
        description="Include events strictly before this instant (the window is [start_date, end_date)).",
        examples=["2023-09-30T23:59:59"],
    ),
]

_REPLAY: dict[int | str, dict[str, Any]] = {
    200: {
        "model": EventOut,
        "description": "A replay: an event with this event_id and the same payload was already stored; it is returned "
        "unchanged and the `Idempotent-Replay: true` header is set.",
        "headers": {"Idempotent-Replay": {"description": "`true` on a replay", "schema": {"type": "string"}}},
    }
}


@router.post(
    "/",
    status_code=201,
    response_model=EventOut,
    summary="Record a usage event",
    responses={**_REPLAY, **responses(404, 409, 422)},
    openapi_extra={"x-required-scope": "ingest"},
)
async def record_event(
    body: Annotated[EventBody, Body()], request: Request, session: SessionDep, clock: ClockDep
) -> EventOut | Response:
    """Store one usage event and return it (201) once it is durable.

    The customer is named by `customer_id` or by `external_customer_id` (its `external_id`); it must exist (404).
    `metric_name` must be a known metric, defined with `POST /metrics/` or priced by some plan (422 naming the known
    metrics, so a typo is caught). `event_time` defaults to now. With an `event_id`, the event is stored at most
    once: sending it again with the same payload returns the stored event with status 200 and the header
    `Idempotent-Replay: true`; with a different payload it is a 409.

    Concurrent requests are committed together (group commit): each is answered after the commit that stored its
    event, with the outcome it would have had alone. A request with an `Idempotency-Key` header is recorded in its
    own transaction instead, together with its stored response (`event_id` is the natural key for events).
    """
    sent = _decoded(decoder.decode_event(await _json(body, request)))
    if request.headers.get(idempotency.HEADER) is not None:
        recorded = await run_in_threadpool(service.record, session, sent, clock=clock)
    else:
        recorded = await group_commit.committer(request.app.state).record(sent)
    event = recorded.event
    if recorded.replay:
        return ExactJSONResponse(event, status_code=200, headers={"Idempotent-Replay": "true"})
    return event


@router.post(
    "/batch",
    summary="Record many usage events, all or nothing",
    responses=responses(409, 422),
    openapi_extra={"x-required-scope": "ingest"},
)
async def record_batch(
    body: Annotated[EventBatchBody, Body()],
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> BatchResult:
    """Validate every event, then store all of them or none (at most `FUBBLE_MAX_BATCH_EVENTS`, 10,000 by default).

    Each event is checked like `POST /events/`. If any is invalid the response is a 422 whose `detail` is
    `{"message": ..., "errors": [{"index": i, "event_id": ..., "reason": ...}, ...]}` listing every bad event, and
    nothing is stored. Events repeating an `event_id` with the same payload (already stored, or earlier in the batch)
    are stored once and counted as `duplicates`; the same `event_id` with a different payload is an error. A
    conflicting payload stored by a concurrent request turns the whole batch into a 409.
    """
    events = _decoded(decoder.decode_batch(await _json(body, request), settings.max_batch_events))
    try:
        return await run_in_threadpool(batch_store.record_parsed_batch, session, events, clock=clock)
    except (InvalidInput, Conflict) as exc:  # webhooks: events.rejected, after the batch is rolled back
        await run_in_threadpool(rejections.batch_refused, request.app.state.db, clock, session, exc, len(events))
        raise


T = TypeVar("T")


async def _json(parsed: Any, request: Request) -> bytes:
    """The body's bytes, for the decoder, once FastAPI has ``parsed`` it as JSON (the decoder decides everything
    else, like on the fast path)."""
    if isinstance(parsed, bytes):  # FastAPI reads a body of another content type as bytes
        raise InvalidInput.at(("body",), "must be JSON sent as application/json")
    return await request.body()


def _decoded(value: T | None) -> T:
    """What the decoder made of a body FastAPI parsed as JSON (``None``: JSON it does not take, e.g. a lone
    surrogate escape, which no text column can store)."""
    if value is None:
        raise InvalidInput.at(("body",), "invalid JSON: not valid Unicode text")
    return value


@router.get(
    "/customers/{customer_id}",
    summary="List a customer's usage events (by event_time)",
    responses=responses(404, 422),
)
def list_customer_events(
    customer_id: CustomerId,
    session: SessionDep,
    page: PageDep,
    start_date: StartDate = None,
    end_date: EndDate = None,
    metric_name: Annotated[ShortText | None, Query(description="Only events of this metric.")] = None,
) -> list[EventOut]:
    """The customer's events in the window `[start_date, end_date)` (either bound optional), ordered by
    `event_time` then `id`, optionally of one metric, paginated with `limit`/`offset`."""
    events = service.list_events(
        session,
        customer_id,
        start=start_date,
        end=end_date,
        metric_name=metric_name,
        limit=page.limit,
        offset=page.offset,
    )
    return [EventOut.of(e) for e in events]


@router.get(
    "/customers/{customer_id}/usage",
    summary="A customer's usage per metric (by each metric's aggregation)",
    responses=responses(404, 422),
)
def customer_usage(
    customer_id: CustomerId, session: SessionDep, start_date: StartDate = None, end_date: EndDate = None
) -> dict[str, Decimal]:
    """`{metric_name: usage}` (exact decimals) for every metric with events counted in the window
    `[start_date, end_date)` (either bound optional), each by its metric's aggregation (see `POST /metrics/`; a
    metric without a definition is the sum of quantities). Events a metric's filters exclude do not count (a metric
    whose events in the window are all excluded is not listed). `weighted_sum` is the time-weighted average over the
    window; an open bound is then the metric's first event (start) or just after its last one (end). For a time
    series, see `GET /customers/{customer_id}/usage`."""
    return service.usage(session, customer_id, start=start_date, end=end_date)
