from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fubble.db.base import Base
from fubble.db.models._columns import created_at_column
from fubble.db.types import ExactDecimal, UTCDateTime


class PricingFactor(Base):
    """One value of a named external factor for dynamic pricing, in effect from ``effective_from`` until the next."""

    __tablename__ = "pricing_factors"
    __table_args__ = (UniqueConstraint("name", "effective_from"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    value: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_at: Mapped[datetime] = created_at_column()
