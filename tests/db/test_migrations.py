from __future__ import annotations

import contextlib
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

import fubble.db.models  # noqa: F401
from bench.server import database_url
from fubble.db.base import Base
from fubble.db.migrate import alembic_config, upgrade
from fubble.db.session import Database, normalize_url


def test_migrations_match_the_models(db: Database) -> None:
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_sqlite_rollup_tables_become_without_rowid_and_keep_their_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url, "0005")
    row = "(1, 'api_calls', 'hour', '2024-01-01 00:00:00.000000', 2, '3.5', '2', '2024-01-01 00:00:00.000000', '1.5', "
    row += "'2024-01-01 00:10:00.000000', '2', 7, '0')"
    with contextlib.closing(sqlite3.connect(tmp_path / "m.db")) as conn, conn:
        conn.execute(f"INSERT INTO usage_rollups VALUES {row}")
        conn.execute("INSERT INTO usage_distinct VALUES (1, 'api_calls', '2024-01-01 00:00:00.000000', '\"a\"')")

    def tables() -> tuple[list[str], list[tuple[object, ...]], list[tuple[object, ...]]]:
        with contextlib.closing(sqlite3.connect(tmp_path / "m.db")) as conn:
            kinds = [
                "without rowid" if sql.rstrip().endswith("WITHOUT ROWID") else "rowid"
                for (sql,) in conn.execute(
                    "SELECT sql FROM sqlite_master WHERE name IN ('usage_rollups', 'usage_distinct') ORDER BY name"
                )
            ]
            return (
                kinds,
                conn.execute("SELECT * FROM usage_rollups").fetchall(),
                conn.execute("SELECT * FROM usage_distinct").fetchall(),
            )

    before = tables()
    assert before[0] == ["rowid", "rowid"]
    upgrade(url)
    after = tables()
    assert after[0] == ["without rowid", "without rowid"]
    assert after[1:] == before[1:]
    command.downgrade(alembic_config(url), "0005")
    assert tables() == before


def test_sqlite_event_times_become_integers_and_back_exactly(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url, "0006")
    texts = ["1900-01-01 00:00:00.000000", "1969-12-31 23:59:59.999999", "2024-01-05 03:04:05.123456"]
    with contextlib.closing(sqlite3.connect(tmp_path / "m.db")) as conn, conn:
        conn.executemany(
            "INSERT INTO events (id, customer_id, metric_name, quantity, event_time, fingerprint, received_at)"
            " VALUES (?, 1, 'm', '1', ?, 'f', '2024-01-05 00:00:00.000000')",
            list(enumerate(texts, start=1)),
        )

    def times() -> list[object]:
        with contextlib.closing(sqlite3.connect(tmp_path / "m.db")) as conn:
            return [value for (value,) in conn.execute("SELECT event_time FROM events ORDER BY id")]

    upgrade(url)
    assert times() == [-2208988800000000, -1, 1704423845123456]
    command.downgrade(alembic_config(url), "0006")
    assert times() == texts


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_rollups_become_keyed_by_time_and_keep_their_rows(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if kind == "postgres":
        request.getfixturevalue("postgres_url")  # skips (or fails in CI) when PostgreSQL is unreachable
    fresh = database_url(kind, prefix="fubble_test") if kind == "postgres" else contextlib.nullcontext(None)
    with fresh as pg_url:
        url = pg_url or f"sqlite:///{tmp_path / 'm.db'}"
        upgrade(url, "0007")
        engine = create_engine(normalize_url(url))
        columns = "customer_id, metric_name, width, bucket, event_count, total, maximum, first_time, first_value, "
        columns += "last_time, last_value, last_event_id, integral"
        rows = [
            {"c": customer, "w": width, "b": datetime(2024, 1, 1, hour, tzinfo=UTC)}
            for customer in (2, 1)
            for width, hour in (("hour", 5), ("day", 0), ("hour", 0))
        ]
        with engine.begin() as conn:
            conn.execute(
                text(
                    f"INSERT INTO usage_rollups ({columns}) VALUES "
                    "(:c, 'api_calls', :w, :b, 2, 3.5, 2, :b, 1.5, :b, 2, 7, 0)"
                ),
                rows,
            )

        def state() -> tuple[list[str], list[str], list[tuple[object, ...]]]:
            with engine.connect() as conn:
                inspector = inspect(conn)
                key = inspector.get_pk_constraint("usage_rollups")["constrained_columns"]
                indexes = sorted(index["name"] or "" for index in inspector.get_indexes("usage_rollups"))
                stored = conn.execute(
                    text(f"SELECT {columns} FROM usage_rollups ORDER BY customer_id, width, bucket")
                ).all()
            return key, indexes, [tuple(row) for row in stored]

        before = state()
        assert before[:2] == (
            ["customer_id", "metric_name", "width", "bucket"],
            ["ix_usage_rollups_metric_bucket"],
        )
        assert len(before[2]) == 6
        upgrade(url)
        after = state()
        assert after[:2] == (
            ["width", "bucket", "customer_id", "metric_name"],
            ["ix_usage_rollups_customer_bucket", "ix_usage_rollups_metric_bucket"],
        )
        assert after[2] == before[2]
        command.downgrade(alembic_config(url), "0007")
        assert state() == before
        engine.dispose()
