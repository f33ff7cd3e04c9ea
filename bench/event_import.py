"""``fubble events import`` of an NDJSON file: a fresh import, then the same file again (every line a duplicate).

python -m bench import --database sqlite --events 1000000 --customers 1000
python -m bench import --database postgres --events 1000000 --customers 1000

On a fresh database, the plan goes through the library API (``fubble.plans.service``, with the ``api_calls`` metric
it prices) and the customers with their subscriptions straight into it (bench/seed.py). The file holds ``--events``
lines, each with its ``event_id``, cycling over the customers, their times 2 ms apart (live traffic, written down).
The real CLI then runs twice in a child process (``python -m fubble events import FILE``), each run timed from its
start to its exit, with the child's peak RSS; the second run must store nothing. ``--without-event-ids`` leaves
``event_id`` out of every line: the import then derives each one from the event's content and its occurrence count
(one counter per distinct event held in memory), and every tenth line repeats the one before it (two events).

python -m bench import --database sqlite --events 1000000 --without-event-ids
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench.ingest import event_body, instant
from bench.invoice_run import PLAN, START
from bench.seed import seed_customers
from bench.server import database_url
from fubble.clock import SystemClock
from fubble.db.migrate import upgrade
from fubble.db.session import Database
from fubble.plans import service as plans
from fubble.plans.schemas import PlanCreate


def write_file(path: Path, events: int, customers: int, event_ids: bool = True) -> None:
    with path.open("w", encoding="utf-8") as out:
        for n in range(events):
            if not event_ids and n % 10 == 9:  # the line before, again: an identical event
                n -= 1
            at = instant(START + timedelta(milliseconds=2 * n))
            body = event_body(f"e{n}", 1 + n % customers, at)
            if not event_ids:
                del body["event_id"]
            out.write(json.dumps(body) + "\n")


def run_import(db_url: str, path: Path) -> tuple[float, str]:
    """Seconds from start to exit of ``python -m fubble events import PATH``, and its last output line."""
    env = {**os.environ, "FUBBLE_DATABASE_URL": db_url}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "fubble", "events", "import", str(path)], env=env, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"import failed ({done.returncode}): {done.stdout[-2000:]} {done.stderr[-2000:]}")
    return elapsed, done.stdout.strip().splitlines()[-1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench import", description=__doc__)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument(
        "--without-event-ids", action="store_true", help="lines without event_id (ids derived from their content)"
    )
    args = parser.parse_args(argv)

    with database_url(args.database) as db_url, tempfile.TemporaryDirectory(prefix="fubble-import-") as tmp:
        upgrade(db_url)
        db = Database(db_url)
        with db.transaction() as session:
            plan_id = plans.create(session, PlanCreate.model_validate(PLAN), clock=SystemClock()).id
        seed_customers(db.engine, args.customers, plan_id, START)
        db.dispose()
        path = Path(tmp) / "events.ndjson"
        write_file(path, args.events, args.customers, not args.without_event_ids)
        ids = "derived event ids" if args.without_event_ids else "their own event ids"
        print(
            f"{args.database}: {args.events:,} events of {args.customers:,} customers ({ids}), "
            f"{path.stat().st_size:,} bytes"
        )
        for label in ("import", "the same file again"):
            seconds, summary = run_import(db_url, path)
            print(f"  {label}: {args.events / seconds:,.0f} events/s ({seconds:.1f} s from start to exit): {summary}")
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"  peak RSS of the import process: {peak:.0f} MB")


if __name__ == "__main__":
    main()
