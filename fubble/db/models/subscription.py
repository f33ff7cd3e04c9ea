from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fubble.db.base import Base
from fubble.db.models._columns import created_at_column
from fubble.db.models.plan import Plan
from fubble.db.types import ExactJSON, UTCDateTime


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
    # anniversary (periods from period_anchor) or calendar (periods from local midnight on the 1st).
    billing_anchor: Mapped[str] = mapped_column(
        String(16), nullable=False, default="anniversary", server_default="anniversary"
    )
    # The instant the billing periods are counted from (in the customer's time zone); kept across plan changes.
    period_anchor: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    # No charges before trial_end (NULL: no trial).
    trial_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_at_period_end: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=sa_false()
    )
    # The subscription a plan change ended to start this one.
    previous_subscription_id: Mapped[int | None] = mapped_column(ForeignKey("subscriptions.id"))
    plan_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default="1")
    # Negotiated prices: [{metric_name, pricing_type, pricing_details}] replacing the plan's components.
    price_overrides: Mapped[list[dict[str, Any]] | None] = mapped_column(ExactJSON())
    # When a billing run next needs to look at it (fubble.billing_runs.policy.next_due): set by each run that bills
    # it, cleared (NULL: look at it) by anything that could make time due earlier (a cancel, a change, a void).
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)

    plan: Mapped[Plan] = relationship()
