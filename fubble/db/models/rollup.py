from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from fubble.db.base import Base
from fubble.db.types import ExactDecimal, UTCDateTime


class UsageRollup(Base):
    """Exact aggregates of one customer's events of one metric in one bucket ``[bucket, bucket + width)``.

    Maintained in the same transaction as the events (only events that pass the metric's filters count). ``width`` is
    ``"hour"`` or ``"day"``; usage over a window reads whole days, whole hours at the edges, and raw events for the
    parts of an hour at the very edges. ``first_*``/``last_*`` give ``latest`` and the stitching of time-weighted sums;
    ``integral`` is the time-weighted sum inside the bucket (value x microseconds, from its first to its last event).
    """

    __tablename__ = "usage_rollups"
    # Cross-customer reads (analytics) filter by metric and time; the primary key starts with the customer. Ingestion
    # updates rows all the time: free room in each page lets PostgreSQL update them in place (HOT). On SQLite, a
    # WITHOUT ROWID table keeps the rows in primary-key order, one b-tree instead of a table and its key's index.
    __table_args__ = (
        Index("ix_usage_rollups_metric_bucket", "metric_name", "width", "bucket"),
        {"postgresql_with": {"fillfactor": 70}, "sqlite_with_rowid": False},
    )

    customer_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    metric_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    width: Mapped[str] = mapped_column(String(8), primary_key=True)
    bucket: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    event_count: Mapped[int] = mapped_column(BigInteger, nullable=False)
    total: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    maximum: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    first_time: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    first_value: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    last_time: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    last_value: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    # Tie-break among events at the same last_time: the one stored last (highest event id) is the latest.
    last_event_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    integral: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)


class UsageDistinct(Base):
    """The distinct values of a ``unique_count`` metric's property seen per customer and hour (exact counts)."""

    __tablename__ = "usage_distinct"
    __table_args__ = (Index("ix_usage_distinct_metric_bucket", "metric_name", "bucket"), {"sqlite_with_rowid": False})

    customer_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    metric_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    bucket: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    value: Mapped[str] = mapped_column(String(512), primary_key=True)
