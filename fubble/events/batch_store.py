"""Storing a batch of usage events, all of it or nothing (``POST /events/batch``, a batch of ``fubble events import``).

Any bad event fails the whole batch with a 422 listing every bad event by index
(:func:`fubble.events.decoder.batch_errors`): one the decoder refused, one the rules against stored state refuse
(those of :mod:`fubble.events.service`, as for a single event), or one whose ``event_id`` is already stored or
earlier in the batch with a different payload. Another payload stored concurrently under one of its ``event_id``\\ s
is a 409. Duplicates (same ``event_id`` and payload, stored before or earlier in the batch) are skipped and reported.
The common batch is inserted before anything is read back (:func:`_store_batch`: the hot path of ingestion).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

import msgspec
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from fubble.clock import Clock
from fubble.errors import Conflict, FubbleError, InvalidInput, NotFound
from fubble.events import repository
from fubble.events.decoder import ParsedEvent, Refused, batch_errors, decode_batch
from fubble.events.fingerprint import DERIVED, fingerprint, of_stored
from fubble.events.repository import NewEvent
from fubble.events.schemas import BatchResult
from fubble.events.service import customer_of, event_rows, named, negative_quantity, new_row, unknown_metric
from fubble.metrics.repository import known_metric_names
from fubble.observability.metrics import count_events, count_rejected
from fubble.usage import rollup_in_order, rollups
from fubble.usage.definitions import MetricDefinition

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
    customers, by_external, definitions = named(session, events, names)  # first (SQLite: takes the write lock)
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
                customer_id = customer_of(event, customers, by_external)
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
            rows.append(new_row(event, fp, now, customer_id))
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
        rows.append(new_row(event, fp, now, customer_id))
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
        rollups.apply(session, event_rows(inserted), definitions)
    return BatchResult(
        accepted=len(inserted), duplicates=len(duplicates), duplicate_event_ids=list(dict.fromkeys(duplicates))
    )


def _batch_errors(sent: Sequence[ParsedEvent | Refused], problems: dict[int, list[str]]) -> dict[str, Any]:
    """The 422 detail (:func:`fubble.events.decoder.batch_errors`, as for an event the decoder refuses)."""
    return batch_errors([event.event_id for event in sent], problems)
