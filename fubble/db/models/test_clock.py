from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from fubble.db.base import Base
from fubble.db.models._columns import created_at_column
from fubble.db.types import UTCDateTime


class TestClock(Base):
    """A simulated time for rehearsing a billing lifecycle (Stripe's test clocks): its customers live at
    ``frozen_time``, which only moves forward (``POST /test-clocks/{id}/advance``)."""

    __tablename__ = "test_clocks"
    __test__ = False  # not a pytest test class

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    frozen_time: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
