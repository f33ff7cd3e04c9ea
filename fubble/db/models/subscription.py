from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fubble.db.base import Base
from fubble.db.models._columns import created_at_column
from fubble.db.models.plan import Plan
from fubble.db.types import UTCDateTime


class Subscription(Base):
    """A customer's plan over the half-open interval [start_date, end_date); end_date NULL means ongoing."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), nullable=False, index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), nullable=False, index=True)
    start_date: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    end_date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    canceled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_at_column()

    plan: Mapped[Plan] = relationship()
