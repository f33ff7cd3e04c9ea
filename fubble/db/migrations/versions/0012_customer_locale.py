"""customer locale: ``customers.locale`` (the Babel locale its invoice documents are formatted in)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 00:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("locale", sa.String(length=35), server_default="en_US", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("locale")
