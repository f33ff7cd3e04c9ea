"""Recording usage events (one at a time or in all-or-nothing batches) and reading them back.

Idempotency: an event with an ``event_id`` is stored at most once. Sending it again with the same payload (same
:func:`~fubble.events.fingerprint.fingerprint`) is a *replay* that returns the stored event; with a different payload
it is a :class:`~fubble.errors.Conflict`. The unique index on ``event_id`` plus ``INSERT ... ON CONFLICT DO NOTHING``
make this hold for concurrent requests too: whoever loses the race reads the winner's row back and compares.

Against stored state, an event must name an existing customer and a known metric (defined, or priced by a plan), and
its quantity may be negative only if that metric is defined with ``allow_negative`` (:func:`negative_quantity`, the
one place of that rule, checked by every way in with the definitions read for the customers' lookup: no query of
its own).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

import msgspec
from sqlalchemy import Row
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from fubble.clock import Clock
from fubble.customers import repository as customers
from fubble.db.models import Event
from fubble.db.types import dumps_exact, loads_exact
from fubble.errors import Conflict, FubbleError, InvalidInput, NotFound
from fubble.events import repository
from fubble.events.decoder import ParsedEvent, Refused, batch_errors, decode_batch
from fubble.events.fingerprint import DERIVED, fingerprint, of_stored
from fubble.events.repository import NewEvent
from fubble.events.schemas import BatchResult, EventOut
from fubble.metrics.repository import known_metric_names
from fubble.observability.metrics import count_events, count_rejected, rejection_reason
from fubble.usage import rollup_in_order, rollups
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
    customers, by_external, definitions = _named(session, [data], [data.metric_name])
    customer_id = _customer_id(data, customers, by_external)
    if data.metric_name not in definitions:
        raise InvalidInput.at(("body", "metric_name"), unknown_metric(data.metric_name, known_metric_names(session)))
    refused = negative_quantity(data, definitions)
    if refused is not None:
        raise InvalidInput.at(("body", "quantity"), refused)
    inserted = repository.insert_one(session, _row(data, fp, clock.now(), customer_id))
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
    customers, by_external, definitions = _named(session, events, {event.metric_name for event in events})
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
            customer_id = _customer_id(event, customers, by_external)
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
        rows[index] = _row(event, fp, now, customer_id)
        if key is not None:
            claimed[key] = index
    if refused:
        stored = repository.events_by_event_id(session, [str(events[index].event_id) for index in refused])
        for index, error in refused.items():
            found = stored.get(str(events[index].event_id))
            outcomes[index] = error if found is None else _replay(found, prints[index])
    inserted = repository.insert_batch(session, list(rows.values()))
    ids = {id(row): event_id for event_id, row in inserted}
    rollups.apply(session, _event_rows(inserted), definitions)
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
    ends in :func:`record`, :func:`record_many` or :func:`record_parsed_batch`, which count (the one place)."""
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


_JSON = msgspec.json.Encoder(decimal_format="number")


def record_batch(session: Session, raw_events: Sequence[Any], *, clock: Clock, max_events: int) -> BatchResult:
    """``POST /events/batch`` for library callers: ``raw_events`` are JSON values (dicts, with ``Decimal`` numbers),
    decoded by the one definition of a valid event like a request body."""
    events = decode_batch(_JSON.encode({"events": list(raw_events)}), max_events)
    assert events is not None  # JSON, just written
    return record_parsed_batch(session, events, clock=clock)


def record_parsed_batch(session: Session, events: Sequence[ParsedEvent | Refused], *, clock: Clock) -> BatchResult:
    """Store a decoded batch (:mod:`fubble.events.decoder`: its number is checked), all of it or nothing.

    Any bad event (refused by the decoder, an unknown customer or metric, an ``event_id`` already stored or earlier
    in the batch with a different payload) fails the whole batch with a 422 listing every bad event by index.
    Duplicates (same ``event_id`` and payload, stored before or earlier in the batch) are skipped and reported."""
    parsed: list[tuple[int, ParsedEvent]] = []
    problems: dict[int, list[str]] = {}
    for index, event in enumerate(events):
        if isinstance(event, Refused):
            problems[index] = event.reasons
        else:
            parsed.append((index, event))
    try:
        result = _store_batch(session, parsed, problems, events, clock)
    except FubbleError as exc:
        count_rejected(exc, len(events))  # none of the batch is stored
        raise
    count_events(session, stored=result.accepted, duplicates=result.duplicates)
    return result


def _store_batch(
    session: Session,
    parsed: list[tuple[int, ParsedEvent]],
    problems: dict[int, list[str]],
    sent: Sequence[ParsedEvent | Refused],
    clock: Clock,
) -> BatchResult:
    """Store the schema-valid events ``parsed`` (index, event) of the batch ``sent``, all of them or
    none: ``problems`` (index -> reasons) already holds the schema errors.

    The common batch (every event valid, its customer named by id, no ``event_id`` twice in it) is inserted straight
    away: the unique index on ``event_id`` skips the ones stored before, and only those are then read back and compared
    (a replay is counted as a duplicate, another payload fails the batch like any bad event). Its rows and its rollup
    summary are worked out before the first query, so on SQLite they are not part of the time the write lock is held.
    Any other batch is checked event by event first, so that the 422 lists every bad event."""
    now = clock.now()
    events = [event for _, event in parsed]
    names = {event.metric_name for event in events}
    dialect = session.get_bind().dialect
    early = None if problems else _plain_batch(dialect, parsed, now)
    customers, by_external, definitions = _named(session, events, names)  # first (SQLite: takes the write lock)
    if (
        early is not None
        and definitions.keys() >= names
        and customers.issuperset(early.customer_ids)
        and all(definitions[name].allow_negative for name in early.negative)
    ):

        def already_stored(other: list[NewEvent]) -> FubbleError:
            index = {event.event_id: i for i, event in parsed}
            reason = "event_id {!r} is already stored with a different payload"
            bad = {index[row.event_id]: [reason.format(row.event_id)] for row in other}
            return InvalidInput(_batch_errors(sent, bad))

        # The summary made with default definitions holds if every metric rolls up like the default sum.
        plain = all(rollups.plain(definitions[name]) for name in names)
        return _insert_batch_rows(
            session, early.rows, early.summary if plain else None, definitions, [], already_stored
        )
    known: list[str] | None = None  # every known name, read only to explain an unknown one
    stored = repository.fingerprints_by_event_id(session, [e.event_id for e in events if e.event_id is not None])
    first_seen: dict[str, tuple[int, str]] = {}
    rows = []
    duplicates: list[str] = []
    for index, event in parsed:
        fp = fingerprint(event)
        reasons: list[str] = []
        duplicate = False
        key = event.event_id
        if key is not None and key in stored:
            if stored[key] != fp:
                reasons.append(f"event_id {key!r} is already stored with a different payload")
            else:
                duplicate = True
        elif key is not None and key in first_seen:
            first_index, first_fp = first_seen[key]
            if first_fp != fp:
                reasons.append(f"event_id {key!r} appears at index {first_index} with a different payload")
            else:
                duplicate = True
        elif key is not None:
            first_seen[key] = (index, fp)
        customer_id = 0
        if not (duplicate and key in stored):  # a replay of a stored event was valid when it was stored
            try:
                customer_id = _customer_id(event, customers, by_external)
            except (NotFound, InvalidInput) as exc:
                reasons.append(_reason(exc))
            if event.metric_name not in definitions:
                known = known_metric_names(session) if known is None else known
                reasons.append("metric_name: " + unknown_metric(event.metric_name, known))
            elif (negative := negative_quantity(event, definitions)) is not None:
                reasons.append("quantity: " + negative)
        if reasons:
            problems[index] = reasons
        elif duplicate:
            assert key is not None
            duplicates.append(key)
        else:
            rows.append(_row(event, fp, now, customer_id))
    if problems:
        raise InvalidInput(_batch_errors(sent, problems))
    prepared = repository.prepare(dialect.name, rows)
    return _insert_batch_rows(session, prepared, None, definitions, duplicates, _stored_concurrently)


def _reason(exc: FubbleError) -> str:
    """An error about one event as a batch lists it, like the decoder's reasons: ``field: message`` (the field
    from its location, as ``POST /events/`` gives it), or the message alone."""
    if isinstance(exc.detail, str):
        return exc.detail
    entry = exc.detail[0]
    return f"{entry['loc'][-1]}: {entry['msg']}"


def _stored_concurrently(other: list[NewEvent]) -> FubbleError:
    return Conflict(
        f"event_id {other[0].event_id!r} was stored concurrently with a different payload; "
        "nothing from this batch was stored"
    )


class _PlainBatch(NamedTuple):
    """A batch that looks plain (see :func:`_plain_batch`), ready to be stored."""

    rows: repository.Prepared
    summary: rollups.NewBuckets  # its rollups if its metrics roll up like the default sum (see rollups.plain)
    customer_ids: set[int]  # the customers it names: they must exist
    negative: set[str]  # the metrics of its events with a negative quantity: they must allow_negative


def _plain_batch(dialect: Dialect, parsed: list[tuple[int, ParsedEvent]], now: datetime) -> _PlainBatch | None:
    """The rows and rollup summary of a batch whose events all name their customer by id alone and whose
    ``event_id``\\ s are all different, or ``None`` for any other batch. No query: whether those customers exist,
    those metrics are known and allow the negative quantities is for the caller to check."""
    rows = []
    keys: set[str] = set()
    customer_ids: set[int] = set()
    negative: set[str] = set()
    for _, event in parsed:  # one pass: this runs for every event of every batch
        key, customer_id = event.event_id, event.customer_id
        if event.quantity < 0:
            negative.add(event.metric_name)
        if event.external_customer_id is not None or customer_id is None or key in keys:
            return None
        if key is not None:
            keys.add(key)
        customer_ids.add(customer_id)
        # An event with its event_time (and, here, its customer_id alone) is stored as sent: its fingerprint is
        # worked out from the stored row if a retry ever needs it (fubble.events.fingerprint.DERIVED).
        fp = DERIVED if event.event_time is not None else fingerprint(event)
        rows.append(_row(event, fp, now, customer_id))
    prepared = repository.prepare(dialect.name, rows)
    # Rows in (customer, metric, time) order, ids given in that order: each row's position stands in for its id.
    return _PlainBatch(prepared, rollup_in_order.summarize_in_order(dialect, prepared.rows), customer_ids, negative)


def _insert_batch_rows(
    session: Session,
    prepared: repository.Prepared,
    summary: rollups.NewBuckets | None,
    definitions: Mapping[str, MetricDefinition],
    duplicates: list[str],
    on_other_payload: Callable[[list[NewEvent]], FubbleError],
) -> BatchResult:
    """Insert a batch's rows and roll them up. Rows the unique index skipped (their ``event_id`` is stored: before,
    or by a concurrent transaction) are duplicates if the stored payload is theirs; if any is not,
    ``on_other_payload`` gives the error that fails the whole batch. ``duplicates`` holds those found before.
    ``summary`` is the rows' rollup summary (events by position), if there is one: it is used when every row was
    inserted."""
    inserted = repository.insert_prepared(session, prepared)
    if len(inserted) < len(prepared.rows):
        taken = {id(row) for _, row in inserted}
        skipped = [row for row in prepared.given if id(row) not in taken]
        stored = repository.fingerprints_by_event_id(session, [str(row.event_id) for row in skipped])
        other = [row for row in skipped if stored.get(str(row.event_id)) != of_stored(row)]
        if other:
            raise on_other_payload(other)
        duplicates = duplicates + [str(row.event_id) for row in skipped]
        summary = None
    if summary is not None:
        rollups.write(session, summary, definitions, [event_id for event_id, _ in inserted])
    else:
        rollups.apply(session, _event_rows(inserted), definitions)
    return BatchResult(
        accepted=len(inserted), duplicates=len(duplicates), duplicate_event_ids=list(dict.fromkeys(duplicates))
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


def _named(
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


def _customer_id(event: ParsedEvent, existing: set[int], by_external: dict[str, int]) -> int:
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


def _event_rows(inserted: Iterable[tuple[int, NewEvent]]) -> list[rollups.EventRow]:
    row = rollups.EventRow
    return [row(i, e.customer_id, e.metric_name, e.quantity, e.event_time, e.properties) for i, e in inserted]


def _row(event: ParsedEvent, fp: str, now: datetime, customer_id: int) -> NewEvent:
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


def _batch_errors(sent: Sequence[ParsedEvent | Refused], problems: dict[int, list[str]]) -> dict[str, Any]:
    """The 422 detail (:func:`fubble.events.decoder.batch_errors`, as for an event the decoder refuses)."""
    return batch_errors([event.event_id for event in sent], problems)
