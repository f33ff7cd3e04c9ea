"""Every ``fubble`` command's ``--help``, as printed by the real executable: plain metavars (``--port PORT``,
``NAME``), never a type in angle brackets or a name in braces; ``python -m fubble`` and ``fubble db upgrade``."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import FUBBLE, environment

pytestmark = pytest.mark.slow  # a long file: scheduled first (tests/conftest.py)

COMMANDS = [[], ["serve"], ["bill"], ["version"], ["db"], ["db", "upgrade"], ["keys"], ["keys", "create"]]
COMMANDS += [["keys", "list"], ["keys", "revoke"], ["events"], ["events", "import"], ["worker"], ["invoices"]]
COMMANDS += [["invoices", "export"]]
TYPE_MARKS = re.compile(r"<(?:str|int|bool|float|path|datetime|int range|text|integer)[^>]*>|\{\w+\}|\[x[<>]=?\d+")


def helped(*args: str) -> str:
    done = subprocess.run(
        [FUBBLE, *args, "--help"], capture_output=True, text=True, env=environment("sqlite:///x.db"), timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("args", COMMANDS, ids=lambda args: " ".join(args) or "fubble")
def test_help_shows_plain_metavars(args: list[str]) -> None:
    text = helped(*args)
    assert "Usage: fubble" in text
    assert not TYPE_MARKS.findall(text), TYPE_MARKS.findall(text)


def test_help_names_the_values() -> None:
    assert "Usage: fubble keys create [OPTIONS] NAME" in helped("keys", "create")
    assert "Usage: fubble keys revoke [OPTIONS] ID" in helped("keys", "revoke")
    assert re.search(r"--scope\s+SCOPE", helped("keys", "create"))
    serve = helped("serve")
    assert re.search(r"--port\s+PORT", serve) and re.search(r"--workers\s+N", serve)
    assert "one per CPU core" in serve and "FUBBLE_WORKERS" in serve
    assert "--no-auth" in serve and "loopback" in serve
    assert re.search(r"--start\s+DATE", helped("bill"))


def test_help_paragraphs_wrap_at_the_terminal_width_not_at_the_docstrings_line_ends() -> None:
    text = helped("events", "import")  # COLUMNS=200
    assert "CSV: a header line naming the columns event_id, customer_id or external_customer_id, metric_name" in text


def test_python_m_fubble_and_version(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "fubble", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    for command in ("serve", "bill", "db", "keys", "events", "version"):
        assert command in done.stdout
    version = subprocess.run([FUBBLE, "version"], capture_output=True, text=True, timeout=60)
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*\n", version.stdout)


def test_unknown_command_is_a_usage_error() -> None:
    done = subprocess.run([FUBBLE, "bil"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2


def test_db_upgrade(db_url: str, fubble: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    first = fubble("db", "upgrade")
    assert first.returncode == 0, first.stderr
    assert re.fullmatch(r"database (SQLite|PostgreSQL) \S+ is at revision head\n", first.stdout)
    assert fubble("db", "upgrade").returncode == 0  # idempotent


def test_database_setup_module(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'setup.db'}"
    done = subprocess.run(
        [sys.executable, "-m", "fubble.database.setup"],
        capture_output=True,
        text=True,
        env=environment(url),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "database ready" in done.stdout
    assert (tmp_path / "setup.db").exists()
