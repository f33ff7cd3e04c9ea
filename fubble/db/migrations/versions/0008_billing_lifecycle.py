"""billing that runs itself: runs, leases, test clocks, time zones, anchors, trials, plan versions, coverage kinds

* ``billing_runs`` (one row per run; invoices point at the run that created them) and ``job_leases`` (which process
  runs the scheduled billing), ``test_clocks``.
* customers: ``timezone`` (IANA, default UTC), ``invoice_grace_period_hours``, ``test_clock_id``.
* plans: ``version`` and ``fees_in_advance``; price components belong to versions ``[version_from, version_to)``.
* subscriptions: ``billing_anchor``, ``period_anchor`` (existing rows: their start, as before), ``trial_end``,
  ``cancel_at_period_end``, ``previous_subscription_id``, ``plan_version``, ``price_overrides``, ``next_due_at``
  (when a billing run next needs to look at it; NULL: at the next run).
* invoices: ``billing_run_id``, ``credit_carried``, ``grace_until``; invoice items: ``kind``.
* billing coverage: ``kind`` and ``released`` (set when the invoice is voided; existing void invoices' rows are
  released here), and a unique index on (subscription, kind, start) over the rows not released.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 21:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fubble.db.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "test_clocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("frozen_time", fubble.db.types.UTCDateTime(), nullable=False),
        sa.Column("created_at", fubble.db.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", fubble.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_clocks")),
    )
    op.create_table(
        "billing_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("as_of", fubble.db.types.UTCDateTime(), nullable=False),
        sa.Column("started_at", fubble.db.types.UTCDateTime(), nullable=False),
        sa.Column("finished_at", fubble.db.types.UTCDateTime(), nullable=True),
        sa.Column("invoices_created", sa.Integer(), nullable=False),
        sa.Column("invoices_finalized", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("test_clock_id", sa.Integer(), nullable=True),
        sa.Column("events_watermark", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["test_clock_id"], ["test_clocks.id"], name=op.f("fk_billing_runs_test_clock_id_test_clocks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_runs")),
    )
    with op.batch_alter_table("billing_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_billing_runs_test_clock_id"), ["test_clock_id"], unique=False)
    op.create_table(
        "job_leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=255), nullable=True),
        sa.Column("expires_at", fubble.db.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_leases")),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False))
        batch_op.add_column(sa.Column("invoice_grace_period_hours", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("test_clock_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_customers_test_clock_id"), ["test_clock_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_customers_test_clock_id_test_clocks"), "test_clocks", ["test_clock_id"], ["id"]
        )
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("fees_in_advance", sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table("price_components", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version_from", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("version_to", sa.Integer(), nullable=True))
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("billing_anchor", sa.String(length=16), server_default="anniversary", nullable=False)
        )
        batch_op.add_column(sa.Column("period_anchor", fubble.db.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("trial_end", fubble.db.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("cancel_at_period_end", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("previous_subscription_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("plan_version", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("price_overrides", fubble.db.types.ExactJSON(), nullable=True))
        batch_op.add_column(sa.Column("next_due_at", fubble.db.types.UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_subscriptions_next_due_at"), ["next_due_at"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_subscriptions_previous_subscription_id_subscriptions"),
            "subscriptions",
            ["previous_subscription_id"],
            ["id"],
        )
    op.execute("UPDATE subscriptions SET period_anchor = start_date")
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.alter_column("period_anchor", existing_type=fubble.db.types.UTCDateTime(), nullable=False)
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("billing_run_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("credit_carried", fubble.db.types.ExactDecimal(), nullable=True))
        batch_op.add_column(sa.Column("grace_until", fubble.db.types.UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_invoices_billing_run_id"), ["billing_run_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_invoices_billing_run_id_billing_runs"), "billing_runs", ["billing_run_id"], ["id"]
        )
    with op.batch_alter_table("invoice_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), nullable=True))
    with op.batch_alter_table("billing_coverage", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=8), server_default="arrears", nullable=False))
        batch_op.add_column(sa.Column("released", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute(
        "UPDATE billing_coverage SET released = true"
        " WHERE invoice_id IN (SELECT id FROM invoices WHERE status = 'void')"
    )
    with op.batch_alter_table("billing_coverage", schema=None) as batch_op:
        batch_op.create_index(
            "uq_billing_coverage_subscription_kind_start",
            ["subscription_id", "kind", "start"],
            unique=True,
            sqlite_where=sa.text("released = 0"),
            postgresql_where=sa.text("NOT released"),
        )


def downgrade() -> None:
    with op.batch_alter_table("billing_coverage", schema=None) as batch_op:
        batch_op.drop_index("uq_billing_coverage_subscription_kind_start")
        batch_op.drop_column("released")
        batch_op.drop_column("kind")
    with op.batch_alter_table("invoice_items", schema=None) as batch_op:
        batch_op.drop_column("kind")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_invoices_billing_run_id_billing_runs"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_invoices_billing_run_id"))
        batch_op.drop_column("grace_until")
        batch_op.drop_column("credit_carried")
        batch_op.drop_column("billing_run_id")
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_subscriptions_previous_subscription_id_subscriptions"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_subscriptions_next_due_at"))
        for column in (
            "next_due_at",
            "price_overrides",
            "plan_version",
            "previous_subscription_id",
            "cancel_at_period_end",
            "trial_end",
            "period_anchor",
            "billing_anchor",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("price_components", schema=None) as batch_op:
        batch_op.drop_column("version_to")
        batch_op.drop_column("version_from")
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.drop_column("fees_in_advance")
        batch_op.drop_column("version")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_customers_test_clock_id_test_clocks"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_customers_test_clock_id"))
        batch_op.drop_column("test_clock_id")
        batch_op.drop_column("invoice_grace_period_hours")
        batch_op.drop_column("timezone")
    op.drop_table("job_leases")
    with op.batch_alter_table("billing_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_billing_runs_test_clock_id"))
    op.drop_table("billing_runs")
    op.drop_table("test_clocks")
