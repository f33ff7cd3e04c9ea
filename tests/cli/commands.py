"""Running ``fubble`` commands in tests: the environment a command gets, and the command run through Typer's runner
in this process with what a process of its own would have had (shared by the CLI tests and the events tests)."""

from __future__ import annotations

import os
import subprocess
import sys
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
