"""What a billing run bills: every period that has come due as of an instant (:class:`DuePolicy`).

* Usage, and the fixed fees of ordinary plans, are due when their period has ended (arrears): the time up to the
  start of the period that contains ``as_of``. Such lines go on the invoice of their period's end.
* A plan with ``fees_in_advance`` has its fixed fees for a period due when the period starts: up to the end of the
  period containing ``as_of``. They go on the invoice of the instant their time starts: for a whole period, its start,
  which is the previous period's end, so they share that invoice with the previous period's usage.
* The unused part of a fee paid ahead (the subscription ended or changed plan inside the period) is credited once
  that part has begun, on the invoice of the instant it begins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fubble.billing.schedule import Schedule, billable_start
from fubble.billing.tracks import ADVANCE, ARREARS, EARLIEST, Planned
from fubble.db.models import Subscription

Span = tuple[datetime, datetime]
_MICROSECOND = timedelta(microseconds=1)
NEVER = datetime(9999, 1, 1, tzinfo=UTC)  # a subscription whose time is all billed: no run needs to look at it


@dataclass(frozen=True)
class DuePolicy:
    as_of: datetime
    partial = True  # a subscription far behind: its earliest 240 periods per run

    def window(self, schedule: Schedule, track: str) -> Span:
        if track == ARREARS:
            return (EARLIEST, schedule.containing(self.as_of)[0])
        if track == ADVANCE:
            return (EARLIEST, schedule.containing(self.as_of)[1])
        return (EARLIEST, self.as_of + _MICROSECOND)  # credits: the pieces that have begun by as_of

    def key(self, planned: Planned) -> datetime:
        if planned.track == ARREARS:
            return planned.slice.period_end
        return planned.slice.start


def next_due(subscription: Subscription, schedule: Schedule, as_of: datetime) -> datetime:
    """The earliest instant after a run as of ``as_of`` has billed ``subscription`` at which something of it can come
    due again (the runs skip it until then; see ``subscriptions.next_due_at``): its billable start if that is later
    (a trial's end, a start ahead; fees in advance come due then), else the end of the period containing ``as_of``
    (the next period end and start), or its end date if that comes first (a credit of paid-ahead time begins). A
    subscription that ended before the period containing ``as_of`` began has all its time billed: :data:`NEVER`."""
    start = billable_start(subscription)
    if start > as_of:
        return start
    period_start, period_end = schedule.containing(as_of)
    end = subscription.end_date
    if end is not None and end <= period_start:
        return NEVER
    if end is not None and as_of < end < period_end:
        return end
    return period_end
