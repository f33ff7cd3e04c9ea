"""How rollup rows reach the database: the upserts of ``usage_rollups`` and ``usage_distinct`` (the combining done in
SQL, see :mod:`fubble.usage.rollups`), each compiled once per dialect and column order, and run on the raw driver
connection (the hot path of ingestion)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Insert, Table, and_, case, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from fubble.db import bulk
from fubble.db.functions import exact_add, exact_greatest
from fubble.usage.repository import DISTINCT, ROLLUPS

KEY = ("customer_id", "metric_name", "width", "bucket")  # a bucket's key: the rollups' unique index
BucketKey = tuple[int, str, str, datetime]  # the values of KEY

ROLLUP_COLUMNS = (
    "customer_id",
    "metric_name",
    "width",
    "bucket",
    "event_count",
    "total",
    "maximum",
    "first_time",
    "first_value",
    "last_time",
    "last_value",
    "last_event_id",
    "integral",
)
DISTINCT_COLUMNS = ("customer_id", "metric_name", "bucket", "value")


class Prepared(NamedTuple):
    """A statement as :func:`run` runs it, worked out once per dialect, statement and column order."""

    sql: str  # SQLite: the statement with ? placeholders
    table: str
    names: list[str]  # the statement's columns, in the order of its parameters
    order: list[int]  # the position in the given rows of each of those columns
    tail: str  # PostgreSQL: the ON CONFLICT clause


# (dialect, statement id, columns) -> the statement prepared (the statements are built once, cached, so their ids are
# stable).
_PREPARED: dict[tuple[str, int, tuple[str, ...]], Prepared] = {}


class Bound(NamedTuple):
    """Rows bound for a statement (:func:`bind`), run by :func:`run`."""

    prepared: Prepared
    values: list[Any]  # rows as lists (SQLite: driver values in parameter order; PostgreSQL: in column order)


def bind(
    dialect: Dialect,
    statement: Insert,
    columns: tuple[str, ...],
    rows: Sequence[Sequence[Any]],
    *,
    converted: bool = False,
) -> Bound:
    """``rows`` (values in the order of ``columns``) bound for ``statement``: in its parameter order, and on SQLite
    converted as the column types would (:mod:`fubble.db.bulk`), unless ``converted`` already. The statement is
    compiled once per dialect."""
    key = (dialect.name, id(statement), columns)
    prepared = _PREPARED.get(key)
    if prepared is None:
        prepared = _PREPARED[key] = prepare(statement, dialect, columns)
    order = prepared.order
    if converted:
        in_order = order == list(range(len(columns)))
        return Bound(prepared, list(rows) if in_order else [[row[i] for i in order] for row in rows])
    if dialect.name == "postgresql":
        return Bound(prepared, [[row[i] for i in order] for row in rows])
    times: dict[datetime, str] = {}
    value = bulk.sqlite_value
    return Bound(prepared, [[value(row[i], times) for i in order] for row in rows])


def run(session: Session, bound: Bound) -> None:
    """The bound statement executed for each row on the raw driver connection (the hot path of ingestion). SQLite
    takes one ``executemany``. PostgreSQL takes, with the statement's ``ON CONFLICT`` clause, one multi-row
    ``INSERT ... VALUES`` for a few rows (one round trip, as for the small groups of single events), or for many an
    ``INSERT ... SELECT`` from a staging table filled by ``COPY`` (faster per row, which outweighs its fixed cost of a
    millisecond or so). The rows stay in the order given (key order)."""
    prepared, values = bound
    if session.connection().dialect.name == "postgresql":
        if len(values) <= bulk.PG_FEW_ROWS:
            bulk.pg_insert_rows(session, prepared.table, prepared.names, values, prepared.tail)
        else:
            bulk.pg_insert_through_stage(session, prepared.table, prepared.names, values, prepared.tail)
        return
    cursor = bulk.driver_connection(session).cursor()
    try:
        cursor.executemany(prepared.sql, values)
    finally:
        cursor.close()


def prepare(statement: Insert, dialect: Dialect, columns: tuple[str, ...]) -> Prepared:
    compiled = statement.compile(dialect=dialect)
    sql = compiled.string
    if dialect.name == "postgresql":
        head = sql.partition(" VALUES (")[0]
        names = [name.strip() for name in head[head.index("(") + 1 : head.rindex(")")].split(",")]
    else:
        names = list(compiled.positiontup or [])
    tail = "ON CONFLICT " + sql.partition(") ON CONFLICT ")[2]
    table = cast(Table, statement.table).name
    return Prepared(sql, table, names, [columns.index(name) for name in names], tail)


def _dialect_insert(dialect: str, table: Table) -> Any:
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


@functools.cache
def upsert(dialect: str) -> Insert:
    """``INSERT ... ON CONFLICT (bucket key) DO UPDATE`` combining the stored summary with the new one in SQL."""
    statement = _dialect_insert(dialect, ROLLUPS)
    old, new = ROLLUPS.c, statement.excluded
    earlier_first = new.first_time < old.first_time  # a tie keeps the stored one (stored earlier: a lower event id)
    later_last = or_(
        new.last_time > old.last_time, and_(new.last_time == old.last_time, new.last_event_id > old.last_event_id)
    )
    upsert: Insert = statement.on_conflict_do_update(
        index_elements=list(KEY),
        set_={
            "event_count": old.event_count + new.event_count,
            "total": exact_add(old.total, new.total),
            "maximum": exact_greatest(old.maximum, new.maximum),
            "first_time": case((earlier_first, new.first_time), else_=old.first_time),
            "first_value": case((earlier_first, new.first_value), else_=old.first_value),
            "last_time": case((later_last, new.last_time), else_=old.last_time),
            "last_value": case((later_last, new.last_value), else_=old.last_value),
            "last_event_id": case((later_last, new.last_event_id), else_=old.last_event_id),
        },
    )
    return upsert


@functools.cache
def insert_distinct(dialect: str) -> Insert:
    statement = _dialect_insert(dialect, DISTINCT)
    result: Insert = statement.on_conflict_do_nothing(index_elements=["customer_id", "metric_name", "bucket", "value"])
    return result
