"""faster ingestion on SQLite: usage_rollups and usage_distinct as WITHOUT ROWID tables

Both tables are only ever found by their primary key (customer, metric, width/bucket ...). As rowid tables, SQLite
kept each row twice: in the table, and in the index behind the primary key, so every rollup upsert of ingestion
searched and wrote two b-trees. WITHOUT ROWID tables are stored in primary-key order, one b-tree. Measured on a
batch's 4,900 bucket upserts: 9.3 -> 5.5 microseconds per row. PostgreSQL is unchanged (it has no such option).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 13:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# (table, its index: name and columns)
_TABLES = (
    ("usage_rollups", "ix_usage_rollups_metric_bucket", "metric_name, width, bucket"),
    ("usage_distinct", "ix_usage_distinct_metric_bucket", "metric_name, bucket"),
)


def upgrade() -> None:
    _rebuild(with_rowid=False)


def downgrade() -> None:
    _rebuild(with_rowid=True)


def _rebuild(*, with_rowid: bool) -> None:
    """Copy each table into one created from its own definition with (or without) ``WITHOUT ROWID`` (SQLite cannot
    change that in place)."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    for table, index, columns in _TABLES:
        (sql,) = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).one()
        body = sql.strip().removesuffix("WITHOUT ROWID").rstrip()
        create = body.replace(table, f"{table}_new", 1) + ("" if with_rowid else " WITHOUT ROWID")
        op.execute(create)
        op.execute(f"INSERT INTO {table}_new SELECT * FROM {table}")
        op.execute(f"DROP TABLE {table}")
        op.execute(f"ALTER TABLE {table}_new RENAME TO {table}")
        op.execute(f"CREATE INDEX {index} ON {table} ({columns})")
