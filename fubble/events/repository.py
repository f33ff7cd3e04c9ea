"""Queries over stored usage events.

Writes are SQLAlchemy Core bulk statements (one ``INSERT`` executed with a list of rows), never ORM unit-of-work
inserts: validation happens in Python beforehand, so the database only has to take the rows.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple, cast

from sqlalchemy import Insert, Row, Table, any_, bindparam, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fubble.db import bulk
from fubble.db.models import Event
from fubble.db.types import dumps_exact, sqlite_micros
from fubble.events.fingerprint import DERIVED, of_stored
from fubble.metrics.repository import defined_or_priced_query

EVENTS = cast(Table, Event.__table__)


class NewEvent(NamedTuple):
    """An event ready to be stored: checked, its customer resolved to an id, its ``event_time`` filled in."""

    event_id: str | None
    customer_id: int
    metric_name: str
    quantity: Decimal
    event_time: datetime
    properties: dict[str, Any] | None
    fingerprint: str
    received_at: datetime


_CUSTOMER_IDS = f"SELECT id FROM customers WHERE id {bulk.VALUES}"
_CUSTOMERS_BY_EXTERNAL_ID = f"SELECT external_id, id FROM customers WHERE external_id {bulk.VALUES}"


class Named(NamedTuple):
    """What the events of a group or batch name, as stored."""

    customer_ids: set[int]  # the existing customers among the ids named
    by_external_id: dict[str, int]  # external_id -> customer id, of the external ids named that exist
    metric_rows: list[tuple[Any, ...]]  # of the metric names: fubble.metrics.repository.defined_or_priced_query


def named(
    session: Session, customer_ids: Iterable[int], external_ids: Iterable[str], metric_names: Iterable[str]
) -> Named:
    """The three lookups every group of events starts with, in one round trip on PostgreSQL."""
    share = session.get_bind().dialect.name == "postgresql"
    ids, external, metrics = bulk.rows_matching_each(
        session,
        [
            (_CUSTOMER_IDS, sorted(set(customer_ids))),
            (_CUSTOMERS_BY_EXTERNAL_ID, sorted(set(external_ids))),
            (defined_or_priced_query(share), sorted(set(metric_names))),
        ],
    )
    return Named({i for (i,) in ids}, dict(external), metrics)


def fingerprints_by_event_id(session: Session, event_ids: Iterable[str]) -> dict[str, str]:
    """``{event_id: fingerprint}`` of the stored events among ``event_ids`` (usually few: their fingerprints are
    read cheaply first, and only the events stored with a :data:`~fubble.events.fingerprint.DERIVED` one are read
    whole to work theirs out)."""
    wanted = sorted(set(event_ids))
    found: dict[str, str] = dict(
        bulk.rows_matching(session, f"SELECT event_id, fingerprint FROM events WHERE event_id {bulk.VALUES}", wanted)
    )
    derived = sorted(key for key, fp in found.items() if fp == DERIVED)
    if derived:
        found.update((key, of_stored(row)) for key, row in _stored_rows(session, derived).items())
    return found


def events_by_event_id(session: Session, event_ids: Iterable[str]) -> dict[str, Row[Any]]:
    """``{event_id: stored event row}`` of the stored events among ``event_ids`` (usually none: they are looked up
    cheaply first, and only those found are read whole)."""
    wanted = sorted(set(event_ids))
    stored = sorted(
        key
        for (key,) in bulk.rows_matching(session, f"SELECT event_id FROM events WHERE event_id {bulk.VALUES}", wanted)
    )
    return _stored_rows(session, stored)


def _stored_rows(session: Session, event_ids: Sequence[str]) -> dict[str, Row[Any]]:
    """``{event_id: row}`` of events known to be stored: on PostgreSQL in one statement with the ids as one array
    (a re-run of an import reads 5,000 per batch), elsewhere in ``IN`` lists."""
    if not event_ids:
        return {}
    if session.get_bind().dialect.name == "postgresql":
        keys = bindparam("keys", list(event_ids), type_=postgresql.ARRAY(EVENTS.c.event_id.type))
        statements = [select(EVENTS).where(EVENTS.c.event_id == any_(keys))]
    else:
        statements = [select(EVENTS).where(EVENTS.c.event_id.in_(chunk)) for chunk in bulk.chunks(event_ids)]
    return {row.event_id: row for statement in statements for row in session.execute(statement)}


def get_by_event_id(session: Session, event_id: str) -> Row[Any] | None:
    return session.execute(select(EVENTS).where(EVENTS.c.event_id == event_id)).first()


def _insert_ignoring_duplicate_event_ids(session: Session) -> Insert:
    """``INSERT ... ON CONFLICT (event_id) DO NOTHING`` in the session's dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(EVENTS).on_conflict_do_nothing(index_elements=["event_id"])
    return sqlite.insert(EVENTS).on_conflict_do_nothing(index_elements=["event_id"])


def insert_one(session: Session, row: NewEvent) -> Row[Any] | None:
    """Store one event and return it as stored; ``None`` when its ``event_id`` is already taken."""
    statement = insert(EVENTS) if row.event_id is None else _insert_ignoring_duplicate_event_ids(session)
    return session.execute(statement.returning(EVENTS), row._asdict()).first()


COLUMNS = (  # of a stored event, in the order the bulk inserts write them (bench/storage_floor.py too)
    "id",
    "event_id",
    "customer_id",
    "metric_name",
    "quantity",
    "event_time",
    "properties",
    "fingerprint",
    "received_at",
)


class Prepared(NamedTuple):
    """Rows to insert, in the order :func:`insert_prepared` inserts them, and on SQLite their parameters (everything
    but the id, which SQLite assigns), worked out by :func:`prepare` before the transaction needs them."""

    rows: list[NewEvent]
    params: list[tuple[Any, ...]] | None
    given: Sequence[NewEvent]  # the same rows in the order given


def prepare(dialect: str, rows: Sequence[NewEvent]) -> Prepared:
    """Put the rows in insertion order and, on SQLite, convert their values as the column types would
    (:mod:`fubble.db.types`). Pure computation: no database access, so it can run before the write transaction
    (outside SQLite's write lock).

    The order is that of the (customer, metric, time) index: the database takes rows several times faster in index
    order than scattered, and rollups can be summarized in one pass
    (:func:`fubble.usage.rollup_in_order.summarize_in_order`). On SQLite, ties keep the order given (a stable sort; one
    writer at a time, so no lock order to keep). On PostgreSQL, ties go by ``event_id``: overlapping concurrent batches
    then take the unique-index locks in the same order (no deadlocks)."""
    if dialect == "postgresql":
        if all(row.event_id is not None for row in rows):  # the usual case: a C-level key
            return Prepared(sorted(rows, key=_keyed_order), None, rows)
        return Prepared(sorted(rows, key=_lock_order), None, rows)
    ordered = sorted(rows, key=_index_order)
    return Prepared(ordered, _sqlite_params(ordered), rows)


def insert_batch(session: Session, rows: Sequence[NewEvent]) -> list[tuple[int, NewEvent]]:
    """:func:`prepare` the rows and :func:`insert_prepared` them."""
    return insert_prepared(session, prepare(session.get_bind().dialect.name, rows))


def insert_prepared(session: Session, prepared: Prepared) -> list[tuple[int, NewEvent]]:
    """Store events in bulk on the raw driver connection (the hot path of ingestion), in the order prepared, and
    return ``(id, row)`` of the rows actually inserted (ids increase in that order); a row whose ``event_id`` is
    already taken (also by a concurrent transaction, or by an earlier row) is skipped.

    SQLite takes one ``executemany`` and assigns the ids itself: one more than the largest so far, row after row (this
    transaction holds the write lock). PostgreSQL takes a few rows (a group of single events) as one multi-row ``INSERT
    ... ON CONFLICT (event_id) DO NOTHING RETURNING id, event_id``, the ids from the column's default; for many, it
    allocates the ids up front (one array from the sequence) and takes the rows as one ``COPY`` straight into the
    table (the common case: no ``event_id`` is taken yet), or, when that meets a taken ``event_id``, a ``COPY`` into a
    temporary staging table followed by one ``INSERT ... SELECT ... ON CONFLICT (event_id) DO NOTHING RETURNING
    id``."""
    if not prepared.rows:
        return []
    if prepared.params is None:
        return _insert_postgresql(session, prepared.rows)
    return _insert_sqlite(bulk.driver_connection(session), prepared)


_index_order = operator.attrgetter("customer_id", "metric_name", "event_time")
_keyed_order = operator.attrgetter("customer_id", "metric_name", "event_time", "event_id")


def _lock_order(row: NewEvent) -> tuple[int, str, datetime, str]:
    return row.customer_id, row.metric_name, row.event_time, row.event_id or ""


def _sqlite_params(rows: list[NewEvent]) -> list[tuple[Any, ...]]:
    times: dict[datetime, str] = {}  # received_at -> its text
    micros: dict[datetime, int] = {}  # event_time -> its integer
    quantities: dict[int, tuple[Decimal, str]] = {}
    params = []
    for row in rows:
        quantity = bulk.sqlite_decimal(row.quantity, quantities)
        moment = micros.get(row.event_time)
        if moment is None:
            moment = micros[row.event_time] = sqlite_micros(row.event_time)
        received = bulk.sqlite_instant(row.received_at, times)
        properties = row.properties
        params.append(
            (
                row.event_id,
                row.customer_id,
                row.metric_name,
                quantity,
                moment,
                None if properties is None else dumps_exact(properties),
                row.fingerprint,
                received,
            )
        )
    return params


def _insert_sqlite(driver: Any, prepared: Prepared) -> list[tuple[int, NewEvent]]:
    rows = prepared.rows
    cursor = driver.cursor()
    try:
        (last,) = cursor.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()
        cursor.executemany(_SQLITE_INSERT, prepared.params)
        if cursor.rowcount == len(rows):
            return list(zip(range(last + 1, last + len(rows) + 1), rows, strict=True))
        # Some were skipped: the inserted ones took the ids after ``last`` in order, the first row of each event_id.
        new = {key for (key,) in cursor.execute("SELECT event_id FROM events WHERE id > ?", (last,))}
        inserted = []
        for row in rows:
            if row.event_id is None or row.event_id in new:
                new.discard(row.event_id)
                last += 1
                inserted.append((last, row))
        return inserted
    finally:
        cursor.close()


_SQLITE_INSERT = (
    f"INSERT INTO events ({', '.join(COLUMNS[1:])}) VALUES ({', '.join('?' * (len(COLUMNS) - 1))}) "
    "ON CONFLICT (event_id) DO NOTHING"
)


def _insert_postgresql(session: Session, rows: list[NewEvent]) -> list[tuple[int, NewEvent]]:
    # In the order given (event_id order), so concurrent batches take the unique-index locks in the same order.
    if len(rows) <= bulk.PG_FEW_ROWS:  # a group of single events: one statement (no savepoint, no COPY)
        return _insert_few_postgresql(session, rows)
    driver = bulk.driver_connection(session)
    with driver.cursor() as cursor:
        # The sequence looked up once (a MATERIALIZED CTE), not once per id: for 10,000 ids, 5 ms instead of 30.
        cursor.execute(
            "WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence('events', 'id')::regclass AS seq) "
            "SELECT array_agg(nextval(s.seq)) FROM s, generate_series(1, %s)",
            (len(rows),),
        )
        (allocated,) = cursor.fetchone()
    ids = sorted(allocated)
    numbers: dict[int, tuple[Decimal, int | Decimal]] = {}
    number = bulk.pg_number
    values = [
        (i, key, customer, metric, number(q, numbers), moment, None if props is None else dumps_exact(props), fp, at)
        for i, (key, customer, metric, q, moment, props, fp, at) in zip(ids, rows, strict=True)
    ]
    if bulk.pg_copy_unless_duplicate(session, "events", COLUMNS, values):
        return list(zip(ids, rows, strict=True))
    returned = bulk.pg_insert_through_stage(
        session, "events", COLUMNS, values, "ON CONFLICT (event_id) DO NOTHING RETURNING id"
    )
    taken = {i for (i,) in returned}
    return [(i, row) for i, row in zip(ids, rows, strict=True) if i in taken]


def _insert_few_postgresql(session: Session, rows: list[NewEvent]) -> list[tuple[int, NewEvent]]:
    """A few rows as one ``INSERT ... ON CONFLICT (event_id) DO NOTHING RETURNING id, event_id``, their ids taken
    from the column's sequence as the rows are inserted, in the order given: sorted, the returned ids follow the rows,
    and a row whose ``event_id`` was taken (before, or by an earlier row) returns none. One round trip instead of two
    with the ids drawn first."""
    numbers: dict[int, tuple[Decimal, int | Decimal]] = {}
    number = bulk.pg_number
    values = [
        (key, customer, metric, number(q, numbers), moment, None if props is None else dumps_exact(props), fp, at)
        for key, customer, metric, q, moment, props, fp, at in rows
    ]
    tail = "ON CONFLICT (event_id) DO NOTHING RETURNING id, event_id"
    returned = sorted(bulk.pg_insert_rows(session, "events", COLUMNS[1:], values, tail))
    inserted = []
    remaining = iter(rows)
    for new_id, key in returned:
        row = next(remaining)
        while row.event_id != key:  # skipped: its event_id is taken
            row = next(remaining)
        inserted.append((new_id, row))
    return inserted


def list_for_customer(
    session: Session,
    customer_id: int,
    *,
    start: datetime | None,
    end: datetime | None,
    metric_name: str | None,
    limit: int,
    offset: int,
) -> list[Event]:
    query = select(Event).where(Event.customer_id == customer_id)
    if metric_name is not None:
        query = query.where(Event.metric_name == metric_name)
    if start is not None:
        query = query.where(Event.event_time >= start)
    if end is not None:
        query = query.where(Event.event_time < end)
    return list(session.scalars(query.order_by(Event.event_time, Event.id).limit(limit).offset(offset)))
