"""Concurrent runs over the same window bill each customer once (the customer row lock serializes them)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from fubble.billing.service import generate_invoices
from fubble.clock import FrozenClock
from fubble.config import Settings
from fubble.db.session import Database

from .billing_driver import Billing

RUNS = 4


def test_concurrent_runs_create_one_invoice_per_customer(
    client: TestClient, billing: Billing, db: Database, clock: FrozenClock, settings: Settings
) -> None:
    customers = [billing.customer() for _ in range(2)]
    plan = billing.pro_plan()
    for customer in customers:
        billing.subscribe(customer, plan, "2024-01-01T00:00:00")
        billing.event(customer, "api_calls", 1500, "2024-01-10T00:00:00")
    start, end = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC)
    barrier = threading.Barrier(RUNS)
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            with db.transaction() as session:
                invoices = generate_invoices(session, start=start, end=end, clock=clock, settings=settings)
                results.append([invoice.id for invoice in invoices])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(RUNS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(results) == RUNS
    assert all(ids == results[0] for ids in results)
    assert billing.invoice_count() == 2


def test_library_function_takes_naive_utc(
    client: TestClient, billing: Billing, db: Database, clock: FrozenClock
) -> None:
    customer = billing.customer()
    billing.subscribe(customer, billing.pro_plan(), "2024-01-01T00:00:00")
    with db.transaction() as session:
        [invoice] = generate_invoices(
            session,
            start=datetime(2024, 1, 1),
            end=datetime(2024, 2, 1),
            customer_id=customer,
            clock=clock,
            settings=Settings(database_url=db.url, payment_term_days=7),
        )
        assert invoice.period_start == datetime(2024, 1, 1, tzinfo=UTC)
        assert invoice.due_date == datetime(2024, 1, 22, 12, tzinfo=UTC)
        assert str(invoice.amount) == "29.99"
