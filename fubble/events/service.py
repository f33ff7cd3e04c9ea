"""Recording usage events (one at a time, or independent ones together) and reading them back; batches stored all
or nothing are :mod:`fubble.events.batch_store`'s.

Idempotency: an event with an ``event_id`` is stored at most once. Sending it again with the same payload (same
:func:`~fubble.events.fingerprint.fingerprint`) is a *replay* that returns the stored event; with a different payload
it is a :class:`~fubble.errors.Conflict`. The unique index on ``event_id`` plus ``INSERT ... ON CONFLICT DO NOTHING``
make this hold for concurrent requests too: whoever loses the race reads the winner's row back and compares.

Against stored state, an event must name an existing customer and a known metric (defined, or priced by a plan), and
its quantity may be negative only if that metric is defined with ``allow_negative`` (:func:`negative_quantity`, the
one place of that rule, checked by every way in with the definitions read for the customers' lookup: no query of
its own). The batches of :mod:`fubble.events.batch_store` use the same checks (:func:`named`, :func:`customer_of`,
:func:`unknown_metric`) and rows (:func:`new_row`, :func:`event_rows`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row
from sqlalchemy.orm import Session

from fubble.clock import Clock
from fubble.customers import repository as customers
from fubble.db.models import Event
from fubble.db.types import dumps_exact, loads_exact
from fubble.errors import Conflict, FubbleError, InvalidInput, NotFound
from fubble.events import repository
from fubble.events.decoder import ParsedEvent
from fubble.events.fingerprint import fingerprint, of_stored
from fubble.events.repository import NewEvent
from fubble.events.schemas import EventOut
from fubble.metrics.repository import known_metric_names
from fubble.observability.metrics import count_events, count_rejected, rejection_reason
from fubble.usage import rollups
from fubble.usage import service as usage_service
from fubble.usage.definitions import MetricDefinition
from fubble.usage.definitions import of_rows as definitions_of_rows

_METRICS_SHOWN = 20

# An event known to be valid: decoded by fubble.events.decoder, the one definition of a valid event.
ValidEvent = ParsedEvent


@dataclass(frozen=True)
class Recorded:
    event: EventOut
    replay: bool  # True when the event_id was already stored with this payload; nothing new was written


def record(session: Session, data: ValidEvent, *, clock: Clock) -> Recorded:
    """Store one event, or return the stored one if this is a replay of its ``event_id``."""
    try:
        recorded = _record(session, data, clock=clock)
    except FubbleError as exc:
        count_rejected(exc)
        raise
    _count(session, [recorded])
    return recorded


def _record(session: Session, data: ValidEvent, *, clock: Clock) -> Recorded:
    fp = fingerprint(data)
    if data.event_id is not None:
        stored = repository.get_by_event_id(session, data.event_id)
        if stored is not None:
            return Recorded(EventOut.of(_same_payload_or_conflict(stored, fp)), replay=True)
    customers, by_external, definitions = named(session, [data], [data.metric_name])
    customer_id = customer_of(data, customers, by_external)
    if data.metric_name not in definitions:
        raise InvalidInput.at(("body", "metric_name"), unknown_metric(data.metric_name, known_metric_names(session)))
    refused = negative_quantity(data, definitions)
    if refused is not None:
        raise InvalidInput.at(("body", "quantity"), refused)
    inserted = repository.insert_one(session, new_row(data, fp, clock.now(), customer_id))
    if inserted is not None:
        event = rollups.EventRow(*(getattr(inserted, f) for f in rollups.EventRow._fields))
        rollups.apply(session, [event], definitions)
        return Recorded(EventOut.of(inserted), replay=False)
    # A concurrent request stored this event_id between our lookup and our insert.
    assert data.event_id is not None  # only keyed inserts can be skipped
    stored = repository.get_by_event_id(session, data.event_id)
    if stored is None:
        raise Conflict(f"event_id {data.event_id!r} is being recorded concurrently; retry the request")
    return Recorded(EventOut.of(_same_payload_or_conflict(stored, fp)), replay=True)


def record_many(session: Session, events: Sequence[ValidEvent], *, clock: Clock) -> list[Recorded | FubbleError]:
    """Record several independent single events (``POST /events/`` requests committed together, see
    :mod:`fubble.events.group_commit`): each gets exactly the outcome :func:`record` would give it if they were
    recorded one after another in this order (an event, a replay, or its own 404/409/422 error), while the lookups,
    the insert and the rollup update are done once for all of them.

    The valid events are inserted straight away, the unique index on ``event_id`` skipping those stored before; only
    those are then read back (a replay, or a 409 for another payload), as are the stored events of invalid ones (a
    replay of a stored event was valid when it was stored). So the common group takes no lookup by ``event_id``."""
    now = clock.now()
    prints = [fingerprint(event) for event in events]
    customers, by_external, definitions = named(session, events, {event.metric_name for event in events})
    known: list[str] | None = None  # every known name, read only to explain an unknown one
    outcomes: list[Recorded | FubbleError | None] = [None] * len(events)
    rows: dict[int, NewEvent] = {}  # index -> row to insert
    claimed: dict[str, int] = {}  # event_id -> index of the event (earlier in this group) that inserts it
    later: list[int] = []  # events repeating the event_id of an earlier one in this group
    refused: dict[int, FubbleError] = {}  # index -> error of an invalid event with an event_id, unless it is stored
    for index, (event, fp) in enumerate(zip(events, prints, strict=True)):
        key = event.event_id
        if key is not None and key in claimed:
            later.append(index)
            continue
        try:
            customer_id = customer_of(event, customers, by_external)
            if event.metric_name not in definitions:
                known = known_metric_names(session) if known is None else known
                raise InvalidInput.at(("body", "metric_name"), unknown_metric(event.metric_name, known))
            negative = negative_quantity(event, definitions)
            if negative is not None:
                raise InvalidInput.at(("body", "quantity"), negative)
        except (NotFound, InvalidInput) as exc:
            if key is None:
                outcomes[index] = exc
            else:
                refused[index] = exc
            continue
        rows[index] = new_row(event, fp, now, customer_id)
        if key is not None:
            claimed[key] = index
    if refused:
        stored = repository.events_by_event_id(session, [str(events[index].event_id) for index in refused])
        for index, error in refused.items():
            found = stored.get(str(events[index].event_id))
            outcomes[index] = error if found is None else _replay(found, prints[index])
    inserted = repository.insert_batch(session, list(rows.values()))
    ids = {id(row): event_id for event_id, row in inserted}
    rollups.apply(session, event_rows(inserted), definitions)
    skipped = [str(row.event_id) for row in rows.values() if id(row) not in ids]
    now_stored = repository.events_by_event_id(session, skipped) if skipped else {}
    written: dict[str, tuple[str, EventOut]] = {}  # event_id -> (fingerprint, event) of the events inserted here
    for index, row in rows.items():
        if id(row) in ids:
            stored_event = _stored_event(ids[id(row)], row)
            outcomes[index] = Recorded(stored_event, replay=False)
            if row.event_id is not None:
                written[row.event_id] = (row.fingerprint, stored_event)
        else:  # stored before, or by a concurrent transaction between our lookups and our insert
            key = str(row.event_id)
            outcomes[index] = _replay_or_retry(now_stored.get(key), key, row.fingerprint)
    for index in later:
        key = str(events[index].event_id)
        if key in written:
            fp, stored_event = written[key]
            outcomes[index] = (
                Recorded(stored_event, replay=True)
                if fp == prints[index]
                else Conflict(f"event_id {key!r} was already used for an event with a different payload")
            )
        else:
            outcomes[index] = _replay_or_retry(now_stored.get(key), key, prints[index])
    results = [outcome for outcome in outcomes if outcome is not None]
    _count(session, results)
    return results


def _count(session: Session, outcomes: Sequence[Recorded | FubbleError]) -> None:
    """Count what became of these events in ``fubble_events_*`` metrics once the session commits: every way in
    ends in :func:`record`, :func:`record_many` or :func:`fubble.events.batch_store.record_parsed_batch`, which
    count (the one place)."""
    stored = duplicates = 0
    rejected: dict[str, int] = {}
    for outcome in outcomes:
        if isinstance(outcome, Recorded):
            duplicates += outcome.replay
            stored += not outcome.replay
        else:
            reason = rejection_reason(outcome)
            rejected[reason] = rejected.get(reason, 0) + 1
    count_events(session, stored=stored, duplicates=duplicates, rejected=rejected)


def _replay(stored: Row[Any], fp: str) -> Recorded | Conflict:
    try:
        return Recorded(EventOut.of(_same_payload_or_conflict(stored, fp)), replay=True)
    except Conflict as exc:
        return exc


def _replay_or_retry(stored: Row[Any] | None, event_id: str, fp: str) -> Recorded | Conflict:
    if stored is None:
        return Conflict(f"event_id {event_id!r} is being recorded concurrently; retry the request")
    return _replay(stored, fp)


def _stored_event(event_id: int, row: NewEvent) -> EventOut:
    """The event as :func:`record` would read it back after inserting ``row`` (properties round-trip through their
    stored JSON, so their keys come back sorted, as from the database)."""
    properties = row.properties
    return EventOut(
        id=event_id,
        event_id=row.event_id,
        customer_id=row.customer_id,
        metric_name=row.metric_name,
        quantity=row.quantity,
        event_time=row.event_time,
        properties=None if properties is None else loads_exact(dumps_exact(properties)),
        received_at=row.received_at,
    )


def list_events(
    session: Session,
    customer_id: int,
    *,
    start: datetime | None,
    end: datetime | None,
    metric_name: str | None,
    limit: int,
    offset: int,
) -> list[Event]:
    _check_customer_and_window(session, customer_id, start, end)
    return repository.list_for_customer(
        session, customer_id, start=start, end=end, metric_name=metric_name, limit=limit, offset=offset
    )


def usage(session: Session, customer_id: int, *, start: datetime | None, end: datetime | None) -> dict[str, Decimal]:
    _check_customer_and_window(session, customer_id, start, end)
    return usage_service.totals(session, customer_id, start=start, end=end)


def negative_quantity(event: ParsedEvent, definitions: Mapping[str, MetricDefinition]) -> str | None:
    """Why the event's quantity is refused (it is negative and its known metric is not defined with
    ``allow_negative``), or ``None``: 0 and positive quantities are accepted for every metric."""
    if event.quantity >= 0 or definitions[event.metric_name].allow_negative:
        return None
    return (
        f"must not be negative: metric {event.metric_name!r} does not allow negative quantities (a metric defined "
        "with allow_negative: true does)"
    )


def unknown_metric(name: str, known: Sequence[str]) -> str:
    if not known:
        return (
            f"unknown metric {name!r}; no plan prices any metric yet and none is defined (define it with "
            "POST /metrics/ or add a price component for it to a plan)"
        )
    shown = ", ".join(known[:_METRICS_SHOWN])
    if len(known) > _METRICS_SHOWN:
        shown += f" and {len(known) - _METRICS_SHOWN} more"
    return f"unknown metric {name!r}; known metrics: {shown}"


def _check_customer_and_window(
    session: Session, customer_id: int, start: datetime | None, end: datetime | None
) -> None:
    if start is not None and end is not None and start >= end:
        raise InvalidInput.at(("query", "end_date"), "must be after start_date (the window is [start_date, end_date))")
    if not customers.exists(session, customer_id):
        raise NotFound(f"customer {customer_id} not found")


def named(
    session: Session, events: Sequence[ParsedEvent], names: Iterable[str]
) -> tuple[set[int], dict[str, int], dict[str, MetricDefinition]]:
    """What checking these events needs, in one round trip on PostgreSQL: which of the customer ids they name exist,
    the customer ids of the external ids they name (found ones only), and the definition of each metric name an
    event may carry (a name missing is unknown)."""
    found = repository.named(
        session,
        (e.customer_id for e in events if e.customer_id),
        (e.external_customer_id for e in events if e.external_customer_id is not None),
        names,
    )
    return found.customer_ids, found.by_external_id, definitions_of_rows(found.metric_rows)


def customer_of(event: ParsedEvent, existing: set[int], by_external: dict[str, int]) -> int:
    """The customer id an event names, given which ids exist and the ids of the external ids it may use."""
    if event.external_customer_id is None:
        assert event.customer_id is not None  # a valid event names one of the two
        if event.customer_id not in existing:
            raise NotFound(f"customer {event.customer_id} not found")
        return event.customer_id
    resolved = by_external.get(event.external_customer_id)
    if resolved is None:
        raise NotFound(f"customer with external_id {event.external_customer_id!r} not found")
    if event.customer_id is not None and event.customer_id != resolved:
        raise InvalidInput.at(
            ("body", "external_customer_id"),
            f"customer_id {event.customer_id} and external_customer_id {event.external_customer_id!r} name "
            "different customers",
        )
    return resolved


def _same_payload_or_conflict(stored: Row[Any], fp: str) -> Row[Any]:
    if of_stored(stored) != fp:
        raise Conflict(f"event_id {stored.event_id!r} was already used for an event with a different payload")
    return stored


def event_rows(inserted: Iterable[tuple[int, NewEvent]]) -> list[rollups.EventRow]:
    """Inserted rows (id, row) as the rollups read them."""
    row = rollups.EventRow
    return [row(i, e.customer_id, e.metric_name, e.quantity, e.event_time, e.properties) for i, e in inserted]


def new_row(event: ParsedEvent, fp: str, now: datetime, customer_id: int) -> NewEvent:
    """The row that stores ``event`` (received ``now``, its time if it has none), its customer resolved."""
    event_time = event.event_time
    return NewEvent(
        event.event_id,
        customer_id,
        event.metric_name,
        event.quantity,
        now if event_time is None else event_time,
        event.properties,
        fp,
        now,
    )
