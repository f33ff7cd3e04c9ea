from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fubble.db.base import Base
from fubble.db.models._columns import created_at_column
from fubble.db.types import ExactDecimal, UTCDateTime

if TYPE_CHECKING:
    from fubble.db.models.terms import InvoiceDiscount, InvoiceTax


class Invoice(Base):
    __tablename__ = "invoices"
    __table_args__ = (
        Index("ix_invoices_customer_status", "customer_id", "status"),
        Index("ix_invoices_issue_date", "issue_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_number: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    issue_date: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    due_date: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    amount: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    paid_date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    notes: Mapped[str | None] = mapped_column(Text)
    # The billing window a generated invoice covers; NULL for manual invoices.
    period_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    period_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    # The billing run that created it (NULL: generated for a window by hand, or manual).
    billing_run_id: Mapped[int | None] = mapped_column(ForeignKey("billing_runs.id"), index=True)
    # Credit (unused in-advance fees) the lines exceed the charges by: the total stops at zero and this is carried.
    credit_carried: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    # For a draft a billing run made: once a run's as_of reaches this instant (the period's end plus the grace
    # period), it finalizes the draft; until then runs refresh it with late usage. NULL: finalized by hand.
    grace_until: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # The terms applied (fubble.pricing.terms): subtotal -> discounts -> taxes -> total -> credits -> amount due.
    # NULL on invoices from before terms existed: their subtotal, total and amount due are ``amount``.
    subtotal: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    discount_amount: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    tax_amount: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    total: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    credits_applied: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    amount_due: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    invoice_items: Mapped[list[InvoiceItem]] = relationship(
        back_populates="invoice", order_by="InvoiceItem.id", cascade="all, delete-orphan"
    )
    # The rows behind discount_amount and tax_amount, written by fubble.invoices.terms.write_terms (Core statements,
    # which expire these collections): read-only here, loaded for a whole page of invoices in one query each.
    discounts: Mapped[list[InvoiceDiscount]] = relationship(
        order_by="InvoiceDiscount.id", viewonly=True, lazy="selectin"
    )
    taxes: Mapped[list[InvoiceTax]] = relationship(order_by="InvoiceTax.id", viewonly=True, lazy="selectin")


class InvoiceItem(Base):
    __tablename__ = "invoice_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), nullable=False, index=True)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    metric_name: Mapped[str | None] = mapped_column(String(255))
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    unit_price: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    amount: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    # For generated lines: which subscription and component produced it, over which slice [period_start, period_end).
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    price_component_id: Mapped[int | None] = mapped_column(Integer)
    period_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    period_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_at_column()
    # What a generated line is: usage (billed in arrears: usage, and the fixed fees of ordinary plans), fee (a fixed
    # fee billed in advance), credit (the unused part of a fee paid in advance), adjustment (late usage).
    kind: Mapped[str | None] = mapped_column(String(16))

    invoice: Mapped[Invoice] = relationship(back_populates="invoice_items")


class BillingCoverage(Base):
    """The part [start, end) of a subscription's time that an invoice bills. Void invoices free their coverage.

    ``kind`` is ``arrears`` (usage and fees billed after the time) or ``advance`` (fixed fees billed when a period
    starts, for plans with fees in advance). The partial unique index is the database's own guarantee that the same
    time of a subscription is never billed twice in the same way: two runs that race to bill a period both write the
    row starting at that period's first unbilled instant, and the second one fails. Voiding sets ``released``.
    """

    __tablename__ = "billing_coverage"
    __table_args__ = (
        Index(
            "uq_billing_coverage_subscription_kind_start",
            "subscription_id",
            "kind",
            "start",
            unique=True,
            sqlite_where=text("released = 0"),
            postgresql_where=text("NOT released"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), nullable=False, index=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"), nullable=False, index=True)
    start: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    end: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    kind: Mapped[str] = mapped_column(String(8), nullable=False, default="arrears", server_default="arrears")
    released: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=sa_false())
