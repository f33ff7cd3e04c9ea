"""The command-line side of ``fubble events import`` as a real process: a summary on success; a bad line is a sentence
with its line number and exit status 1; a bad option value is a usage error."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from fubble.api.app import create_app
from fubble.config import Settings
from tests.cli.conftest import KEY_PATTERN

Run = Callable[..., subprocess.CompletedProcess[str]]


def set_up(db_url: str, fubble: Run) -> TestClient:
    """Customer 1 and the metric api_calls; returns an admin client of the real app (to be closed)."""
    assert fubble("db", "upgrade").returncode == 0
    key = re.search(KEY_PATTERN, fubble("keys", "create", "setup", "--scope", "admin").stdout)
    assert key is not None
    client = TestClient(create_app(Settings(database_url=db_url)), headers={"Authorization": f"Bearer {key.group(0)}"})
    assert client.post("/customers/", json={"name": "Acme", "email": "a@example.com"}).status_code == 201
    assert client.post("/metrics/", json={"name": "api_calls"}).status_code == 201
    return client


def event(n: int, **fields: object) -> str:
    body = {"customer_id": 1, "metric_name": "api_calls", "quantity": 1, "event_time": f"2024-01-02T00:00:{n:02d}Z"}
    return json.dumps({**body, **fields})


def test_import_summary_and_a_bad_line(db_url: str, fubble: Run, tmp_path: Path) -> None:
    with set_up(db_url, fubble) as client:
        good = tmp_path / "good.ndjson"
        good.write_text("\n".join(event(n) for n in range(1, 4)) + "\n")
        done = fubble("events", "import", str(good))
        assert done.returncode == 0, done.stderr
        assert re.match(r"accepted 3, duplicates 0, errors 0 \(3 events in ", done.stdout)

        bad = tmp_path / "bad.ndjson"
        bad.write_text(f"{event(4)}\n{event(5, quantity='abc')}\n{{not json\n")
        failed = fubble("events", "import", str(bad))
        assert failed.returncode == 1, failed.stderr
        first = failed.stderr.splitlines()[0]
        assert re.fullmatch(r"error: line 2: quantity: \S.*", first), failed.stderr
        assert "{'" not in failed.stderr and "Traceback" not in failed.stderr
        assert "continue from line 1" in failed.stderr
        assert len(client.get("/events/customers/1").json()) == 3  # the bad line's batch stored nothing


def test_usage_and_file_errors(db_url: str, fubble: Run, tmp_path: Path) -> None:
    assert fubble("events", "import", str(tmp_path / "missing.ndjson")).returncode == 2
    assert fubble("events", "import", str(tmp_path), "--batch-size", "0").returncode == 2
    odd = tmp_path / "events.txt"
    odd.write_text(event(1) + "\n")
    assert fubble("db", "upgrade").returncode == 0
    unknown = fubble("events", "import", str(odd))
    assert unknown.returncode == 1
    assert (
        unknown.stderr
        == "error: cannot tell the format of 'events.txt' from its extension: pass --format ndjson or csv\n"
    )
