from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from fubble.db.base import Base
from fubble.db.types import UTCDateTime


class LateUsage(Base):
    """Usage that arrived for time a customer was already invoiced for, waiting to be billed
    (:mod:`fubble.billing_runs.late`): the customer's events of ``metric_name`` from ``earliest`` on may change what
    was billed. A row is deleted once a run has refreshed the drafts and billed the adjustments it calls for."""

    __tablename__ = "late_usage"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), nullable=False, index=True)
    metric_name: Mapped[str] = mapped_column(String(255), nullable=False)
    earliest: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    # The run whose scan found it.
    billing_run_id: Mapped[int] = mapped_column(ForeignKey("billing_runs.id"), nullable=False)


class LateUsageScan(Base):
    """A billing run's scan for late usage (once per run): the events with an id above ``since_event_id``."""

    __tablename__ = "late_usage_scans"

    billing_run_id: Mapped[int] = mapped_column(ForeignKey("billing_runs.id"), primary_key=True)
    since_event_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
