"""Reading an event's ``quantity``, ``event_time`` and ``properties`` from their JSON: each parser gives the value or
what is wrong with it (the message of that field's error). Part of the one definition of a valid event: their only
caller is :mod:`fubble.events.decoder`.

* ``quantity`` is a JSON number, or a string holding one (``"1.5"``), with at most 12 decimal places and 20 digits
  before the point (``5e-324`` and ``3.2e66`` are refused naming the rule they break); every zero (``-0.0``,
  ``0E+30``) is read as ``0``. Its sign is a rule of the metric, checked where the metrics are known
  (:func:`fubble.events.service.negative_quantity`: 0 is accepted for every metric, a negative quantity only for a
  metric defined with ``allow_negative``);
* ``event_time`` is an ISO 8601 string ``YYYY-MM-DD[THH:MM[:SS[.fraction]]]`` with ``Z``, an offset
  ``+HH:MM``/``+HHMM`` or none (naive means UTC), its year (as written) from 1900 to 8999; converted to UTC; a
  number is refused (not read as seconds since 1970);
* ``properties`` is a JSON object of at most 16 KiB, nested at most 512 deep, its numbers within the limits of
  free-form JSON (:func:`fubble.api.json.exponent_problem`; integers of at most 64 digits).

The limits are read from :mod:`fubble.api.fields`, as :class:`~fubble.events.schemas.EventIn`'s are. Quantities and
times are cached (many events share theirs), a cache emptied whenever it is full.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from fubble.api.fields import (
    _TIME_FORMAT,
    _TIME_RANGE,
    DECIMAL_PLACES,
    MAX_METADATA_BYTES,
    MAX_YEAR,
    MIN_YEAR,
    WHOLE_DIGITS,
)
from fubble.api.json import MAX_NUMBER_CHARS, exponent_problem
from fubble.db.types import dumps_exact, to_utc

MAX_DEPTH = 512  # nesting of properties (deeper JSON would exhaust the stack of the code that walks it)

# --- quantity -----------------------------------------------------------------------------------------------------

_NUMERIC_TEXT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_QUANTITIES: dict[Any, Decimal | str] = {}
_CACHE_LIMIT = 65_536
_NOT_A_NUMBER = "must be a number (or a string holding one)"
_ZERO = Decimal(0)


def parse_quantity(value: Any) -> Decimal | str:
    """The quantity, or what is wrong with it (cached: many events share their quantity)."""
    kind = type(value)
    if kind is not int and kind is not Decimal and kind is not str:
        return _NOT_A_NUMBER
    # 1, Decimal("1") and "1" would be one entry without the kind; Decimal("1.0") == Decimal("1.00") without str
    key = (kind, str(value) if kind is Decimal else value)
    cached = _QUANTITIES.get(key)
    if cached is None:
        cached = _quantity_of(value)
        if len(_QUANTITIES) >= _CACHE_LIMIT:
            _QUANTITIES.clear()
        _QUANTITIES[key] = cached
    return cached


def _quantity_of(value: int | Decimal | str) -> Decimal | str:
    if isinstance(value, str):
        text = value.strip()
        if not _NUMERIC_TEXT.fullmatch(text):
            return _NOT_A_NUMBER
        value = Decimal(text)
    number = Decimal(value)
    if number.is_zero():
        return _ZERO  # whatever its sign and exponent (EventIn reads it so too): 0E+30 is within the limits
    # Counted like pydantic's max_digits/decimal_places (trailing zeros are not digits): 1e2 has 3 whole digits.
    _sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # finite
    count = len(digits)
    while count > 1 and digits[count - 1] == 0:
        count -= 1
        exponent += 1
    places = max(-exponent, 0)
    whole = max(count + exponent, 0)
    if places > DECIMAL_PLACES:
        return f"must have at most {DECIMAL_PLACES} decimal places"
    if whole > WHOLE_DIGITS:
        return f"must have at most {WHOLE_DIGITS} digits before the decimal point"
    return number


# --- event_time ---------------------------------------------------------------------------------------------------

_TIMES: dict[Any, datetime | str] = {}
# A date, optionally a time (seconds and a fraction optional), optionally Z or an offset; naive means UTC.
_TIME = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)"
    r"(?:[Tt ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d+))?)?)?"
    r"(?:([Zz])|([+-])([01]\d|2[0-3]):?([0-5]\d))?"
)


def utc_time(value: Any) -> datetime | str:
    """The instant in UTC of an ``event_time``, or what is wrong with it (cached: many events share their time)."""
    if type(value) is not str:
        return _TIME_FORMAT
    parsed = _TIMES.get(value)
    if parsed is None:
        parsed = _parse_time(value)
        if len(_TIMES) >= _CACHE_LIMIT:
            _TIMES.clear()
        _TIMES[value] = parsed
    return parsed


# The common shape, which datetime.fromisoformat reads exactly like _TIME's groups (and faster).
_COMMON_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)?")


def _parse_time(value: str) -> datetime | str:
    if _COMMON_TIME.fullmatch(value) and MIN_YEAR <= int(value[:4]) <= MAX_YEAR:
        try:
            return to_utc(datetime.fromisoformat(value))
        except ValueError:  # no such day or hour
            return _TIME_FORMAT
    match = _TIME.fullmatch(value)
    if match is None:
        return _TIME_FORMAT
    year, month, day, hour, minute, second, fraction, _z, sign, off_h, off_m = match.groups()
    if not MIN_YEAR <= int(year) <= MAX_YEAR:
        return _TIME_RANGE
    try:
        offset = UTC
        if sign is not None:
            delta = timedelta(hours=int(off_h), minutes=int(off_m))
            offset = timezone(-delta if sign == "-" else delta)
        local = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=offset,
        )
    except ValueError:  # no such day or hour; an offset of 24 hours or more
        return _TIME_FORMAT
    return local.astimezone(UTC)


# --- properties ---------------------------------------------------------------------------------------------------


_INT_LIMIT = 10**MAX_NUMBER_CHARS


def properties_problem(properties: dict[str, Any]) -> str | None:
    """Nesting, integers (at most 64 digits), other numbers (:func:`fubble.api.json.exponent_problem`, as for all
    free-form JSON, when there are any) and the size."""
    found = _plain(properties, 0)
    if found is _DECIMALS:
        found = exponent_problem(properties)
    if found is None and len(dumps_exact(properties).encode()) > MAX_METADATA_BYTES:
        found = f"must serialize to at most {MAX_METADATA_BYTES} bytes of JSON"
    return found


_DECIMALS = "(holds decimals)"  # what _plain finds when all is well but for decimals to check


def _plain(value: Any, depth: int) -> str | None:
    """What is wrong with the nesting or the integers inside ``properties``, if anything; :data:`_DECIMALS` if
    nothing but there are decimals (whose exponents are checked by ``exponent_problem``)."""
    kind = type(value)
    if kind is Decimal:
        return _DECIMALS
    if kind is dict or kind is list:
        if depth >= MAX_DEPTH:
            return f"must be nested at most {MAX_DEPTH} deep"
        decimals = None
        for item in value.values() if kind is dict else value:
            if type(item) in _WALKED:
                problem = _plain(item, depth + 1)
                if problem is _DECIMALS:
                    decimals = problem
                elif problem is not None:
                    return problem
        return decimals
    if kind is int and not -_INT_LIMIT < value < _INT_LIMIT:
        return f"numbers must have at most {MAX_NUMBER_CHARS} digits"
    return None


_WALKED = frozenset({dict, list, int, Decimal})
