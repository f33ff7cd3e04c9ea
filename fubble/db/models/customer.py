from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column

from fubble.db.base import Base
from fubble.db.models._columns import created_at_column
from fubble.db.types import ExactJSON, UTCDateTime


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    email: Mapped[str] = mapped_column(String(320), nullable=False, unique=True)
    company_name: Mapped[str | None] = mapped_column(String(255))
    billing_address: Mapped[str | None] = mapped_column(Text)
    payment_method_id: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", ExactJSON())
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    external_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    # Last invoice sequence number handed out for this customer (INV-YYYYMMDD-CUSTOMERID-NNNNNN).
    invoice_seq: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # IANA zone in which the customer's billing-period boundaries (local midnight, the 1st) fall.
    timezone: Mapped[str] = mapped_column(String(64), nullable=False, default="UTC", server_default="UTC")
    # Hours a period's invoice stays a draft (refreshed with late usage) before a run finalizes it; NULL: the default.
    invoice_grace_period_hours: Mapped[int | None] = mapped_column(Integer)
    # A test-clock customer lives at its clock's time; only advancing that clock bills it.
    test_clock_id: Mapped[int | None] = mapped_column(ForeignKey("test_clocks.id"), index=True)
    # Never taxed (tax rates chosen for it, or applying by default, are ignored).
    tax_exempt: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=sa_false())
    # Credit notes handed out for this customer's invoices (CN-YYYYMMDD-CUSTOMERID-NNNNNN).
    credit_note_seq: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    # Babel locale (``de_DE``) in which its invoice documents format amounts and dates.
    locale: Mapped[str] = mapped_column(String(35), nullable=False, default="en_US", server_default="en_US")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
