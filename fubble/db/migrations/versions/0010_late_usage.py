"""late usage: usage that arrived for time already invoiced, until a billing run bills it

* ``late_usage`` (customer, metric, earliest event time, the run that found it): pending until billed.
* ``late_usage_scans``: which runs scanned the new events for late usage (once per run), from which event id.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 22:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fubble.db.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "late_usage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("metric_name", sa.String(length=255), nullable=False),
        sa.Column("earliest", fubble.db.types.UTCDateTime(), nullable=False),
        sa.Column("billing_run_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["billing_run_id"], ["billing_runs.id"], name=op.f("fk_late_usage_billing_run_id_billing_runs")
        ),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_late_usage_customer_id_customers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_late_usage")),
    )
    with op.batch_alter_table("late_usage", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_late_usage_customer_id"), ["customer_id"], unique=False)
    op.create_table(
        "late_usage_scans",
        sa.Column("billing_run_id", sa.Integer(), nullable=False),
        sa.Column("since_event_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["billing_run_id"], ["billing_runs.id"], name=op.f("fk_late_usage_scans_billing_run_id_billing_runs")
        ),
        sa.PrimaryKeyConstraint("billing_run_id", name=op.f("pk_late_usage_scans")),
    )


def downgrade() -> None:
    op.drop_table("late_usage_scans")
    with op.batch_alter_table("late_usage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_late_usage_customer_id"))
    op.drop_table("late_usage")
