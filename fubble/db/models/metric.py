from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Integer, String
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column

from fubble.db.base import Base
from fubble.db.models._columns import created_at_column
from fubble.db.types import ExactJSON, UTCDateTime


class Metric(Base):
    """A billable metric: how the events named ``name`` turn into usage.

    A metric name that only appears in a plan's price components, without a row here, is the sum of quantities.
    """

    __tablename__ = "metrics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), nullable=False, unique=True)
    display_name: Mapped[str | None] = mapped_column(String(255))
    unit: Mapped[str | None] = mapped_column(String(64))
    aggregation: Mapped[str] = mapped_column(String(16), nullable=False)
    # For unique_count: the event property whose distinct values are counted.
    property: Mapped[str | None] = mapped_column(String(255))
    # [{"property": "method", "in": ["GET", "HEAD"]}, {"property": "region", "eq": "eu"}]
    filters: Mapped[list[dict[str, Any]]] = mapped_column(ExactJSON(), nullable=False)
    # Events may carry negative quantities (corrections, gauge decreases).
    allow_negative: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=sa_false())
    # The value persists into later periods until changed (seats, licences, storage held).
    recurring: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=sa_false())
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
