"""Dunning: when a failed payment is tried again (``FUBBLE_PAYMENT_RETRY_SCHEDULE``).

The n-th failed attempt (``step`` n, 1 for the first) is followed by another after the n-th delay of the schedule;
after the last delay there is none, and the invoice stays ``failed`` until it is paid or voided by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta


def next_attempt_at(step: int, failed_at: datetime, schedule: Sequence[float]) -> datetime | None:
    """When the attempt after the failed attempt number ``step`` is due, or ``None`` when the schedule is over."""
    if step < 1 or step > len(schedule):
        return None
    return failed_at + timedelta(seconds=schedule[step - 1])
