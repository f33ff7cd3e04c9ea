"""Where a subscription stands at an instant: its status, its current billing period, the end of that period.

"Now" is always the customer's now (:func:`fubble.test_clocks.now.customer_now`); the periods are
:func:`fubble.billing.schedule.schedule_of`'s, in the customer's time zone.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from fubble.billing.schedule import schedule_of
from fubble.db.models import Subscription


class SubscriptionStatus(StrEnum):
    """Computed from the customer's now (its test clock's time, if it has one), the first that applies:

    * ``ended``: end_date <= now;
    * ``scheduled``: start_date > now;
    * ``canceled``: canceled (canceled_at set) and ending in the future;
    * ``trialing``: now < trial_end;
    * ``active``: otherwise.
    """

    scheduled = "scheduled"
    trialing = "trialing"
    active = "active"
    canceled = "canceled"
    ended = "ended"


def status_at(subscription: Subscription, now: datetime) -> SubscriptionStatus:
    if subscription.end_date is not None and subscription.end_date <= now:
        return SubscriptionStatus.ended
    if subscription.start_date > now:
        return SubscriptionStatus.scheduled
    if subscription.canceled_at is not None and subscription.end_date is not None:
        return SubscriptionStatus.canceled
    if in_trial(subscription, now):
        return SubscriptionStatus.trialing
    return SubscriptionStatus.active


def in_trial(subscription: Subscription, t: datetime) -> bool:
    """Whether ``t`` falls in the subscription's trial ``[start_date, trial_end)``."""
    return subscription.trial_end is not None and subscription.start_date <= t < subscription.trial_end


def period_at(subscription: Subscription, timezone: str, t: datetime) -> tuple[datetime, datetime]:
    """The period ``[start, end)`` containing ``t``: the trial itself during the trial, else the billing period."""
    if in_trial(subscription, t):
        assert subscription.trial_end is not None
        return subscription.start_date, subscription.trial_end
    return schedule_of(subscription, timezone).containing(t)


def current_period(subscription: Subscription, timezone: str, now: datetime) -> tuple[datetime, datetime] | None:
    """The period containing ``now``; None while the subscription is scheduled or once it has ended."""
    if status_at(subscription, now) in (SubscriptionStatus.scheduled, SubscriptionStatus.ended):
        return None
    return period_at(subscription, timezone, now)
