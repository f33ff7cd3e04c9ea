"""Queries over stored usage events.

Writes are SQLAlchemy Core bulk statements (one ``INSERT`` executed with a list of rows), never ORM unit-of-work
inserts: validation happens in Python beforehand, so the database only has to take the rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Insert, Row, Table, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fubble.db.models import Customer, Event

# Bound parameters per IN (...) list: far below SQLite's limit (32,766) and PostgreSQL's (65,535).
_IN_CHUNK = 1000

EVENTS = cast(Table, Event.__table__)


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start : start + _IN_CHUNK]


def existing_customer_ids(session: Session, customer_ids: Iterable[int]) -> set[int]:
    wanted = sorted(set(customer_ids))
    found: set[int] = set()
    for chunk in _chunks(wanted):
        found.update(session.scalars(select(Customer.id).where(Customer.id.in_(chunk))))
    return found


def customer_exists(session: Session, customer_id: int) -> bool:
    return bool(existing_customer_ids(session, [customer_id]))


def customer_ids_by_external_id(session: Session, external_ids: Iterable[str]) -> dict[str, int]:
    """``{external_id: customer id}`` of the customers among ``external_ids`` (one query per chunk)."""
    wanted = sorted(set(external_ids))
    found: dict[str, int] = {}
    for chunk in _chunks(wanted):
        query = select(Customer.external_id, Customer.id).where(Customer.external_id.in_(chunk))
        found.update((external_id, customer_id) for external_id, customer_id in session.execute(query) if external_id)
    return found


def fingerprints_by_event_id(session: Session, event_ids: Iterable[str]) -> dict[str, str]:
    """``{event_id: fingerprint}`` of the stored events among ``event_ids``."""
    wanted = sorted(set(event_ids))
    found: dict[str, str] = {}
    for chunk in _chunks(wanted):
        found.update(
            (event_id, fp)
            for event_id, fp in session.execute(
                select(Event.event_id, Event.fingerprint).where(Event.event_id.in_(chunk))
            )
            if event_id is not None
        )
    return found


def get_by_event_id(session: Session, event_id: str) -> Row[Any] | None:
    return session.execute(select(EVENTS).where(EVENTS.c.event_id == event_id)).first()


def _insert_ignoring_duplicate_event_ids(session: Session) -> Insert:
    """``INSERT ... ON CONFLICT (event_id) DO NOTHING`` in the session's dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(EVENTS).on_conflict_do_nothing(index_elements=["event_id"])
    return sqlite.insert(EVENTS).on_conflict_do_nothing(index_elements=["event_id"])


def insert_one(session: Session, row: dict[str, Any]) -> Row[Any] | None:
    """Store one event and return it as stored; ``None`` when its ``event_id`` is already taken."""
    statement = insert(EVENTS) if row["event_id"] is None else _insert_ignoring_duplicate_event_ids(session)
    return session.execute(statement.returning(EVENTS), row).first()


def insert_many(session: Session, rows: Sequence[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """Store events in bulk: rows without an ``event_id`` with a plain insert, the others with an insert that skips
    event_ids already taken (also by a concurrent transaction). Returns ``(id, row)`` of the rows actually inserted
    (one ``INSERT ... RETURNING`` executed with many rows each: SQLAlchemy's insertmanyvalues)."""
    anonymous = [row for row in rows if row["event_id"] is None]
    # Sorted so overlapping concurrent batches take the unique-index locks in the same order (no deadlocks).
    keyed = sorted((row for row in rows if row["event_id"] is not None), key=lambda row: str(row["event_id"]))
    inserted: list[tuple[int, dict[str, Any]]] = []
    if anonymous:
        ids = session.execute(insert(EVENTS).returning(EVENTS.c.id, sort_by_parameter_order=True), anonymous)
        inserted.extend(zip(ids.scalars(), anonymous, strict=True))
    if keyed:
        statement = _insert_ignoring_duplicate_event_ids(session).returning(EVENTS.c.id, EVENTS.c.event_id)
        by_key = {row["event_id"]: row for row in keyed}
        inserted.extend((event_id, by_key[key]) for event_id, key in session.execute(statement, keyed))
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
