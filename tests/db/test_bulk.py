"""Bulk lookups on the raw driver (fubble.db.bulk), on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import text

from fubble.db import bulk
from fubble.db.models import Customer
from fubble.db.session import Database

BY_ID = f"SELECT id, external_id FROM customers WHERE id {bulk.VALUES}"
BY_EXTERNAL_ID = f"SELECT external_id FROM customers WHERE external_id {bulk.VALUES}"
# The list twice: every VALUES stands for the whole list.
BOTH = f"SELECT id FROM customers WHERE id {bulk.VALUES} AND id {bulk.VALUES}"


def _customers(db: Database, count: int) -> list[int]:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    with db.transaction() as session:
        rows = [
            Customer(
                name=f"c{i}",
                email=f"c{i}@bulk.example.com",
                currency="USD",
                external_id=f"x{i}",
                created_at=now,
                updated_at=now,
            )
            for i in range(count)
        ]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def test_each_lookup_gets_its_own_rows_in_the_order_asked(db: Database) -> None:
    ids = _customers(db, 3)
    with db.transaction() as session:
        by_id, missing, by_external, both = bulk.rows_matching_each(
            session,
            [
                (BY_ID, [ids[2], ids[0], 10**9]),
                (BY_ID, [10**9]),
                (BY_EXTERNAL_ID, ["x1", "nope"]),
                (BOTH, [ids[1]]),
            ],
        )
    assert sorted(by_id) == [(ids[0], "x0"), (ids[2], "x2")]
    assert missing == []
    assert by_external == [("x1",)]
    assert both == [(ids[1],)]


def test_long_lists_and_empty_ones(db: Database) -> None:
    """Past 50 values PostgreSQL takes one array, past 1,000 SQLite takes several IN lists; an empty list finds
    nothing (and, all lists empty, nothing is asked at all)."""
    ids = _customers(db, 1_200)
    wanted = [*ids, *range(10**9, 10**9 + 300)]
    with db.transaction() as session:
        found, nothing = bulk.rows_matching_each(session, [(BY_ID, wanted), (BY_EXTERNAL_ID, [])])
        assert bulk.rows_matching_each(session, [(BY_ID, []), (BY_EXTERNAL_ID, [])]) == [[], []]
    assert sorted(i for i, _ in found) == ids
    assert nothing == []


def test_lookups_see_the_transactions_own_writes(db: Database) -> None:
    """Sent together (PostgreSQL's pipeline mode), the lookups still run in the session's transaction."""
    with db.transaction() as session:
        session.execute(
            text(
                "INSERT INTO customers (name, email, currency, external_id, invoice_seq, created_at, updated_at) "
                "VALUES ('n', 'n@bulk.example.com', 'USD', 'fresh', 0, :now, :now)"
            ),
            {"now": datetime(2025, 1, 1, tzinfo=UTC)},
        )
        (found,) = bulk.rows_matching_each(session, [(BY_EXTERNAL_ID, ["fresh"])])
        assert found == [("fresh",)]
        session.rollback()
    with db.transaction() as session:
        assert bulk.rows_matching(session, BY_EXTERNAL_ID, ["fresh"]) == []


def test_a_failing_lookup_fails_the_call_and_the_session_recovers(db: Database) -> None:
    """An error in one of the lookups sent together (here: no such column) is raised (the driver's own error, as from
    any raw lookup), not swallowed with the others' results; after the rollback the session works again."""
    ids = _customers(db, 1)
    session = db.session(write=False)
    try:
        with pytest.raises((psycopg.Error, sqlite3.Error)):
            bulk.rows_matching_each(
                session, [(BY_ID, ids), (f"SELECT nope FROM customers WHERE id {bulk.VALUES}", ids)]
            )
        session.rollback()
        assert bulk.rows_matching(session, BY_ID, ids) == [(ids[0], "x0")]
    finally:
        session.close()
