"""Billing periods and how a billed window is cut into them.

Rules
-----
* All datetimes are timezone-aware UTC instants (naive datetimes are refused with ``ValueError``: a caller bug).
* A subscription's periods are anchored at its start instant ``anchor``. Period ``k`` (``k`` may be negative: periods
  extend backwards before the anchor too) starts ``k * months`` calendar months after the anchor, where months is
  1 (monthly), 3 (quarterly) or 12 (yearly), at the anchor's time of day and on the ANCHOR's day of month, clamped to
  the length of the target month. The anchor day is never lost: anchor Jan 31 gives Feb 28 (Feb 29 in a leap
  year), then Mar 31, Apr 30, May 31; anchor Aug 31 quarterly gives Nov 30, Feb 28, May 31.
* Periods are half-open, ``[start, next start)``, so consecutive periods tile time with no gap and no overlap.
* A billed window ``[start, end)`` is split at period boundaries into :class:`Slice` objects. A slice's
  :attr:`Slice.fraction` is the exact ratio of its duration to its period's duration, both counted in microseconds
  (so a 15-day slice of a 30-day period is exactly 1/2; February slices are measured against February's length).
* Dates must stay within ``datetime``'s range (years 1..9999); a period that would start outside it raises
  :class:`~fubble.errors.InvalidInput`.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from fractions import Fraction

from fubble.errors import InvalidInput

__all__ = ["BillingFrequency", "Slice", "period_containing", "period_start", "split"]

_MICROSECOND = timedelta(microseconds=1)


class BillingFrequency(StrEnum):
    """How often a subscription is billed; each period is a whole number of calendar months."""

    monthly = "monthly"
    quarterly = "quarterly"
    yearly = "yearly"

    @property
    def months(self) -> int:
        """Calendar months per period: 1, 3 or 12."""
        return _MONTHS[self]


_MONTHS = {BillingFrequency.monthly: 1, BillingFrequency.quarterly: 3, BillingFrequency.yearly: 12}


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware (UTC) datetime, got naive {value!r}")


def _frequency(frequency: BillingFrequency | str) -> BillingFrequency:
    try:
        return BillingFrequency(frequency)
    except ValueError:
        valid = ", ".join(f.value for f in BillingFrequency)
        message = f"unknown billing frequency {frequency!r}; expected one of {valid}"
        raise InvalidInput.at(("billing_frequency",), message) from None


def period_start(anchor: datetime, frequency: BillingFrequency | str, k: int) -> datetime:
    """Start of period ``k`` of a subscription that started at ``anchor`` (period 0 starts at ``anchor``)."""
    _require_aware(anchor, "anchor")
    months = _frequency(frequency).months
    year, month0 = divmod(anchor.year * 12 + anchor.month - 1 + k * months, 12)
    if not 1 <= year <= 9999:
        raise InvalidInput.at(("period",), f"billing period {k} of {anchor.isoformat()} is outside years 1..9999")
    month = month0 + 1
    day = min(anchor.day, calendar.monthrange(year, month)[1])
    return anchor.replace(year=year, month=month, day=day)


def _period_index(anchor: datetime, frequency: BillingFrequency | str, t: datetime) -> int:
    """The ``k`` with ``period_start(k) <= t < period_start(k + 1)``, computed from the month difference."""
    _require_aware(t, "t")
    months = _frequency(frequency).months
    k = ((t.year - anchor.year) * 12 + (t.month - anchor.month)) // months
    # Period k starts in the month of t or earlier and period k+1 starts in a later month than t, so the estimate
    # can only be one too high (when period k starts later in t's month than t). The loops run at most once.
    while period_start(anchor, frequency, k) > t:
        k -= 1
    while period_start(anchor, frequency, k + 1) <= t:
        k += 1
    return k


def period_containing(anchor: datetime, frequency: BillingFrequency | str, t: datetime) -> tuple[datetime, datetime]:
    """The half-open period ``[start, end)`` containing ``t`` (``t`` may precede the anchor)."""
    k = _period_index(anchor, frequency, t)
    return period_start(anchor, frequency, k), period_start(anchor, frequency, k + 1)


@dataclass(frozen=True)
class Slice:
    """The part ``[start, end)`` of one billing period ``[period_start, period_end)`` being billed.

    Invariant: ``period_start <= start < end <= period_end``.
    """

    period_start: datetime
    period_end: datetime
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        for name in ("period_start", "period_end", "start", "end"):
            _require_aware(getattr(self, name), name)
        if not self.period_start <= self.start < self.end <= self.period_end:
            raise ValueError(f"invalid slice: need period_start <= start < end <= period_end, got {self!r}")

    @property
    def fraction(self) -> Fraction:
        """Exact share of the period covered: ``(end - start) / (period_end - period_start)`` in microseconds."""
        return Fraction((self.end - self.start) // _MICROSECOND, (self.period_end - self.period_start) // _MICROSECOND)

    @property
    def is_full_period(self) -> bool:
        """True if the slice covers its whole period."""
        return self.start == self.period_start and self.end == self.period_end


def split(anchor: datetime, frequency: BillingFrequency | str, start: datetime, end: datetime) -> list[Slice]:
    """Cut the half-open window ``[start, end)`` at the period boundaries of ``anchor``/``frequency``.

    Returns the slices in time order (empty if ``start >= end``); together they cover the window exactly.
    """
    _require_aware(start, "start")
    _require_aware(end, "end")
    if start >= end:
        return []
    k = _period_index(anchor, frequency, start)
    p_start = period_start(anchor, frequency, k)
    slices: list[Slice] = []
    while p_start < end:
        p_end = period_start(anchor, frequency, k + 1)
        slices.append(Slice(p_start, p_end, max(start, p_start), min(end, p_end)))
        k, p_start = k + 1, p_end
    return slices
