"""Fast seeding for the billing benchmarks: customers, subscriptions, events and their rollups written with SQL.

Ingestion speed is measured by ``bench ingest``; here the data only has to exist, fast. So this module writes
straight to the database (never through the API), on a freshly migrated database:

* customers and subscriptions: Core bulk inserts (ids ``1..N`` on a fresh database);
* events: ONE ``INSERT ... SELECT`` per chunk of customers from a generated series (SQLite: a recursive CTE;
  PostgreSQL: ``generate_series``). Customer ``c``'s event ``x`` (``0 <= x < per``) has id ``(c-1)*per + x + 1``,
  time ``start + x*step + c % step`` seconds (``step = seconds in the window // per``, so strictly increasing and
  inside the window) and quantity ``1 + x % 3``; no ``event_id`` (the idempotency key is optional);
* rollups: ``INSERT ... SELECT ... GROUP BY`` over the events, one hour and one day row per bucket with events, as
  :func:`fubble.usage.rollup_rebuild.rebuild` would write them for a ``sum`` metric (first/last values follow from
  the ids since quantities are a function of ``x``). :func:`check_rollups` proves that on a small seed by comparing
  with a real ``rebuild``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select, text

from fubble.db.models import Customer, Subscription
from fubble.db.models.rollup import UsageRollup

CHUNK_CUSTOMERS = 500


def seed_customers(engine: Engine, customers: int, plan_id: int, start: datetime) -> None:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for lo in range(1, customers + 1, 5000):
            hi = min(customers, lo + 4999)
            conn.execute(
                insert(Customer),
                [
                    {
                        "id": c,
                        "name": f"c{c}",
                        "email": f"c{c}@bench.example.com",
                        "currency": "USD",
                        "invoice_seq": 0,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for c in range(lo, hi + 1)
                ],
            )
            conn.execute(
                insert(Subscription),
                [
                    {
                        "id": c,
                        "customer_id": c,
                        "plan_id": plan_id,
                        "start_date": start,
                        "period_anchor": start,
                        "created_at": now,
                    }
                    for c in range(lo, hi + 1)
                ],
            )
        if engine.dialect.name == "postgresql":
            for table in ("customers", "subscriptions"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {customers})"))


def _events_sql(dialect: str) -> str:
    if dialect == "sqlite":
        return """
        WITH RECURSIVE n(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM n WHERE x < :per - 1),
        c(id) AS (SELECT :lo UNION ALL SELECT id + 1 FROM c WHERE id < :hi)
        INSERT INTO events (id, event_id, customer_id, metric_name, quantity, event_time, properties, fingerprint,
                            received_at)
        SELECT (c.id - 1) * :per + n.x + 1, NULL, c.id, :metric, CAST(1 + n.x % 3 AS TEXT),
               (:epoch + n.x * :step + c.id % :step) * 1000000,
               NULL, 'seed', strftime('%Y-%m-%d %H:%M:%S', :epoch + n.x * :step + c.id % :step, 'unixepoch')
                             || '.000000'
        FROM c CROSS JOIN n ORDER BY c.id, n.x
        """
    return """
    INSERT INTO events (id, event_id, customer_id, metric_name, quantity, event_time, properties, fingerprint,
                        received_at)
    SELECT (c - 1) * :per + x + 1, NULL, c, :metric, 1 + x % 3,
           to_timestamp(:epoch + x * :step + c % :step), NULL, 'seed', to_timestamp(:epoch + x * :step + c % :step)
    FROM generate_series(CAST(:lo AS int), CAST(:hi AS int)) AS c
    CROSS JOIN generate_series(0, CAST(:per AS int) - 1) AS x
    ORDER BY c, x
    """


def _rollups_sql(dialect: str, width: str) -> str:
    if dialect == "sqlite":
        # event_time is in whole microseconds since 1970 (fubble.db.types.UTCMicros); rollups store instants as text
        text_time = "strftime('%Y-%m-%d %H:%M:%S', {} / 1000000, 'unixepoch') || '.000000'"
        bucket = (
            "strftime('%Y-%m-%d %H', event_time / 1000000, 'unixepoch') || ':00:00.000000'"
            if width == "hour"
            else "strftime('%Y-%m-%d', event_time / 1000000, 'unixepoch') || ' 00:00:00.000000'"
        )
        quantity = "CAST(quantity AS INTEGER)"
        as_text = "CAST({} AS TEXT)"
        first_time, last_time = text_time.format("min(event_time)"), text_time.format("max(event_time)")
    else:
        bucket = f"date_trunc('{width}', event_time)"
        quantity = "quantity"
        as_text = "{}"
        first_time, last_time = "min(event_time)", "max(event_time)"
    first = as_text.format("1 + ((min(id) - 1) % :per) % 3")
    last = as_text.format("1 + ((max(id) - 1) % :per) % 3")
    return f"""
    INSERT INTO usage_rollups (customer_id, metric_name, width, bucket, event_count, total, maximum, first_time,
                               first_value, last_time, last_value, last_event_id, integral)
    SELECT customer_id, metric_name, '{width}', {bucket}, count(*), {as_text.format(f"sum({quantity})")},
           {as_text.format(f"max({quantity})")}, {first_time}, {first}, {last_time}, {last}, max(id), {
        as_text.format("0")
    }
    FROM events WHERE customer_id BETWEEN :lo AND :hi AND metric_name = :metric
    GROUP BY customer_id, metric_name, {bucket}
    """


def seed_events(
    engine: Engine, customers: int, per: int, metric: str, start: datetime, end: datetime, *, progress: bool = True
) -> None:
    """``per`` events of ``metric`` for each customer ``1..customers`` spread over ``[start, end)``, plus rollups."""
    dialect = engine.dialect.name
    epoch = int(start.timestamp())
    step = int((end - start).total_seconds()) // per
    assert step >= 1, "more events per customer than seconds in the window"
    with engine.begin() as conn:
        if dialect == "postgresql":
            conn.execute(text("SET LOCAL TIME ZONE 'UTC'"))
        for lo in range(1, customers + 1, CHUNK_CUSTOMERS):
            hi = min(customers, lo + CHUNK_CUSTOMERS - 1)
            params: dict[str, Any] = {"lo": lo, "hi": hi, "per": per, "metric": metric, "epoch": epoch, "step": step}
            conn.execute(text(_events_sql(dialect)), params)
            for width in ("hour", "day"):
                conn.execute(text(_rollups_sql(dialect, width)), params)
            if progress:
                print(f"\r  seeded {hi * per:,} events", end="", flush=True)
        if dialect == "postgresql":
            conn.execute(text("ANALYZE"))
    if progress:
        print()


def settle(engine: Engine) -> None:
    """Flush a bulk load to the database files (PostgreSQL ``CHECKPOINT``; SQLite: the log copied back), as a
    database in steady state has long since done, so that what is timed next does not include that write-back."""
    with engine.connect() as conn:
        conn.exec_driver_sql("CHECKPOINT" if engine.dialect.name == "postgresql" else "PRAGMA wal_checkpoint")


def rollup_rows(engine: Engine) -> list[tuple[Any, ...]]:
    """Every column of every rollup row."""
    r = UsageRollup
    query = select(*UsageRollup.__table__.columns).order_by(r.customer_id, r.width, r.bucket)
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]


def check_rollups(engine: Engine, metric: str) -> None:
    """Assert the SQL-seeded rollups equal what :func:`fubble.usage.rollup_rebuild.rebuild` computes from the events."""
    from sqlalchemy.orm import Session

    from fubble.usage import rollup_rebuild

    seeded = rollup_rows(engine)
    with Session(engine) as session:
        rollup_rebuild.rebuild(session, metric)
        session.commit()
    rebuilt = rollup_rows(engine)
    assert seeded == rebuilt, next((a, b) for a, b in zip(seeded, rebuilt, strict=False) if a != b)
    print(f"  seeded rollups == rollup_rebuild.rebuild ({len(seeded)} rows)")
