from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fubble.db.base import Base
from fubble.db.models._columns import created_at_column
from fubble.db.types import ExactDecimal, ExactJSON, UTCDateTime


class Plan(Base):
    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    billing_frequency: Mapped[str] = mapped_column(String(16), nullable=False)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # The latest version of the price components (a new plan is version 1).
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default="1")
    # Fixed fees (flat, subscription, base fees) of a period are invoiced when the period starts.
    fees_in_advance: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=sa_false())
    # The currency the plan is priced in (NULL: its subscribers' currency) and its minimum charge per period.
    currency: Mapped[str | None] = mapped_column(String(3))
    minimum_commitment: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)

    # The components of the latest version; earlier versions' components stay (version_to set) for their subscribers.
    price_components: Mapped[list[PriceComponent]] = relationship(
        primaryjoin="and_(Plan.id == PriceComponent.plan_id, PriceComponent.version_to.is_(None))",
        back_populates="plan",
        order_by="PriceComponent.id",
        cascade="all, delete-orphan",
    )


class PriceComponent(Base):
    __tablename__ = "price_components"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), nullable=False, index=True)
    metric_name: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    display_name: Mapped[str | None] = mapped_column(String(255))
    pricing_type: Mapped[str] = mapped_column(String(32), nullable=False)
    pricing_details: Mapped[dict[str, Any]] = mapped_column(ExactJSON(), nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    # The plan versions this component prices: [version_from, version_to); version_to NULL: up to the latest.
    version_from: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default="1")
    version_to: Mapped[int | None] = mapped_column(Integer)
    # Charge options (fubble.pricing.charges): one line per distinct value combination of these event properties;
    # filters [{properties, pricing_details}] pricing matching events their own way; a minimum per period; units
    # of a recurring metric charged for the fraction of the period they were held.
    grouped_by: Mapped[list[str] | None] = mapped_column(ExactJSON())
    filters: Mapped[list[dict[str, Any]] | None] = mapped_column(ExactJSON())
    min_amount: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    prorated: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=sa_false())

    plan: Mapped[Plan] = relationship(back_populates="price_components")
