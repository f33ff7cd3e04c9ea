"""The terms a customer's invoices are billed under: tax rates, coupons and their redemptions, prepaid credits."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fubble.db.base import Base
from fubble.db.models._columns import created_at_column
from fubble.db.types import ExactDecimal, ExactJSON, UTCDateTime


class TaxRate(Base):
    """A tax rate (``rate`` is a percent: 20 means 20%). ``applies_by_default``: every customer that is not
    ``tax_exempt`` and has no ``tax_rate_ids`` of its own is taxed at it."""

    __tablename__ = "tax_rates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    rate: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    applies_by_default: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = created_at_column()


class CustomerTaxRate(Base):
    """A tax rate chosen for one customer (``tax_rate_ids``)."""

    __tablename__ = "customer_tax_rates"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    tax_rate_id: Mapped[int] = mapped_column(ForeignKey("tax_rates.id"), primary_key=True)


class Coupon(Base):
    """A discount customers redeem by ``code``: ``percent_off`` (a percent) or ``amount_off`` (in ``currency``), for
    ``duration`` ``once`` | ``repeating`` (``duration_in_periods``) | ``forever``, on the plans ``plan_ids`` (NULL:
    every line)."""

    __tablename__ = "coupons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(255), nullable=False, unique=True)
    type: Mapped[str] = mapped_column(String(16), nullable=False)
    percent_off: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    amount_off: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    currency: Mapped[str | None] = mapped_column(String(3))
    duration: Mapped[str] = mapped_column(String(16), nullable=False)
    duration_in_periods: Mapped[int | None] = mapped_column(Integer)
    plan_ids: Mapped[list[int] | None] = mapped_column(ExactJSON())
    max_redemptions: Mapped[int | None] = mapped_column(Integer)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    times_redeemed: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    created_at: Mapped[datetime] = created_at_column()


class CouponRedemption(Base):
    """A coupon applied to a customer (once per customer and coupon)."""

    __tablename__ = "coupon_redemptions"
    __table_args__ = (UniqueConstraint("customer_id", "coupon_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), nullable=False, index=True)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons.id"), nullable=False, index=True)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_at: Mapped[datetime] = created_at_column()


class CouponPeriod(Base):
    """A billing period a redemption was counted for (a finalized invoice it discounted): ``repeating`` coupons
    cover their first ``duration_in_periods`` of these."""

    __tablename__ = "coupon_periods"

    redemption_id: Mapped[int] = mapped_column(ForeignKey("coupon_redemptions.id"), primary_key=True)
    period_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), nullable=False)


class CreditGrant(Base):
    """Prepaid credit of a customer: ``amount`` granted, ``remaining`` unused. ``source``: ``grant`` (the API),
    ``invoice`` (an invoice whose total fell below zero) or ``credit_note``. Used highest ``priority`` first (1 before
    50), then soonest expiring; serves invoices finalized before ``expires_at``."""

    __tablename__ = "credit_grants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), nullable=False, index=True)
    amount: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    remaining: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    priority: Mapped[int] = mapped_column(Integer, nullable=False, default=50)
    description: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16), nullable=False, default="grant")
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"))
    credit_note_id: Mapped[int | None] = mapped_column(ForeignKey("credit_notes.id"))
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_at_column()


class CreditLedgerEntry(Base):
    """One movement of a customer's credit: ``grant`` (+), ``use`` (-, by ``invoice_id``), ``expiry`` (-), ``void``
    (-); ``amount`` is signed."""

    __tablename__ = "credit_ledger"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), nullable=False, index=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("credit_grants.id"), nullable=False, index=True)
    type: Mapped[str] = mapped_column(String(16), nullable=False)
    amount: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class InvoiceDiscount(Base):
    """A coupon's discount on an invoice."""

    __tablename__ = "invoice_discounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), nullable=False, index=True)
    redemption_id: Mapped[int] = mapped_column(ForeignKey("coupon_redemptions.id"), nullable=False)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons.id"), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    amount: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)


class InvoiceTax(Base):
    """The tax at one rate on an invoice: ``rate`` percent of ``taxable``, rounded once."""

    __tablename__ = "invoice_taxes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), nullable=False, index=True)
    tax_rate_id: Mapped[int] = mapped_column(ForeignKey("tax_rates.id"), nullable=False)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    rate: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    taxable: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    amount: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)


class CreditNote(Base):
    """A correction of a finalized invoice (never edited itself): ``method`` ``credit`` (to the customer's balance)
    or ``refund`` (recorded for the payment side). Numbered ``CN-...``."""

    __tablename__ = "credit_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), nullable=False, index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), nullable=False, index=True)
    amount: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    method: Mapped[str] = mapped_column(String(16), nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()


class CreditNoteItem(Base):
    """The part of one invoice line a credit note credits."""

    __tablename__ = "credit_note_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    credit_note_id: Mapped[int] = mapped_column(
        ForeignKey("credit_notes.id", ondelete="CASCADE"), nullable=False, index=True
    )
    invoice_item_id: Mapped[int] = mapped_column(ForeignKey("invoice_items.id"), nullable=False, index=True)
    amount: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
