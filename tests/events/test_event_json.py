"""The direct rendering of an event (fubble.events.event_json) is byte for byte what the generic JSON writer gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from fubble.api.json import ExactJSONResponse, dumps
from fubble.events.event_json import event_json
from fubble.events.schemas import EventOut

_TEXT = st.text(max_size=12) | st.sampled_from(["\u2028\u2029", '"\\', "\x00\x1f\x7f", "é😀"])
_DECIMAL = st.decimals(allow_nan=False, allow_infinity=False, places=None, min_value=-(10**25), max_value=10**25)
_LEAF = st.none() | st.booleans() | st.integers() | _DECIMAL | _TEXT
_PROPERTIES = st.none() | st.dictionaries(
    _TEXT, st.recursive(_LEAF, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3))
)
_MOMENT = st.builds(
    lambda moment, minutes: moment.replace(tzinfo=timezone(timedelta(minutes=minutes))) if minutes else moment,
    st.datetimes(min_value=datetime(1901, 1, 1), max_value=datetime(8999, 1, 1), timezones=st.just(UTC)),
    st.integers(-600, 600),
)


@settings(max_examples=300, deadline=None)
@given(
    id=st.integers(1, 2**31),
    event_id=st.none() | _TEXT,
    customer_id=st.integers(1, 2**31),
    metric_name=_TEXT,
    quantity=_DECIMAL,
    event_time=_MOMENT,
    properties=_PROPERTIES,
    received_at=_MOMENT,
)
def test_event_json_is_the_generic_rendering(**fields: Any) -> None:
    event = EventOut(**fields)
    assert event_json(event) == dumps(event) == ExactJSONResponse(event).body


def test_an_example() -> None:
    event = EventOut(
        id=7,
        event_id="k",
        customer_id=3,
        metric_name="api_calls",
        quantity=Decimal("1E+2"),
        event_time=datetime(2024, 1, 1, 12, tzinfo=UTC),
        properties={"b": [Decimal("1.50")], "a": None},
        received_at=datetime(2024, 1, 1, 13, 0, 0, 5, tzinfo=UTC),
    )
    assert event_json(event) == (
        b'{"id":7,"event_id":"k","customer_id":3,"metric_name":"api_calls","quantity":100,'
        b'"event_time":"2024-01-01T12:00:00Z","properties":{"b":[1.50],"a":null},'
        b'"received_at":"2024-01-01T13:00:00.000005Z"}'
    )
