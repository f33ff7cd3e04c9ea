"""webhook endpoints: the secret a rotation replaced signs too, until it expires

* ``webhook_endpoints.previous_secret`` (``whsec_...``, NULL without a rotation) and
  ``webhook_endpoints.previous_secret_expires_at``.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-10 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fubble.db.types


revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.add_column(sa.Column("previous_secret", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("previous_secret_expires_at", fubble.db.types.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.drop_column("previous_secret_expires_at")
        batch.drop_column("previous_secret")
