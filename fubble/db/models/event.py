from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from fubble.db.base import Base
from fubble.db.models._columns import BigId
from fubble.db.types import ExactDecimal, ExactJSON, UTCDateTime, UTCMicros


class Event(Base):
    """One usage event. ``event_id`` is the client's idempotency key; ``fingerprint`` hashes the payload as sent.

    ``customer_id`` has no foreign key (since migration 0005): ingestion checks that the customer exists before
    inserting, and customers are never deleted, so the key only cost a lookup and a lock per inserted row.
    """

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_customer_metric_time", "customer_id", "metric_name", "event_time"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    customer_id: Mapped[int] = mapped_column(Integer, nullable=False)
    metric_name: Mapped[str] = mapped_column(String(255), nullable=False)
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    event_time: Mapped[datetime] = mapped_column(UTCMicros(), nullable=False)
    properties: Mapped[dict[str, Any] | None] = mapped_column(ExactJSON())
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
