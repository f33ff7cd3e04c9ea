"""A subscription's billing periods: the one place that says where they fall.

A subscription is billed in periods of its plan's ``billing_frequency``, counted in its customer's time zone from

* its ``period_anchor`` (``billing_anchor: anniversary``, the default: the start, or the end of the trial, and kept
  by a plan change), or
* local midnight on the 1st of a month (``billing_anchor: calendar``: monthly on every 1st, quarterly on Jan/Apr/Jul/Oct
  1st, yearly on Jan 1st), whatever the subscription's start.

Nothing is charged before :func:`billable_start` (the end of the trial, if any). The arithmetic is
:mod:`fubble.pricing.periods`; this module only picks its inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fubble.db.models import Subscription
from fubble.pricing.periods import Slice, calendar_anchor, period_containing, split

ANNIVERSARY = "anniversary"
CALENDAR = "calendar"


@dataclass(frozen=True)
class Schedule:
    anchor: datetime
    frequency: str
    tz: str

    def split(self, start: datetime, end: datetime) -> list[Slice]:
        """``[start, end)`` cut at the period boundaries (see :func:`fubble.pricing.periods.split`)."""
        return split(self.anchor, self.frequency, start, end, tz=self.tz)

    def containing(self, t: datetime) -> tuple[datetime, datetime]:
        """The period ``[start, end)`` that contains ``t``."""
        return period_containing(self.anchor, self.frequency, t, tz=self.tz)


def schedule_of(subscription: Subscription, timezone: str) -> Schedule:
    """The periods of ``subscription`` for a customer in ``timezone`` (an IANA name)."""
    anchor = calendar_anchor(timezone) if subscription.billing_anchor == CALENDAR else subscription.period_anchor
    return Schedule(anchor, subscription.plan.billing_frequency, timezone)


def billable_start(subscription: Subscription) -> datetime:
    """The first instant charged: the start, or the end of the trial when there is one."""
    trial_end = subscription.trial_end
    if trial_end is not None and trial_end > subscription.start_date:
        return trial_end
    return subscription.start_date
