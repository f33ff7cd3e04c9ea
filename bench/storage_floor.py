"""What the database alone can take: durable batches of event rows written straight into fubble's schema.

python -m bench storage_floor --database sqlite --batches 10 --batch-size 10000
python -m bench storage_floor --database postgres

No HTTP, no JSON, no validation, no rollups: rows already converted are written to a freshly migrated database, one
transaction per batch, committed durably (SQLite WAL with synchronous=FULL, like the server; PostgreSQL's defaults),
SQLite with one ``executemany``, PostgreSQL with one ``COPY``. The same is then repeated without the
``(customer_id, metric_name, event_time)`` index, to show what that index costs. The rows have the shape of
``bench ingest``'s events, their 5 properties included (random event ids are a separate run: ``--random-ids``), so the
figures bound what the ingest benchmark can reach on the same machine.
"""

from __future__ import annotations

import argparse
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bench.ingest import event_properties
from bench.server import database_url
from fubble.db.types import dumps_exact
from fubble.events.repository import COLUMNS

TYPES = ["int8", "varchar", "int4", "varchar", "numeric", "timestamptz", "text", "varchar", "timestamptz"]  # of COLUMNS
INDEX = "ix_events_customer_metric_time"


def rows(first_id: int, count: int, customers: int, random_ids: bool, properties: int) -> list[tuple[Any, ...]]:
    run = uuid.uuid4().hex[:8]
    received = datetime.now(UTC)
    made = []
    for n in range(count):
        event_id = str(uuid.uuid4()) if random_ids else f"{run}-{n}"
        at = datetime(2024, 1, 1 + n % 28, n % 24, tzinfo=UTC)  # bench ingest's event times
        carried = dumps_exact(event_properties(n, properties)) if properties else None  # as fubble stores them
        made.append((event_id, 1 + n % customers, "api_calls", Decimal(1), at, carried, "f" * 64, received))
    made.sort(key=lambda row: row[0])  # fubble inserts a batch in event_id order
    return [(first_id + i, *row) for i, row in enumerate(made)]


def run_sqlite(url: str, batches: list[list[tuple[Any, ...]]]) -> float:
    import sqlite3

    from fubble.db.bulk import sqlite_value
    from fubble.db.types import sqlite_micros

    conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    statement = (
        f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))}) "
        "ON CONFLICT (event_id) DO NOTHING"
    )
    times: dict[datetime, str] = {}
    at = COLUMNS.index("event_time")  # stored as an integer (fubble.db.types.UTCMicros)
    prepared = [
        [tuple(sqlite_micros(v) if i == at else sqlite_value(v, times) for i, v in enumerate(row)) for row in batch]
        for batch in batches
    ]
    started = time.perf_counter()
    for batch in prepared:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(statement, batch)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def run_postgres(url: str, batches: list[list[tuple[Any, ...]]]) -> float:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        started = time.perf_counter()
        for batch in batches:
            statement = f"COPY events ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)"  # as the app copies
            with conn.cursor() as cursor, cursor.copy(statement) as copy:
                copy.set_types(TYPES)
                for row in batch:
                    copy.write_row(row)
            conn.commit()
        return time.perf_counter() - started


def measure(kind: str, args: argparse.Namespace, with_index: bool) -> float:
    from sqlalchemy import create_engine, text

    from fubble.db.migrate import upgrade
    from fubble.db.session import normalize_url

    with database_url(kind) as url:
        upgrade(url)
        engine = create_engine(normalize_url(url))
        with engine.begin() as conn:
            now = datetime.now(UTC) - timedelta(days=1)
            conn.execute(
                text(
                    "INSERT INTO customers (id, name, email, currency, invoice_seq, created_at, updated_at) "
                    "VALUES (:id, 'c', :email, 'USD', 0, :now, :now)"
                ),
                [{"id": i, "email": f"c{i}@floor.example.com", "now": now} for i in range(1, args.customers + 1)],
            )
            if not with_index:
                conn.execute(text(f"DROP INDEX {INDEX}"))
        engine.dispose()
        size: int = args.batch_size
        count: int = args.batches
        batches = [rows(1 + b * size, size, args.customers, args.random_ids, args.properties) for b in range(count)]
        elapsed = (run_sqlite if kind == "sqlite" else run_postgres)(url, batches)
        return count * size / elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench storage_floor", description=__doc__)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--customers", type=int, default=50, help="as bench ingest's default")
    parser.add_argument("--random-ids", action="store_true", help="uuid4 event ids instead of bench ingest's ids")
    parser.add_argument("--properties", type=int, default=5, help="properties per event row, as bench ingest's")
    args = parser.parse_args(argv)
    for with_index in (True, False):
        rate = measure(args.database, args, with_index)
        what = "as migrated" if with_index else f"without {INDEX}"
        print(f"{args.database}: {args.batches} x {args.batch_size} event rows, {what}: {rate:,.0f} rows/s")


if __name__ == "__main__":
    main()
