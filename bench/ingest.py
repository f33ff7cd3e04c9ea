"""Ingestion throughput over HTTP: single events with many concurrent clients, and batches with idempotency keys.

python -m bench ingest --database sqlite --single 5000 --concurrency 64 --batches 20 --batch-size 1000
python -m bench ingest --database postgres --single 0 --batches 10 --batch-size 10000   # batches only
python -m bench ingest --database postgres --workers 2 --single 5000 --batches 0        # single events only
python -m bench ingest --client wrk --workers 2 --batches 0    # single events sent by wrk (apt install wrk)

The client shares the machine with the server: on a 2-core box it takes a noticeable share of the CPU, so the
figures are a lower bound of what the server alone can do. When the bench starts the server, it also reports the
server side's CPU time per batched event (its processes and, on PostgreSQL, the database's backends: bench/cpu.py).
``--history-hours 720`` first stores a month of one event per customer and hour (untimed), as a deployment that has
run for a month holds: with 1,000 customers that is what makes SQLite slowest.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import re
import shutil
import statistics
import subprocess
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url

from bench.cpu import CpuMeter, server_side
from bench.http_client import Connection
from bench.server import create_admin_key, database_url, running_server, serving_process

PLAN = {
    "name": "Bench",
    "billing_frequency": "monthly",
    "price_components": [
        {
            "metric_name": "api_calls",
            "pricing_type": "tiered",
            "pricing_details": {
                "tiers": [{"start": 0, "end": 1000, "price": "0.01"}, {"start": 1000, "end": None, "price": "0.005"}]
            },
        },
    ],
}


async def setup(base: str, customers: int, headers: dict[str, str]) -> list[int]:
    conn = await Connection.open(base)
    status, plan = await conn.json("POST", "/plans/", {**PLAN, "name": f"Bench {uuid.uuid4().hex[:8]}"}, headers)
    assert status == 201, plan
    ids = []
    run = uuid.uuid4().hex[:8]  # unique emails, so the bench can run again against the same server (--url)
    for i in range(customers):
        status, customer = await conn.json(
            "POST", "/customers/", {"name": f"c{i}", "email": f"c{i}-{run}@bench.example.com"}, headers
        )
        assert status == 201, customer
        ids.append(customer["id"])
        status, subscription = await conn.json(
            "POST",
            f"/customers/{customer['id']}/subscriptions",
            {"plan_id": plan["id"], "start_date": "2024-01-01T00:00:00Z"},
            headers,
        )
        assert status == 200, subscription
    await conn.close()
    return ids


LIVE_START = datetime(2024, 1, 1, tzinfo=UTC)


def event(customer_id: int, n: int, run: str, live: bool = False, properties: int = 0) -> dict[str, Any]:
    """The ``n``-th event of a run. Spread (the default): the events cycle through every hour of January, so every
    batch reaches back over the whole month for all customers (a backfill: the worst case for the database's
    indexes and the rollups). ``live``: a millisecond apart, in the order sent, as metering of live traffic sends
    them. ``properties``: how many of :func:`event_properties` it carries."""
    at = instant(LIVE_START + timedelta(milliseconds=n)) if live else f"2024-01-{1 + n % 28:02d}T{n % 24:02d}:00:00Z"
    body = event_body(f"{run}-{n}", customer_id, at)
    if properties:
        body["properties"] = event_properties(n, properties)
    return body


_PROPERTIES: list[tuple[str, Any]] = [
    ("region", ["eu-west-1", "us-east-1", "ap-south-1"]),
    ("endpoint", ["/v1/search", "/v1/items", "/v1/orders", "/v1/users"]),
    ("status", [200, 201, 404, 500]),
    ("method", ["GET", "POST"]),
    ("latency_ms", [12, 48, 250, 1200]),
    ("cached", [True, False]),
    ("tier", ["free", "pro", "enterprise"]),
    ("ratio", ["0.25", "0.5", "0.75"]),  # as Decimal-looking strings, not floats: the client sends JSON text
]


def event_properties(n: int, count: int) -> dict[str, Any]:
    """``count`` properties (up to 8: strings, integers, booleans) varying with ``n``, as API metering sends them."""
    return {name: values[n % len(values)] for name, values in _PROPERTIES[:count]}


def event_body(event_id: str, customer_id: int, at: str) -> dict[str, Any]:
    """One ``api_calls`` event of quantity 1 (the bench's events, also ``bench import``'s lines)."""
    return {
        "event_id": event_id,
        "customer_id": customer_id,
        "metric_name": "api_calls",
        "quantity": 1,
        "event_time": at,
    }


def instant(moment: datetime) -> str:
    """An aware instant as the API writes it (``...Z``)."""
    return moment.isoformat().replace("+00:00", "Z")


async def single_events(
    base: str, customer_ids: list[int], total: int, concurrency: int, headers: dict[str, str], properties: int
) -> dict[str, float]:
    run = uuid.uuid4().hex[:8]
    latencies: list[float] = []
    counter = iter(range(total))

    async def worker() -> None:
        conn = await Connection.open(base)
        for n in counter:
            started = time.perf_counter()
            status, body = await conn.json(
                "POST", "/events/", event(customer_ids[n % len(customer_ids)], n, run, properties=properties), headers
            )
            latencies.append(time.perf_counter() - started)
            assert status in (200, 201), (status, body)
        await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "events": total,
        "seconds": elapsed,
        "events_per_s": total / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
    }


def single_events_wrk(
    base: str, customer_ids: list[int], seconds: int, concurrency: int, key: str, properties: int
) -> str:
    """Single events sent by wrk (a load generator in C, so the client takes little of the machine's CPU) for
    ``seconds``, each with a unique event_id and the first ``properties`` of :func:`event_properties`'s
    (bench/single_events.lua). Returns wrk's report."""
    script = Path(__file__).with_name("single_events.lua")
    env = {
        **os.environ,
        "FUBBLE_BENCH_KEY": key,
        "FUBBLE_BENCH_CUSTOMERS": ",".join(map(str, customer_ids)),
        "FUBBLE_BENCH_RUN": uuid.uuid4().hex[:8],
        # One property per line: its name and its values, each as JSON, tab-separated (the script picks value n).
        "FUBBLE_BENCH_PROPERTIES": "\n".join(
            "\t".join(json.dumps(part) for part in (name, *values)) for name, values in _PROPERTIES[:properties]
        ),
    }
    command = ["wrk", "-t", "2", "-c", str(concurrency), "-d", f"{seconds}s", "-s", str(script), base]
    return subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout


async def spread_connections(base: str, count: int, workers: int) -> tuple[list[Connection], list[int]]:
    """``count`` connections spread as evenly as possible over the server's ``workers`` (started by this bench): the
    kernel hands each new connection to a worker by a hash of its ports, so with only a few clients they often share
    one worker while the other idles, and the figure would measure the hash. Many clients spread out by themselves;
    this does for a few what a load balancer would. A connection that lands on a worker already holding its share is
    closed and opened anew. Returns the connections and how many each worker took."""
    port = urlsplit(base).port or 80
    share = -(-count // workers)
    kept: list[Connection] = []
    taken: Counter[int] = Counter()
    for _ in range(50 * count):
        if len(kept) == count:
            break
        conn = await Connection.open(base)
        status, _ = await conn.request("GET", "/health")  # answered: the worker has accepted the connection
        assert status == 200
        pid = await asyncio.to_thread(serving_process, port, conn.writer.get_extra_info("sockname")[1])
        if pid is not None and taken[pid] >= share:
            await conn.close()
            continue
        taken[pid or 0] += 1
        kept.append(conn)
    while len(kept) < count:  # no luck: keep what the kernel gives
        kept.append(await Connection.open(base))
    return kept, sorted(taken.values(), reverse=True)


async def history(base: str, customer_ids: list[int], hours: int, headers: dict[str, str]) -> float:
    """Untimed, before the timed batches: one event per customer for each of the ``hours`` before the timed events'
    month (batches of 10,000), so the database holds what a deployment running that long holds: rollup rows of many
    hours per customer and a larger events index. Returns the seconds it took."""
    run = uuid.uuid4().hex[:8]
    start = LIVE_START - timedelta(hours=hours)
    events = (
        event_body(
            f"{run}-{hour}-{customer}", customer, instant(start + timedelta(hours=hour, seconds=customer % 3600))
        )
        for hour in range(hours)
        for customer in customer_ids
    )
    conn = await Connection.open(base)
    started = time.perf_counter()
    while chunk := list(itertools.islice(events, 10_000)):
        status, data = await conn.json("POST", "/events/batch", {"events": chunk}, headers)
        assert status == 200, (status, data)
    await conn.close()
    return time.perf_counter() - started


async def batches(
    base: str,
    customer_ids: list[int],
    count: int,
    size: int,
    concurrency: int,
    headers: dict[str, str],
    workers: int | None = None,
    live: bool = False,
    meter: CpuMeter | None = None,
    properties: int = 0,
) -> dict[str, Any]:
    """Send ``count`` batches of ``size`` events over ``concurrency`` connections. With ``meter`` (the server side's
    processes, see :mod:`bench.cpu`), also their CPU time per event over the timed part."""
    run = uuid.uuid4().hex[:8]
    bodies = [
        json.dumps(
            {
                "events": [
                    event(customer_ids[(b * size + i) % len(customer_ids)], b * size + i, run, live, properties)
                    for i in range(size)
                ]
            }
        ).encode()
        for b in range(count)
    ]
    queue = iter(bodies)
    spread: list[int] = []
    if workers is None:
        connections = [await Connection.open(base) for _ in range(concurrency)]
    else:
        connections, spread = await spread_connections(base, concurrency, workers)

    async def worker(conn: Connection) -> None:
        for body in queue:
            status, data = await conn.request("POST", "/events/batch", body, headers)
            assert status == 200, (status, data[:300])
        await conn.close()

    if meter is not None:
        meter.start()
    started = time.perf_counter()
    await asyncio.gather(*(worker(conn) for conn in connections))
    elapsed = time.perf_counter() - started
    cpu_us = None if meter is None else 1e6 * meter.seconds() / (count * size)
    return {
        "events": count * size,
        "seconds": elapsed,
        "events_per_s": count * size / elapsed,
        "spread": spread,
        "cpu_us_per_event": cpu_us,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench ingest", description=__doc__)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--url", help="benchmark an already running server instead of starting one")
    parser.add_argument("--api-key", help="Bearer key for servers that require one")
    parser.add_argument("--customers", type=int, default=50)
    parser.add_argument("--single", type=int, default=5000, help="single events to send (0: skip this part)")
    parser.add_argument("--concurrency", type=int, default=64, help="clients sending single events")
    parser.add_argument(
        "--client",
        choices=["python", "wrk"],
        default="python",
        help="who sends single events: the bench's asyncio client (--single N events), or wrk (apt install wrk) for "
        "--wrk-seconds, which leaves more of the machine to the server",
    )
    parser.add_argument("--wrk-seconds", type=int, default=10)
    parser.add_argument("--batches", type=int, default=20, help="batches to send (0: skip this part)")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--batch-concurrency", type=int, default=2, help="clients sending batches")
    parser.add_argument(
        "--properties",
        type=int,
        default=5,
        help="properties per event, batched or single (0..8: strings, integers, booleans; default 5, as API metering "
        "sends them)",
    )
    parser.add_argument(
        "--event-times",
        choices=["spread", "live"],
        default="spread",
        help="batches' event times: spread over every hour of a month in each batch (a backfill, the worst case), or "
        "live (a millisecond apart, in the order sent)",
    )
    parser.add_argument(
        "--history-hours",
        type=int,
        default=0,
        help="before the timed batches (untimed): one event per customer for each of this many hours before them, "
        "as a deployment running that long holds (720: a month)",
    )
    parser.add_argument("--workers", type=int, default=1, help="server worker processes (when the bench starts it)")
    args = parser.parse_args(argv)
    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}

    async def run(base: str, workers: int | None, database: str | None = None) -> None:
        ids = await setup(base, args.customers, headers)
        if args.single > 0 and args.client == "wrk":
            if shutil.which("wrk") is None:
                raise SystemExit("wrk is not installed (apt install wrk)")
            key = headers["Authorization"].removeprefix("Bearer ")
            report = single_events_wrk(base, ids, args.wrk_seconds, args.concurrency, key, args.properties)
            rate = re.search(r"Requests/sec:\s*([\d.]+)", report)
            summary = next(line for line in report.splitlines() if line.startswith("wrk:"))
            print(f"single POST /events/ by wrk, {args.concurrency} connections, {args.wrk_seconds} s: ", end="")
            print(f"{float(rate.group(1)) if rate else 0:.0f} events/s; {summary}")
        elif args.single > 0:
            single = await single_events(base, ids, args.single, args.concurrency, headers, args.properties)
            print(
                f"single POST /events/ x{single['events']} with {args.concurrency} clients: "
                f"{single['events_per_s']:.0f} events/s, p50 {single['p50_ms']:.1f} ms, p99 {single['p99_ms']:.1f} ms"
            )
        if args.history_hours > 0:
            took = await history(base, ids, args.history_hours, headers)
            print(f"history: {args.history_hours} hours x {len(ids)} customers stored in {took:.1f} s (untimed)")
        if args.batches > 0:
            live = args.event_times == "live"
            # The server's CPU is measured only when this bench started it (on this machine).
            port = urlsplit(base).port or 80
            meter = None if args.url else CpuMeter(lambda: server_side(port, database))
            batch = await batches(
                base,
                ids,
                args.batches,
                args.batch_size,
                args.batch_concurrency,
                headers,
                workers,
                live,
                meter,
                args.properties,
            )
            spread = f", connections per worker {batch['spread']}" if batch["spread"] else ""
            cpu = batch["cpu_us_per_event"]
            print(
                f"POST /events/batch {args.batches} x {args.batch_size} events (event ids on, "
                f"{args.batch_concurrency} clients{spread}, {args.event_times} event times, "
                f"{args.properties} properties): "
                f"{batch['events_per_s']:.0f} events/s" + ("" if cpu is None else f"; server CPU {cpu:.1f} us/event")
            )

    if args.url:
        asyncio.run(run(args.url, None))
        return
    with database_url(args.database) as db_url:
        headers["Authorization"] = f"Bearer {create_admin_key(db_url, 'bench')}"
        # No access log: one log line per request costs the server about as much as recording the event.
        with running_server(db_url, workers=args.workers, access_log=False) as base:
            print(f"server on {args.database}: {base}")
            name = make_url(db_url).database if args.database == "postgres" else None
            asyncio.run(run(base, args.workers if args.workers > 1 else None, name))
