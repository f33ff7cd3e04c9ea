"""payment refunds: the refund of a ``refund`` credit note through the provider that collected its invoice

* ``payment_refunds`` (one row per refund credit note of an invoice paid through the provider; a ``pending`` row is
  due at ``due_at``, claimed by one payment worker until ``claimed_until``), indexed by (state, due_at) for the
  workers, by invoice, and by the provider's refund id (its webhooks name it).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-10 13:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fubble.db.types


revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "payment_refunds",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("credit_note_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("payment_intent_id", sa.String(length=255), nullable=False),
        sa.Column("amount", fubble.db.types.ExactDecimal(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("due_at", fubble.db.types.UTCDateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(length=255), nullable=True),
        sa.Column("claimed_until", fubble.db.types.UTCDateTime(), nullable=True),
        sa.Column("refund_id", sa.String(length=255), nullable=True),
        sa.Column("refund_status", sa.String(length=64), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("attempted_at", fubble.db.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", fubble.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["credit_note_id"], ["credit_notes.id"], name=op.f("fk_payment_refunds_credit_note_id_credit_notes")
        ),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_payment_refunds_invoice_id_invoices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_refunds")),
        sa.UniqueConstraint("credit_note_id", name=op.f("uq_payment_refunds_credit_note_id")),
    )
    with op.batch_alter_table("payment_refunds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_refunds_invoice_id"), ["invoice_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_payment_refunds_refund_id"), ["refund_id"], unique=False)
        batch_op.create_index("ix_payment_refunds_state_due_at", ["state", "due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("payment_refunds", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_refunds_state_due_at")
        batch_op.drop_index(batch_op.f("ix_payment_refunds_refund_id"))
        batch_op.drop_index(batch_op.f("ix_payment_refunds_invoice_id"))
    op.drop_table("payment_refunds")
