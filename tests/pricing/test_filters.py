"""Which events a metric counts: property filters, parsed and matched (pure; the HTTP side is in tests/metrics)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from fubble.errors import InvalidInput
from fubble.pricing.filters import MAX_FILTERS, MAX_VALUES, PropertyFilter, matches, parse_filters

D = Decimal


def test_parse_eq_and_in() -> None:
    parsed = parse_filters([{"property": "status", "eq": 200}, {"property": "region", "in": ["eu", "us"]}])
    assert parsed == (PropertyFilter("status", (200,)), PropertyFilter("region", ("eu", "us")))
    assert [f.to_json() for f in parsed] == [
        {"property": "status", "eq": 200},
        {"property": "region", "in": ["eu", "us"]},
    ]
    assert parse_filters([{"property": "r", "in": ["eu"]}])[0].to_json() == {"property": "r", "eq": "eu"}
    assert parse_filters(None) == ()
    assert parse_filters([]) == ()
    assert parse_filters([{"property": "p", "in": [None, True, D("1.5"), "x"]}])[0].values == (
        None,
        True,
        D("1.5"),
        "x",
    )


@pytest.mark.parametrize(
    ("actual", "wanted", "same"),
    [
        (200, 200, True),
        (D("200.0"), 200, True),
        (200, D("200.00"), True),
        ("200", 200, False),
        (200, "200", False),
        (True, 1, False),
        (1, True, False),
        (True, True, True),
        (False, True, False),
        (None, None, True),
        (None, "None", False),
        ("eu", "eu", True),
        ("eu", "EU", False),
        (200.0, 200, True),  # a float from a non-JSON caller compares by its exact value
        (0.1, D("0.1"), True),
        (0.1, "0.1", False),
        ([1], 1, False),
    ],
)
def test_values_compare_as_json_scalars(actual: Any, wanted: Any, same: bool) -> None:
    only = PropertyFilter("p", (wanted,))
    assert only.holds({"p": actual}) is same
    assert PropertyFilter("p", ("other", wanted)).holds({"p": actual}) is same  # any listed value


def test_matching_is_and_and_a_missing_property_fails() -> None:
    filters = parse_filters([{"property": "a", "eq": 1}, {"property": "b", "eq": "x"}])
    assert matches(filters, {"a": 1, "b": "x", "c": 3}) is True
    assert matches(filters, {"a": 1, "b": "y"}) is False
    assert matches(filters, {"a": 2, "b": "x"}) is False
    assert matches(filters, {"a": 1}) is False
    assert matches(filters, None) is False
    assert matches((), None) is True  # no filters: every event counts
    assert PropertyFilter("a", (None,)).holds({}) is False  # absent is not null


def refused(raw: object) -> tuple[list[str | int], str]:
    with pytest.raises(InvalidInput) as exc:
        parse_filters(raw, ("metric", "filters"))
    (entry,) = exc.value.detail
    return entry["loc"], entry["msg"]


SHAPE = 'must have exactly "property" and one of "eq" or "in"'


@pytest.mark.parametrize(
    ("raw", "loc", "message"),
    [
        ("status", [], "must be a list of filters"),
        ({"property": "a", "eq": 1}, [], "must be a list of filters"),
        ([{"property": "a", "eq": 1}] * (MAX_FILTERS + 1), [], f"at most {MAX_FILTERS} filters"),
        ([1], [0], 'must be {"property": ..., "eq": ...} or {"property": ..., "in": [...]}'),
        ([{"eq": 1}], [0, "property"], "must be a property name (1 to 255 characters)"),
        ([{"property": "", "eq": 1}], [0, "property"], "must be a property name (1 to 255 characters)"),
        ([{"property": "a" * 256, "eq": 1}], [0, "property"], "must be a property name (1 to 255 characters)"),
        ([{"property": "a\x00", "eq": 1}], [0, "property"], "must be a property name (1 to 255 characters)"),
        ([{"property": 5, "eq": 1}], [0, "property"], "must be a property name (1 to 255 characters)"),
        ([{"property": "a"}], [0], SHAPE),
        ([{"property": "a", "eq": 1, "in": [1]}], [0], SHAPE),
        ([{"property": "a", "ne": 1}], [0], SHAPE),
        ([{"property": "a", "in": []}], [0, "in"], f"must be a list of 1 to {MAX_VALUES} values"),
        ([{"property": "a", "in": "ab"}], [0, "in"], f"must be a list of 1 to {MAX_VALUES} values"),
        ([{"property": "a", "in": 1}], [0, "in"], f"must be a list of 1 to {MAX_VALUES} values"),
        ([{"property": "a", "in": list(range(MAX_VALUES + 1))}], [0, "in"], "must be a list of 1 to 100 values"),
        ([{"property": "a", "eq": [1]}], [0, "eq"], "filter values must be strings, numbers, booleans or null"),
        ([{"property": "a", "eq": 1.5}], [0, "eq"], "filter values must be strings, numbers, booleans or null"),
        ([{"property": "a", "in": [1, {}]}], [0, "in", 1], "filter values must be strings, numbers, booleans or null"),
        ([{"property": "a", "eq": "x" * 513}], [0, "eq"], "filter values are at most 512 characters"),
        ([{"property": "a", "eq": 1}, {"property": "b"}], [1], SHAPE),
    ],
)
def test_refused_filters_name_the_entry(raw: object, loc: list[str | int], message: str) -> None:
    assert refused(raw) == (["metric", "filters", *loc], message)


def test_limits_are_inclusive() -> None:
    assert len(parse_filters([{"property": "a", "eq": 1}] * MAX_FILTERS)) == MAX_FILTERS
    assert len(parse_filters([{"property": "a", "in": list(range(MAX_VALUES))}])[0].values) == MAX_VALUES
    assert parse_filters([{"property": "a" * 255, "eq": "x" * 512}])[0].property == "a" * 255
    assert parse_filters([{"property": "a", "eq": 1}])[0].values == (1,)
    with pytest.raises(InvalidInput) as exc:
        parse_filters("x")
    assert exc.value.detail[0]["loc"] == ["filters"]  # the default location
