"""Concurrent batches into the same rollup buckets lose no update (PostgreSQL runs them truly in parallel)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from fubble.clock import FrozenClock
from fubble.db.session import Database
from fubble.events.batch_store import record_batch
from fubble.usage import reader, rollup_rebuild
from fubble.usage.definitions import resolve

from .helpers import Spec, brute_usage, define, new_customers, snapshot, stored_events

T0 = datetime(2024, 5, 31, 22, tzinfo=UTC)
SPECS = [Spec("calls"), Spec("gauge", "weighted_sum"), Spec("users", "unique_count", "user"), Spec("peak", "max")]
THREADS = 4
BATCHES = 6


def test_concurrent_batches_into_the_same_buckets(db: Database, clock: FrozenClock) -> None:
    (customer,) = new_customers(db, clock, 1)
    with db.transaction() as session:
        for spec in SPECS:
            define(session, spec, clock)
    errors: list[BaseException] = []

    def ingest(worker: int) -> None:
        try:
            for batch in range(BATCHES):
                bodies = [
                    {
                        "customer_id": customer,
                        "metric_name": SPECS[i % len(SPECS)].name,
                        "quantity": Decimal(worker * 1000 + batch * 50 + i + 1) / 100,
                        # Four hours around midnight, unique instants: every batch touches the same buckets.
                        "event_time": T0 + timedelta(seconds=(i * 7919 + batch * 131 + worker * 17) % 14400),
                        "properties": {"user": f"u{(worker + i) % 9}"},
                        "event_id": f"w{worker}-b{batch}-{i}",
                    }
                    for i in range(40)
                ]
                with db.transaction() as session:
                    record_batch(session, bodies, clock=clock, max_events=1000)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=ingest, args=(w,)) for w in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

    start, end = T0 - timedelta(hours=1), T0 + timedelta(hours=5)
    with db.transaction() as session:
        stored = stored_events(session)
        assert len(stored) == THREADS * BATCHES * 40
        definitions = resolve(session, [s.name for s in SPECS])
        for spec in SPECS:
            for window in ((start, end), (T0 + timedelta(minutes=30), T0 + timedelta(hours=3, minutes=10))):
                got = reader.usage(session, customer, definitions[spec.name], *window)
                assert got == brute_usage(stored, spec, customer, *window), spec
        incremental = snapshot(session)
        for spec in SPECS:
            rollup_rebuild.rebuild(session, spec.name)
        assert snapshot(session) == incremental
