"""``fubble invoices export`` as a real process: the same CSV as GET /invoices/?format=csv, to stdout or a file."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from fubble.db.session import Database
from tests.cli.conftest import runner
from tests.cli.test_help import TYPE_MARKS, helped


def test_export_writes_what_the_api_answers(client: TestClient, db: Database, tmp_path: Path) -> None:
    """On the suite's own databases (already migrated; the client's commits are what the command reads)."""
    customer = client.post("/customers/", json={"name": "Acme", "email": "a@example.com", "currency": "EUR"}).json()
    for n in range(3):
        lines = [{"description": f"line {n}", "amount": "12.5"}, {"description": "fee", "amount": "1"}]
        assert client.post("/invoices/", json={"customer_id": customer["id"], "items": lines}).status_code == 201
    assert client.put("/invoices/2/finalize").status_code == 200
    everything = client.get("/invoices/", params={"format": "csv"}).text
    drafts = client.get("/invoices/", params={"format": "csv", "status": "draft", "limit": 1, "offset": 1}).text
    fubble = runner(db.url, tmp_path)

    out = fubble("invoices", "export")
    assert out.returncode == 0, out.stderr
    assert out.stdout == everything.replace("\r\n", "\n") and out.stderr == ""  # (read with universal newlines)
    assert everything.count("\r\n") == 7  # the header and two lines of each of the 3 invoices
    assert ",12.50,13.50,0.00,0.00,13.50,0.00,13.50\r\n" in everything  # plain amounts with the currency's places

    target = tmp_path / "drafts.csv"
    done = fubble("invoices", "export", "--status", "draft", "--limit", "1", "--offset", "1", "--output", str(target))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == f"exported 1 invoice to {target}\n"
    assert target.read_bytes() == drafts.encode() and drafts.count("\r\n") == 3  # invoice 3 only
    assert not list(tmp_path.glob("*.partial"))


def test_export_refuses_bad_options_and_an_unmigrated_database(sqlite_db: str, tmp_path: Path) -> None:
    fubble = runner(sqlite_db, tmp_path)
    wrong = fubble("invoices", "export", "--limit", "0")
    assert wrong.returncode == 2 and wrong.stderr == "error: --limit must be at least 1\n"
    unmigrated = fubble("invoices", "export", "--output", str(tmp_path / "x.csv"))
    assert unmigrated.returncode == 1 and "fubble db upgrade" in unmigrated.stderr
    assert not (tmp_path / "x.csv").exists() and not list(tmp_path.glob("*.partial"))  # no half-written file


def test_help_is_plain() -> None:
    text = helped("invoices", "export")
    assert not TYPE_MARKS.findall(text)
    for option in ("--status\\s+STATUS", "--limit\\s+N", "--offset\\s+N", "--output\\s+-o\\s+FILE"):
        assert re.search(option, text), option
