"""payments: Stripe customers, payment attempts (the payment worker's outbox), applied Stripe events

* ``payment_customers`` (customer, provider -> the provider's customer id and the payment method attached);
* ``payment_attempts`` (one row per attempt; a ``pending`` row is due at ``due_at``, claimed by one worker until
  ``claimed_until``), indexed by (state, due_at) for the workers and by invoice and payment intent;
* ``stripe_events`` (the ids of the webhook events applied, so that a replay does nothing).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-09 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fubble.db.types


revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "payment_customers",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("provider_customer_id", sa.String(length=255), nullable=False),
        sa.Column("payment_method_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", fubble.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_payment_customers_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("customer_id", "provider", name=op.f("pk_payment_customers")),
    )
    op.create_table(
        "payment_attempts",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("due_at", fubble.db.types.UTCDateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(length=255), nullable=True),
        sa.Column("claimed_until", fubble.db.types.UTCDateTime(), nullable=True),
        sa.Column("payment_intent_id", sa.String(length=255), nullable=True),
        sa.Column("intent_status", sa.String(length=64), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("attempted_at", fubble.db.types.UTCDateTime(), nullable=True),
        sa.Column("next_attempt_at", fubble.db.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", fubble.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_payment_attempts_invoice_id_invoices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_attempts")),
    )
    with op.batch_alter_table("payment_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_attempts_invoice_id"), ["invoice_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_payment_attempts_payment_intent_id"), ["payment_intent_id"], unique=False)
        batch_op.create_index("ix_payment_attempts_state_due_at", ["state", "due_at"], unique=False)

    op.create_table(
        "stripe_events",
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=128), nullable=False),
        sa.Column("received_at", fubble.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_stripe_events")),
    )


def downgrade() -> None:
    op.drop_table("stripe_events")
    with op.batch_alter_table("payment_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_attempts_state_due_at")
        batch_op.drop_index(batch_op.f("ix_payment_attempts_payment_intent_id"))
        batch_op.drop_index(batch_op.f("ix_payment_attempts_invoice_id"))

    op.drop_table("payment_attempts")
    op.drop_table("payment_customers")
