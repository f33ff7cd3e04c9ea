"""``fubble serve`` (and ``./dev serve``) started as real processes: the demo without keys, the first admin key, how
many workers and where, and the refusals."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.server import LISTEN, tcp_sockets
from tests.cli.conftest import FUBBLE, KEY_PATTERN, Served, environment

pytestmark = pytest.mark.slow  # a long file: scheduled first (tests/conftest.py)

ROOT = Path(__file__).resolve().parents[2]
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
START_LINE = re.compile(
    r"^fubble \d+\.\d+\.\d+\S* serving (http://127\.0\.0\.1:(\d+)) \(docs: \1/docs\) with (\d+) workers? on (.+)$", re.M
)


def started_with(served: Served) -> tuple[int, str]:
    """(workers, database) from the line ``fubble serve`` prints when it starts."""
    match = START_LINE.search(served.stdout())
    assert match is not None, served.stdout()
    assert served.base == match.group(1)
    return int(match.group(3)), match.group(4)


def listening(port: int, expected: int) -> int:
    """How many sockets listen on ``port``, waiting (up to 60 s) for ``expected`` of them: /health answers as soon
    as the first worker listens."""
    deadline = time.monotonic() + 60
    while True:
        count = sum(1 for entry in tcp_sockets() if entry.state == LISTEN and entry.local_port == port)
        if count >= expected or time.monotonic() > deadline:
            return count
        time.sleep(0.1)


def test_no_auth_demo_answers_without_a_key(sqlite_db: str, serve: Callable[..., Served]) -> None:
    served = serve(sqlite_db, "--no-auth")  # PostgreSQL serves with a key in the other tests here
    status, _, body = served.post("/customers/", json.dumps({"name": "Demo", "email": "demo@example.com"}).encode())
    assert status == 201, body
    status, _, body = served.get("/customers/")
    assert status == 200, body
    assert [c["name"] for c in json.loads(body)] == ["Demo"]
    assert "without authentication (loopback only)" in served.stdout()
    assert "fbl_" not in served.stdout()  # no admin key is made for a demo


def test_by_default_one_worker_per_core_and_the_start_line_says_where(
    db_url: str, serve: Callable[..., Served]
) -> None:
    served = serve(db_url)
    workers, database = started_with(served)
    assert workers == CORES
    port = int(served.base.rsplit(":", 1)[1])
    if Path("/proc/net/tcp").exists():
        assert listening(port, CORES) == CORES  # each worker listens on a socket of its own
    if db_url.startswith("sqlite"):
        assert database == "SQLite " + db_url.removeprefix("sqlite:///")
    else:
        assert database.startswith("PostgreSQL postgresql+psycopg://") and database.endswith(db_url.rsplit("/", 1)[1])


@pytest.mark.parametrize(("args", "env", "expected"), [(["--workers", "1"], {}, 1), ([], {"FUBBLE_WORKERS": "1"}, 1)])
def test_workers_from_the_flag_or_the_setting(
    sqlite_db: str, serve: Callable[..., Served], args: list[str], env: dict[str, str], expected: int
) -> None:
    served = serve(sqlite_db, *args, env=env)
    assert started_with(served)[0] == expected
    assert "with 1 worker on" in served.stdout()


def test_first_start_prints_an_admin_key_once(db_url: str, serve: Callable[..., Served]) -> None:
    first = serve(db_url, "--workers", "1")
    match = re.search(KEY_PATTERN, first.stdout())
    assert match is not None, first.stdout()
    assert "only this once" in first.stdout()
    assert first.get("/customers/")[0] == 401
    assert first.get("/customers/", {"Authorization": f"Bearer {match.group(0)}"})[0] == 200
    first.process.terminate()
    first.process.wait(15)
    again = serve(db_url, "--workers", "1")
    assert "fbl_" not in again.stdout()
    assert again.get("/customers/", {"Authorization": f"Bearer {match.group(0)}"})[0] == 200


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.com"])
def test_no_auth_is_refused_off_loopback(sqlite_db: str, tmp_path: Path, host: str) -> None:
    done = subprocess.run(
        [FUBBLE, "serve", "--no-auth", "--host", host],
        env=environment(sqlite_db),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"error: refusing to serve without authentication on {host}")
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "cli.db").exists()  # refused before touching anything


def test_auth_disabled_by_setting_is_refused_off_loopback(sqlite_db: str, tmp_path: Path) -> None:
    env = environment(sqlite_db, FUBBLE_AUTH_ENABLED="false", FUBBLE_HOST="0.0.0.0")
    done = subprocess.run([FUBBLE, "serve"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "refusing to serve without authentication on 0.0.0.0" in done.stderr


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_busy_port_is_a_sentence(sqlite_db: str, serve: Callable[..., Served], tmp_path: Path, workers: str) -> None:
    """Also with several workers on both sides: their SO_REUSEPORT groups must not share the port silently."""
    served = serve(sqlite_db, "--workers", workers)
    port = served.base.rsplit(":", 1)[1]
    done = subprocess.run(
        [FUBBLE, "serve", "--workers", workers, "--port", port],
        env=environment(sqlite_db),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert f"error: cannot listen on 127.0.0.1:{port}: Address already in use" in done.stderr


def test_dev_serve_no_auth(sqlite_db: str, serve: Callable[..., Served]) -> None:
    """The README's demo: ``./dev serve --no-auth`` (with this environment as its venv, already set up)."""
    venv = Path(sys.prefix)
    stamp = venv / ".fubble-installed"
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text().strip() != wanted:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{venv} was not set up by ./dev for this pyproject.toml")
        pytest.skip(f"run ./dev setup first: {venv} is not set up for this pyproject.toml (./dev would reinstall)")
    served = serve(sqlite_db, "--no-auth", command=[str(ROOT / "dev")], env={"FUBBLE_VENV": str(venv)})
    assert served.get("/customers/")[0] == 200
    assert served.get("/docs")[0] == 200


def test_the_original_products_start_command(sqlite_db: str, serve: Callable[..., Served]) -> None:
    """``python3 -m fubble.app`` serves like ``fubble serve``."""
    served = serve(sqlite_db, command=[sys.executable, "-m", "fubble.app"], subcommand=False)
    assert started_with(served)[0] == CORES
    assert served.get("/customers/")[0] == 401  # keys are required, and the first admin key was printed
    assert re.search(KEY_PATTERN, served.stdout())
