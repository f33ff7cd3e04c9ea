from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from fubble.db.base import Base
from fubble.db.types import UTCDateTime


class BillingRun(Base):
    """One billing run: bills every period that ended at or before ``as_of`` (and refreshes or finalizes drafts).

    ``finished_at`` stays NULL for a run that was interrupted; its committed batches stand, and the next run bills the
    rest. ``events_watermark`` is the highest event id the run had seen when it started: the next runs look for late
    usage among the events stored after it.
    """

    __tablename__ = "billing_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    as_of: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    invoices_created: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    invoices_finalized: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # "scheduler", "api", "cli" or "test_clock".
    trigger: Mapped[str] = mapped_column(String(16), nullable=False)
    test_clock_id: Mapped[int | None] = mapped_column(ForeignKey("test_clocks.id"), index=True)
    events_watermark: Mapped[int | None] = mapped_column(BigInteger)


class JobLease(Base):
    """A named lease on background work held by one process until ``expires_at`` (so that of several servers only
    one runs the scheduled billing at a time; a killed holder's lease simply expires)."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(255))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
