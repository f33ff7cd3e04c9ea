"""Crash durability of a billing run: ``POST /invoices/generate`` is SIGKILLed midway, then run again.

The run is one transaction (the request pipeline commits once, before the response), so a run killed before it
answered leaves nothing behind; running the window again bills every customer exactly once with the right amounts,
and a third run creates nothing new.

"Midway" is checked, not assumed: the kill happens only while the run's transaction is open and writing (SQLite: the
write lock is held; PostgreSQL: the server's backend has an open transaction with a transaction id), and the client
must get no response at all.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.robustness.conftest import ServerFactory
from tests.robustness.harness import (
    Api,
    ConnectionLost,
    assert_clean_log,
    month_amount,
    new_customers,
    new_plan,
    subscribe,
)

pytestmark = pytest.mark.slow  # scheduled first: see tests/conftest.py

CUSTOMERS = 600  # two batches of the billing run (500 customers each), so it is still running when killed
WINDOW = {"start_date": "2024-01-01T00:00:00Z", "end_date": "2025-01-01T00:00:00Z"}  # 12 monthly periods


def seed_events(customer_ids: list[int]) -> list[dict[str, Any]]:
    events = []
    for i, customer_id in enumerate(customer_ids):
        for j in range(8):
            month = (i * 3 + j) % 12 + 1
            events.append(
                {
                    "event_id": f"bill-{customer_id}-{j}",
                    "customer_id": customer_id,
                    "metric_name": "api_calls" if j < 6 else "storage_gb",
                    "quantity": Decimal(137 * ((i + 3 * j) % 11) + 1) + Decimal("0.25") * (j % 3),
                    "event_time": f"2024-{month:02d}-{1 + (i + j) % 28:02d}T{j:02d}:30:00Z",
                }
            )
    return events


def expected_amounts(events: list[dict[str, Any]], customer_ids: list[int]) -> dict[int, Decimal]:
    usage: dict[tuple[int, int], dict[str, Decimal]] = {}
    for event in events:
        per_month = usage.setdefault((event["customer_id"], int(event["event_time"][5:7])), {})
        per_month[event["metric_name"]] = per_month.get(event["metric_name"], Decimal(0)) + event["quantity"]
    return {cid: sum((month_amount(usage.get((cid, m), {})) for m in range(1, 13)), Decimal(0)) for cid in customer_ids}


class WriteProbe:
    """Tells whether some transaction is writing to the database right now (from outside the server)."""

    def __init__(self, db_url: str) -> None:
        self.sqlite_path = db_url.removeprefix("sqlite:///") if db_url.startswith("sqlite") else None
        self.engine = None if self.sqlite_path else create_engine(db_url, poolclass=NullPool)

    def busy(self) -> bool:
        if self.sqlite_path is not None:
            lite = sqlite3.connect(self.sqlite_path, timeout=0, isolation_level=None)
            try:
                lite.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:  # the write lock is held: a write transaction is open
                return "locked" in str(exc)
            else:
                lite.execute("ROLLBACK")
                return False
            finally:
                lite.close()
        assert self.engine is not None
        with self.engine.connect() as conn:
            writers = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
                )
            ).scalar_one()
        return bool(writers)

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


def test_billing_run_killed_midway_then_rerun_bills_everyone_exactly_once(
    server_factory: ServerFactory, db_url: str
) -> None:
    server, key = server_factory()
    api = Api(server.base, key, timeout=120)
    plan_id = new_plan(api)
    customer_ids = new_customers(api, CUSTOMERS, "bill")
    for customer_id in customer_ids:
        subscribe(api, customer_id, plan_id, "2024-01-01T00:00:00Z")
    events = seed_events(customer_ids)
    result = api.ok("POST", "/events/batch", {"events": events}, expect=(200,))
    assert result["accepted"] == len(events)
    expected = expected_amounts(events, customer_ids)

    # The run, in a thread; SIGKILL while its transaction is open and writing, before any response.
    outcome: dict[str, Any] = {}

    def generate() -> None:
        runner = Api(server.base, key, timeout=120)
        try:
            outcome["reply"] = runner.call("POST", "/invoices/generate", WINDOW)
        except ConnectionLost as lost:
            outcome["lost"] = lost
        finally:
            runner.close()

    probe = WriteProbe(db_url)
    thread = threading.Thread(target=generate, daemon=True)
    try:
        thread.start()
        deadline = time.monotonic() + 30
        while not probe.busy():
            assert thread.is_alive() and time.monotonic() < deadline, f"the run never started writing: {outcome}"
            time.sleep(0.02)
        time.sleep(0.2)  # let it write for a while (the run takes seconds)
        assert probe.busy() and thread.is_alive(), f"the run ended before the kill; make it bigger: {outcome}"
        server.kill()
    finally:
        probe.close()
    thread.join(30)
    assert not thread.is_alive()
    assert "reply" not in outcome, f"the run answered before the kill: {outcome['reply'].describe()}"
    assert outcome["lost"].sent

    server.start()
    api.close()
    assert api.pages("/invoices/") == [], "a run killed before it answered left invoices behind"

    second = api.ok("POST", "/invoices/generate", WINDOW, expect=(200,))
    invoices = api.pages("/invoices/")
    assert sorted(i["id"] for i in second) == sorted(i["id"] for i in invoices)
    by_customer = {invoice["customer_id"]: invoice for invoice in invoices}
    assert len(invoices) == len(by_customer) == CUSTOMERS, "some customer has more than one invoice"
    assert set(by_customer) == set(customer_ids)
    for customer_id, invoice in by_customer.items():
        assert invoice["status"] == "draft"
        assert (invoice["period_start"], invoice["period_end"]) == ("2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z")
        assert invoice["amount"] == expected[customer_id], (customer_id, invoice["amount"], expected[customer_id])
        assert sum((item["amount"] for item in invoice["invoice_items"]), Decimal(0)) == invoice["amount"]

    third = api.ok("POST", "/invoices/generate", WINDOW, expect=(200,))
    assert sorted(i["id"] for i in third) == sorted(i["id"] for i in invoices), "a third run billed something again"
    assert api.pages("/invoices/") == invoices, "a third run changed existing invoices"
    api.close()
    server.stop()
    assert_clean_log(server.log())
