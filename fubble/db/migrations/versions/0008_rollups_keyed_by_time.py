"""faster ingestion for many customers: usage_rollups keyed by (width, bucket, customer, metric)

Ingestion updates, for every customer in a batch, the rollup rows of its event's hour and day. Keyed by customer
first, those rows lay far apart: 1,000 customers in a batch of live events meant 2,000 b-tree pages changed, each
written to the log and checkpointed. Keyed by time first, the rows of one hour (and one day) of all customers sit
together in a few pages. Reads by customer go through a new index on the old key order, which changes only when a
bucket is new (an update touches no key column).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-21 20:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_BY_CUSTOMER = "customer_id, metric_name, width, bucket"
_BY_TIME = "width, bucket, customer_id, metric_name"
_INDEX = "ix_usage_rollups_customer_bucket"


def upgrade() -> None:
    _rekey(_BY_CUSTOMER, _BY_TIME)
    op.execute(f"CREATE INDEX {_INDEX} ON usage_rollups ({_BY_CUSTOMER})")


def downgrade() -> None:
    op.execute(f"DROP INDEX {_INDEX}")
    _rekey(_BY_TIME, _BY_CUSTOMER)


def _rekey(old: str, new: str) -> None:
    """Give the primary key the column order ``new``. PostgreSQL swaps the constraint in place; SQLite, whose
    WITHOUT ROWID table is stored in primary-key order, copies the table into one declared with the new key."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.execute(
            "ALTER TABLE usage_rollups DROP CONSTRAINT pk_usage_rollups, "
            f"ADD CONSTRAINT pk_usage_rollups PRIMARY KEY ({new})"
        )
        return
    (sql,) = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'usage_rollups'").one()
    key = f"PRIMARY KEY ({old})"
    if key not in sql:
        raise RuntimeError(f"usage_rollups is not declared with {key}")
    create = sql.replace("usage_rollups", "usage_rollups_new", 1).replace(key, f"PRIMARY KEY ({new})")
    op.execute(create)
    op.execute("INSERT INTO usage_rollups_new SELECT * FROM usage_rollups")
    op.execute("DROP TABLE usage_rollups")
    op.execute("ALTER TABLE usage_rollups_new RENAME TO usage_rollups")
    op.execute("CREATE INDEX ix_usage_rollups_metric_bucket ON usage_rollups (metric_name, width, bucket)")
