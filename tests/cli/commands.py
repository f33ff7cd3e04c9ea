"""Running ``fubble`` commands in tests: the environment a command gets, the command run through Typer's runner in
this process with what a process of its own would have had (shared by the CLI tests and the events tests), and a real
``fubble worker`` process run until something has happened."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

FUBBLE = str(Path(sys.executable).parent / "fubble")


def environment(db_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUBBLE_") or k == "FUBBLE_TEST_POSTGRES_URL"}
    return {**env, "FUBBLE_DATABASE_URL": db_url, "COLUMNS": "200", **extra}


def in_process_runner(db_url: str, cwd: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """What :func:`runner` answers, from the same command run in this process: its arguments, exit status, stdout and
    stderr, and the environment and working directory it would have had (the settings are read afresh for it). An
    exception the command did not handle is written to stderr as the process would print it."""
    from typer.testing import CliRunner

    from fubble.cli import app
    from fubble.config import get_settings

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        del timeout  # a command in this process runs to its end
        wanted = environment(db_url, **(env or {}))
        changes: dict[str, str | None] = {k: None for k in os.environ if k not in wanted}
        changes.update({k: v for k, v in wanted.items() if os.environ.get(k) != v})
        previous = Path.cwd()
        os.chdir(cwd)
        get_settings.cache_clear()
        try:
            result = CliRunner().invoke(app, list(args), env=changes)
        finally:
            get_settings.cache_clear()
            os.chdir(previous)
        stderr = result.stderr
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            stderr += "".join(traceback.format_exception(result.exception))
        return subprocess.CompletedProcess([FUBBLE, *args], result.exit_code, result.stdout, stderr)

    return run


def run_worker(env: dict[str, str], until: Callable[[], bool], *, seconds: float = 20) -> tuple[int, str]:
    """Run ``fubble worker`` in a process of its own until ``until()`` holds (or ``seconds`` pass, or it exits),
    then stop it with SIGTERM; its exit status and output (stdout and stderr). ``until`` is first asked once the
    worker has printed its banner (its signal handlers are in place by then)."""
    process = subprocess.Popen([FUBBLE, "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        deadline = time.monotonic() + seconds
        while not until() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.02)
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=30)
        output = banner + rest
    finally:
        if process.poll() is None:
            process.kill()
    return process.returncode, output
