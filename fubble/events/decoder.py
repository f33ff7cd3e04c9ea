"""The one definition of a valid usage event, and the decoder every way in uses.

``POST /events/`` (:func:`decode_event`), ``POST /events/batch`` (:func:`decode_batch`) and ``fubble events import``
(:func:`decode_line`, one line or CSV row at a time) all decode JSON bytes with :class:`_WireEvent` (msgspec: the
JSON types and the field names) and then :func:`_checked` (every rule about values, those of ``quantity``,
``event_time`` and ``properties`` read by :mod:`fubble.events.field_parsers`), so they give the same verdict and the
same message for any event, and a rule about an event's own values is changed here (or in those parsers) and
nowhere else (the rules against stored state, the customer and the metric an event names, are
:mod:`fubble.events.service`'s). The pydantic :class:`~fubble.events.schemas.EventIn` only documents this definition
in the OpenAPI document; its field types are the shared ones of :mod:`fubble.api.fields`, from which the limits below
are read (``tests/events/test_openapi.py`` checks the two agree).

An event:

* names its customer by ``customer_id`` (an integer 1..2147483647) and/or ``external_customer_id``;
* ``metric_name`` (not blank), ``external_customer_id`` and ``event_id`` are strings of 1..255 characters without
  NUL (PostgreSQL cannot store one);
* has a ``quantity``, and optionally an ``event_time`` (otherwise now) and ``properties``, each as
  :mod:`fubble.events.field_parsers` reads it;
* no other field.

A refused event's errors are ``(field, message)`` pairs: a single event's 422 locates them at ``["body", field]``,
a batch's 422 lists each bad event by index with ``"field: message"`` reasons, an import names the line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

import msgspec

from fubble.api.fields import MAX_ID, NOT_BLANK
from fubble.api.json import parse_decimal
from fubble.errors import InvalidInput
from fubble.events.field_parsers import parse_quantity, properties_problem, utc_time

MAX_TEXT = 255  # ShortText / Name in fubble.api.fields
_NOT_BLANK = re.compile(NOT_BLANK)


class ParsedEvent(NamedTuple):
    """A valid event, as sent (the customer as named; ``event_time`` ``None`` when left out)."""

    customer_id: int | None
    external_customer_id: str | None
    metric_name: str
    quantity: Decimal
    event_time: datetime | None
    properties: dict[str, Any] | None
    event_id: str | None


class Refused(NamedTuple):
    """An invalid event of a batch: its ``event_id`` (if a string) and what is wrong with it."""

    event_id: str | None
    reasons: list[str]


class _WireEvent(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """The JSON shape of an event: field names and JSON types (values are :func:`_checked`)."""

    metric_name: str
    quantity: Any  # a number or a numeric string: checked by parse_quantity
    customer_id: Any = None  # checked by _customer_id: JSON Schema's integers include 1.0
    external_customer_id: str | None = None
    event_time: Any = None  # checked by utc_time, so a number gets the date-time message
    properties: dict[str, Any] | None = None
    event_id: str | None = None


class _WireBatch(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    events: list[_WireEvent]


class _RawBatch(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    events: list[msgspec.Raw]


# Numbers become exact Decimals (as fubble.api.json parses them); their size is a rule of the field they are in.
_EVENT = msgspec.json.Decoder(_WireEvent, float_hook=parse_decimal)
_BATCH = msgspec.json.Decoder(_WireBatch, float_hook=parse_decimal)
_RAW_BATCH = msgspec.json.Decoder(_RawBatch)
_BOM = b"\xef\xbb\xbf"

Problems = list[tuple[str, str]]  # (field, message); field "" for the event as a whole


class Malformed(Exception):
    """The bytes are not JSON (the message says where)."""


def decode_event(body: bytes) -> ParsedEvent | None:
    """The event of a ``POST /events/`` body; :class:`~fubble.errors.InvalidInput` (422, each error located at
    ``["body", field]``) if it is not valid; ``None`` if the body is not JSON (the FastAPI route, whose JSON parser
    reads every body the API takes, then says where)."""
    try:
        outcome = decode_line(body)
    except Malformed:
        return None
    if isinstance(outcome, ParsedEvent):
        return outcome
    raise InvalidInput(
        [{"loc": ["body", field] if field else ["body"], "msg": msg, "type": "value_error"} for field, msg in outcome]
    )


def decode_line(body: bytes) -> ParsedEvent | Problems:
    """The event of one JSON document, or what is wrong with it; :class:`Malformed` if it is not JSON."""
    try:
        wire = _EVENT.decode(body)
    except msgspec.ValidationError as exc:
        return _fields_problems(body) or [_located(str(exc))]
    except msgspec.DecodeError as exc:
        if body.startswith(_BOM):
            return decode_line(body[len(_BOM) :])
        raise Malformed(_malformed(exc)) from exc
    return _checked(wire)


def decode_batch(body: bytes, max_events: int) -> list[ParsedEvent | Refused] | None:
    """The events of a ``POST /events/batch`` body, 1 to ``max_events`` of them, each valid or :class:`Refused` (the
    service then fails the batch listing every bad event, these and those it finds itself, by index:
    :func:`batch_errors`). A 422 for a body that is not a batch; ``None`` if it is not JSON (as for
    :func:`decode_event`)."""
    if body.startswith(_BOM):
        body = body[len(_BOM) :]
    try:
        wires: Sequence[_WireEvent | msgspec.Raw] = _BATCH.decode(body).events
    except msgspec.ValidationError:  # an event, or the body itself, is not of the shape: find out which
        try:
            wires = _RAW_BATCH.decode(body).events
        except msgspec.ValidationError as exc:
            field, msg = _located(str(exc), "a batch")
            raise InvalidInput.at(("body", field) if field else ("body",), msg) from exc
    except msgspec.DecodeError:
        return None
    check_count(len(wires), max_events)
    events: list[ParsedEvent | Refused] = []
    for wire in wires:
        outcome = _checked(wire) if isinstance(wire, _WireEvent) else decode_line(bytes(wire))  # it parsed
        events.append(outcome if isinstance(outcome, ParsedEvent) else Refused(_event_id_of(wire), reasons(outcome)))
    return events


def check_count(count: int, max_events: int) -> None:
    if count < 1:
        raise InvalidInput.at(("body", "events"), "must hold at least one event")
    if count > max_events:
        raise InvalidInput.at(("body", "events"), f"holds {count} events; at most {max_events} are allowed")


def reasons(problems: Problems) -> list[str]:
    """An event's problems as the reasons a batch error or an import line gives (``"field: message"``)."""
    return [f"{field}: {msg}" if field else msg for field, msg in problems]


def batch_errors(event_ids: Sequence[str | None], problems: dict[int, list[str]]) -> dict[str, Any]:
    """The 422 detail of a refused batch: every bad event by index, with its ``event_id`` and reasons."""
    errors = [
        {"index": index, "event_id": event_ids[index], "reason": "; ".join(problems[index])}
        for index in sorted(problems)
    ]
    count = len(errors)
    return {
        "message": f"{count} of {len(event_ids)} events {'is' if count == 1 else 'are'} invalid; nothing was stored",
        "errors": errors,
    }


_FIELDS = frozenset(_WireEvent.__struct_fields__)
_REQUIRED = [field for field in _WireEvent.__struct_fields__ if field in ("metric_name", "quantity")]


def _fields_problems(body: bytes) -> Problems:
    """Every unknown and every missing field of an event (msgspec names only the first), if that is what is wrong."""
    try:
        value = msgspec.json.decode(body)
    except msgspec.MsgspecError:
        return []
    if not isinstance(value, dict):
        return []
    problems = [(str(key), "is not a field of an event") for key in value if key not in _FIELDS]
    return problems + [(field, "is required") for field in _REQUIRED if field not in value]


def _event_id_of(wire: _WireEvent | msgspec.Raw) -> str | None:
    if isinstance(wire, _WireEvent):
        return wire.event_id
    try:
        value = msgspec.json.decode(bytes(wire))
    except msgspec.DecodeError:
        return None
    event_id = value.get("event_id") if isinstance(value, dict) else None
    return event_id if isinstance(event_id, str) else None


_EXPECTED = re.compile(r"^Expected `([^`]*)`, got `([^`]*)`$")
_KINDS = {"int": "an integer", "str": "a string", "object": "a JSON object", "array": "a list", "null": "null"}
_KINDS |= {"float": "a number", "bool": "a boolean"}


def _kind(names: str) -> str:
    return " or ".join(_KINDS.get(name, name) for name in names.split(" | ") if name != "null")


_AT = re.compile(r"^(.*?)(?: - at `\$(?:\.events\[\d+\])?(?:\.(\w+))?[^`]*`)?$", re.DOTALL)
_FIELD_NAMED = re.compile(r"^Object (missing required|contains unknown) field `([^`]*)`$")


def _located(message: str, what: str = "an event") -> tuple[str, str]:
    """``(field, message)`` of a msgspec validation error (``... - at `$.quantity```)."""
    match = _AT.match(message)
    text, field = (match.group(1), match.group(2) or "") if match else (message, "")
    named = _FIELD_NAMED.match(text)
    if named:
        field = named.group(2)
        text = "is required" if named.group(1) == "missing required" else f"is not a field of {what}"
    expected = _EXPECTED.match(text)
    if expected:
        text = f"must be {_kind(expected.group(1))}, not {_kind(expected.group(2))}"
    return field, text


def _malformed(exc: msgspec.DecodeError) -> str:
    return f"invalid JSON: {str(exc).removeprefix('JSON is malformed: ')}"


def _checked(wire: _WireEvent) -> ParsedEvent | Problems:
    """The rules about an event's values (its JSON shape was checked by msgspec)."""
    problems: Problems = []
    customer_id = _customer_id(problems, wire.customer_id)
    external = wire.external_customer_id
    if external is not None:
        _text(problems, "external_customer_id", external)
    if wire.customer_id is None and external is None:
        problems.append(("customer_id", "customer_id or external_customer_id is required"))
    name = wire.metric_name
    _text(problems, "metric_name", name)
    if name and not _NOT_BLANK.search(name):
        problems.append(("metric_name", "must not be blank"))
    quantity = parse_quantity(wire.quantity)
    if type(quantity) is str:
        problems.append(("quantity", quantity))
    event_time = None
    if wire.event_time is not None:
        event_time = utc_time(wire.event_time)
        if type(event_time) is str:
            problems.append(("event_time", event_time))
    properties = wire.properties
    if properties is not None:
        problem = properties_problem(properties)
        if problem is not None:
            problems.append(("properties", problem))
    event_id = wire.event_id
    if event_id is not None:
        _text(problems, "event_id", event_id)
    if problems or isinstance(quantity, str) or isinstance(event_time, str):  # (the second two: for mypy)
        return problems
    return ParsedEvent(customer_id, external, name, quantity, event_time, properties, event_id)


def _customer_id(problems: Problems, value: Any) -> int | None:
    """An integer 1..MAX_ID: a JSON integer, or a number with no fraction (``1.0``, as JSON Schema counts integers)."""
    if value is None:
        return None
    if type(value) is Decimal and value.is_finite() and value == value.to_integral_value():
        value = int(value) if 1 <= value <= MAX_ID else 0
    if type(value) is not int:
        kind = _KINDS[
            "bool" if type(value) is bool else "float" if type(value) is Decimal else _WIRE_KINDS[type(value)]
        ]
        problems.append(("customer_id", f"must be an integer, not {kind}"))
        return None
    if not 1 <= value <= MAX_ID:
        problems.append(("customer_id", f"must be between 1 and {MAX_ID}"))
        return None
    return value


_WIRE_KINDS: dict[type, str] = {str: "str", dict: "object", list: "array"}


def _text(problems: Problems, field: str, value: str) -> None:
    if not 1 <= len(value) <= MAX_TEXT:
        problems.append((field, f"must be 1 to {MAX_TEXT} characters long"))
    elif "\x00" in value:
        problems.append((field, "must not contain NUL characters"))
