"""contract terms: charge options, plan currency and commitment, metrics that recur or go negative, tax rates,
coupons, prepaid credits, invoice totals, credit notes

* price_components: ``grouped_by``, ``filters``, ``min_amount``, ``prorated``; metrics: ``allow_negative``,
  ``recurring``; plans: ``currency``, ``minimum_commitment``; customers: ``tax_exempt``, ``credit_note_seq``.
* invoices: ``subtotal``, ``discount_amount``, ``tax_amount``, ``total``, ``credits_applied``, ``amount_due`` (NULL on
  older rows: read as ``amount``).
* tables: ``tax_rates``, ``customer_tax_rates``, ``coupons``, ``coupon_redemptions``, ``coupon_periods``,
  ``credit_grants``, ``credit_ledger``, ``invoice_discounts``, ``invoice_taxes``, ``credit_notes``,
  ``credit_note_items``.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 00:26:01.201386
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fubble.db.types


revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "coupons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("percent_off", fubble.db.types.ExactDecimal(), nullable=True),
        sa.Column("amount_off", fubble.db.types.ExactDecimal(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("duration", sa.String(length=16), nullable=False),
        sa.Column("duration_in_periods", sa.Integer(), nullable=True),
        sa.Column("plan_ids", fubble.db.types.ExactJSON(), nullable=True),
        sa.Column("max_redemptions", sa.Integer(), nullable=True),
        sa.Column("expires_at", fubble.db.types.UTCDateTime(), nullable=True),
        sa.Column("times_redeemed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", fubble.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupons")),
        sa.UniqueConstraint("code", name=op.f("uq_coupons_code")),
    )
    op.create_table(
        "tax_rates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("rate", fubble.db.types.ExactDecimal(), nullable=False),
        sa.Column("applies_by_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", fubble.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tax_rates")),
    )
    op.create_table(
        "coupon_redemptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("coupon_id", sa.Integer(), nullable=False),
        sa.Column("applied_at", fubble.db.types.UTCDateTime(), nullable=False),
        sa.Column("created_at", fubble.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["coupon_id"], ["coupons.id"], name=op.f("fk_coupon_redemptions_coupon_id_coupons")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_coupon_redemptions_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_redemptions")),
        sa.UniqueConstraint("customer_id", "coupon_id", name=op.f("uq_coupon_redemptions_customer_id_coupon_id")),
    )
    with op.batch_alter_table("coupon_redemptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_coupon_redemptions_coupon_id"), ["coupon_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_coupon_redemptions_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "customer_tax_rates",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("tax_rate_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_customer_tax_rates_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["tax_rate_id"], ["tax_rates.id"], name=op.f("fk_customer_tax_rates_tax_rate_id_tax_rates")
        ),
        sa.PrimaryKeyConstraint("customer_id", "tax_rate_id", name=op.f("pk_customer_tax_rates")),
    )
    op.create_table(
        "coupon_periods",
        sa.Column("redemption_id", sa.Integer(), nullable=False),
        sa.Column("period_key", sa.String(length=64), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_coupon_periods_invoice_id_invoices")),
        sa.ForeignKeyConstraint(
            ["redemption_id"],
            ["coupon_redemptions.id"],
            name=op.f("fk_coupon_periods_redemption_id_coupon_redemptions"),
        ),
        sa.PrimaryKeyConstraint("redemption_id", "period_key", name=op.f("pk_coupon_periods")),
    )
    op.create_table(
        "credit_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("amount", fubble.db.types.ExactDecimal(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", fubble.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_credit_notes_customer_id_customers")),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_credit_notes_invoice_id_invoices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_notes")),
        sa.UniqueConstraint("number", name=op.f("uq_credit_notes_number")),
    )
    with op.batch_alter_table("credit_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credit_notes_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_credit_notes_invoice_id"), ["invoice_id"], unique=False)

    op.create_table(
        "invoice_discounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("redemption_id", sa.Integer(), nullable=False),
        sa.Column("coupon_id", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("amount", fubble.db.types.ExactDecimal(), nullable=False),
        sa.ForeignKeyConstraint(["coupon_id"], ["coupons.id"], name=op.f("fk_invoice_discounts_coupon_id_coupons")),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_invoice_discounts_invoice_id_invoices"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["redemption_id"],
            ["coupon_redemptions.id"],
            name=op.f("fk_invoice_discounts_redemption_id_coupon_redemptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_discounts")),
    )
    with op.batch_alter_table("invoice_discounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoice_discounts_invoice_id"), ["invoice_id"], unique=False)

    op.create_table(
        "invoice_taxes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("tax_rate_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("rate", fubble.db.types.ExactDecimal(), nullable=False),
        sa.Column("taxable", fubble.db.types.ExactDecimal(), nullable=False),
        sa.Column("amount", fubble.db.types.ExactDecimal(), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_invoice_taxes_invoice_id_invoices"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["tax_rate_id"], ["tax_rates.id"], name=op.f("fk_invoice_taxes_tax_rate_id_tax_rates")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_taxes")),
    )
    with op.batch_alter_table("invoice_taxes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoice_taxes_invoice_id"), ["invoice_id"], unique=False)

    op.create_table(
        "credit_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("amount", fubble.db.types.ExactDecimal(), nullable=False),
        sa.Column("remaining", fubble.db.types.ExactDecimal(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("expires_at", fubble.db.types.UTCDateTime(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.Column("credit_note_id", sa.Integer(), nullable=True),
        sa.Column("voided_at", fubble.db.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", fubble.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["credit_note_id"], ["credit_notes.id"], name=op.f("fk_credit_grants_credit_note_id_credit_notes")
        ),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_credit_grants_customer_id_customers")),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_credit_grants_invoice_id_invoices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_grants")),
    )
    with op.batch_alter_table("credit_grants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credit_grants_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "credit_note_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("credit_note_id", sa.Integer(), nullable=False),
        sa.Column("invoice_item_id", sa.Integer(), nullable=False),
        sa.Column("amount", fubble.db.types.ExactDecimal(), nullable=False),
        sa.ForeignKeyConstraint(
            ["credit_note_id"],
            ["credit_notes.id"],
            name=op.f("fk_credit_note_items_credit_note_id_credit_notes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_item_id"], ["invoice_items.id"], name=op.f("fk_credit_note_items_invoice_item_id_invoice_items")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_note_items")),
    )
    with op.batch_alter_table("credit_note_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credit_note_items_credit_note_id"), ["credit_note_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_credit_note_items_invoice_item_id"), ["invoice_item_id"], unique=False)

    op.create_table(
        "credit_ledger",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("amount", fubble.db.types.ExactDecimal(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.Column("at", fubble.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_credit_ledger_customer_id_customers")),
        sa.ForeignKeyConstraint(
            ["grant_id"], ["credit_grants.id"], name=op.f("fk_credit_ledger_grant_id_credit_grants")
        ),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_credit_ledger_invoice_id_invoices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_ledger")),
    )
    with op.batch_alter_table("credit_ledger", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credit_ledger_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_credit_ledger_grant_id"), ["grant_id"], unique=False)

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tax_exempt", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("credit_note_seq", sa.Integer(), server_default="0", nullable=False))

    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subtotal", fubble.db.types.ExactDecimal(), nullable=True))
        batch_op.add_column(sa.Column("discount_amount", fubble.db.types.ExactDecimal(), nullable=True))
        batch_op.add_column(sa.Column("tax_amount", fubble.db.types.ExactDecimal(), nullable=True))
        batch_op.add_column(sa.Column("total", fubble.db.types.ExactDecimal(), nullable=True))
        batch_op.add_column(sa.Column("credits_applied", fubble.db.types.ExactDecimal(), nullable=True))
        batch_op.add_column(sa.Column("amount_due", fubble.db.types.ExactDecimal(), nullable=True))

    with op.batch_alter_table("metrics", schema=None) as batch_op:
        batch_op.add_column(sa.Column("allow_negative", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("recurring", sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("currency", sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column("minimum_commitment", fubble.db.types.ExactDecimal(), nullable=True))

    with op.batch_alter_table("price_components", schema=None) as batch_op:
        batch_op.add_column(sa.Column("grouped_by", fubble.db.types.ExactJSON(), nullable=True))
        batch_op.add_column(sa.Column("filters", fubble.db.types.ExactJSON(), nullable=True))
        batch_op.add_column(sa.Column("min_amount", fubble.db.types.ExactDecimal(), nullable=True))
        batch_op.add_column(sa.Column("prorated", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("price_components", schema=None) as batch_op:
        batch_op.drop_column("prorated")
        batch_op.drop_column("min_amount")
        batch_op.drop_column("filters")
        batch_op.drop_column("grouped_by")

    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.drop_column("minimum_commitment")
        batch_op.drop_column("currency")

    with op.batch_alter_table("metrics", schema=None) as batch_op:
        batch_op.drop_column("recurring")
        batch_op.drop_column("allow_negative")

    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_column("amount_due")
        batch_op.drop_column("credits_applied")
        batch_op.drop_column("total")
        batch_op.drop_column("tax_amount")
        batch_op.drop_column("discount_amount")
        batch_op.drop_column("subtotal")

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("credit_note_seq")
        batch_op.drop_column("tax_exempt")

    with op.batch_alter_table("credit_ledger", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_ledger_grant_id"))
        batch_op.drop_index(batch_op.f("ix_credit_ledger_customer_id"))

    op.drop_table("credit_ledger")
    with op.batch_alter_table("credit_note_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_note_items_invoice_item_id"))
        batch_op.drop_index(batch_op.f("ix_credit_note_items_credit_note_id"))

    op.drop_table("credit_note_items")
    with op.batch_alter_table("credit_grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_grants_customer_id"))

    op.drop_table("credit_grants")
    with op.batch_alter_table("invoice_taxes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_taxes_invoice_id"))

    op.drop_table("invoice_taxes")
    with op.batch_alter_table("invoice_discounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_discounts_invoice_id"))

    op.drop_table("invoice_discounts")
    with op.batch_alter_table("credit_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_notes_invoice_id"))
        batch_op.drop_index(batch_op.f("ix_credit_notes_customer_id"))

    op.drop_table("credit_notes")
    op.drop_table("coupon_periods")
    op.drop_table("customer_tax_rates")
    with op.batch_alter_table("coupon_redemptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coupon_redemptions_customer_id"))
        batch_op.drop_index(batch_op.f("ix_coupon_redemptions_coupon_id"))

    op.drop_table("coupon_redemptions")
    op.drop_table("tax_rates")
    op.drop_table("coupons")
