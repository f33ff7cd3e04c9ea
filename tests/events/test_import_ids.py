"""``fubble events import`` (the real command, in a process of its own) is idempotent by content: a line without
``event_id`` gets an id from its event alone and how many identical events came before it, so a fixed, edited,
reformatted or restarted file adds exactly the events that are new or changed (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from fubble.db.models import Event
from fubble.db.session import Database

from .helpers import new_customer, new_plan, run_import

pytestmark = pytest.mark.slow  # a long file: scheduled first (tests/conftest.py)


@pytest.fixture
def customer(client: TestClient) -> int:
    new_plan(client)
    return new_customer(client)


def _line(customer: int, second: int, quantity: Any = 1, **fields: Any) -> dict[str, Any]:
    return {
        "customer_id": customer,
        "metric_name": "api_calls",
        "quantity": quantity,
        "event_time": f"2024-01-02T00:00:{second:02d}Z",
        **fields,
    }


def _write(path: Path, lines: list[dict[str, Any] | str]) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines), encoding="utf-8")
    return path


def _stored(db: Database) -> list[tuple[int, Decimal]]:
    """(second, quantity) of every stored event, in order."""
    with db.transaction() as session:
        rows = session.execute(select(Event.event_time, Event.quantity)).all()
    return sorted((row.event_time.second, Decimal(row.quantity)) for row in rows)


def _imported(db: Database, file: Path, *args: str) -> str:
    done = run_import(db.url, file, "--batch-size", "2", *args, cwd=file.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_a_fixed_bad_line_then_a_rerun_or_a_restart_stores_each_event_once(
    db: Database, customer: int, tmp_path: Path
) -> None:
    lines: list[dict[str, Any] | str] = [_line(customer, n) for n in range(1, 7)]
    lines[4] = _line(customer, 5, quantity=-1)  # line 5, in the third batch of two
    file = _write(tmp_path / "usage.ndjson", lines)
    failed = run_import(db.url, file, "--batch-size", "2", cwd=tmp_path)
    assert failed.returncode == 1
    assert "error: line 5: quantity: must not be negative: metric 'api_calls'" in failed.stderr
    assert _stored(db) == [(n, Decimal(1)) for n in range(1, 5)]  # batches 1 and 2

    lines[4] = _line(customer, 5)
    _write(file, lines)
    assert "accepted 2, duplicates 0" in _imported(db, file)  # resumed at line 5
    assert "accepted 0, duplicates 6" in _imported(db, file, "--restart")  # all of it again: nothing new
    assert _stored(db) == [(n, Decimal(1)) for n in range(1, 7)]


def test_identical_lines_are_events_of_their_own_also_across_a_resume(
    db: Database, customer: int, tmp_path: Path
) -> None:
    same = _line(customer, 1)
    lines: list[dict[str, Any] | str] = [same, same, same, "{not json", same]
    file = _write(tmp_path / "usage.ndjson", lines)
    assert run_import(db.url, file, "--batch-size", "2", cwd=tmp_path).returncode == 1
    assert _stored(db) == [(1, Decimal(1))] * 2

    lines[3] = _line(customer, 4)
    _write(file, lines)
    # Resumed at line 3: the lines before it are counted again, so line 3 is the third identical event, not the first.
    assert "accepted 3, duplicates 0" in _imported(db, file)
    assert _stored(db) == [(1, Decimal(1))] * 4 + [(4, Decimal(1))]
    assert "accepted 0, duplicates 5" in _imported(db, file, "--restart")


def test_an_edited_line_adds_the_new_event_and_the_old_one_stays(db: Database, customer: int, tmp_path: Path) -> None:
    file = _write(tmp_path / "usage.ndjson", [_line(customer, n) for n in range(1, 4)])
    _imported(db, file)
    _write(file, [_line(customer, 1), _line(customer, 2, quantity=20), _line(customer, 3)])
    assert "accepted 1, duplicates 2" in _imported(db, file)
    assert _stored(db) == [(1, Decimal(1)), (2, Decimal(1)), (2, Decimal(20)), (3, Decimal(1))]


def test_the_same_events_written_differently_are_the_same_events(db: Database, customer: int, tmp_path: Path) -> None:
    """The id comes from the canonical event, not from the line's bytes: spacing, key order and equal numbers
    (1 and 1.0, an offset naming the same instant) do not make a new event."""
    file = _write(tmp_path / "usage.ndjson", [_line(customer, 1, properties={"a": 1, "b": "x"})])
    _imported(db, file)
    rewritten = (
        '{ "properties": {"b": "x", "a": 1.0},  "quantity": 1.00, "event_time": "2024-01-02T01:00:01+01:00",'
        f' "metric_name": "api_calls", "customer_id": {customer} }}'
    )
    _write(file, [rewritten])
    assert "accepted 0, duplicates 1" in _imported(db, file, "--restart")
    assert len(_stored(db)) == 1


def test_csv_rows_are_idempotent_by_content_too(db: Database, customer: int, tmp_path: Path) -> None:
    file = tmp_path / "usage.csv"
    header = "customer_id,metric_name,quantity,event_time,properties.region\n"
    row = f"{customer},api_calls,{{q}},2024-01-02T00:00:{{s:02d}}Z,eu\n"
    file.write_text(header + row.format(q=1, s=1) + row.format(q=1, s=1) + row.format(q="x", s=3), encoding="utf-8")
    failed = run_import(db.url, file, "--batch-size", "2", cwd=tmp_path)
    assert failed.returncode == 1
    assert "error: line 4: quantity: must be a number (or a string holding one)" in failed.stderr
    assert _stored(db) == [(1, Decimal(1))] * 2  # two identical rows: two events

    file.write_text(header + row.format(q=1, s=1) + row.format(q="2.0", s=1) + row.format(q=3, s=3), encoding="utf-8")
    assert "accepted 2, duplicates 1" in _imported(db, file, "--restart")  # row 3 changed: a new event, the old stays
    assert _stored(db) == [(1, Decimal(1)), (1, Decimal(1)), (1, Decimal(2)), (3, Decimal(3))]
