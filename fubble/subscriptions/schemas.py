"""Request and response bodies of the subscriptions API."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from fubble.api.fields import Ref, UTCTime
from fubble.db.models import Subscription


class SubscriptionStatus(StrEnum):
    """Computed from the clock: ``scheduled`` before start_date, ``ended`` from end_date on, else ``active``."""

    scheduled = "scheduled"
    active = "active"
    ended = "ended"


def status_at(subscription: Subscription, now: datetime) -> SubscriptionStatus:
    if subscription.end_date is not None and subscription.end_date <= now:
        return SubscriptionStatus.ended
    if subscription.start_date > now:
        return SubscriptionStatus.scheduled
    return SubscriptionStatus.active


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan_id: Ref
    start_date: UTCTime | None = Field(None, description="Defaults to now. Naive times are UTC.")
    end_date: UTCTime | None = Field(None, description="Exclusive; null means ongoing. Must be after start_date.")


class SubscriptionCancel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    end_date: UTCTime | None = Field(None, description="When the subscription ends (exclusive); defaults to now.")


class SubscriptionOut(BaseModel):
    id: int
    customer_id: int
    plan_id: int
    start_date: datetime
    end_date: datetime | None
    status: SubscriptionStatus
    created_at: datetime
    canceled_at: datetime | None

    @classmethod
    def of(cls, subscription: Subscription, *, now: datetime) -> SubscriptionOut:
        return cls(
            id=subscription.id,
            customer_id=subscription.customer_id,
            plan_id=subscription.plan_id,
            start_date=subscription.start_date,
            end_date=subscription.end_date,
            status=status_at(subscription, now),
            created_at=subscription.created_at,
            canceled_at=subscription.canceled_at,
        )
