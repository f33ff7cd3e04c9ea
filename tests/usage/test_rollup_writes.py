"""Rollup upserts of every size keep the rollups exact.

PostgreSQL writes a few rows from arrays in one statement and many rows through a COPY-filled staging table; SQLite
takes one executemany either way. A big batch (hundreds of buckets), then small batches into the same buckets, must
leave exactly the rows a rebuild from the raw events gives, and the usage brute force over the raw events gives.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from fubble.clock import FrozenClock
from fubble.db.session import Database
from fubble.events import service as events
from fubble.events.repository import insert_batch
from fubble.usage import reader, rollups
from fubble.usage.definitions import MetricDefinition, resolve

from .helpers import Spec, brute_usage, define, new_customers, snapshot, stored_events

T0 = datetime(2024, 7, 1, 22, tzinfo=UTC)
SPECS = [Spec("calls"), Spec("peak", "max"), Spec("level", "latest"), Spec("users", "unique_count", "user")]


def test_big_and_small_upserts_match_a_rebuild(db: Database, clock: FrozenClock) -> None:
    customers = new_customers(db, clock, 120)
    with db.transaction() as session:
        for spec in SPECS:
            define(session, spec, clock)

    def event(n: int, customer: int, batch: str) -> dict[str, object]:
        return {
            "customer_id": customer,
            "metric_name": SPECS[n % len(SPECS)].name,
            "quantity": Decimal(n % 97 + 1) / 8,
            "event_time": T0 + timedelta(minutes=(n * 37) % 480),  # eight hours across midnight
            "properties": {"user": f"u{n % 11}"},
            "event_id": f"{batch}-{n}",
        }

    big = [event(n, customers[n % len(customers)], "big") for n in range(3000)]
    with db.transaction() as session:
        events.record_batch(session, big, clock=clock, max_events=10_000)
    for k in range(5):  # small batches into buckets the big one created
        small = [event(n + 7 * k, customers[(n + k) % 3], f"small{k}") for n in range(5)]
        with db.transaction() as session:
            events.record_batch(session, small, clock=clock, max_events=10_000)

    with db.transaction() as session:
        incremental = snapshot(session)
        assert len(incremental[0]) > 600  # the big batch went through the many-rows path (over 500 buckets)
        stored = stored_events(session)
        definitions = resolve(session, [s.name for s in SPECS])
        window = (T0 + timedelta(minutes=10), T0 + timedelta(hours=3, minutes=50))
        for customer in customers[:4]:
            for spec in SPECS:
                got = reader.usage(session, customer, definitions[spec.name], *window)
                assert got == brute_usage(stored, spec, customer, *window), spec
        for spec in SPECS:
            rollups.rebuild(session, spec.name)
        assert snapshot(session) == incremental


def test_a_summary_prepared_with_stale_definitions_is_redone(db: Database, clock: FrozenClock) -> None:
    """Ingestion may summarize a batch before it takes the write lock; if a metric changed meanwhile, the summary is
    made again with the definition the transaction sees, so the rollups still match a rebuild."""
    (customer,) = new_customers(db, clock, 1)
    spec = Spec("gets", filters=(("method", ("GET",)),))
    with db.transaction() as session:
        define(session, spec, clock)
    stale = {spec.name: MetricDefinition(spec.name)}  # a plain sum without the filter
    events_sent = [
        {
            "customer_id": customer,
            "metric_name": spec.name,
            "quantity": Decimal(n + 1),
            "event_time": T0 + timedelta(minutes=n * 13),
            "properties": {"method": "GET" if n % 3 else "POST"},
            "event_id": f"e{n:02d}",  # stored in event_id order: the order given
        }
        for n in range(30)
    ]
    with db.transaction() as session:
        rows = [
            rollups.EventRow(n, customer, spec.name, e["quantity"], e["event_time"], e["properties"])  # type: ignore[arg-type]
            for n, e in enumerate(events_sent)
        ]
        prepared = rollups.prepare(stale, rows)
        inserted = insert_batch(session, [_row(e) for e in events_sent])
        stored = [rollups.EventRow(i, *row[1:]) for (i, _), row in zip(inserted, rows, strict=True)]
        rollups.apply(session, stored, prepared=prepared)
    with db.transaction() as session:
        incremental = snapshot(session)
        gets = sum(e["quantity"] for e in events_sent if e["properties"]["method"] == "GET")  # type: ignore[index]
        assert sum(Decimal(r[5]) for r in incremental[0] if r[2] == "day") == gets
        rollups.rebuild(session, spec.name)
        assert snapshot(session) == incremental


def _row(sent: dict[str, object]) -> dict[str, object]:
    return {**sent, "fingerprint": "f" * 64, "received_at": T0}
