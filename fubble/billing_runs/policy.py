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
from datetime import datetime, timedelta

from fubble.billing.engine import ADVANCE, ARREARS, EARLIEST, Planned
from fubble.billing.schedule import Schedule

Span = tuple[datetime, datetime]
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class DuePolicy:
    as_of: datetime

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
