"""A real ``fubble serve --workers 2``: a scrape of /-/metrics adds up every worker's counts, whichever worker answers
it; its stderr is JSON lines, the access lines with the request ids the responses carried; the workers' metrics
directory is gone once the server stops."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from bench.server import LISTEN, tcp_sockets
from tests.cli.conftest import Served

from .helpers import parse

READY = frozenset({"method": "GET", "route": "/ready", "status": "200"}.items())
UNMATCHED = frozenset({"method": "GET", "route": "unmatched", "status": "404"}.items())
COUNT = "fubble_http_request_duration_seconds_count"


def metrics_directory(served: Served) -> Path:
    """The PROMETHEUS_MULTIPROC_DIR the server gave its workers (read from a worker's environment)."""
    pid = served.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    for child in children:
        with open(f"/proc/{child}/environ", "rb") as environ:
            for entry in environ.read().split(b"\0"):
                if entry.startswith(b"PROMETHEUS_MULTIPROC_DIR="):
                    return Path(entry.split(b"=", 1)[1].decode())
    raise AssertionError(f"no worker of {pid} has PROMETHEUS_MULTIPROC_DIR")


def wait_for_listeners(served: Served, expected: int) -> None:
    port = int(served.base.rsplit(":", 1)[1])
    deadline = time.monotonic() + 60
    while sum(1 for s in tcp_sockets() if s.state == LISTEN and s.local_port == port) < expected:
        assert time.monotonic() < deadline, "the workers did not all listen"
        time.sleep(0.05)


def test_two_workers_counts_add_up_whoever_answers_and_logs_are_json_lines(
    sqlite_db: str, serve: Callable[..., Served]
) -> None:
    served = serve(sqlite_db, "--workers", "2")
    wait_for_listeners(served, 2)
    directory = metrics_directory(served)
    ids = []
    for n in range(20):  # a connection each: the kernel spreads them over the two workers' sockets
        status, headers, _ = served.get("/ready", headers={"X-Request-ID": f"ready-{n}"})
        assert status == 200
        ids.append(headers["x-request-id"])  # as the server sent it: in lower case
    assert ids == [f"ready-{n}" for n in range(20)]
    for _ in range(10):
        status, headers, _ = served.get("/no/such/route")
        assert status == 404 and len(headers["x-request-id"]) == 32
    writers = {path.stem.rsplit("_", 1)[1] for path in directory.glob("histogram_*.db")}
    assert len(writers) == 2, writers  # both workers answered some of them
    for _ in range(6):  # each scrape on a connection of its own, answered by either worker
        status, headers, body = served.get("/-/metrics")
        assert status == 200 and headers["content-type"].startswith("text/plain")
        scrape = parse(body.decode())
        assert scrape[(COUNT, READY)] == 20
        assert scrape[(COUNT, UNMATCHED)] == 10
        assert scrape[("fubble_db_pool_size", frozenset())] == 2 * 8  # each worker's pool, summed
    os.killpg(served.process.pid, signal.SIGTERM)
    served.process.wait(30)
    assert not directory.exists()
    lines = [json.loads(line) for line in served.stderr().splitlines() if line.strip()]
    assert {"time", "level", "logger", "message", "request_id"} <= set(lines[0])
    assert any(line["logger"] == "uvicorn.error" and "Started server process" in line["message"] for line in lines)
    access = [line for line in lines if line["logger"] == "fubble.access" and line["path"] == "/ready"]
    assert sorted(line["request_id"] for line in access) == sorted(ids)
    assert all(line["method"] == "GET" and line["status"] == 200 and line["duration_ms"] > 0 for line in access)
