"""Billing periods and how a billed window is cut into them.

Rules
-----
* All datetimes are timezone-aware instants (naive datetimes are refused with ``ValueError``: a caller bug); results
  are UTC (``tzinfo=datetime.UTC``) whenever the anchor is, and always when a zone other than ``"UTC"`` is given.
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

Time zones
----------
* :func:`period_start`, :func:`period_containing` and :func:`split` take a keyword ``tz`` (an IANA name, validated by
  :func:`zone`; default ``"UTC"``). The month arithmetic above then runs on the zone's LOCAL wall clock: the anchor is
  converted to local time, the months are added on the local calendar (same local time of day, the anchor's local
  day clamped), and the local result is converted back to a UTC instant. A period starting at local midnight stays at
  local midnight across daylight-saving changes, so a local day may be 23 or 25 hours long and a period a few hours
  shorter or longer than its UTC counterpart. :attr:`Slice.fraction` still measures real elapsed time (UTC
  microseconds), so proration follows real elapsed time.
* A local result that does not exist (the clock jumps forward over it) is read with the offset in force before the
  jump, i.e. it lands just after the gap, as far past the gap's end as it was past its start (Berlin 02:30 on the
  spring-forward day is 03:30 CEST); an ambiguous one (the clock falls back) is the FIRST occurrence. This is
  :mod:`zoneinfo`'s ``fold=0``. Period 0 is the anchor itself, whatever its fold. Boundaries stay strictly increasing
  in ``k``: consecutive local starts are at least 28 days apart, offsets shift by hours.
* ``tz="UTC"`` is the zone-free fast path: no conversions at all, results identical to a call without ``tz``.
* :func:`calendar_anchor` is the instant of local midnight 2000-01-01 in a zone: periods anchored there are calendar
  periods (monthly on the 1st, quarterly on Jan/Apr/Jul/Oct 1, yearly on Jan 1, at local midnight). Use it with the
  same ``tz`` it was made for.
* :func:`local_date_label` names the local calendar date of an instant, for invoice line text.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from fractions import Fraction
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from fubble.errors import InvalidInput

__all__ = [
    "BillingFrequency",
    "Slice",
    "calendar_anchor",
    "known_zones",
    "local_date_label",
    "period_containing",
    "period_start",
    "split",
    "zone",
]

_MICROSECOND = timedelta(microseconds=1)
# IANA names are path-like words ("America/Argentina/Buenos_Aires", "Etc/GMT+5"); the longest is 32 characters.
_ZONE_NAME = re.compile(r"[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+)*")
_ZONE_NAME_MAX = 64
# Files in the zone directory that load but are not zone names (host-dependent, or duplicate trees).
_NOT_ZONES = ("localtime", "posixrules")
_NOT_ZONE_TREES = ("posix/", "right/")


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


@cache
def known_zones() -> list[str]:
    """Every zone name :func:`zone` accepts here, sorted: the zone database's names (the system's, else the ``tzdata``
    package's), less the host-dependent ones. What the API declares it accepts, and all it accepts."""
    names = {"UTC", *available_timezones()}  # files that start like a zone file (zone() still loads each in full)
    return sorted(
        name
        for name in names
        if len(name) <= _ZONE_NAME_MAX
        and _ZONE_NAME.fullmatch(name)
        and name not in _NOT_ZONES
        and not name.startswith(_NOT_ZONE_TREES)
    )


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (``"UTC"``, ``"Europe/Berlin"``, ...; one of :func:`known_zones`);
    :class:`InvalidInput` for anything else."""
    if isinstance(name, str) and len(name) <= _ZONE_NAME_MAX and name in _known_set():
        try:
            return _load_zone(name)
        except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError; a non-TZif file a ValueError
            pass
    shown = name[:_ZONE_NAME_MAX] + "..." if isinstance(name, str) and len(name) > _ZONE_NAME_MAX else name
    raise InvalidInput.at(("timezone",), f"unknown time zone {shown!r}; use an IANA name such as Europe/Berlin")


@cache
def _known_set() -> frozenset[str]:
    return frozenset(known_zones())


@cache  # only names that loaded are cached, so the cache is bounded by the zone database
def _load_zone(name: str) -> ZoneInfo:
    if name in _NOT_ZONES or name.startswith(_NOT_ZONE_TREES):
        raise KeyError(name)
    return ZoneInfo(name)


def calendar_anchor(tz: str = "UTC") -> datetime:
    """The UTC instant of local midnight 2000-01-01 in ``tz``: the anchor of calendar periods in that zone."""
    if tz == "UTC":
        return datetime(2000, 1, 1, tzinfo=UTC)
    return datetime(2000, 1, 1, tzinfo=zone(tz)).astimezone(UTC)


def local_date_label(t: datetime, tz: str) -> str:
    """The local calendar date of instant ``t`` in ``tz``, as ``YYYY-MM-DD`` (invoice line text)."""
    _require_aware(t, "t")
    return _convert(t, UTC if tz == "UTC" else zone(tz), f"t {t.isoformat()}").date().isoformat()


@dataclass(frozen=True, slots=True)
class _Schedule:
    """The period boundaries of one anchor/frequency/zone: ``start(k)`` and the ``k`` containing an instant.

    ``wall`` is the anchor on the clock the months are added on: the anchor itself (fast path, ``tz is None``) or the
    anchor's local time in ``tz``.
    """

    anchor: datetime
    wall: datetime
    months: int
    tz: ZoneInfo | None

    @classmethod
    def of(cls, anchor: datetime, frequency: BillingFrequency | str, tz: str) -> _Schedule:
        _require_aware(anchor, "anchor")
        months = _frequency(frequency).months
        if tz == "UTC":
            return cls(anchor, anchor, months, None)
        zi = zone(tz)
        return cls(anchor, _convert(anchor, zi, f"anchor {anchor.isoformat()}"), months, zi)

    def start(self, k: int) -> datetime:
        wall = self.wall
        year, month0 = divmod(wall.year * 12 + wall.month - 1 + k * self.months, 12)
        if not 1 <= year <= 9999:
            raise InvalidInput.at(("period",), self._outside(k))
        month = month0 + 1
        day = min(wall.day, calendar.monthrange(year, month)[1])
        if self.tz is None:
            return wall.replace(year=year, month=month, day=day)
        if k == 0:
            return self.anchor.astimezone(UTC)
        local = wall.replace(year=year, month=month, day=day, fold=0)
        return _convert(local, UTC, f"billing period {k} of {self.anchor.isoformat()}")

    def _outside(self, k: int) -> str:
        return f"billing period {k} of {self.anchor.isoformat()} is outside years 1..9999"

    def index(self, t: datetime) -> int:
        """The ``k`` with ``start(k) <= t < start(k + 1)``, computed from the month difference."""
        _require_aware(t, "t")
        wall, local = self.wall, t if self.tz is None else _convert(t, self.tz, f"t {t.isoformat()}")
        k = ((local.year - wall.year) * 12 + (local.month - wall.month)) // self.months
        # On one clock, period k starts in the month of t or earlier and period k+1 in a later month, so the estimate
        # is right or one too high (when period k starts later in t's month than t). In a zone it can be one off
        # either way: a boundary pushed past a gap, or a fall-back across midnight that puts t back into the previous
        # local month (America/St_Johns, 2009-11-01 00:01 -> 2009-10-31 23:01). The loops run at most a few times.
        while self.start(k) > t:
            k -= 1
        while self.start(k + 1) <= t:
            k += 1
        return k


def _convert(value: datetime, tz: tzinfo, what: str) -> datetime:
    try:
        return value.astimezone(tz)
    except OverflowError:
        raise InvalidInput.at(("period",), f"{what} is outside years 1..9999 in that time zone") from None


def period_start(anchor: datetime, frequency: BillingFrequency | str, k: int, *, tz: str = "UTC") -> datetime:
    """Start of period ``k`` of a subscription that started at ``anchor`` (period 0 starts at ``anchor``)."""
    return _Schedule.of(anchor, frequency, tz).start(k)


def period_containing(
    anchor: datetime, frequency: BillingFrequency | str, t: datetime, *, tz: str = "UTC"
) -> tuple[datetime, datetime]:
    """The half-open period ``[start, end)`` containing ``t`` (``t`` may precede the anchor)."""
    schedule = _Schedule.of(anchor, frequency, tz)
    k = schedule.index(t)
    return schedule.start(k), schedule.start(k + 1)


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


def split(
    anchor: datetime, frequency: BillingFrequency | str, start: datetime, end: datetime, *, tz: str = "UTC"
) -> list[Slice]:
    """Cut the half-open window ``[start, end)`` at the period boundaries of ``anchor``/``frequency`` in ``tz``.

    Returns the slices in time order (empty if ``start >= end``); together they cover the window exactly.
    """
    _require_aware(start, "start")
    _require_aware(end, "end")
    if start >= end:
        if tz != "UTC":
            zone(tz)  # a bad zone is refused even for an empty window
        return []
    schedule = _Schedule.of(anchor, frequency, tz)
    k = schedule.index(start)
    p_start = schedule.start(k)
    slices: list[Slice] = []
    while p_start < end:
        p_end = schedule.start(k + 1)
        slices.append(Slice(p_start, p_end, max(start, p_start), min(end, p_end)))
        k, p_start = k + 1, p_end
    return slices
