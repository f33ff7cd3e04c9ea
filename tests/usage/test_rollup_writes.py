"""Rollup upserts of every size keep the rollups exact.

PostgreSQL writes a few rows with one multi-row INSERT ... VALUES and many through a COPY-filled staging table; SQLite
takes one executemany either way. A big batch (hundreds of buckets), then small batches into the same buckets, must
leave exactly the rows a rebuild from the raw events gives, and the usage brute force over the raw events gives.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from fubble.clock import FrozenClock
from fubble.db.session import Database
from fubble.events.batch_store import record_batch
from fubble.usage import reader, rollup_rebuild
from fubble.usage.definitions import resolve

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
        record_batch(session, big, clock=clock, max_events=10_000)
    for k in range(5):  # small batches into buckets the big one created
        small = [event(n + 7 * k, customers[(n + k) % 3], f"small{k}") for n in range(5)]
        with db.transaction() as session:
            record_batch(session, small, clock=clock, max_events=10_000)

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
            rollup_rebuild.rebuild(session, spec.name)
        assert snapshot(session) == incremental
