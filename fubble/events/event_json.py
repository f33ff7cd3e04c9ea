"""An :class:`~fubble.events.schemas.EventOut` as response bytes, written directly: the same bytes as
:func:`fubble.api.json.dumps` gives (fields in model order, exact decimal digits, ``...Z`` times, the same string
escaping), without the model dump and the generic walk."""

from __future__ import annotations

from datetime import UTC, datetime

from simplejson.encoder import encode_basestring

from fubble.api.json import dumps
from fubble.db.types import decimal_text, to_utc
from fubble.events.schemas import EventOut


def event_json(event: EventOut) -> bytes:
    event_id = event.event_id
    properties = event.properties
    text = (
        '{"id":'
        + str(int(event.id))
        + ',"event_id":'
        + ("null" if event_id is None else encode_basestring(event_id))
        + ',"customer_id":'
        + str(int(event.customer_id))
        + ',"metric_name":'
        + encode_basestring(event.metric_name)
        + ',"quantity":'
        + decimal_text(event.quantity)
        + ',"event_time":'
        + _time(event.event_time)
        + ',"properties":'
        + ("null" if properties is None else dumps(properties).decode())
        + ',"received_at":'
        + _time(event.received_at)
        + "}"
    )
    return text.encode()


_TIMES: dict[datetime, str] = {}
_CACHE_LIMIT = 4096


def _time(value: datetime) -> str:
    """``"...Z"`` like :func:`fubble.api.json.dumps` writes an instant (cached for UTC instants, which are all an
    event holds; an equal instant with another offset is not looked up)."""
    if value.tzinfo is not UTC:
        return '"' + to_utc(value).isoformat().replace("+00:00", "Z") + '"'
    text = _TIMES.get(value)
    if text is None:
        text = '"' + value.isoformat().replace("+00:00", "Z") + '"'
        if len(_TIMES) >= _CACHE_LIMIT:
            _TIMES.clear()
        _TIMES[value] = text
    return text
