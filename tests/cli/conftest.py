"""The ``fubble`` command as a person runs it, on a fresh database of each kind (an SQLite file, or a PostgreSQL
database of its own): its commands through Typer's runner with the environment and working directory a process would
have (the ``fubble`` fixture), and the real ``fubble`` executable in a process of its own where the process matters
(``serve`` and real HTTP against the servers it starts, ``python -m fubble``, a terminal's progress bar)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bench.server import database_url, free_port
from tests.cli.commands import FUBBLE, environment, in_process_runner

KEY_PATTERN = r"fbl_[0-9a-f]{12}_[A-Za-z0-9_-]{32,}"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database (not migrated) of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cli.db'}"
        return
    request.getfixturevalue("postgres_url")  # skips (or fails in CI) when PostgreSQL is unreachable
    with database_url("postgres", prefix="fubble_cli") as url:
        yield url


@pytest.fixture
def sqlite_db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def fubble(db_url: str, tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``fubble(*args, env=...)``: run the command on ``db_url`` (in ``tmp_path``, so no stray .env is read), through
    Typer's runner in this process (a process of its own costs a second and a half of imports per command; the
    ``serve`` fixture, ``test_help`` and the events import tests run the real executable)."""
    return in_process_runner(db_url, tmp_path)


def runner(db_url: str, cwd: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [FUBBLE, *args],
            capture_output=True,
            text=True,
            env=environment(db_url, **(env or {})),
            cwd=cwd,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )

    return run


@dataclass
class Served:
    """A ``fubble serve`` process started by a test, with what it printed so far."""

    process: subprocess.Popen[str]
    base: str
    out: Path
    err: Path

    def stdout(self) -> str:
        return self.out.read_text()

    def stderr(self) -> str:
        return self.err.read_text()

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        return request(self.base + path, headers=headers)

    def post(self, path: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        return request(self.base + path, body, {"Content-Type": "application/json", **(headers or {})})


def request(
    url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, data=body, headers=headers or {}, method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """``serve(db_url, *args, command=[FUBBLE], env=...)``: start ``COMMAND serve --port P ARGS`` (with
    ``subcommand=False``: ``COMMAND ARGS`` with FUBBLE_PORT=P) and wait until ``/health`` answers; every process
    started is stopped (its whole process group) at the end."""
    started: list[subprocess.Popen[str]] = []

    def start(
        db_url: str,
        *args: str,
        command: list[str] | None = None,
        env: dict[str, Any] | None = None,
        subcommand: bool = True,
    ) -> Served:
        port = free_port()
        argv = [*(command or [FUBBLE]), *(["serve", "--port", str(port)] if subcommand else []), *args]
        n = len(started)
        out, err = tmp_path / f"serve-{n}.out", tmp_path / f"serve-{n}.err"
        with out.open("w") as stdout, err.open("w") as stderr:
            process = subprocess.Popen(
                argv,
                env=environment(db_url, FUBBLE_PORT=str(port), **(env or {})),
                cwd=tmp_path,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                text=True,
                start_new_session=True,
            )
        started.append(process)
        served = Served(process, f"http://127.0.0.1:{port}", out, err)
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(OSError):
                if served.get("/health")[0] == 200:
                    return served
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"fubble serve did not start:\n{served.stdout()}\n{served.stderr()[-3000:]}")
            time.sleep(0.1)

    try:
        yield start
    finally:
        for process in started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


CELL = re.compile(r"\S+(?: \S+)*")  # cells are separated by two spaces or more


def columns(table: str, right: tuple[str, ...] = ()) -> list[list[str]]:
    """The cells of an aligned table, checking the alignment: a cell starts where its column's header starts (ends
    there, for the ``right``-aligned columns). A rule line is under the header."""
    lines = [line.rstrip() for line in table.splitlines() if line.strip()]
    header, rule, rows = lines[0], lines[1], lines[2:]
    assert set(rule.strip()) <= {"─", "-", " "}, rule
    heads = list(CELL.finditer(header))
    result = [[m.group(0) for m in heads]]
    for row in rows:
        cells = list(CELL.finditer(row))
        assert len(cells) == len(heads), row
        for head, cell in zip(heads, cells, strict=True):
            if head.group(0) in right:
                assert cell.end() == head.end(), (row, head.group(0))
            else:
                assert cell.start() == head.start(), (row, head.group(0))
        result.append([m.group(0) for m in cells])
    return result
