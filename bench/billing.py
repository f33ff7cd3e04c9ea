"""Invoice run: time POST /invoices/generate for many customers with many events, and the second (no-op) run.

python -m bench billing --database sqlite --customers 1000 --events-per-customer 200
python -m bench billing --customers 1 --events-per-customer 200000    (one customer, 200k events)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid

from bench.http_client import Connection
from bench.ingest import setup
from bench.server import create_admin_key, database_url, running_server

BATCH = 5000


async def seed(base: str, headers: dict[str, str], customers: int, per_customer: int) -> int:
    ids = await setup(base, customers, headers)
    conn = await Connection.open(base)
    run = uuid.uuid4().hex[:8]
    pending: list[dict[str, object]] = []
    sent = 0
    for cid in ids:
        for n in range(per_customer):
            second = n * 2_592_000 // per_customer  # spread over January
            pending.append(
                {
                    "event_id": f"{run}-{cid}-{n}",
                    "customer_id": cid,
                    "metric_name": "api_calls",
                    "quantity": 1,
                    "event_time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1704067200 + second)),
                }
            )
            if len(pending) == BATCH:
                status, body = await conn.request(
                    "POST", "/events/batch", json.dumps({"events": pending}).encode(), headers
                )
                assert status == 200, body[:300]
                sent += len(pending)
                pending = []
    if pending:
        status, body = await conn.request("POST", "/events/batch", json.dumps({"events": pending}).encode(), headers)
        assert status == 200, body[:300]
        sent += len(pending)
    await conn.close()
    return sent


async def generate(base: str, headers: dict[str, str]) -> tuple[float, int]:
    conn = await Connection.open(base)
    started = time.perf_counter()
    status, invoices = await conn.json(
        "POST", "/invoices/generate?start_date=2024-01-01T00:00:00Z&end_date=2024-02-01T00:00:00Z", None, headers
    )
    elapsed = time.perf_counter() - started
    await conn.close()
    assert status == 200, invoices
    return elapsed, len(invoices)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench billing", description=__doc__)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--events-per-customer", type=int, default=200)
    args = parser.parse_args(argv)

    with database_url(args.database) as db_url:
        headers = {"Authorization": f"Bearer {create_admin_key(db_url, 'bench')}"}
        with running_server(db_url, extra_env={"FUBBLE_MAX_BODY_BYTES": str(64 * 1024 * 1024)}) as base:
            started = time.perf_counter()
            sent = asyncio.run(seed(base, headers, args.customers, args.events_per_customer))
            print(
                f"{args.database}: seeded {args.customers} customers, {sent} events in "
                f"{time.perf_counter() - started:.1f} s"
            )
            first, count = asyncio.run(generate(base, headers))
            print(f"invoice run: {count} invoices in {first:.2f} s")
            second, again = asyncio.run(generate(base, headers))
            print(f"same window again: {again} invoices returned, nothing new, in {second:.2f} s")
