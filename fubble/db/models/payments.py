"""Payment collection: the provider's customer of each customer, one row per payment attempt and one per refund
(outboxes the payment worker drains), and the provider's webhook events already applied."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from fubble.db.base import Base
from fubble.db.models._columns import BigId, created_at_column
from fubble.db.types import ExactDecimal, UTCDateTime


class PaymentCustomer(Base):
    """The customer at the payment ``provider`` (``stripe``): its id there (``cus_...``), created once, and the
    payment method last attached to it."""

    __tablename__ = "payment_customers"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    provider: Mapped[str] = mapped_column(String(32), primary_key=True)
    provider_customer_id: Mapped[str] = mapped_column(String(255), nullable=False)
    payment_method_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = created_at_column()


class PaymentAttempt(Base):
    """One attempt to collect an invoice: ``pending`` until the worker makes it (due at ``due_at``, claimed by one
    worker until ``claimed_until``), then ``succeeded``, ``failed`` (a declined payment; ``next_attempt_at`` names the
    retry, a new ``pending`` row, when the schedule has one left), ``processing`` (the provider decides later, by
    webhook) or ``canceled`` (the invoice was paid or voided otherwise). ``step`` is the attempt's place in the
    retry schedule (1: the first). ``intent_status`` is the provider's status of the payment intent."""

    __tablename__ = "payment_attempts"
    __table_args__ = (Index("ix_payment_attempts_state_due_at", "state", "due_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), nullable=False, index=True)
    provider: Mapped[str] = mapped_column(String(32), nullable=False)
    step: Mapped[int] = mapped_column(Integer, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    claimed_by: Mapped[str | None] = mapped_column(String(255))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), index=True)
    intent_status: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(String(500))
    attempted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_at_column()


class PaymentRefund(Base):
    """The refund of a ``refund`` credit note through the provider that collected its invoice: ``pending`` until the
    payment worker makes it (due at ``due_at``, claimed by one worker until ``claimed_until``), then ``succeeded``,
    ``processing`` (the provider finishes it later) or ``failed`` (the provider refused it; ``error`` says why).
    ``amount`` is the note's, in the invoice's currency; ``payment_intent_id`` the payment it returns money from."""

    __tablename__ = "payment_refunds"
    __table_args__ = (Index("ix_payment_refunds_state_due_at", "state", "due_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    credit_note_id: Mapped[int] = mapped_column(ForeignKey("credit_notes.id"), nullable=False, unique=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), nullable=False, index=True)
    provider: Mapped[str] = mapped_column(String(32), nullable=False)
    payment_intent_id: Mapped[str] = mapped_column(String(255), nullable=False)
    amount: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    claimed_by: Mapped[str | None] = mapped_column(String(255))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    refund_id: Mapped[str | None] = mapped_column(String(255), index=True)
    refund_status: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(String(500))
    attempted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_at_column()


class StripeEvent(Base):
    """A Stripe webhook event (``evt_...``) already applied: the same event again does nothing."""

    __tablename__ = "stripe_events"

    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(128), nullable=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
