"""Event request bodies decoded straight from JSON bytes (msgspec), for the ingestion fast path.

:func:`decode_event` (a ``POST /events/`` body) and :func:`decode_batch` (a ``POST /events/batch`` body) return the
events only when the body is certain to be valid for :class:`~fubble.events.schemas.EventIn` (and
:class:`~fubble.events.schemas.EventBatchIn`) and to yield the same values, and ``None`` otherwise: the request then
goes through the FastAPI route, which gives every error message (and every lenient conversion pydantic does) exactly
as before. So this module may refuse more than ``EventIn`` does, never less:

* the JSON must be what :func:`fubble.api.json.loads` parses (msgspec refuses NaN, lone surrogates, a BOM: those go
  the slow way), with its limits on numbers (``float_hook`` is the same check);
* ids are JSON integers in range, strings 1..255 characters without NUL, ``metric_name`` not blank;
* ``quantity`` is a plain JSON number (no exponent, no string) greater than 0, at most 20 digits before the point
  and 12 after;
* ``event_time`` is ``YYYY-MM-DDTHH:MM:SS[.ffffff]`` with ``Z``, an offset ``+HH:MM`` or none (naive = UTC),
  converted to UTC and within 1900..9000;
* ``properties`` is an object whose JSON is at most 16 KiB, nested at most 32 deep; no unknown fields anywhere.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

import msgspec

from fubble.api.fields import MAX_ID, MAX_METADATA_BYTES
from fubble.api.json import MAX_NUMBER_CHARS, parse_decimal
from fubble.db.types import dumps_exact
from fubble.events.fast import ParsedEvent, utc_time

_Text = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
_Id = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]


class _WireEvent(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    metric_name: _Text
    quantity: msgspec.Raw
    customer_id: _Id | None = None
    external_customer_id: _Text | None = None
    event_time: str | None = None
    properties: dict[str, Any] | None = None
    event_id: _Text | None = None


class _WireBatch(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    events: list[_WireEvent]


_EVENT = msgspec.json.Decoder(_WireEvent, float_hook=parse_decimal)
_BATCH = msgspec.json.Decoder(_WireBatch, float_hook=parse_decimal)


def decode_event(body: bytes) -> ParsedEvent | None:
    """The event of a ``POST /events/`` body, or ``None`` (ask the FastAPI route: valid or not)."""
    try:
        wire = _EVENT.decode(body)
    except Exception:  # malformed, or a shape this decoder leaves to EventIn
        return None
    return _event(wire)


def decode_batch(body: bytes, max_events: int) -> list[ParsedEvent] | None:
    """The events of a ``POST /events/batch`` body (1 to ``max_events`` of them), or ``None`` if any is not certain
    to be valid (the FastAPI route then reports every bad event by its index)."""
    try:
        wire = _BATCH.decode(body)
    except Exception:
        return None
    if not 1 <= len(wire.events) <= max_events:
        return None
    events = []
    for item in wire.events:
        event = _event(item)
        if event is None:
            return None
        events.append(event)
    return events


def _event(wire: _WireEvent) -> ParsedEvent | None:
    customer_id = wire.customer_id
    external = wire.external_customer_id
    if customer_id is None and external is None:
        return None
    name = wire.metric_name
    event_id = wire.event_id
    if (
        "\x00" in name
        or not name.strip()
        or (external is not None and "\x00" in external)
        or (event_id is not None and "\x00" in event_id)
    ):
        return None
    quantity = _quantity(wire.quantity)
    if quantity is None:
        return None
    event_time = None
    if wire.event_time is not None:
        event_time = utc_time(wire.event_time)
        if event_time is None:
            return None
    properties = wire.properties
    if properties is not None and not _plain_properties(properties):
        return None
    return ParsedEvent(customer_id, external, name, quantity, event_time, properties, event_id)


# A positive plain decimal: at most 20 digits before the point, 1..12 after, no sign, no exponent.
_QUANTITY = re.compile(rb"(?:[1-9]\d{0,19}|0)(?:\.\d{1,12})?")
_QUANTITIES: dict[bytes, Decimal | None] = {}
_CACHE_LIMIT = 65_536
_UNSEEN = Decimal(-1)  # never a cached value (those are positive, or None)


def _quantity(raw: msgspec.Raw) -> Decimal | None:
    text = bytes(raw)
    value = _QUANTITIES.get(text, _UNSEEN)  # not try/except: raising KeyError on every new value costs more
    if value is not _UNSEEN:
        return value
    value = None
    if _QUANTITY.fullmatch(text):
        value = Decimal(text.decode())
        if not value:
            value = None
    if len(_QUANTITIES) >= _CACHE_LIMIT:
        _QUANTITIES.clear()
    _QUANTITIES[text] = value
    return value


_MAX_DEPTH = 32


def _plain_properties(properties: dict[str, Any]) -> bool:
    """Whether ``properties`` is within the size limit, and its integers within :mod:`fubble.api.json`'s limits
    (its other numbers were checked by ``float_hook`` while decoding)."""
    return _plain(properties, 0) and len(dumps_exact(properties).encode()) <= MAX_METADATA_BYTES


def _plain(value: Any, depth: int) -> bool:
    kind = type(value)
    if kind is dict:
        return depth < _MAX_DEPTH and all(_plain(item, depth + 1) for item in value.values())
    if kind is list:
        return depth < _MAX_DEPTH and all(_plain(item, depth + 1) for item in value)
    if kind is int:
        return len(str(value)) <= MAX_NUMBER_CHARS
    return kind in (str, Decimal, bool) or value is None
