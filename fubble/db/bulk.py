"""Bulk writes on the raw driver connection, for the ingestion hot path (events and their rollups).

SQLAlchemy's per-row parameter processing costs more than the database does for large batches, so these helpers take
values already converted as the column types would convert them (:mod:`fubble.db.types`; see :func:`sqlite_value`).
They run inside the session's transaction (the same connection), so they commit or roll back with it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import psycopg
from sqlalchemy.orm import Session

from fubble.db.types import decimal_text, sqlite_time

T = TypeVar("T")


def driver_connection(session: Session) -> Any:
    """The DBAPI connection (sqlite3 or psycopg) of the session's transaction, which is begun if it was not."""
    return session.connection().connection.driver_connection


# Bound parameters per IN (...) list: far below SQLite's limit (32,766) and PostgreSQL's (65,535).
_IN_CHUNK = 1000


def chunks(values: Sequence[T]) -> Iterator[Sequence[T]]:
    """``values`` in slices short enough for one ``IN (...)`` list."""
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start : start + _IN_CHUNK]


# psycopg caches the parsing of statements with at most 50 parameters; longer lists go to PostgreSQL as one array.
_PG_FEW_VALUES = 50


VALUES = "IN (:values)"  # where rows_matching puts the list of values


def rows_matching(session: Session, query: str, values: Sequence[Any]) -> list[tuple[Any, ...]]:
    """The rows of ``query``, each :data:`VALUES` in it (``column IN (:values)``) standing for the list ``values``,
    on the raw driver (in lists of at most ``_IN_CHUNK``, so a query must not combine rows across chunks): these
    lookups run for every group of events ingested, and SQLAlchemy's expanding IN costs more than the query. Only for
    plain values (ids, text) and columns that need no type conversion. On PostgreSQL, more than a few values go as one
    ``= ANY(array)`` parameter: psycopg builds arrays in Python, but parses a statement with many parameters anew
    every time, which costs more (10,000 event ids: 20 ms instead of 39). The statements are not prepared: prepared,
    PostgreSQL would soon plan them once for all values with the statistics of that moment, and a plan made while a
    table was small (a scan) would stay as it grows, until an ``ANALYZE`` (never, with autovacuum off): 16 event ids
    looked up in 2 ms of server CPU instead of 0.3."""
    return rows_matching_each(session, [(query, values)])[0]


def rows_matching_each(session: Session, lookups: Sequence[tuple[str, Sequence[Any]]]) -> list[list[tuple[Any, ...]]]:
    """:func:`rows_matching` for each ``(query, values)``, in that order; on PostgreSQL all sent at once and answered
    in one round trip (psycopg's pipeline mode), the transaction's ``BEGIN`` with them if they start it."""
    if not any(values for _, values in lookups):
        return [[] for _ in lookups]
    connection = session.connection()
    driver = connection.connection.driver_connection
    postgresql = connection.dialect.name == "postgresql"
    statements = [list(_statements(query, values, postgresql)) for query, values in lookups]
    if not postgresql:
        cursor = driver.cursor()  # type: ignore[union-attr]
        try:
            return [
                [tuple(row) for text, params in each for row in cursor.execute(text, params)] for each in statements
            ]
        finally:
            cursor.close()
    assert driver is not None
    with driver.pipeline():
        cursors = [[_sent(driver, text, params) for text, params in each] for each in statements]
    return [[tuple(row) for cursor in each for row in cursor.fetchall()] for each in cursors]


def _statements(query: str, values: Sequence[Any], postgresql: bool) -> Iterator[tuple[str, list[Any]]]:
    """``query`` with its :data:`VALUES` filled in, and its parameters: one statement per chunk of values, or on
    PostgreSQL, for more than a few values, one with an array."""
    uses = query.count(VALUES)
    if postgresql and len(values) > _PG_FEW_VALUES:
        yield query.replace(VALUES, "= ANY(%s)"), [list(values)] * uses
        return
    mark = "%s" if postgresql else "?"
    for chunk in map(list, chunks(values)):
        yield query.replace(VALUES, f"IN ({', '.join([mark] * len(chunk))})"), chunk * uses


def _sent(driver: Any, query: str, params: list[Any]) -> Any:
    cursor = driver.cursor()
    cursor.execute(query, params, prepare=False)
    return cursor


def sqlite_value(value: Any, times: dict[datetime, str]) -> Any:
    """A value as the column types bind it on SQLite: decimals as exact text, instants as naive UTC text (``times``
    caches the text of instants: events of a batch share their ``received_at`` and often their ``event_time``)."""
    kind = type(value)
    if kind is Decimal:
        return decimal_text(value)
    if kind is datetime:
        return sqlite_instant(value, times)
    return value


def sqlite_instant(moment: datetime, cache: dict[datetime, str]) -> str:
    """An instant as :class:`~fubble.db.types.UTCDateTime` stores it on SQLite, ``cache`` holding one batch's."""
    text = cache.get(moment)
    if text is None:
        text = cache[moment] = sqlite_time(moment)
    return text


def sqlite_decimal(value: Decimal, cache: dict[int, tuple[Decimal, str]]) -> str:
    """A decimal as :class:`~fubble.db.types.ExactDecimal` stores it on SQLite. ``cache`` holds one batch's, by
    identity (the events of a batch share their quantity objects; equal values such as 1 and 1.0 keep their own
    text), each with its object, so that its id stays its own."""
    entry = cache.get(id(value))
    if entry is None:
        entry = cache[id(value)] = (value, decimal_text(value))
    return entry[1]


def pg_number(value: Decimal, cache: dict[int, tuple[Decimal, int | Decimal]]) -> int | Decimal:
    """A decimal as binary ``COPY`` into a ``numeric`` column takes it fastest: a whole number written without a
    fraction (exponent 0 or more) as an ``int``, which psycopg dumps three to four times faster than a ``Decimal``
    (the same ``numeric`` value, the same scale 0); anything else as it is, so ``1.0`` keeps its scale. ``cache``
    (by identity: the events of a batch share their quantity objects) holds the answers of one batch."""
    entry = cache.get(id(value))
    if entry is None:
        exponent = value.as_tuple().exponent
        entry = cache[id(value)] = (value, int(value) if isinstance(exponent, int) and exponent >= 0 else value)
    return entry[1]


# table -> {column: type oid}, read once per process (the schema is migrated before the app starts).
_COLUMN_TYPES: dict[str, dict[str, int]] = {}


def _copy_rows(cursor: Any, table: str, into: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """``COPY into (columns)`` in PostgreSQL's binary format, the values typed as ``table``'s columns (``into`` is
    ``table`` or its staging table). Binary takes a third of the client CPU of the text format (10,000 event rows:
    12 ms instead of 32), and the values need the same Python types either way."""
    types = _COLUMN_TYPES.get(table)
    if types is None:
        cursor.execute(
            "SELECT attname, atttypid::int FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
            " AND NOT attisdropped",
            (table,),
        )
        types = _COLUMN_TYPES[table] = dict(cursor.fetchall())
    with cursor.copy(f"COPY {into} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types([types[column] for column in columns])
        for row in rows:
            copy.write_row(row)


def pg_copy_unless_duplicate(
    session: Session, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> bool:
    """``COPY`` the rows straight into ``table`` (the fastest way in) inside a savepoint; if a row violates a unique
    constraint (a key stored before, or by a concurrent transaction that committed meanwhile), roll back to the
    savepoint and return ``False``, leaving the transaction as it was, so the caller can insert with ``ON CONFLICT``.
    """
    with driver_connection(session).cursor() as cursor:
        cursor.execute("SAVEPOINT fubble_copy")
        try:
            _copy_rows(cursor, table, table, columns, rows)
        except psycopg.errors.UniqueViolation:
            cursor.execute("ROLLBACK TO SAVEPOINT fubble_copy")
            cursor.execute("RELEASE SAVEPOINT fubble_copy")
            return False
        cursor.execute("RELEASE SAVEPOINT fubble_copy")
    return True


# Up to this many rows, PostgreSQL inserts take one multi-row INSERT ... VALUES (see pg_insert_rows); more, COPY.
PG_FEW_ROWS = 500


def pg_insert_rows(
    session: Session, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], tail: str
) -> list[tuple[Any, ...]]:
    """``INSERT INTO table (columns) VALUES (...), (...) <tail>`` on PostgreSQL for a few rows (at most
    :data:`PG_FEW_ROWS`): one statement, one round trip. It goes through psycopg's ``RawCursor`` with PostgreSQL's
    own ``$n`` placeholders, which psycopg sends as they are: with ``%s`` placeholders it would parse a statement of
    more than 50 parameters anew every time, which costs more than the insert. The same number of rows gives the same
    text, so psycopg prepares the statements that recur. The rows are inserted in the order given. Returns the rows of
    a ``RETURNING`` clause in ``tail``, else ``[]``."""
    if not rows:
        return []
    statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES {_placeholders(len(columns), len(rows))} {tail}"
    with psycopg.RawCursor(driver_connection(session)) as cursor:
        cursor.execute(statement, [value for row in rows for value in row])
        return [tuple(row) for row in cursor.fetchall()] if cursor.description is not None else []


@functools.lru_cache(maxsize=256)  # a few MB at most: up to 500 rows of 13 values each
def _placeholders(width: int, count: int) -> str:
    """``($1, $2), ($3, $4)`` for ``count`` rows of ``width`` values."""
    return ", ".join(
        "(" + ", ".join(f"${row * width + column}" for column in range(1, width + 1)) + ")" for row in range(count)
    )


def pg_insert_through_stage(
    session: Session, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], tail: str
) -> list[tuple[Any, ...]]:
    """``INSERT INTO table (columns) SELECT ... <tail>`` on PostgreSQL, the rows coming in by ``COPY`` (by far the
    fastest way in) through a temporary staging table shaped like ``table``. ``tail`` is the rest of the statement
    (``ON CONFLICT ...``, ``RETURNING ...``). The rows are inserted in the order given (so callers that sort them take
    index locks in a consistent order). Returns the rows of a ``RETURNING`` clause, else ``[]``."""
    stage = f"fubble_stage_{table}"
    names = ", ".join(columns)
    with driver_connection(session).cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} (fubble_seq serial, LIKE {table})")
        _copy_rows(cursor, table, stage, columns, rows)
        cursor.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {stage} ORDER BY fubble_seq {tail}")
        returned = cursor.fetchall() if cursor.description is not None else []
        cursor.execute(f"TRUNCATE {stage}")
    return [tuple(row) for row in returned]
