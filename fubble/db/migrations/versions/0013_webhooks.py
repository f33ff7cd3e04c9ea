"""webhooks: endpoints, the outbox of messages, delivery attempts; usage alerts and their firings; the marks of
``subscription.ended``

* ``webhook_endpoints`` (url, event types, secret; ``disabled``, ``deleted_at``);
* ``webhook_messages`` (the outbox: ``msg_...`` id, event type, the JSON body as sent);
* ``webhook_deliveries`` (one row per attempt; a ``pending`` row is an attempt due at ``due_at``, claimed by one
  worker until ``claimed_until``), indexed by (state, due_at) for the workers and (endpoint, id) for the log;
* ``usage_alerts``, ``usage_alert_firings`` (once per alert and period), ``subscription_end_notices``.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fubble.db.types


revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("event_types", fubble.db.types.ExactJSON(), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("disabled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", fubble.db.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", fubble.db.types.UTCDateTime(), nullable=False),
        sa.Column("deleted_at", fubble.db.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
    )
    op.create_table(
        "webhook_messages",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", fubble.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_messages")),
        sa.UniqueConstraint("message_id", name=op.f("uq_webhook_messages_message_id")),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("message_id", BIG_ID, nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("due_at", fubble.db.types.UTCDateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(length=255), nullable=True),
        sa.Column("claimed_until", fubble.db.types.UTCDateTime(), nullable=True),
        sa.Column("at", fubble.db.types.UTCDateTime(), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("next_attempt_at", fubble.db.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["endpoint_id"], ["webhook_endpoints.id"], name=op.f("fk_webhook_deliveries_endpoint_id_webhook_endpoints")
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["webhook_messages.id"], name=op.f("fk_webhook_deliveries_message_id_webhook_messages")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_deliveries_endpoint_id_id", ["endpoint_id", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_webhook_deliveries_message_id"), ["message_id"], unique=False)
        batch_op.create_index("ix_webhook_deliveries_state_due_at", ["state", "due_at"], unique=False)

    op.create_table(
        "usage_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("metric_name", sa.String(length=255), nullable=False),
        sa.Column("threshold", fubble.db.types.ExactDecimal(), nullable=True),
        sa.Column("percent_of_commitment", fubble.db.types.ExactDecimal(), nullable=True),
        sa.Column("created_at", fubble.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_usage_alerts_customer_id_customers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_alerts")),
    )
    with op.batch_alter_table("usage_alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_usage_alerts_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "subscription_end_notices",
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("emitted_at", fubble.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_subscription_end_notices_subscription_id_subscriptions"),
        ),
        sa.PrimaryKeyConstraint("subscription_id", name=op.f("pk_subscription_end_notices")),
    )
    op.create_table(
        "usage_alert_firings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("period_start", fubble.db.types.UTCDateTime(), nullable=False),
        sa.Column("period_end", fubble.db.types.UTCDateTime(), nullable=False),
        sa.Column("value", fubble.db.types.ExactDecimal(), nullable=False),
        sa.Column("fired_at", fubble.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["usage_alerts.id"], name=op.f("fk_usage_alert_firings_alert_id_usage_alerts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_alert_firings")),
        sa.UniqueConstraint("alert_id", "period_start", name=op.f("uq_usage_alert_firings_alert_id_period_start")),
    )


def downgrade() -> None:
    op.drop_table("usage_alert_firings")
    op.drop_table("subscription_end_notices")
    with op.batch_alter_table("usage_alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_usage_alerts_customer_id"))

    op.drop_table("usage_alerts")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_deliveries_state_due_at")
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_message_id"))
        batch_op.drop_index("ix_webhook_deliveries_endpoint_id_id")

    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_messages")
    op.drop_table("webhook_endpoints")
