"""Column shorthands shared by the table modules."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer
from sqlalchemy.orm import Mapped, mapped_column

from fubble.db.types import UTCDateTime

# BIGINT on PostgreSQL; INTEGER on SQLite so the column aliases the rowid (and autoincrements).
BigId = BigInteger().with_variant(Integer(), "sqlite")


def created_at_column() -> Mapped[datetime]:
    return mapped_column(UTCDateTime(), nullable=False)
