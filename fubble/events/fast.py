"""A fast path for validating the common shape of an event, used by batch ingestion.

:func:`quick_parse` accepts only events it can check exactly like :class:`~fubble.events.schemas.EventIn` (plain JSON
types: integer ids, integer or plain-decimal quantities, ``YYYY-MM-DDTHH:MM:SS[.ffffff]`` timestamps with ``Z``, an
offset or none) and returns ``None`` for anything else, which then goes through ``EventIn`` itself (so every error
message, and every lenient conversion pydantic does, stays exactly as before). It never accepts what ``EventIn`` would
refuse and, for what it accepts, yields the same values. The HTTP fast path decodes request bodies with
:mod:`fubble.events.decoder` instead (straight from bytes); this one serves values already parsed (``fubble events
import``, batches the HTTP fast path left to the FastAPI route).
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from fubble.api.fields import MAX_ID, MAX_METADATA_BYTES, MAX_TIME, MIN_TIME
from fubble.db.types import dumps_exact, to_utc

_FIELDS = frozenset(
    {"customer_id", "external_customer_id", "metric_name", "quantity", "event_time", "properties", "event_id"}
)
_WHOLE_LIMIT = 10**20  # Quantity: at most 20 digits before the decimal point and 12 after


class ParsedEvent(NamedTuple):
    """A valid event, as :class:`~fubble.events.schemas.EventIn` would hold it."""

    customer_id: int | None
    external_customer_id: str | None
    metric_name: str
    quantity: Decimal
    event_time: datetime | None
    properties: dict[str, Any] | None
    event_id: str | None


def _short_text(value: Any) -> bool:
    """A non-empty ``ShortText``: 1..255 characters, no NUL."""
    return type(value) is str and 1 <= len(value) <= 255 and "\x00" not in value


def quick_parse(raw: Any) -> ParsedEvent | None:
    """The event, if it has the common shape and is valid; ``None`` means "ask ``EventIn``" (valid or not)."""
    if type(raw) is not dict or not _FIELDS.issuperset(raw):
        return None
    get = raw.get
    customer_id = get("customer_id")
    external = get("external_customer_id")
    if customer_id is not None and not (type(customer_id) is int and 1 <= customer_id <= MAX_ID):
        return None
    if external is not None and not _short_text(external):
        return None
    if customer_id is None and external is None:
        return None
    metric_name = get("metric_name")
    if not (_short_text(metric_name) and str(metric_name).strip()):
        return None
    quantity = _quantity(get("quantity"))
    if quantity is None:
        return None
    event_time = get("event_time")
    if event_time is not None:
        event_time = utc_time(event_time)
        if event_time is None:
            return None
    properties = get("properties")
    if properties is not None and not (
        type(properties) is dict
        and all(type(key) is str for key in properties)
        and len(dumps_exact(properties).encode()) <= MAX_METADATA_BYTES
    ):
        return None
    event_id = get("event_id")
    if event_id is not None and not _short_text(event_id):
        return None
    return ParsedEvent(
        customer_id,
        external,
        str(metric_name),
        quantity,
        event_time,
        None if properties is None else dict(properties),
        event_id,
    )


def _quantity(value: Any) -> Decimal | None:
    if type(value) is int:
        return Decimal(value) if 0 < value < _WHOLE_LIMIT else None
    if type(value) is Decimal and value.is_finite() and value > 0:
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and -12 <= exponent <= 0 and value < _WHOLE_LIMIT:
            return value
    return None


_TIMES: dict[str, datetime | None] = {}
_TIMES_LIMIT = 65_536
_UNSEEN = datetime.min  # never a cached value (those are aware, or None)
# Instants parsed here: seconds, an optional fraction (at most microseconds), and ``Z``, an offset or none (UTC).
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)?")


def utc_time(value: Any) -> datetime | None:
    """The instant in UTC, for a timestamp of the shape above within 1900..9000; ``None`` for anything else (cached:
    many events share their timestamp)."""
    if type(value) is not str:
        return None
    parsed = _TIMES.get(value, _UNSEEN)  # not try/except: raising KeyError costs more than parsing a new timestamp
    if parsed is not _UNSEEN:
        return parsed
    if len(_TIMES) >= _TIMES_LIMIT:
        _TIMES.clear()
    parsed = _TIMES[value] = _parse_time(value)
    return parsed


def _parse_time(value: str) -> datetime | None:
    if not _TIME.fullmatch(value):
        return None
    try:
        parsed = to_utc(datetime.fromisoformat(value))
    except (ValueError, OverflowError):  # no such day; an offset taking it out of datetime's range
        return None
    return parsed if MIN_TIME <= parsed < MAX_TIME else None
