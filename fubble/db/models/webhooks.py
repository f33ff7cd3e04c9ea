"""Webhooks: the endpoints messages go to, the outbox of messages, one row per delivery attempt; usage alerts and the
marks that make an alert (or a subscription's end) fire once."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column

from fubble.db.base import Base
from fubble.db.models._columns import BigId, created_at_column
from fubble.db.types import ExactDecimal, ExactJSON, UTCDateTime


class WebhookEndpoint(Base):
    """A URL that receives the messages of the ``event_types`` it subscribes to, signed with ``secret``
    (``whsec_...``); after a rotation, the secret it replaced (``previous_secret``) signs too, until
    ``previous_secret_expires_at``. A deleted endpoint keeps its row (its deliveries refer to it) with ``deleted_at``
    set; a ``disabled`` one gets no new messages and its queued attempts wait until it is enabled again."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), nullable=False)
    description: Mapped[str | None] = mapped_column(String(255))
    event_types: Mapped[list[str]] = mapped_column(ExactJSON(), nullable=False)
    secret: Mapped[str] = mapped_column(String(128), nullable=False)
    previous_secret: Mapped[str | None] = mapped_column(String(128))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=sa_false())
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebhookMessage(Base):
    """One event, written to this outbox in the transaction of the change it tells about. ``body`` is the JSON
    payload exactly as it is sent and signed (``{"type", "timestamp", "data"}``)."""

    __tablename__ = "webhook_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)  # msg_...: the webhook-id
    event_type: Mapped[str] = mapped_column(String(64), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = created_at_column()


class WebhookDelivery(Base):
    """One attempt to deliver a message to an endpoint: ``pending`` until a worker makes it (due at ``due_at``,
    claimed by one worker until ``claimed_until``), then ``succeeded`` or ``failed`` with ``at``, ``status_code`` and
    ``error``; a failed attempt with a retry left names it in ``next_attempt_at`` (a new ``pending`` row).
    ``canceled``: the endpoint was deleted before the attempt was made.

    ``step`` is the attempt's place in the retry schedule (1: the first attempt); NULL for a replay, which is not
    retried. ``attempt`` numbers every attempt of the message to the endpoint, replays included."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_state_due_at", "state", "due_at"),
        Index("ix_webhook_deliveries_endpoint_id_id", "endpoint_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id"), nullable=False)
    message_id: Mapped[int] = mapped_column(ForeignKey("webhook_messages.id"), nullable=False, index=True)
    attempt: Mapped[int] = mapped_column(Integer, nullable=False)
    step: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    claimed_by: Mapped[str | None] = mapped_column(String(255))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class UsageAlert(Base):
    """Fire ``usage.threshold_reached`` once per billing period when the customer's usage of ``metric_name`` in the
    period reaches ``threshold``, or its charges reach ``percent_of_commitment`` percent of the plan's
    ``minimum_commitment`` (exactly one of the two is set)."""

    __tablename__ = "usage_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), nullable=False, index=True)
    metric_name: Mapped[str] = mapped_column(String(255), nullable=False)
    threshold: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    percent_of_commitment: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    created_at: Mapped[datetime] = created_at_column()


class UsageAlertFiring(Base):
    """An alert fired for the period starting at ``period_start`` (at most once: the unique constraint)."""

    __tablename__ = "usage_alert_firings"
    __table_args__ = (UniqueConstraint("alert_id", "period_start"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("usage_alerts.id"), nullable=False)
    period_start: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    value: Mapped[Decimal] = mapped_column(ExactDecimal(), nullable=False)  # the usage, or the charges, that fired it
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class SubscriptionEndNotice(Base):
    """``subscription.ended`` was emitted for this subscription (once)."""

    __tablename__ = "subscription_end_notices"

    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"), primary_key=True)
    emitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
