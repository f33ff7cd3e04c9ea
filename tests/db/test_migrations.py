from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import fubble.db.models  # noqa: F401
from fubble.db.base import Base
from fubble.db.migrate import alembic_config, upgrade
from fubble.db.session import Database


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
