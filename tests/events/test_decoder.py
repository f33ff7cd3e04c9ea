"""fubble.events.decoder is the one definition of a valid event; EventIn documents it in the OpenAPI document with
the shared field types of fubble.api.fields. The two agree: what the decoder accepts, EventIn accepts with the same
values (and fingerprint); what EventIn refuses, the decoder refuses. The decoder is stricter in one way only, where
EventIn's pydantic would convert types its own schema does not allow (``"1"`` or ``1.0`` as an integer id; ``true`` is
refused by both).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from fubble.api.json import loads
from fubble.errors import InvalidInput
from fubble.events.decoder import Malformed, ParsedEvent, Refused, decode_batch, decode_event, decode_line
from fubble.events.fingerprint import fingerprint, reference_fingerprint
from fubble.events.schemas import EventIn


def _documented(body: bytes) -> EventIn | None:
    """What EventIn (the documentation) makes of the body (None: refused)."""
    try:
        model = EventIn.model_validate(loads(body))
    except (ValueError, ValidationError):  # JSONDecodeError is a ValueError
        return None
    if model.customer_id is None and model.external_customer_id is None:  # the schema's anyOf
        return None
    return model


def _decoded(body: bytes) -> ParsedEvent | list[tuple[str, str]] | None:
    try:
        return decode_line(body)
    except Malformed:
        return None


_STRICTER = (
    "must be an integer, not a string",
    "must be an integer, not a boolean",
    "must be an integer, not a number",
)


def _agrees(body: bytes) -> ParsedEvent | None:
    decoded = _decoded(body)
    model = _documented(body)
    if not isinstance(decoded, ParsedEvent):
        if model is not None:  # only where pydantic converts what the schema does not allow
            assert isinstance(decoded, list) and all(
                field == "customer_id" and msg in _STRICTER for field, msg in decoded
            ), (body, decoded)
        return None
    assert model is not None, f"the decoder accepted what EventIn refuses: {body!r}"
    for field in decoded._fields:
        value, expected = getattr(decoded, field), getattr(model, field)
        assert value == expected and type(value) is type(expected), (field, value, expected)
    assert str(decoded.quantity) == str(model.quantity), body
    if decoded.event_time is not None:
        assert decoded.event_time.tzinfo is UTC and decoded.event_time.isoformat() == model.event_time.isoformat()  # type: ignore[union-attr]
    assert fingerprint(decoded) == reference_fingerprint(model) == fingerprint(model)
    return decoded


BASE = '"customer_id":1,"metric_name":"api_calls","quantity":1'

CASES = [
    "{" + BASE + "}",
    "{" + BASE + ',"event_id":"k-1","event_time":"2024-01-01T00:00:00Z"}',
    "{" + BASE + ',"event_time":"2024-01-01T02:30:00+02:30"}',
    "{" + BASE + ',"event_time":"2024-01-01T02:30:00-11:59"}',
    "{" + BASE + ',"event_time":"2024-01-01T02:30:00"}',
    "{" + BASE + ',"event_time":"2024-01-01T02:30:00.5"}',
    "{" + BASE + ',"event_time":"2024-01-01T02:30:00.1234567Z"}',
    "{" + BASE + ',"event_time":"2024-01-01 02:30:00Z"}',
    "{" + BASE + ',"event_time":"2024-01-01T02:30Z"}',
    "{" + BASE + ',"event_time":"2024-01-01"}',
    "{" + BASE + ',"event_time":"1900-01-01T00:30:00+01:00"}',
    "{" + BASE + ',"event_time":"8999-12-31T23:30:00-01:00"}',
    "{" + BASE + ',"event_time":"0001-01-01T00:00:00+01:00"}',
    "{" + BASE + ',"event_time":"2024-02-30T00:00:00Z"}',
    "{" + BASE + ',"event_time":"2024-01-01T24:00:00Z"}',
    "{" + BASE + ',"event_time":1700000000}',
    "{" + BASE + ',"event_time":null}',
    '{"customer_id":1,"metric_name":"m","quantity":0.000000000001}',
    '{"customer_id":1,"metric_name":"m","quantity":0.0000000000001}',
    '{"customer_id":1,"metric_name":"m","quantity":1.000000000000000}',
    '{"customer_id":1,"metric_name":"m","quantity":99999999999999999999.999999999999}',
    '{"customer_id":1,"metric_name":"m","quantity":100000000000000000000}',
    '{"customer_id":1,"metric_name":"m","quantity":1e2}',
    '{"customer_id":1,"metric_name":"m","quantity":0}',
    '{"customer_id":1,"metric_name":"m","quantity":0.0}',
    '{"customer_id":1,"metric_name":"m","quantity":-1}',
    '{"customer_id":1,"metric_name":"m","quantity":-0.0}',
    '{"customer_id":1,"metric_name":"m","quantity":"2.5"}',
    '{"customer_id":1,"metric_name":"m","quantity":true}',
    '{"customer_id":1,"metric_name":"m","quantity":NaN}',
    '{"customer_id":1,"metric_name":"m","quantity":1,"quantity":2}',
    '{"customer_id":true,"metric_name":"m","quantity":1}',
    '{"customer_id":0,"metric_name":"m","quantity":1}',
    '{"customer_id":2147483647,"metric_name":"m","quantity":1}',
    '{"customer_id":2147483648,"metric_name":"m","quantity":1}',
    '{"customer_id":1.0,"metric_name":"m","quantity":1}',
    '{"customer_id":"1","metric_name":"m","quantity":1}',
    '{"customer_id":null,"metric_name":"m","quantity":1}',
    '{"external_customer_id":"ext-1","metric_name":"m","quantity":1}',
    '{"customer_id":1,"external_customer_id":"","metric_name":"m","quantity":1}',
    '{"customer_id":1,"external_customer_id":"a\\u0000b","metric_name":"m","quantity":1}',
    '{"customer_id":1,"metric_name":" \\t","quantity":1}',
    '{"customer_id":1,"metric_name":"","quantity":1}',
    '{"customer_id":1,"metric_name":"\\u00e9t\\u00e9 \\ud83d\\ude00","quantity":1}',
    '{"customer_id":1,"metric_name":"\\ud800","quantity":1}',
    '{"customer_id":1,"metric_name":"m","quantity":1,"event_id":"' + "k" * 255 + '"}',
    '{"customer_id":1,"metric_name":"m","quantity":1,"event_id":"' + "k" * 256 + '"}',
    '{"customer_id":1,"metric_name":"m","quantity":1,"event_id":7}',
    '{"customer_id":1,"metric_name":"m","quantity":1,"properties":{}}',
    '{"customer_id":1,"metric_name":"m","quantity":1,"properties":{"b":[1,2.50,"x",1E+3],"a":{"n":null,"t":true}}}',
    '{"customer_id":1,"metric_name":"m","quantity":1,"properties":{"a":1,"a":2.0}}',
    '{"customer_id":1,"metric_name":"m","quantity":1,"properties":{"big":"' + "x" * 20_000 + '"}}',
    '{"customer_id":1,"metric_name":"m","quantity":1,"properties":{"n":' + "9" * 65 + "}}",
    '{"customer_id":1,"metric_name":"m","quantity":1,"properties":{"n":' + "9" * 64 + "}}",
    '{"customer_id":1,"metric_name":"m","quantity":1,"properties":{"n":1e41}}',
    '{"customer_id":1,"metric_name":"m","quantity":1,"properties":{"n":1e0000000000000000000000000000000000000000000000000000000000000001}}',
    '{"customer_id":1,"metric_name":"m","quantity":1,"properties":{"n":' + "[" * 40 + "]" * 40 + "}}",
    '{"customer_id":1,"metric_name":"m","quantity":1,"properties":[]}',
    '{"customer_id":1,"metric_name":"m","quantity":1,"extra":1}',
    '{"metric_name":"m","quantity":1}',
    '{"customer_id":1,"metric_name":"m","quantity":1}x',
    '\ufeff{"customer_id":1,"metric_name":"m","quantity":1}',
    ' {"customer_id":1,"metric_name":"m","quantity":1}\n',
    "[]",
    '"event"',
    "",
]


@pytest.mark.parametrize("body", CASES, ids=[str(i) for i in range(len(CASES))])
def test_decoder_agrees_with_its_documentation(body: str) -> None:
    _agrees(body.encode())


def test_the_common_shape_is_decoded() -> None:
    for body in CASES[:6]:
        assert isinstance(decode_event(body.encode()), ParsedEvent), body
    event = decode_event(
        b'{"customer_id":1,"metric_name":"m","quantity":2.50,"event_time":"2024-01-01T02:30:00+02:30"}'
    )
    assert event is not None
    assert event.quantity == Decimal("2.50") and str(event.quantity) == "2.50"
    assert event.event_time == datetime(2024, 1, 1, 0, 0, tzinfo=UTC)


def test_invalid_utf8_is_left_to_the_route() -> None:
    """Not JSON: the FastAPI route's JSON parser says where."""
    assert decode_event(b'{"customer_id":1,"metric_name":"m\xff","quantity":1}') is None


def test_an_invalid_event_is_a_422_naming_each_field() -> None:
    with pytest.raises(InvalidInput) as refused:
        decode_event(b'{"metric_name":" ","quantity":5e-324,"event_time":0}')
    assert refused.value.detail == [
        {
            "loc": ["body", "customer_id"],
            "msg": "customer_id or external_customer_id is required",
            "type": "value_error",
        },
        {"loc": ["body", "metric_name"], "msg": "must not be blank", "type": "value_error"},
        {"loc": ["body", "quantity"], "msg": "must have at most 12 decimal places", "type": "value_error"},
        {
            "loc": ["body", "event_time"],
            "msg": "must be an ISO 8601 date-time string such as 2024-01-31T12:00:00Z (naive means UTC)",
            "type": "value_error",
        },
    ]


def _json_number() -> st.SearchStrategy[str]:
    return st.from_regex(r"-?(0|[1-9][0-9]{0,22})(\.[0-9]{1,14})?([eE][+-]?[0-9]{1,3})?", fullmatch=True)


_STAMP = st.from_regex(
    r"[0-9]{4}-[01][0-9]-[0-3][0-9][T ][0-2][0-9]:[0-6][0-9](:[0-6][0-9](\.[0-9]{1,7})?)?"
    r"(Z|z|[+-][0-2][0-9]:?[0-6][0-9])?",
    fullmatch=True,
)
_TEXT = st.text(max_size=6) | st.sampled_from(["", " ", "a\x00", "x" * 255, "x" * 256, "\u2028", "é"])
_PLAIN = st.sampled_from(["null", "true", "false"]) | _json_number() | _TEXT.map(json.dumps)


def _properties() -> st.SearchStrategy[str]:
    values = st.recursive(
        _PLAIN,
        lambda inner: (
            st.lists(inner, max_size=3).map(lambda xs: "[" + ",".join(xs) + "]")
            | st.dictionaries(_TEXT, inner, max_size=3).map(
                lambda d: "{" + ",".join(json.dumps(k) + ":" + v for k, v in d.items()) + "}"
            )
        ),
        max_leaves=6,
    )
    return st.dictionaries(_TEXT, values, max_size=3).map(
        lambda d: "{" + ",".join(json.dumps(k) + ":" + v for k, v in d.items()) + "}"
    )


def _mostly(valid: st.SearchStrategy[Any], invalid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Valid values seven times out of eight, so many generated bodies are valid (or nearly)."""
    return st.integers(0, 7).flatmap(lambda n: invalid if n == 7 else valid)


def _stamp(moment: datetime, offset: int, fraction: int, form: int) -> str:
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if fraction:
        text += "." + f"{moment.microsecond:06d}"[:fraction]
    if form == 1:
        text += "Z"
    elif form == 2:
        text += f"{'+' if offset >= 0 else '-'}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"
    return json.dumps(text)


_VALID_STAMP = st.builds(
    _stamp,
    st.datetimes(min_value=datetime(1899, 12, 30), max_value=datetime(9000, 1, 2)),
    st.integers(-24 * 60 + 1, 24 * 60 - 1),
    st.integers(0, 6),
    st.integers(0, 2),
)
_VALID_TEXT = st.text(min_size=1, max_size=8).map(json.dumps)
_VALID_QUANTITY = st.from_regex(r"[1-9][0-9]{0,20}(\.[0-9]{1,13})?|0\.[0-9]{0,12}[1-9]", fullmatch=True)


@settings(max_examples=500, deadline=None)
@given(
    customer_id=_mostly(st.integers(1, 2**31 - 1).map(str), st.none() | st.integers(-2, 2**31 + 1).map(str) | _PLAIN),
    external=_mostly(st.none() | _VALID_TEXT, _TEXT.map(json.dumps) | _PLAIN),
    metric=_mostly(_VALID_TEXT, _TEXT.map(json.dumps) | _PLAIN),
    quantity=_mostly(_VALID_QUANTITY, _json_number() | _PLAIN),
    stamp=_mostly(st.none() | _VALID_STAMP, _STAMP.map(json.dumps) | _PLAIN),
    properties=_mostly(st.none() | _properties(), _PLAIN),
    event_id=_mostly(st.none() | _VALID_TEXT, _TEXT.map(json.dumps) | _PLAIN),
    extra=st.integers(0, 9).map(lambda n: n == 9),
)
@example(
    customer_id="3",
    external=None,
    metric='"m"',
    quantity="12.5",
    stamp='"2024-03-01T10:00:00+05:30"',
    properties='{"a":[1.50,2]}',
    event_id='"k"',
    extra=False,
)
def test_random_bodies_agree(
    customer_id: str | None,
    external: str | None,
    metric: str,
    quantity: str,
    stamp: str | None,
    properties: str | None,
    event_id: str | None,
    extra: bool,
) -> None:
    fields = {
        "customer_id": customer_id,
        "external_customer_id": external,
        "metric_name": metric,
        "quantity": quantity,
        "event_time": stamp,
        "properties": properties,
        "event_id": event_id,
    }
    parts = [f'"{name}":{value}' for name, value in fields.items() if value is not None]
    if extra:
        parts.append('"unknown":1')
    _agrees(("{" + ",".join(parts) + "}").encode())


@settings(max_examples=100, deadline=None)
@given(quantity=_json_number(), stamp=_STAMP)
def test_random_batches_agree(quantity: str, stamp: str) -> None:
    good = '{"customer_id":1,"metric_name":"m","quantity":1,"event_id":"a"}'
    other = '{"customer_id":2,"metric_name":"m","quantity":' + quantity + ',"event_time":"' + stamp + '"}'
    body = ('{"events":[' + good + "," + other + "]}").encode()
    events = decode_batch(body, 10)
    assert events is not None  # JSON
    single = _decoded(other.encode())
    if isinstance(single, ParsedEvent):
        assert events == [decode_line(good.encode()), single]
    else:
        assert single is not None and events[1] == Refused(None, [f"{f}: {m}" for f, m in single])
    _agrees(other.encode())


def test_batch_shape() -> None:
    event = '{"customer_id":1,"metric_name":"m","quantity":1}'
    assert decode_batch(('{"events":[' + event + "]}").encode(), 1) is not None
    with pytest.raises(InvalidInput, match="holds 2 events; at most 1 are allowed"):
        decode_batch(('{"events":[' + event + "," + event + "]}").encode(), 1)
    with pytest.raises(InvalidInput, match="must hold at least one event"):
        decode_batch(b'{"events":[]}', 10)
    with pytest.raises(InvalidInput, match="is not a field of a batch"):
        decode_batch(('{"events":[' + event + '],"x":1}').encode(), 10)
    assert decode_batch(('{"events":[' + event + ',{"customer_id":1}]}').encode(), 10) == [
        decode_line(event.encode()),
        Refused(None, ["metric_name: is required", "quantity: is required"]),
    ]
    with pytest.raises(InvalidInput) as refused:
        decode_batch(b'{"events":{}}', 10)
    assert refused.value.detail[0]["loc"] == ["body", "events"]
    with pytest.raises(InvalidInput, match="must be a JSON object, not a list"):
        decode_batch(("[" + event + "]").encode(), 10)
    assert decode_batch(b'{"events":[', 10) is None  # not JSON: the FastAPI route says where
