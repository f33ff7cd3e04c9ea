"""Billing runs that are killed, repeated and run at once still bill every period of every subscription exactly once.

* a real ``fubble bill --as-of`` process SIGKILLed once some batches have committed, then run again to completion;
* two runs at once on the same customers (each with its own database connections);
* the database's own guarantee: the unique index on billing coverage (subscription, kind, start), for unreleased rows.

Thousands of customers are seeded with bulk inserts (bench/seed.py): each subscribed from 2024-01-01 to a plan of a
10.00 monthly fee and 0.50 per API call, with API calls of 1, 2 and 3 in January and 1 in February. So as of
2024-03-01 each customer is due two invoices: January 13.00 (10.00 + 6 calls) and February 10.50 (10.00 + 1 call).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bench.seed import seed_customers, seed_events
from bench.server import database_url
from fubble.api.app import create_app
from fubble.api_keys import service as key_service
from fubble.api_keys.scopes import Scope
from fubble.billing_runs.job import BATCH, run_billing
from fubble.clock import SystemClock
from fubble.config import Settings
from fubble.db.migrate import upgrade
from fubble.db.models import BillingCoverage, BillingRun, Invoice, InvoiceItem, PriceComponent
from fubble.db.session import Database
from tests.cli.conftest import FUBBLE, environment

pytestmark = pytest.mark.slow

JANUARY, FEBRUARY, MARCH = (datetime(2024, month, 1, tzinfo=UTC) for month in (1, 2, 3))
AS_OF = "2024-03-01T00:00:00Z"
PLAN = {
    "name": "Robust",
    "billing_frequency": "monthly",
    "price_components": [
        {"metric_name": "platform", "pricing_type": "subscription", "pricing_details": {"amount": "10.00"}},
        {
            "metric_name": "api_calls",
            "pricing_type": "package",
            "pricing_details": {"package_size": 1, "package_price": "0.50"},
        },
    ],
}
# Per customer: (period start, period end, amount) of the invoices due as of 2024-03-01.
DUE = [(JANUARY, FEBRUARY, Decimal("13.00")), (FEBRUARY, MARCH, Decimal("10.50"))]


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh database of each kind, migrated."""
    if request.param == "postgres":
        request.getfixturevalue("postgres_url")  # skips (or fails in CI) when PostgreSQL is unreachable
    with database_url(request.param, prefix="fubble_robust") as url:
        upgrade(url)
        yield url


def seed(url: str, customers: int) -> None:
    """``customers`` customers subscribed from 2024-01-01 to :data:`PLAN`, with their API calls (see the module)."""
    db = Database(url)
    try:
        with db.transaction() as session:
            _row, key = key_service.create(session, name="seed", scope=Scope.admin, clock=SystemClock())
        app = create_app(Settings(database_url=url), database=db)
        with TestClient(app, headers={"Authorization": f"Bearer {key}"}) as client:
            plan = client.post("/plans/", json=PLAN)
            assert plan.status_code == 201, plan.text
        seed_customers(db.engine, customers, plan.json()["id"], JANUARY)
        # 4 calls each: 1, 2, 3 spread over January, then 1 in mid-February
        seed_events(db.engine, customers, 4, "api_calls", JANUARY, MARCH, progress=False)
    finally:
        db.dispose()


def assert_each_period_billed_once(db: Database, customers: int) -> None:
    """Every subscription (customer ``c`` has subscription ``c``) has exactly one invoice, one line per price
    component and one unreleased coverage row per period due, and nothing else."""
    with db.transaction() as session:
        invoices = session.execute(
            select(Invoice.customer_id, Invoice.period_start, Invoice.period_end, Invoice.amount, Invoice.status)
        ).all()
        coverage = session.execute(
            select(BillingCoverage.subscription_id, BillingCoverage.start, BillingCoverage.end).where(
                BillingCoverage.kind == "arrears", BillingCoverage.released.is_(False)
            )
        ).all()
        lines = session.execute(
            select(
                InvoiceItem.subscription_id,
                InvoiceItem.period_start,
                InvoiceItem.period_end,
                PriceComponent.metric_name,
            ).join(PriceComponent, PriceComponent.id == InvoiceItem.price_component_id)
        ).all()
        released = session.scalar(select(func.count()).select_from(BillingCoverage).where(BillingCoverage.released))
    expected = Counter((c, start, end) for c in range(1, customers + 1) for start, end, _ in DUE)
    assert Counter((c, start, end) for c, start, end, _, _ in invoices) == expected
    assert Counter(tuple(row) for row in coverage) == expected
    both = Counter((c, start, end, metric) for c, start, end in expected for metric in ("platform", "api_calls"))
    assert Counter(tuple(row) for row in lines) == both  # one fee line and one usage line per period
    assert released == 0
    amounts = {(start, end): amount for start, end, amount in DUE}
    assert all(amount == amounts[start, end] for _, start, end, amount, _ in invoices)
    assert {status for *_, status in invoices} == {"pending"}


def runs(db: Database) -> list[BillingRun]:
    with db.transaction() as session:
        return list(session.scalars(select(BillingRun).order_by(BillingRun.id)))


def created_by(db: Database, run_id: int) -> int:
    with db.transaction() as session:
        return int(session.scalar(select(func.count()).where(Invoice.billing_run_id == run_id)) or 0)


def test_a_run_killed_midway_and_started_again_bills_each_period_exactly_once(fresh_url: str, tmp_path: Path) -> None:
    customers = 2000 if fresh_url.startswith("sqlite") else 1500  # a run of a few seconds on each
    seed(fresh_url, customers)
    db = Database(fresh_url)
    try:
        first = subprocess.Popen(
            [FUBBLE, "bill", "--as-of", AS_OF],
            env=environment(fresh_url),
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while created_by(db, 1) == 0:  # until a batch has committed
                assert first.poll() is None, "the run ended before its first batch committed"
                assert time.monotonic() < deadline, "no batch committed within 60 s"
                time.sleep(0.02)
            assert first.poll() is None, "the run ended before it could be killed: seed more customers"
            os.killpg(first.pid, signal.SIGKILL)
        finally:
            if first.poll() is None:
                os.killpg(first.pid, signal.SIGKILL)
            first.wait(10)
        assert first.returncode == -signal.SIGKILL
        (killed,) = runs(db)
        assert killed.finished_at is None  # interrupted
        committed = created_by(db, killed.id)
        assert killed.invoices_created == committed  # its figures match the batches it committed
        assert 0 < committed < 2 * customers

        second = subprocess.run(
            [FUBBLE, "bill", "--as-of", AS_OF],
            env=environment(fresh_url),
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert second.returncode == 0, second.stderr
        killed, finished = runs(db)
        assert finished.finished_at is not None and killed.finished_at is None
        assert killed.invoices_created + finished.invoices_created == 2 * customers
        assert finished.invoices_created == created_by(db, finished.id) == 2 * customers - committed
        assert_each_period_billed_once(db, customers)
    finally:
        db.dispose()


def test_two_runs_at_once_bill_each_period_once(fresh_url: str) -> None:
    customers = 2 * BATCH + 100  # three batches each
    seed(fresh_url, customers)
    settings = Settings(database_url=fresh_url)
    start = threading.Barrier(2)
    outcome: dict[str, int | BaseException] = {}

    def bill(name: str) -> None:
        db = Database(fresh_url)
        try:
            start.wait(30)
            outcome[name] = run_billing(db, as_of=MARCH, trigger="api", clock=SystemClock(), settings=settings)
        except BaseException as exc:  # reported below
            outcome[name] = exc
        finally:
            db.dispose()

    threads = [threading.Thread(target=bill, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert all(isinstance(value, int) for value in outcome.values()) and len(outcome) == 2, outcome

    db = Database(fresh_url)
    try:
        a, b = runs(db)
        assert a.started_at < b.finished_at and b.started_at < a.finished_at  # they ran at the same time
        assert a.invoices_created + b.invoices_created == 2 * customers  # what a single run creates
        assert_each_period_billed_once(db, customers)
    finally:
        db.dispose()


def test_the_coverage_index_refuses_a_second_unreleased_row_for_the_same_time(db: Database, client: TestClient) -> None:
    """The database itself refuses to bill a subscription's time twice the same way (the frozen clock stands at
    2024-01-15 12:00; the subscription's December is billed)."""
    plan = client.post("/plans/", json=PLAN).json()
    customer = client.post("/customers/", json={"name": "c", "email": "c@example.com"}).json()
    subscription = {"plan_id": plan["id"], "start_date": "2023-12-01T00:00:00Z"}
    assert client.post(f"/customers/{customer['id']}/subscriptions", json=subscription).status_code in (200, 201)
    run = client.post("/billing/runs", json={})
    assert run.status_code == 200, run.text
    assert run.json()["invoices_created"] == 1
    with db.transaction() as session:
        (row,) = session.scalars(select(BillingCoverage))
        assert (row.kind, row.start, row.released) == ("arrears", datetime(2023, 12, 1, tzinfo=UTC), False)
        original = {"invoice_id": row.invoice_id, "subscription_id": row.subscription_id, "start": row.start}

    def add(**fields: object) -> None:
        with db.transaction() as session:
            session.add(BillingCoverage(**original, end=datetime(2024, 1, 1, tzinfo=UTC), **fields))

    with pytest.raises(IntegrityError):
        add(kind="arrears", released=False)
    add(kind="arrears", released=True)  # a void invoice's coverage does not count
    add(kind="advance", released=False)  # nor does billing the same time another way
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(BillingCoverage)) == 3
