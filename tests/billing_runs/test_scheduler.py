"""The billing scheduler of ``fubble serve``: a real server with two workers bills a due period by itself, exactly
once; with ``FUBBLE_BILLING_INTERVAL_SECONDS=0`` it never runs. And the lease the workers take turns with."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bench.server import ServerProcess, create_admin_key, database_url
from fubble.billing_runs.repository import claim_lease, release_lease
from fubble.db.models import JobLease
from fubble.db.session import Database
from tests.cli.conftest import request

pytestmark = pytest.mark.slow

PLAN = {
    "name": "Base",
    "billing_frequency": "monthly",
    "price_components": [
        {"metric_name": "subscription_fee", "pricing_type": "subscription", "pricing_details": {"amount": "29.99"}}
    ],
}


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "postgres":
        request.getfixturevalue("postgres_url")  # skips (or fails in CI) when PostgreSQL is unreachable
    with database_url(request.param, prefix="fubble_scheduler") as url:
        yield url


class Api:
    def __init__(self, base: str, key: str) -> None:
        self.base = base
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def get(self, path: str) -> Any:
        status, _, body = request(self.base + path, headers=self.headers)
        assert status == 200, body
        return json.loads(body, parse_float=Decimal)

    def post(self, path: str, payload: object) -> Any:
        status, _, body = request(self.base + path, json.dumps(payload).encode(), self.headers)
        assert status in (200, 201), body
        return json.loads(body, parse_float=Decimal)


def serve(db_url: str, tmp_path: Path, interval: str) -> tuple[ServerProcess, Api]:
    """``fubble serve`` with two workers and the scheduler every ``interval`` seconds, with a customer whose
    subscription's first monthly period (29.99) ended a few days ago and is not billed yet."""
    key = create_admin_key(db_url)
    server = ServerProcess(
        db_url,
        workers=2,
        extra_env={"FUBBLE_BILLING_INTERVAL_SECONDS": interval},
        log_dir=tmp_path,
        access_log=False,
    )
    api = Api(server.start(), key)
    plan = api.post("/plans/", PLAN)
    customer = api.post("/customers/", {"name": "Acme", "email": "acme@example.com"})
    start = (datetime.now(UTC) - timedelta(days=35)).replace(microsecond=0)
    api.post(f"/customers/{customer['id']}/subscriptions", {"plan_id": plan["id"], "start_date": start.isoformat()})
    return server, api


def test_the_server_bills_a_due_period_by_itself_exactly_once(db_url: str, tmp_path: Path) -> None:
    server, api = serve(db_url, tmp_path, "1")
    try:
        deadline = time.monotonic() + 15
        while not (invoices := api.get("/invoices/")):
            assert time.monotonic() < deadline, "no invoice within 15 s:\n" + server.log()[-3000:]
            time.sleep(0.2)
        time.sleep(3)  # a few more ticks of both workers
        invoices = api.get("/invoices/")
        runs = api.get("/billing/runs")
    finally:
        server.stop()
    assert [(str(invoice["amount"]), invoice["status"]) for invoice in invoices] == [("29.99", "pending")]
    assert len(runs) >= 2 and {run["trigger"] for run in runs} == {"scheduler"}
    assert [run["invoice_ids"] for run in runs if run["invoices_created"]] == [[invoices[0]["id"]]]
    # one run at a time (the lease): all have finished but perhaps the newest, still at work when they were listed
    assert all(run["finished_at"] is not None for run in runs[1:])
    assert "Traceback" not in server.log()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # a setting read at start: the database plays no part
def test_with_interval_0_the_server_never_bills(db_url: str, tmp_path: Path) -> None:
    server, api = serve(db_url, tmp_path, "0")
    try:
        time.sleep(2)  # two ticks of the 1-second interval the test above bills with
        assert api.get("/invoices/") == [] and api.get("/billing/runs") == []
        run = api.post("/billing/runs", {})  # the period was due: a run bills it
    finally:
        server.stop()
    assert (run["trigger"], run["invoices_created"]) == ("api", 1)


def test_the_lease_has_one_holder_until_it_is_released_or_expires(db: Database) -> None:
    t = datetime(2024, 1, 1, tzinfo=UTC)

    def claim(holder: str, at: datetime, seconds: int = 60) -> bool:
        with db.transaction() as session:
            return claim_lease(session, "billing", holder, now=at, until=at + timedelta(seconds=seconds))

    def release(holder: str) -> None:
        with db.transaction() as session:
            release_lease(session, "billing", holder)

    def lease() -> tuple[str | None, datetime | None]:
        with db.transaction() as session:
            row = session.get(JobLease, "billing")
            assert row is not None
            return row.holder, row.expires_at

    assert claim("a", t)  # the first claim makes the row
    assert not claim("b", t + timedelta(seconds=1))
    assert claim("a", t + timedelta(seconds=30))  # the holder extends it
    assert lease() == ("a", t + timedelta(seconds=90))
    assert not claim("b", t + timedelta(seconds=89))
    release("b")  # only the holder releases it
    assert lease() == ("a", t + timedelta(seconds=90))
    assert claim("b", t + timedelta(seconds=90))  # expired: anyone may take it
    assert not claim("a", t + timedelta(seconds=91))
    release("b")
    assert lease() == (None, None)
    assert claim("a", t + timedelta(seconds=92))  # released: free at once
    assert claim("other", t, seconds=1) is False
    with db.transaction() as session:
        assert claim_lease(session, "another job", "b", now=t, until=t + timedelta(seconds=5))  # leases are by name
