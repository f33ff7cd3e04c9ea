"""``fubble keys create|list|revoke`` as real processes: an aligned table with one time format, sentences for every
refusal, exit status 1 for refusals and 2 for usage errors."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fubble.api.app import create_app
from fubble.config import Settings
from tests.cli.conftest import KEY_PATTERN, columns

Run = Callable[..., subprocess.CompletedProcess[str]]
TIME = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"


def status_with(url: str, key: str) -> int:
    """GET /customers/ with ``key`` against the real app on that database."""
    with TestClient(create_app(Settings(database_url=url)), raise_server_exceptions=False) as client:
        return client.get("/customers/", headers={"Authorization": f"Bearer {key}"}).status_code


def create(fubble: Run, name: str, scope: str) -> tuple[int, str]:
    done = fubble("keys", "create", name, "--scope", scope)
    assert done.returncode == 0, done.stderr
    match = re.search(rf"created key (\d+) .*\n({KEY_PATTERN})\n$", done.stdout)
    assert match is not None, done.stdout  # the secret is the last line (scripts take it from there)
    return int(match.group(1)), match.group(2)


def test_create_list_revoke(db_url: str, fubble: Run) -> None:
    assert fubble("db", "upgrade").returncode == 0
    ingest_id, ingest = create(fubble, "web app ingest", "ingest")
    admin_id, admin = create(fubble, "ops", "admin")
    assert status_with(db_url, ingest) == 403  # a valid key, but ingest may not read customers
    assert status_with(db_url, admin) == 200

    revoked = fubble("keys", "revoke", str(ingest_id))
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout == f"revoked key {ingest_id} (web app ingest)\n"
    assert status_with(db_url, ingest) == 401

    listed = fubble("keys", "list")
    assert listed.returncode == 0, listed.stderr
    assert ingest not in listed.stdout and ingest.split("_")[2] not in listed.stdout
    table = columns(listed.stdout, right=("id",))
    assert table[0] == ["id", "scope", "prefix", "name", "created", "last used", "revoked"]
    rows = {row[0]: row for row in table[1:]}
    assert set(rows) == {str(ingest_id), str(admin_id)}
    ingest_row, admin_row = rows[str(ingest_id)], rows[str(admin_id)]
    assert ingest_row[1:4] == ["ingest", ingest.split("_")[1], "web app ingest"]
    assert re.fullmatch(TIME, ingest_row[4]) and re.fullmatch(TIME, ingest_row[6])  # one format for every time
    assert admin_row[1:4] == ["admin", admin.split("_")[1], "ops"]
    assert re.fullmatch(TIME, admin_row[5])  # used above
    assert admin_row[6] == "-"
    assert "+00:00" not in listed.stdout and "." not in listed.stdout.replace("...", "")


def test_refusals_are_sentences_with_status_1(db_url: str, fubble: Run) -> None:
    assert fubble("db", "upgrade").returncode == 0
    key_id, _ = create(fubble, "reader", "read")
    assert fubble("keys", "revoke", str(key_id)).returncode == 0
    again = fubble("keys", "revoke", str(key_id))
    assert again.returncode == 1
    assert re.fullmatch(rf"error: API key {key_id} \(reader\) was already revoked at {TIME} UTC\n", again.stderr)

    unknown = fubble("keys", "revoke", "99")
    assert (unknown.returncode, unknown.stderr) == (1, "error: API key 99 not found\n")

    root_id, _ = create(fubble, "root", "admin")
    last = fubble("keys", "revoke", str(root_id))
    assert last.returncode == 1
    assert last.stderr.startswith("error: refusing to revoke the last active admin key")

    for name in ("", "   ", "x" * 256):
        bad = fubble("keys", "create", name, "--scope", "read")
        assert (bad.returncode, bad.stderr) == (1, "error: the name must be 1 to 255 characters, not blank\n")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # refused before any database is opened
def test_usage_errors_have_status_2(db_url: str, fubble: Run) -> None:
    bad_scope = fubble("keys", "create", "x", "--scope", "superuser")
    assert bad_scope.returncode == 2
    assert "'superuser' is not one of 'admin', 'write', 'ingest', 'read'" in bad_scope.stderr
    assert fubble("keys", "revoke", "one").returncode == 2


def test_a_database_without_schema_is_a_sentence(db_url: str, fubble: Run) -> None:
    done = fubble("keys", "list")
    assert done.returncode == 1
    assert done.stderr.startswith("error: cannot use the database at ")
    assert "fubble db upgrade" in done.stderr and "Traceback" not in done.stderr


def test_list_shows_every_key_past_one_page(tmp_path: Path, fubble: Run, db_url: str) -> None:
    from fubble.api_keys.scopes import Scope
    from fubble.api_keys.service import create as create_key
    from fubble.clock import SystemClock
    from fubble.db.migrate import upgrade
    from fubble.db.session import Database

    upgrade(db_url)
    database = Database(db_url)
    with database.transaction() as session:
        for n in range(1005):  # the list reads 1000 keys at a time
            create_key(session, name=f"key {n}", scope=Scope.read, clock=SystemClock())
    database.dispose()
    listed = fubble("keys", "list")
    assert listed.returncode == 0, listed.stderr
    rows = columns(listed.stdout, right=("id",))[1:]
    assert len(rows) == 1005
    assert rows[-1][0] == "1005" and rows[-1][3] == "key 1004"
