"""``bench.cpu``: the server side's processes and their CPU time, as the ingest benchmark reports them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from bench.cpu import CpuMeter, cpu_by_pid, server_side
from bench.server import ServerProcess

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads Linux's /proc")


def test_a_started_server_and_its_workers_are_found_and_their_cpu_time_counted(tmp_path: Path) -> None:
    server = ServerProcess(f"sqlite:///{tmp_path}/cpu.db", workers=2, log_dir=tmp_path, access_log=False)
    server.start()
    try:
        assert server.process is not None
        pids = server_side(server.port, None)
        children = {
            int(pid)
            for pid in Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text().split()
        }
        assert pids[0] == server.process.pid
        assert set(pids[1:]) == children  # the two workers and multiprocessing's resource tracker
        assert len(children) == 3
        assert server_side(server.port + 1 if server.port < 65535 else 1, None) == []  # another port: nothing
        assert sum(cpu_by_pid(pids).values()) > 0  # starting the app took some
    finally:
        server.stop()


def test_cpu_seconds_grow_with_work_and_ignore_a_process_gone() -> None:
    meter = CpuMeter(lambda: [os.getpid(), 2**22 + 1])  # above the kernel's largest pid: no such process
    meter.start()
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:
        pass
    assert 0.2 <= meter.seconds() <= 5


def test_the_backends_of_a_postgresql_database_are_found(postgres_url: str) -> None:
    url = make_url(postgres_url)
    with psycopg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False)) as conn:
        (backend,) = conn.execute("SELECT pg_backend_pid()").fetchone() or (0,)
        assert backend in server_side(1, url.database)
        assert backend not in server_side(1, f"{url.database}_other")


def test_a_meter_counts_the_processes_that_begin_during_its_phase() -> None:
    """A PostgreSQL pool opens connections under load: their backends start after the phase has."""
    found: list[int] = []
    meter = CpuMeter(lambda: list(found))
    meter.start()
    burn = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\ntime.sleep(30)"
    child = subprocess.Popen([sys.executable, "-c", burn])
    try:
        found.append(child.pid)
        deadline = time.monotonic() + 20
        while cpu_by_pid([child.pid]).get(child.pid, 0) < 0.3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert 0.3 <= meter.seconds() <= 5
    finally:
        child.kill()
        child.wait()
