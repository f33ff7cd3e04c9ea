"""Start a real fubble server process for a benchmark or a robustness test (or point at an existing one with --url).

* :func:`database_url`: a fresh, empty SQLite or PostgreSQL database, removed afterwards.
* :func:`create_admin_key`: ``fubble db upgrade`` then ``fubble keys create ... --scope admin`` (real CLI processes);
  returns the printed secret.
* :class:`ServerProcess`: ``python -m fubble serve`` in its own process group, on a fixed port so it can be killed
  (``SIGKILL``, like a power cut for the process) and started again at the same address.
* :func:`running_server`: a context manager yielding the base URL of a started server, stopped afterwards.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

PG_ADMIN = os.environ.get("FUBBLE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def database_url(kind: str, *, prefix: str = "fubble_bench") -> Iterator[str]:
    """A fresh, empty database of the given kind (sqlite or postgres), removed afterwards. A PostgreSQL database is
    created on the server at ``FUBBLE_TEST_POSTGRES_URL`` and named ``<prefix>_<random hex>``."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from fubble.db.session import normalize_url

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalize_url(PG_ADMIN), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(normalize_url(PG_ADMIN)).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run_cli(db_url: str, *args: str, timeout: float = 60) -> str:
    """Run ``python -m fubble ARGS`` against ``db_url`` and return its stdout (raises on a non-zero exit)."""
    env = {**os.environ, "FUBBLE_DATABASE_URL": db_url}
    done = subprocess.run(
        [sys.executable, "-m", "fubble", *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise RuntimeError(f"fubble {' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


def create_admin_key(db_url: str, name: str = "robustness admin") -> str:
    """Migrate the database and create an admin API key with the real CLI; returns the secret it prints."""
    run_cli(db_url, "db", "upgrade")
    out = run_cli(db_url, "keys", "create", name, "--scope", "admin")
    key = out.strip().splitlines()[-1].strip()
    if not key.startswith("fbl_"):
        raise RuntimeError(f"could not find the key in the output of `fubble keys create`: {out!r}")
    return key


TCP_TABLE = Path("/proc/net/tcp")  # Linux's table of IPv4 TCP sockets
LISTEN = "0A"  # its state code for a listening socket
ESTABLISHED = "01"


class TcpSocket(NamedTuple):
    local_port: int
    remote_port: int
    state: str
    inode: str


def tcp_sockets() -> list[TcpSocket]:
    """The machine's IPv4 TCP sockets, from :data:`TCP_TABLE` (Linux only)."""
    entries = []
    for line in TCP_TABLE.read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = (int(address.split(":")[1], 16) for address in fields[1:3])
        entries.append(TcpSocket(local, remote, fields[3], fields[9]))
    return entries


def serving_process(server_port: int, client_port: int) -> int | None:
    """The pid of the process that holds the server side of the connection from ``client_port`` to ``server_port``
    (which worker took it), read from Linux's /proc; ``None`` if not found (not accepted yet, not Linux, another
    user's process)."""
    if not TCP_TABLE.exists():
        return None
    inodes = {
        entry.inode
        for entry in tcp_sockets()
        if entry.state == ESTABLISHED and entry.local_port == server_port and entry.remote_port == client_port
    }
    links = {f"socket:[{inode}]" for inode in inodes}
    for process in Path("/proc").iterdir():
        if not process.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (process / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in links:
                        return int(process.name)
    return None


class ServerProcess:
    """``python -m fubble serve`` on 127.0.0.1 in its own process group (so ``--workers N`` children die with it).

    The port is fixed at construction, so :meth:`start` after :meth:`kill` serves the same address. The server's
    stderr (uvicorn's log and any traceback) goes to a file in ``log_dir`` (the caller's to remove), read with
    :meth:`log`."""

    def __init__(
        self,
        db_url: str,
        *,
        port: int | None = None,
        workers: int = 1,
        extra_env: dict[str, str] | None = None,
        log_dir: str | Path,
        access_log: bool = True,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.db_url = db_url
        self.extra_args = tuple(extra_args)
        self.access_log = access_log
        self.port = port or free_port()
        self.workers = workers
        self.extra_env = dict(extra_env or {})
        self.base = f"http://127.0.0.1:{self.port}"
        self._log_dir = Path(log_dir)
        self._logs: list[Path] = []
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 30) -> str:
        """Start the server and wait until ``/health`` answers; returns the base URL."""
        if self.running:
            raise RuntimeError("the server is already running")
        env = {**os.environ, "FUBBLE_DATABASE_URL": self.db_url, **self.extra_env}
        log_path = self._log_dir / f"server-{self.port}-{len(self._logs)}.log"
        self._logs.append(log_path)
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "fubble",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--workers",
                    str(self.workers),
                    "--access-log" if self.access_log else "--no-access-log",
                    *self.extra_args,
                ],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.base}/health", timeout=1) as response:
                    if response.status == 200 and self._all_workers_listen():
                        return self.base
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("server did not start: " + self.log()[-2000:]) from None
                time.sleep(0.05)

    def _all_workers_listen(self) -> bool:
        """Whether every worker listens yet (each has a socket of its own, see fubble.api.listeners): /health answers
        once the first does, and connections made before the others listen would all go to it. Read from Linux's
        /proc; elsewhere, assumed."""
        if self.workers == 1 or not TCP_TABLE.exists():
            return True
        listening = sum(1 for entry in tcp_sockets() if entry.state == LISTEN and entry.local_port == self.port)
        return listening >= self.workers

    def _signal_group(self, sig: int) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, sig)  # the group we created with start_new_session: the server and workers

    def kill(self) -> None:
        """``SIGKILL`` the server and its workers at once (no shutdown code runs), and reap it."""
        self._signal_group(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(10)

    def stop(self, timeout: float = 10) -> None:
        """Stop gracefully (``SIGTERM``), killing after ``timeout`` seconds; a no-op when not running."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.process.wait(10)
        self._signal_group(signal.SIGKILL)  # workers left behind by a parent that died first

    def log(self) -> str:
        """Everything the server wrote to stderr, across all its starts."""
        return "".join(p.read_text(errors="replace") for p in self._logs if p.exists())


@contextlib.contextmanager
def running_server(
    db_url: str,
    *,
    extra_env: dict[str, str] | None = None,
    workers: int = 1,
    port: int | None = None,
    access_log: bool = True,
) -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="fubble-server-") as logs:
        server = ServerProcess(
            db_url, port=port, workers=workers, extra_env=extra_env, log_dir=logs, access_log=access_log
        )
        try:
            yield server.start()
        finally:
            server.stop()
