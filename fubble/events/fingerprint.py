"""The fingerprint of an event's payload, which tells a replay (same ``event_id``, same payload) from a conflict.

It hashes the payload *as sent*: the customer as the client named it (``customer_id`` and/or
``external_customer_id``, not the resolved id, so a retry is a replay even if the customer's external id has changed
since), ``event_time`` is ``null`` when the client left it out (so a retry later, when "now"
has moved on, is still a replay), and every number is compared by value (``1 == 1.0 == "1.00"``), in the quantity and
inside ``properties`` alike.

Most events need no fingerprint of their own: when the client gave the ``event_time`` and named the customer by
``customer_id`` alone, the payload as sent is exactly what is stored (the customer, the metric, the quantity and the
properties compared by value, the instant), so its fingerprint can be worked out from the stored row whenever a retry
needs comparing. Batches store :data:`DERIVED` (an empty text) for those, instead of hashing every event up front:
:func:`of_stored` gives the fingerprint of any stored row either way.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal
from typing import Any, Protocol

from simplejson.encoder import encode_basestring

from fubble.db.types import dumps_exact
from fubble.events.decoder import ParsedEvent

_CANONICAL_CACHE: dict[Decimal | int, str] = {}
_CACHE_LIMIT = 4096


DERIVED = ""  # stored instead of a hash: "the fingerprint of the stored fields" (see the module docstring)


class EventPayload(Protocol):
    """What a fingerprint covers (an :class:`~fubble.events.schemas.EventIn` or a fast-parsed event)."""

    @property
    def customer_id(self) -> int | None: ...
    @property
    def external_customer_id(self) -> str | None: ...
    @property
    def metric_name(self) -> str: ...
    @property
    def quantity(self) -> Decimal: ...
    @property
    def event_time(self) -> datetime | None: ...
    @property
    def properties(self) -> dict[str, Any] | None: ...


def normalized(value: Decimal | int) -> Decimal:
    """One representation per value (``1``, ``1.0`` and ``1.00`` all give ``1``), exactly and without ever expanding
    an exponent (``1e999999`` stays short)."""
    number = Decimal(value)
    if number.is_zero():
        return Decimal(0)
    # Precision covers every digit sent, so nothing is rounded; the exponent range covers anything JSON can carry.
    context = Context(prec=max(len(number.as_tuple().digits), 1), Emax=MAX_EMAX, Emin=MIN_EMIN)
    return number.normalize(context)


def canonical_number(value: Decimal | int) -> str:
    """``str(normalized(value))``, cached: equal values have the same canonical form, so the cache is exact."""
    text = _CANONICAL_CACHE.get(value)
    if text is None:
        text = str(normalized(value))
        if len(_CANONICAL_CACHE) >= _CACHE_LIMIT:
            _CANONICAL_CACHE.clear()
        _CANONICAL_CACHE[value] = text
    return text


def _canonical(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | Decimal):
        return normalized(value)  # written as a JSON number, so 1 and "1" stay different
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return str(value)


def fingerprint(event: EventPayload) -> str:
    """SHA-256 of the canonical JSON of the payload: :func:`reference_fingerprint`'s text, written directly (the same
    keys in sorted order, the same separators and string escaping), so it is the same hash, only cheaper."""
    customer_id = event.customer_id
    external = event.external_customer_id
    properties = event.properties
    text = (
        f'{{"customer_id":{"null" if customer_id is None else int(customer_id)}'
        f',"event_time":{_time_json(event.event_time)}'
        f"{'' if external is None else _external_json(external)}{_metric_json(event.metric_name)}"
        f',"properties":{"null" if properties is None else dumps_exact(_canonical(properties))}'
        f',"quantity":"{canonical_number(event.quantity)}"}}'
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _external_json(external: str) -> str:
    return ',"external_customer_id":' + encode_basestring(external)


_METRIC_CACHE: dict[str, str] = {}


def _metric_json(name: str) -> str:
    """``,"metric_name":<name as a JSON string>``, cached (a batch's events share a few metric names)."""
    text = _METRIC_CACHE.get(name)
    if text is None:
        text = ',"metric_name":' + encode_basestring(name)
        if len(_METRIC_CACHE) >= _CACHE_LIMIT:
            _METRIC_CACHE.clear()
        _METRIC_CACHE[name] = text
    return text


_TIME_CACHE: dict[datetime, str] = {}


def _time_json(value: datetime | None) -> str:
    """The instant's ISO text as a JSON string, cached for UTC instants (many events share their timestamp; equal
    instants with other offsets would have another text, so only ``UTC`` ones are cached)."""
    if value is None:
        return "null"
    if value.tzinfo is not UTC:
        return '"' + value.isoformat() + '"'
    text = _TIME_CACHE.get(value)
    if text is None:
        text = '"' + value.isoformat() + '"'
        if len(_TIME_CACHE) >= _CACHE_LIMIT:
            _TIME_CACHE.clear()
        _TIME_CACHE[value] = text
    return text


class StoredEvent(Protocol):
    """What :func:`of_stored` reads of a stored event (a row of ``events``, or one about to be stored)."""

    @property
    def customer_id(self) -> int: ...
    @property
    def metric_name(self) -> str: ...
    @property
    def quantity(self) -> Decimal: ...
    @property
    def event_time(self) -> datetime: ...
    @property
    def properties(self) -> dict[str, Any] | None: ...
    @property
    def fingerprint(self) -> str: ...


def of_stored(event: StoredEvent) -> str:
    """The fingerprint of the payload a stored event was sent with: the stored one, or for :data:`DERIVED` the
    fingerprint of its stored fields (an event sent with its ``event_time`` and ``customer_id`` alone)."""
    if event.fingerprint != DERIVED:
        return event.fingerprint
    sent = ParsedEvent(
        event.customer_id, None, event.metric_name, event.quantity, event.event_time, event.properties, None
    )
    return fingerprint(sent)


def reference_fingerprint(event: EventPayload) -> str:
    """The definition of :func:`fingerprint` (kept for tests that check the two agree)."""
    payload = {
        "customer_id": event.customer_id,
        "metric_name": event.metric_name,
        "quantity": canonical_number(event.quantity),
        "event_time": None if event.event_time is None else event.event_time.isoformat(),
        "properties": _canonical(event.properties),
    }
    if event.external_customer_id is not None:  # absent otherwise, so fingerprints stored before it existed still match
        payload["external_customer_id"] = event.external_customer_id
    return hashlib.sha256(dumps_exact(payload).encode("utf-8")).hexdigest()
