"""The invoice run at scale: N customers with M events in one month, ``POST /invoices/generate`` over HTTP.

python -m bench invoice_run --database sqlite --customers 10000 --events 10000000
python -m bench invoice_run --database postgres --customers 10000 --events 10000000
python -m bench invoice_run --database sqlite --customers 3 --events 600 --check   (seeding proof, see bench/seed.py)

Seeding writes to the database directly (bench/seed.py: SQL-generated events and their rollups; the plan is created
through the API), and is flushed to the database files (a checkpoint, as in steady state). Then a real server
(``python -m fubble serve``, one worker) is started on the database, and the run is timed from the client: one
``POST /invoices/generate?start_date=2024-01-01&end_date=2024-02-01`` (all customers, one request, one transaction).
The server's peak resident memory is its ``VmHWM`` in /proc (the whole process, so it includes the interpreter and the
app, ~80 MB). The same request is then sent again: it must create nothing (the number of invoices in the database is
unchanged) and return the same invoices.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from bench.http_client import Connection
from bench.seed import check_rollups, seed_customers, seed_events, settle
from bench.server import ServerProcess, create_admin_key, database_url
from fubble.db.models import Invoice, InvoiceItem
from fubble.db.session import make_engine

START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2024, 2, 1, tzinfo=UTC)
WINDOW = "start_date=2024-01-01T00:00:00Z&end_date=2024-02-01T00:00:00Z"
PLAN = {
    "name": "Bench",
    "billing_frequency": "monthly",
    "price_components": [
        {
            "metric_name": "api_calls",
            "display_name": "API calls",
            "pricing_type": "tiered",
            "pricing_details": {
                "tiers": [
                    {"start": 0, "end": 1000, "price": "0.01"},
                    {"start": 1000, "end": 10000, "price": "0.005"},
                    {"start": 10000, "end": None, "price": "0.002"},
                ]
            },
        },
        {"metric_name": "platform", "pricing_type": "subscription", "pricing_details": {"amount": "29.99"}},
    ],
}


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set size (VmHWM) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


async def _call(
    base: str, headers: dict[str, str], method: str, path: str, payload: object = None
) -> tuple[int, object]:
    conn = await Connection.open(base)
    try:
        return await conn.json(method, path, payload, headers)
    finally:
        await conn.close()


def counts(db_url: str) -> tuple[int, int]:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        invoices = conn.scalar(select(func.count()).select_from(Invoice)) or 0
        items = conn.scalar(select(func.count()).select_from(InvoiceItem)) or 0
    engine.dispose()
    return invoices, items


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench invoice_run", description=__doc__)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=10_000_000, help="total events (spread evenly)")
    parser.add_argument("--check", action="store_true", help="prove the seeded rollups equal rollup_rebuild.rebuild")
    args = parser.parse_args(argv)
    per = args.events // args.customers

    with database_url(args.database) as db_url, tempfile.TemporaryDirectory(prefix="fubble-server-") as logs:
        headers = {"Authorization": f"Bearer {create_admin_key(db_url, 'bench')}"}
        server = ServerProcess(db_url, extra_env={"FUBBLE_MAX_BODY_BYTES": str(64 * 1024 * 1024)}, log_dir=logs)
        base = server.start()
        try:
            status, plan = asyncio.run(_call(base, headers, "POST", "/plans/", PLAN))
            assert status == 201, plan
            assert isinstance(plan, dict)
            engine = make_engine(db_url)
            started = time.perf_counter()
            seed_customers(engine, args.customers, int(plan["id"]), START)
            seed_events(engine, args.customers, per, "api_calls", START, END)
            print(
                f"{args.database}: seeded {args.customers:,} customers, {args.customers * per:,} events (+ rollups) "
                f"in {time.perf_counter() - started:.1f} s (direct SQL, see bench/seed.py)"
            )
            if args.check:
                check_rollups(engine, "api_calls")
            settle(engine)  # the bulk load flushed, as in steady state
            engine.dispose()
            assert server.process is not None
            pid = server.process.pid
            rss_before = peak_rss_mb(pid)

            started = time.perf_counter()
            status, invoices = asyncio.run(_call(base, headers, "POST", f"/invoices/generate?{WINDOW}"))
            first = time.perf_counter() - started
            assert status == 200, str(invoices)[:500]
            assert isinstance(invoices, list)
            rss = peak_rss_mb(pid)
            stored = counts(db_url)
            print(
                f"invoice run: {len(invoices):,} invoices ({stored[1]:,} items) in {first:.2f} s; "
                f"server peak RSS {rss:.0f} MB (before the run {rss_before:.0f} MB)"
            )

            started = time.perf_counter()
            status, again = asyncio.run(_call(base, headers, "POST", f"/invoices/generate?{WINDOW}"))
            second = time.perf_counter() - started
            assert status == 200, str(again)[:500]
            assert isinstance(again, list)
            same = sorted(i["id"] for i in again) == sorted(i["id"] for i in invoices)
            assert counts(db_url) == stored, "the second run created something"
            print(
                f"same window again: {len(again):,} invoices returned (same ids: {same}), nothing new, in "
                f"{second:.2f} s; server peak RSS {peak_rss_mb(pid):.0f} MB"
            )
        finally:
            server.stop()
