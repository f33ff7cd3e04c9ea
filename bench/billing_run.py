"""Billing runs at scale: N subscriptions with M events in their last period, closed by ``POST /billing/runs``.

python -m bench billing_run --database sqlite      (defaults: --customers 10000 --events 10000000 --idle-seconds 60)
python -m bench billing_run --database postgres

1. Seeding writes straight to the database (the plan through the API): N customers, each with one monthly
   subscription (the plan of ``bench invoice_run``: tiered usage plus a fixed fee) that started on the first of the
   previous calendar month (UTC), and M events spread over that month, in the users' shape (each with an
   ``event_id`` and four properties), with their rollups (the rollup SQL of :mod:`bench.seed`); then flushed
   (:func:`bench.seed.settle`).
2. A real server (``python -m fubble serve``, one worker) with ``FUBBLE_BILLING_INTERVAL_SECONDS=0`` (no scheduler):
   ``POST /billing/runs`` as of the first of this month closes every subscription's period (one invoice each),
   timed from the client; the server's peak RSS is its ``VmHWM``; the server's CPU time (with its PostgreSQL
   backends) is read from /proc. Then the same run again: nothing is due, it creates nothing.
3. The scheduler's idle cost: the server started again on the same database with ``FUBBLE_BILLING_INTERVAL_SECONDS=1``
   and then ``0``, left idle for ``--idle-seconds`` each, its CPU time compared. With the interval at 1, each tick is a
   run as of now (nothing due: the current periods have not ended), counted in ``billing_runs``; the difference over
   the ticks is the CPU a tick costs, and that over the default interval (60 s) the share of a core it takes.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url

from bench.cpu import CpuMeter, server_side
from bench.invoice_run import PLAN, _call, counts, peak_rss_mb
from bench.seed import CHUNK_CUSTOMERS, _rollups_sql, seed_customers, settle
from bench.server import ServerProcess, create_admin_key, database_url
from fubble.db.models import BillingRun
from fubble.db.session import make_engine

DEFAULT_INTERVAL = 60  # FUBBLE_BILLING_INTERVAL_SECONDS's default

# Customer c's event x: id (c-1)*per + x + 1 and time start + x*step + c % step, as bench/seed.py; here also an
# event_id (zero-padded, so the unique index grows in order) and four properties (strings and numbers).
_SQLITE_EVENTS = """
WITH RECURSIVE n(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM n WHERE x < :per - 1),
c(id) AS (SELECT :lo UNION ALL SELECT id + 1 FROM c WHERE id < :hi)
INSERT INTO events (id, event_id, customer_id, metric_name, quantity, event_time, properties, fingerprint,
                    received_at)
SELECT (c.id - 1) * :per + n.x + 1, printf('ev-%012d', (c.id - 1) * :per + n.x + 1), c.id, :metric,
       CAST(1 + n.x % 3 AS TEXT), (:epoch + n.x * :step + c.id % :step) * 1000000,
       printf('{"endpoint":"/v1/items/%d","method":"%s","region":"%s","status":%d,"bytes":%d}',
              n.x % 50, CASE n.x % 4 WHEN 0 THEN 'POST' ELSE 'GET' END,
              CASE c.id % 3 WHEN 0 THEN 'eu-west-1' WHEN 1 THEN 'us-east-1' ELSE 'ap-south-1' END,
              CASE WHEN n.x % 40 = 0 THEN 500 ELSE 200 END, 200 + (n.x * 37) % 9000),
       'seed', strftime('%Y-%m-%d %H:%M:%S', :epoch + n.x * :step + c.id % :step, 'unixepoch') || '.000000'
FROM c CROSS JOIN n ORDER BY c.id, n.x
"""
_POSTGRES_EVENTS = """
INSERT INTO events (id, event_id, customer_id, metric_name, quantity, event_time, properties, fingerprint,
                    received_at)
SELECT (c - 1) * :per + x + 1, 'ev-' || lpad(((c - 1) * :per + x + 1)::text, 12, '0'), c, :metric, 1 + x % 3,
       to_timestamp(:epoch + x * :step + c % :step),
       format('{"endpoint":"/v1/items/%s","method":"%s","region":"%s","status":%s,"bytes":%s}',
              x % 50, CASE x % 4 WHEN 0 THEN 'POST' ELSE 'GET' END,
              CASE c % 3 WHEN 0 THEN 'eu-west-1' WHEN 1 THEN 'us-east-1' ELSE 'ap-south-1' END,
              CASE WHEN x % 40 = 0 THEN 500 ELSE 200 END, 200 + (x * 37) % 9000),
       'seed', to_timestamp(:epoch + x * :step + c % :step)
FROM generate_series(CAST(:lo AS int), CAST(:hi AS int)) AS c
CROSS JOIN generate_series(0, CAST(:per AS int) - 1) AS x
ORDER BY c, x
"""


def previous_month(now: datetime) -> tuple[datetime, datetime]:
    """The calendar month (UTC) before the one ``now`` is in: [its first instant, this month's first instant)."""
    end = datetime(now.year, now.month, 1, tzinfo=UTC)
    start = datetime(end.year - 1, 12, 1, tzinfo=UTC) if end.month == 1 else end.replace(month=end.month - 1)
    return start, end


def seed_user_events(engine: Engine, customers: int, per: int, metric: str, start: datetime, end: datetime) -> None:
    """``per`` events of ``metric`` per customer ``1..customers`` over ``[start, end)`` with ids and properties,
    plus their hour and day rollups."""
    dialect = engine.dialect.name
    step = int((end - start).total_seconds()) // per
    assert step >= 1, "more events per customer than seconds in the window"
    with engine.begin() as conn:
        if dialect == "postgresql":
            conn.execute(text("SET LOCAL TIME ZONE 'UTC'"))
        for lo in range(1, customers + 1, CHUNK_CUSTOMERS):
            hi = min(customers, lo + CHUNK_CUSTOMERS - 1)
            params: dict[str, Any] = {
                "lo": lo,
                "hi": hi,
                "per": per,
                "metric": metric,
                "epoch": int(start.timestamp()),
                "step": step,
            }
            conn.execute(text(_SQLITE_EVENTS if dialect == "sqlite" else _POSTGRES_EVENTS), params)
            for width in ("hour", "day"):
                conn.execute(text(_rollups_sql(dialect, width)), params)
            print(f"\r  seeded {hi * per:,} events", end="", flush=True)
        if dialect == "postgresql":
            conn.execute(text("ANALYZE"))
    print()


def scheduler_runs(db_url: str) -> int:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        found = conn.scalar(select(func.count()).select_from(BillingRun).where(BillingRun.trigger == "scheduler"))
    engine.dispose()
    return int(found or 0)


def _database_name(db_url: str) -> str | None:
    url = make_url(db_url)
    return url.database if url.get_backend_name() == "postgresql" else None


def timed_run(base: str, headers: dict[str, str], as_of: datetime, meter: CpuMeter) -> tuple[float, float, Any]:
    """``POST /billing/runs`` as of ``as_of``: (wall seconds, server CPU seconds, the run)."""
    meter.start()
    started = time.perf_counter()
    status, run = asyncio.run(_call(base, headers, "POST", "/billing/runs", {"as_of": as_of.isoformat()}))
    elapsed = time.perf_counter() - started
    cpu = meter.seconds()
    assert status == 201 or status == 200, str(run)[:500]
    assert isinstance(run, dict) and run["finished_at"] is not None, str(run)[:500]
    return elapsed, cpu, run


def idle_cpu(db_url: str, interval: str, seconds: float, logs: str) -> tuple[float, int]:
    """Start the server with FUBBLE_BILLING_INTERVAL_SECONDS=``interval``, leave it idle for ``seconds``: (the
    server side's CPU seconds meanwhile, scheduler runs recorded meanwhile)."""
    server = ServerProcess(db_url, extra_env={"FUBBLE_BILLING_INTERVAL_SECONDS": interval}, log_dir=logs)
    server.start()
    try:
        time.sleep(2)  # start-up over
        meter = CpuMeter(lambda: server_side(server.port, _database_name(db_url)))
        runs = scheduler_runs(db_url)
        meter.start()
        time.sleep(seconds)
        cpu = meter.seconds()
        return cpu, scheduler_runs(db_url) - runs
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench billing_run", description=__doc__)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=10_000_000, help="total events (spread evenly)")
    parser.add_argument("--idle-seconds", type=float, default=60, help="idle time per scheduler setting (0: skip)")
    args = parser.parse_args(argv)
    per = args.events // args.customers
    start, end = previous_month(datetime.now(UTC))

    with database_url(args.database) as db_url, tempfile.TemporaryDirectory(prefix="fubble-server-") as logs:
        headers = {"Authorization": f"Bearer {create_admin_key(db_url, 'bench')}"}
        env = {"FUBBLE_BILLING_INTERVAL_SECONDS": "0", "FUBBLE_MAX_BODY_BYTES": str(64 * 1024 * 1024)}
        server = ServerProcess(db_url, extra_env=env, log_dir=logs)
        base = server.start()
        try:
            status, plan = asyncio.run(_call(base, headers, "POST", "/plans/", PLAN))
            assert status == 201, plan
            assert isinstance(plan, dict)
            engine = make_engine(db_url)
            started = time.perf_counter()
            seed_customers(engine, args.customers, int(plan["id"]), start)
            seed_user_events(engine, args.customers, per, "api_calls", start, end)
            print(
                f"{args.database}: seeded {args.customers:,} subscriptions from {start:%Y-%m-%d}, "
                f"{args.customers * per:,} events (event_id, 4 properties; + rollups) in "
                f"{time.perf_counter() - started:.1f} s (direct SQL)"
            )
            settle(engine)
            engine.dispose()
            assert server.process is not None
            pid = server.process.pid
            meter = CpuMeter(lambda: server_side(server.port, _database_name(db_url)))
            rss_before = peak_rss_mb(pid)

            first, cpu, run = timed_run(base, headers, end, meter)
            stored = counts(db_url)
            print(
                f"billing run as of {end:%Y-%m-%d}: {run['invoices_created']:,} invoices created "
                f"({run['invoices_finalized']:,} finalized, {stored[1]:,} items) in {first:.2f} s "
                f"(server CPU {cpu:.2f} s); server peak RSS {peak_rss_mb(pid):.0f} MB (before {rss_before:.0f} MB)"
            )
            assert run["invoices_created"] == args.customers, "every subscription's period should be closed"

            second, cpu, again = timed_run(base, headers, end, meter)
            assert again["invoices_created"] == 0 and counts(db_url) == stored, "the second run created something"
            print(
                f"nothing due (the same as_of again): {second:.2f} s (server CPU {cpu:.2f} s), nothing created; "
                f"server peak RSS {peak_rss_mb(pid):.0f} MB"
            )
        finally:
            server.stop()

        if args.idle_seconds > 0:
            on_cpu, ticks = idle_cpu(db_url, "1", args.idle_seconds, logs)
            off_cpu, _ = idle_cpu(db_url, "0", args.idle_seconds, logs)
            per_tick = (on_cpu - off_cpu) / ticks if ticks else float("nan")
            print(
                f"idle {args.idle_seconds:.0f} s, server CPU (with its database backends): scheduler every 1 s "
                f"{on_cpu:.2f} s over {ticks} ticks, scheduler off {off_cpu:.2f} s; {per_tick * 1000:.0f} ms per tick "
                f"(nothing due, {args.customers:,} subscriptions), at the default {DEFAULT_INTERVAL} s interval "
                f"{per_tick / DEFAULT_INTERVAL * 100:.2f}% of a core"
            )
