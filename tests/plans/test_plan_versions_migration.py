"""Migration 0009 gives every existing plan its version 1, created with the plan."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from alembic import command

from fubble.db.migrate import alembic_config, upgrade


def test_existing_plans_get_version_1(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url, "0008")
    with contextlib.closing(sqlite3.connect(tmp_path / "m.db")) as conn, conn:
        conn.executemany(
            "INSERT INTO plans (id, name, billing_frequency, is_active, created_at, updated_at)"
            " VALUES (?, 'P', 'monthly', 1, ?, '2024-03-01 00:00:00.000000')",
            [(1, "2024-01-01 00:00:00.000000"), (7, "2024-02-02 10:30:00.000000")],
        )
    upgrade(url)

    def versions() -> list[tuple[object, ...]]:
        with contextlib.closing(sqlite3.connect(tmp_path / "m.db")) as conn:
            return conn.execute("SELECT plan_id, version, created_at FROM plan_versions ORDER BY plan_id").fetchall()

    assert versions() == [(1, 1, "2024-01-01 00:00:00.000000"), (7, 1, "2024-02-02 10:30:00.000000")]
    command.downgrade(alembic_config(url), "0008")
    with contextlib.closing(sqlite3.connect(tmp_path / "m.db")) as conn:
        tables = [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    assert "plan_versions" not in tables and "plans" in tables
