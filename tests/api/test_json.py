from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from fubble.api.json import dumps, exponent_problem, loads


def test_numbers_parse_exactly() -> None:
    assert loads(b'{"a": 0.1, "b": 12.345, "c": 10, "d": 0.12345678901234567890123}') == {
        "a": Decimal("0.1"),
        "b": Decimal("12.345"),
        "c": 10,
        "d": Decimal("0.12345678901234567890123"),
    }


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_constants_are_rejected(constant: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        loads(f'{{"a": {constant}}}')


def test_deep_nesting_is_a_decode_error_not_a_crash() -> None:
    with pytest.raises(json.JSONDecodeError):
        loads("[" * 100_000 + "]" * 100_000)


def test_decimals_are_written_with_their_exact_digits() -> None:
    assert dumps({"amount": Decimal("161.21"), "q": Decimal("1E+2"), "z": Decimal("0.000")}) == (
        b'{"amount":161.21,"q":100,"z":0.000}'
    )


def test_datetimes_are_written_as_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert dumps([datetime(2024, 1, 1, 14, tzinfo=plus_two), datetime(2024, 1, 1)]) == (
        b'["2024-01-01T12:00:00Z","2024-01-01T00:00:00Z"]'
    )
    assert dumps(datetime(2024, 1, 1, tzinfo=UTC)) == b'"2024-01-01T00:00:00Z"'


def test_floats_never_reach_the_wire() -> None:
    with pytest.raises(TypeError):
        dumps({"amount": 0.1})


@pytest.mark.parametrize("number", ["1" * 100, "0." + "1" * 100])
def test_absurdly_long_numbers_are_a_decode_error(number: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        loads(f'{{"a": {number}}}')


@pytest.mark.parametrize("number", ["1e99999", "1e-99999", "5e-324", "3.2e66"])
def test_numbers_with_any_exponent_parse_so_their_field_can_refuse_them(number: str) -> None:
    assert loads(f'{{"a": {number}}}') == {"a": Decimal(number)}
    assert exponent_problem(loads(f'{{"m": [{{"a": {number}}}]}}')) is not None


@pytest.mark.parametrize("number", ["0", "0.1", "1e-40", "9e40", "100.0000000000000000000000000000000000000000000"])
def test_numbers_free_form_json_may_hold(number: str) -> None:
    assert exponent_problem(loads(f'{{"m": [{{"a": {number}}}]}}')) is None
