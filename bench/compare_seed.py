"""Load the same data into any fubble-compatible HTTP server and time ingestion and invoice generation, so the figures
can be compared side by side with other servers of this API.

python -m bench compare_seed --url http://127.0.0.1:8000 --api-key fbl_... --customers 100 --events 100000

Only routes of the original API are used: ``POST /plans/``, ``POST /customers/``,
``POST /customers/{id}/subscriptions``, ``POST /events/batch`` (when the server answers it with 404, every event is
sent with ``POST /events/`` instead) and ``POST /invoices/generate?start_date=...&end_date=...``. The data: one
monthly plan (tiered ``api_calls`` + a subscription fee), ``--customers`` customers subscribed from the start of the
window, ``--events`` events spread evenly over the window (a 30-day month, default January 2024) and across
customers, each with a unique ``event_id``. Emails and event ids carry a random run tag, so the script can run again
against the same server (the window is then billed already for the earlier customers: use a fresh database or
another --month for clean figures). Invoice generation is timed twice: the first run, and the same window again.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.http_client import Connection

PLAN: dict[str, Any] = {
    "billing_frequency": "monthly",
    "price_components": [
        {
            "metric_name": "api_calls",
            "pricing_type": "tiered",
            "pricing_details": {
                "tiers": [
                    {"start": 0, "end": 1000, "price": "0.01"},
                    {"start": 1000, "end": None, "price": "0.005"},
                ]
            },
        },
        {"metric_name": "platform", "pricing_type": "subscription", "pricing_details": {"amount": "29.99"}},
    ],
}


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class Client:
    def __init__(self, conn: Connection, headers: dict[str, str]) -> None:
        self.conn = conn
        self.headers = headers

    async def post(self, path: str, payload: Any, expect: tuple[int, ...] = (200, 201)) -> Any:
        status, body = await self.conn.request("POST", path, json.dumps(payload).encode(), self.headers)
        if status not in expect:
            raise RuntimeError(f"POST {path}: {status} {body[:300]!r}")
        return json.loads(body) if body else None


async def run(args: argparse.Namespace) -> list[tuple[str, str]]:
    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    tag = uuid.uuid4().hex[:8]
    start = datetime.fromisoformat(args.month + "-01T00:00:00+00:00").astimezone(UTC)
    span = timedelta(days=30)
    conn = await Connection.open(args.url)
    client = Client(conn, headers)
    rows: list[tuple[str, str]] = []

    began = time.perf_counter()
    plan = await client.post("/plans/", {**PLAN, "name": f"Compare {tag}"})
    customers = []
    for i in range(args.customers):
        customer = await client.post("/customers/", {"name": f"c{i}", "email": f"c{i}-{tag}@compare.example.com"})
        await client.post(
            f"/customers/{customer['id']}/subscriptions", {"plan_id": plan["id"], "start_date": _iso(start)}
        )
        customers.append(customer["id"])
    setup = time.perf_counter() - began
    rows.append(("setup: plan + customers + subscriptions", f"{setup:.2f} s ({args.customers} customers)"))

    def event(n: int) -> dict[str, Any]:
        return {
            "event_id": f"{tag}-{n}",
            "customer_id": customers[n % len(customers)],
            "metric_name": "api_calls",
            "quantity": 1 + n % 3,
            "event_time": _iso(start + span * n / args.events),
        }

    began = time.perf_counter()
    mode = "batch"
    sent = 0
    while sent < args.events:
        chunk = [event(n) for n in range(sent, min(args.events, sent + args.batch_size))]
        if mode == "batch":
            status, body = await conn.request("POST", "/events/batch", json.dumps({"events": chunk}).encode(), headers)
            if status == 404:
                mode = "single"
            elif status not in (200, 201):
                raise RuntimeError(f"POST /events/batch: {status} {body[:300]!r}")
            else:
                sent += len(chunk)
                continue
        for item in chunk:
            await client.post("/events/", item)
        sent += len(chunk)
    ingest = time.perf_counter() - began
    how = f"POST /events/batch x{args.batch_size}" if mode == "batch" else "POST /events/ one by one"
    rows.append((f"ingest {args.events:,} events ({how})", f"{ingest:.2f} s = {args.events / ingest:,.0f} events/s"))

    window = f"start_date={_iso(start)}&end_date={_iso(start + span)}"
    for label in ("invoice generation", "same window again"):
        began = time.perf_counter()
        invoices = await client.post(f"/invoices/generate?{window}", None)
        elapsed = time.perf_counter() - began
        rows.append((label, f"{elapsed:.2f} s ({len(invoices)} invoices returned)"))
    await conn.close()
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench compare_seed", description=__doc__)
    parser.add_argument("--url", required=True, help="base URL of the server, e.g. http://127.0.0.1:8000")
    parser.add_argument("--api-key", help="Bearer key (sent as Authorization: Bearer KEY)")
    parser.add_argument("--customers", type=int, default=100)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--month", default="2024-01", help="YYYY-MM: the 30-day window starts on its first day")
    args = parser.parse_args(argv)
    rows = asyncio.run(run(args))
    width = max(len(name) for name, _ in rows)
    print(f"server {args.url}")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
