"""The batch fast path (fubble.events.fast) accepts only what EventIn accepts, with the same values, and the direct
fingerprint equals its reference definition."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from fubble.api.json import loads
from fubble.events.fast import quick_parse
from fubble.events.fingerprint import fingerprint, reference_fingerprint
from fubble.events.schemas import EventIn

BASE: dict[str, Any] = {"customer_id": 1, "metric_name": "api_calls", "quantity": 1}

CASES: list[dict[str, Any]] = [
    BASE,
    {**BASE, "event_id": "k-1", "event_time": "2024-01-01T00:00:00Z"},
    {**BASE, "event_time": "2024-01-01T00:00:00.5+00:00"},
    {**BASE, "event_time": "2024-01-01T00:00:00.123456Z"},
    {**BASE, "event_time": "2024-01-01T00:00:00.1234567Z"},
    {**BASE, "event_time": "2024-01-01T02:00:00+02:00"},
    {**BASE, "event_time": "2024-01-01"},
    {**BASE, "event_time": "1899-12-31T23:59:59Z"},
    {**BASE, "event_time": "9000-01-01T00:00:00Z"},
    {**BASE, "event_time": "2024-02-30T00:00:00Z"},
    {**BASE, "event_time": 1700000000},
    {**BASE, "event_time": None},
    {**BASE, "quantity": Decimal("0.000000000001")},
    {**BASE, "quantity": Decimal("0.0000000000001")},
    {**BASE, "quantity": Decimal("1.000000000000000")},
    {**BASE, "quantity": Decimal("99999999999999999999.999999999999")},
    {**BASE, "quantity": Decimal("100000000000000000000")},
    {**BASE, "quantity": 10**20 - 1},
    {**BASE, "quantity": 10**20},
    {**BASE, "quantity": Decimal("1E+2")},
    {**BASE, "quantity": Decimal("1E-2")},
    {**BASE, "quantity": 0},
    {**BASE, "quantity": -1},
    {**BASE, "quantity": True},
    {**BASE, "quantity": "2.5"},
    {**BASE, "quantity": None},
    {**BASE, "customer_id": True},
    {**BASE, "customer_id": 0},
    {**BASE, "customer_id": 2_147_483_648},
    {**BASE, "customer_id": "1"},
    {**BASE, "customer_id": None},
    {**BASE, "customer_id": None, "external_customer_id": "ext-1"},
    {**BASE, "external_customer_id": ""},
    {**BASE, "external_customer_id": "x" * 256},
    {**BASE, "metric_name": " "},
    {**BASE, "metric_name": ""},
    {**BASE, "metric_name": "a\x00b"},
    {**BASE, "metric_name": "m" * 255},
    {**BASE, "metric_name": "m" * 256},
    {**BASE, "metric_name": 5},
    {**BASE, "event_id": ""},
    {**BASE, "event_id": "k" * 255},
    {**BASE, "event_id": "k" * 256},
    {**BASE, "event_id": 7},
    {**BASE, "properties": {}},
    {**BASE, "properties": {"b": [1, Decimal("2.50"), "x"], "a": {"n": None, "t": True}}},
    {**BASE, "properties": {"big": "x" * 20_000}},
    {**BASE, "properties": []},
    {**BASE, "properties": {1: "not a JSON key"}},
    {**BASE, "extra": 1},
    {"metric_name": "api_calls", "quantity": 1},
    [],
    "event",
]


def _schema(raw: Any) -> EventIn | None:
    try:
        return EventIn.model_validate(raw)
    except ValidationError:
        return None


@pytest.mark.parametrize("raw", CASES, ids=[str(i) for i in range(len(CASES))])
def test_fast_path_agrees_with_the_schema(raw: Any) -> None:
    fast = quick_parse(raw)
    if fast is None:
        return  # EventIn decides, as before
    model = _schema(raw)
    assert model is not None, f"the fast path accepted what EventIn refuses: {raw!r}"
    for field in fast._fields:
        value, expected = getattr(fast, field), getattr(model, field)
        assert value == expected and type(value) is type(expected), field
    assert str(fast.quantity) == str(model.quantity)
    assert fingerprint(fast) == reference_fingerprint(model)


@pytest.mark.parametrize("raw", [c for c in CASES if _schema(c) is not None])
def test_fingerprint_equals_its_definition(raw: dict[str, Any]) -> None:
    event = EventIn.model_validate(raw)
    assert fingerprint(event) == reference_fingerprint(event)


@settings(max_examples=200, deadline=None)
@given(
    number=st.from_regex(r"-?[0-9]{1,22}(\.[0-9]{0,14})?([eE][+-]?[0-9]{1,2})?", fullmatch=True),
    text=st.text(max_size=8),
    stamp=st.from_regex(
        r"[12][0-9]{3}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9](\.[0-9]{1,7})?(Z|[+-][0-2][0-9]:[0-6][0-9])?",
        fullmatch=True,
    ),
)
def test_random_events_agree(number: str, text: str, stamp: str) -> None:
    try:
        value = loads(number)  # as the request parser reads it: an int or an exact Decimal
    except ValueError:
        assume(False)
    raw = {
        "customer_id": 3,
        "metric_name": "m",
        "quantity": value,
        "event_time": stamp,
        "event_id": text,
        "properties": {"v": value},
    }
    fast = quick_parse(raw)
    model = _schema(raw)
    if fast is not None:
        assert model is not None
        assert tuple(fast) == tuple(getattr(model, f) for f in fast._fields)
        assert fingerprint(fast) == reference_fingerprint(model)
    if model is not None:
        assert fingerprint(model) == reference_fingerprint(model)
