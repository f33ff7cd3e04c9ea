"""Request and response bodies of the subscriptions API."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool

from fubble.api.fields import Ref, UTCTime, not_boolean
from fubble.db.models import Subscription
from fubble.plans.schemas import MAX_COMPONENTS, TIERED_EXAMPLE, MetricName, PricingType
from fubble.subscriptions.lifecycle import SubscriptionStatus, current_period, status_at

__all__ = [
    "BillingAnchor",
    "ChangeEffective",
    "PriceOverrideIn",
    "PriceOverrideOut",
    "SubscriptionCancel",
    "SubscriptionChange",
    "SubscriptionCreate",
    "SubscriptionOut",
    "SubscriptionStatus",
    "status_at",
]

MAX_TRIAL_DAYS = 730


class BillingAnchor(StrEnum):
    """``anniversary``: billing periods count from the start (or the trial's end); ``calendar``: they start at local
    midnight on the 1st of the month (monthly), of Jan/Apr/Jul/Oct (quarterly) or of January (yearly), in the
    customer's time zone."""

    anniversary = "anniversary"
    calendar = "calendar"


class ChangeEffective(StrEnum):
    """``now``: the change happens at ``at``; ``period_end``: at the end of the billing period containing ``at`` (the
    trial's end during a trial)."""

    now = "now"
    period_end = "period_end"


class PriceOverrideIn(BaseModel):
    """A negotiated price for one metric of the plan, replacing the plan's component for that metric."""

    model_config = ConfigDict(extra="forbid")

    metric_name: MetricName = Field(description="A metric the plan's latest version prices (422 otherwise).")
    pricing_type: PricingType | None = Field(None, description="Defaults to the plan component's pricing_type.")
    pricing_details: dict[str, Any] = Field(
        examples=[TIERED_EXAMPLE],
        description="Validated like a plan component's pricing_details for pricing_type; numbers kept exactly.",
    )


class PriceOverrideOut(BaseModel):
    metric_name: str
    pricing_type: str
    pricing_details: dict[str, Any]


TrialDays = Annotated[int, Field(ge=1, le=MAX_TRIAL_DAYS), BeforeValidator(not_boolean)]


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan_id: Ref
    start_date: UTCTime | None = Field(
        None, description="Defaults to the customer's now (its test clock's time, if it has one). Naive times are UTC."
    )
    end_date: UTCTime | None = Field(None, description="Exclusive; null means ongoing. Must be after start_date.")
    billing_anchor: BillingAnchor = Field(
        BillingAnchor.anniversary,
        description="anniversary: periods count from the start (or the trial's end); calendar: from the 1st of the "
        "month at local midnight in the customer's time zone.",
    )
    trial_days: TrialDays | None = Field(
        None, description=f"A free trial of 1..{MAX_TRIAL_DAYS} days (of 24 hours) from the start; not with trial_end."
    )
    trial_end: UTCTime | None = Field(
        None, description="A free trial until this instant (after start_date); not with trial_days."
    )
    price_overrides: list[PriceOverrideIn] = Field(
        default_factory=list,
        max_length=MAX_COMPONENTS,
        description="Negotiated prices replacing the plan's components: each metric_name at most once, priced by the "
        "plan's latest version.",
    )


class SubscriptionCancel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    end_date: UTCTime | None = Field(
        None, description="When the subscription ends (exclusive); defaults to the customer's now."
    )
    at_period_end: StrictBool | None = Field(
        None,
        description="true: end at the end of the billing period containing the customer's now (the trial's end "
        "during a trial); not with end_date.",
    )


class SubscriptionChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan_id: Ref = Field(description="The new plan (may be the same plan: moves to its latest version).")
    effective: ChangeEffective = Field(
        ChangeEffective.now,
        description="now: the change happens at `at`; period_end: at the end of the billing period containing `at` "
        "(the trial's end during a trial).",
    )
    at: UTCTime | None = Field(None, description="Defaults to the customer's now. Naive times are UTC.")


class SubscriptionOut(BaseModel):
    id: int
    customer_id: int
    plan_id: int
    start_date: datetime
    end_date: datetime | None
    status: SubscriptionStatus = Field(
        description="From the customer's now, the first that applies: ended (end_date <= now), scheduled (start_date "
        "> now), canceled (canceled_at set, ending in the future), trialing (now < trial_end), active."
    )
    created_at: datetime
    canceled_at: datetime | None
    current_period_start: datetime | None = Field(
        description="Start of the billing period containing the customer's now (during a trial: start_date); null "
        "when scheduled or ended."
    )
    current_period_end: datetime | None = Field(
        description="End (exclusive) of that period (during a trial: trial_end); null when scheduled or ended."
    )
    trial_end: datetime | None = Field(description="Nothing is charged before it; null: no trial.")
    cancel_at_period_end: bool = Field(
        description="Canceled with at_period_end: end_date is the end of the period it was canceled in."
    )
    billing_anchor: BillingAnchor
    plan_version: int = Field(description="The version of the plan's prices this subscription is billed at.")
    previous_subscription_id: int | None = Field(description="The subscription a plan change ended to start this one.")
    price_overrides: list[PriceOverrideOut] = Field(description="Negotiated prices replacing the plan's components.")

    @classmethod
    def of(cls, subscription: Subscription, *, now: datetime, timezone: str) -> SubscriptionOut:
        """The subscription as its customer (in ``timezone``, at ``now``: the customer's now) sees it."""
        period = current_period(subscription, timezone, now)
        return cls(
            id=subscription.id,
            customer_id=subscription.customer_id,
            plan_id=subscription.plan_id,
            start_date=subscription.start_date,
            end_date=subscription.end_date,
            status=status_at(subscription, now),
            created_at=subscription.created_at,
            canceled_at=subscription.canceled_at,
            current_period_start=period[0] if period else None,
            current_period_end=period[1] if period else None,
            trial_end=subscription.trial_end,
            cancel_at_period_end=subscription.cancel_at_period_end,
            billing_anchor=BillingAnchor(subscription.billing_anchor),
            plan_version=subscription.plan_version,
            previous_subscription_id=subscription.previous_subscription_id,
            price_overrides=[PriceOverrideOut.model_validate(o) for o in subscription.price_overrides or []],
        )
