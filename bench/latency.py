"""Read latency for a heavy customer: ``upcoming-invoice`` and ``usage`` with 1,000,000 events in the current period.

python -m bench latency --database sqlite --events 1000000 --requests 500
python -m bench latency --database postgres --events 1000000 --requests 500

One customer subscribes (monthly plan: tiered ``api_calls`` + a subscription fee) starting 20 days ago at a whole
second, so its current period is [20 days ago, 20 days ago + 1 month) and contains now. ``--events`` events are
spread evenly over [period start, now) and written straight to the database with their rollups (bench/seed.py; the
plan goes through the API), then checkpointed (the bulk load flushed, as in steady state). A real server (one worker)
then answers, one request at a time over one keep-alive connection (bench/http_client.py), ``--requests`` times each:

* ``GET /customers/1/upcoming-invoice``
* ``POST /plans/{id}/preview`` ``{"customer_id": 1}`` (the same plan, with a minimum commitment, previewed)
* ``GET /customers/1/usage?start_date=<period start>&end_date=<period end>&granularity=day``

The customer's invoices are under terms, so the previews apply all of them: a default 20% tax rate, a 3-period 10%
coupon redeemed, and a 50.00 credit grant.

and the client-side latency percentiles are printed (after 20 warm-up requests per route).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bench.http_client import Connection
from bench.invoice_run import PLAN
from bench.seed import seed_customers, seed_events, settle
from bench.server import create_admin_key, database_url, running_server
from fubble.db.session import make_engine

WARMUP = 20


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


async def measure(
    base: str, headers: dict[str, str], route: tuple[str, str, bytes | None], requests: int
) -> list[float]:
    method, path, body_sent = route
    conn = await Connection.open(base)
    try:
        for _ in range(WARMUP):
            status, body = await conn.request(method, path, body_sent, headers)
            assert status == 200, body[:500]
        latencies = []
        for _ in range(requests):
            started = time.perf_counter()
            status, body = await conn.request(method, path, body_sent, headers)
            latencies.append((time.perf_counter() - started) * 1000)
            assert status == 200, body[:500]
        return latencies
    finally:
        await conn.close()


async def check_terms(base: str, headers: dict[str, str]) -> None:
    """The measured previews price under terms: a discount, a tax and credit are on the upcoming invoice."""
    conn = await Connection.open(base)
    try:
        status, invoice = await conn.json("GET", "/customers/1/upcoming-invoice", None, headers)
    finally:
        await conn.close()
    assert status == 200, invoice
    figures = {name: Decimal(str(invoice[name])) for name in ("discount_amount", "tax_amount", "credits_applied")}
    assert all(value > 0 for value in figures.values()), figures


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]  # nearest rank


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench latency", description=__doc__)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args(argv)
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=20)
    period_end = start.replace(month=start.month % 12 + 1, year=start.year + start.month // 12)

    with database_url(args.database) as db_url:
        headers = {"Authorization": f"Bearer {create_admin_key(db_url, 'bench')}"}
        with running_server(db_url) as base:

            async def setup() -> tuple[int, int]:
                conn = await Connection.open(base)
                status, plan = await conn.json("POST", "/plans/", PLAN, headers)
                assert status == 201, plan
                committed = {**PLAN, "name": "Committed", "minimum_commitment": 500}
                status, other = await conn.json("POST", "/plans/", committed, headers)
                assert status == 201, other
                await conn.close()
                return int(plan["id"]), int(other["id"])

            async def terms() -> None:
                conn = await Connection.open(base)
                coupon = {"code": "BENCH10", "type": "percentage", "percent_off": 10, "duration": "repeating"}
                for path, body in [
                    ("/tax-rates/", {"name": "VAT", "rate": 20, "applies_by_default": True}),
                    ("/coupons/", {**coupon, "duration_in_periods": 3}),
                    ("/customers/1/coupons", {"code": "BENCH10"}),
                    ("/customers/1/credit-grants", {"amount": 50, "description": "bench"}),
                ]:
                    status, answer = await conn.json("POST", path, body, headers)
                    assert status == 201, (path, answer)
                await conn.close()

            plan_id, committed_id = asyncio.run(setup())
            engine = make_engine(db_url)
            started = time.perf_counter()
            seed_customers(engine, 1, plan_id, start)
            seed_events(engine, 1, args.events, "api_calls", start, now, progress=False)
            settle(engine)
            engine.dispose()
            asyncio.run(terms())
            asyncio.run(check_terms(base, headers))
            print(
                f"{args.database}: 1 customer, {args.events:,} events in [{_iso(start)}, {_iso(now)}) seeded in "
                f"{time.perf_counter() - started:.1f} s"
            )
            preview = json.dumps({"customer_id": 1, "start_date": _iso(start)}).encode()
            routes: dict[str, tuple[str, str, bytes | None]] = {
                "GET upcoming-invoice": ("GET", "/customers/1/upcoming-invoice", None),
                "POST plans/{id}/preview": ("POST", f"/plans/{committed_id}/preview", preview),
                "GET usage (day)": (
                    "GET",
                    f"/customers/1/usage?start_date={_iso(start)}&end_date={_iso(period_end)}&granularity=day",
                    None,
                ),
            }
            for name, route in routes.items():
                latencies = asyncio.run(measure(base, headers, route, args.requests))
                print(
                    f"  {name}: {args.requests} sequential requests, p50 {statistics.median(latencies):.1f} ms, "
                    f"p99 {percentile(latencies, 99):.1f} ms, max {max(latencies):.1f} ms"
                )
