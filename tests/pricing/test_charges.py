"""A component's options: grouped_by, charge filters, min_amount, prorated (fubble.pricing.charges)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import PurePosixPath
from typing import Any

import pytest

from fubble.errors import InvalidInput
from fubble.pricing import (
    ComponentOptions,
    PackagePricing,
    choose_filter,
    group_key,
    group_label,
    minimum_true_up,
    parse_options,
    parse_pricing,
)

D = Decimal
OPTIONS = {
    "pricing_type": "package",
    "pricing_details": {"package_size": 10, "package_price": 1},
    "grouped_by": ["region", "tier"],
    "filters": [
        {"properties": {"region": ["eu", "uk"]}, "pricing_details": {"package_size": 10, "package_price": 2}},
        {
            "properties": {"region": ["eu"], "tier": ["gold", 1]},
            "pricing_details": {"package_size": 5, "package_price": "3.50"},
        },
    ],
    "min_amount": "25.00",
    "prorated": True,
}


def test_parse_options_and_store_them() -> None:
    options = parse_options("package", OPTIONS)
    assert options.grouped_by == ("region", "tier")
    assert options.min_amount == D(25) and options.prorated is True
    assert [f.specificity for f in options.filters] == [1, 2]
    assert options.filters[1].model == PackagePricing(package_size=D(5), package_price=D("3.5"))
    assert options.to_json() == {
        "grouped_by": ["region", "tier"],
        "filters": [
            {"properties": {"region": ["eu", "uk"]}, "pricing_details": {"package_size": D(10), "package_price": D(2)}},
            {
                "properties": {"region": ["eu"], "tier": ["gold", 1]},
                "pricing_details": {"package_size": D(5), "package_price": D("3.5")},
            },
        ],
        "min_amount": D(25),
        "prorated": True,
    }
    assert parse_options("package", options.to_json()) == options


def test_no_options() -> None:
    none = {"grouped_by": None, "filters": None, "min_amount": None, "prorated": None}
    assert parse_options("tiered", {}) == parse_options("tiered", none) == ComponentOptions()
    assert ComponentOptions().to_json() == {}
    assert parse_options("flat", {"filters": [], "min_amount": 5}).to_json() == {"min_amount": D(5)}
    assert parse_options("package", {"prorated": False}).to_json() == {}


def failure(pricing_type: str, raw: dict[str, Any]) -> tuple[list[str | int], str]:
    with pytest.raises(InvalidInput) as exc:
        parse_options(pricing_type, raw)
    [entry] = exc.value.detail
    return entry["loc"], entry["msg"]


FILTER = {"properties": {"region": ["eu"]}, "pricing_details": {"amount": 1}}
SHAPE = 'must be {"properties": {...}, "pricing_details": {...}}'
NAMES = "must be an object of 1 to 20 property names, each with a list of values"


def props(properties: object) -> dict[str, Any]:
    return {"filters": [{"properties": properties, "pricing_details": {}}]}


@pytest.mark.parametrize(
    ("pricing_type", "raw", "loc", "message"),
    [
        ("tiered", {"grouped_by": "region"}, ["grouped_by"], "must be a list of 1 to 10 property names"),
        ("tiered", {"grouped_by": []}, ["grouped_by"], "must be a list of 1 to 10 property names"),
        ("tiered", {"grouped_by": ["p"] * 11}, ["grouped_by"], "must be a list of 1 to 10 property names"),
        ("tiered", {"grouped_by": ["a", ""]}, ["grouped_by", 1], "must be a property name (1 to 255 characters)"),
        ("tiered", {"grouped_by": ["a", 1]}, ["grouped_by", 1], "must be a property name (1 to 255 characters)"),
        ("tiered", {"grouped_by": ["a", "b", "a"]}, ["grouped_by", 2], "'a' is listed twice"),
        ("flat", {"grouped_by": ["a"]}, ["grouped_by"], "a flat component charges a fee per period: no grouped_by"),
        (
            "subscription",
            {"filters": [FILTER]},
            ["filters"],
            "a subscription component charges a fee per period: no filters",
        ),
        ("tiered", {"filters": {}}, ["filters"], "must be a list of 0 to 50 filters"),
        ("dynamic", {"filters": [FILTER] * 51}, ["filters"], "must be a list of 0 to 50 filters"),
        ("package", {"filters": [{"properties": {"a": [1]}}]}, ["filters", 0], SHAPE),
        ("package", props({}), ["filters", 0, "properties"], NAMES),
        ("package", props({"a": 1}), ["filters", 0, "properties", "a"], "must be a list of 1 to 100 values"),
        ("package", props({"a": []}), ["filters", 0, "properties", "a"], "must be a list of 1 to 100 values"),
        (
            "package",
            props({"a": ["x", {}]}),
            ["filters", 0, "properties", "a", 1],
            "filter values must be strings, numbers, booleans or null",
        ),
        ("package", props({"": ["x"]}), ["filters", 0, "properties"], "must be a property name (1 to 255 characters)"),
        ("tiered", {"grouped_by": ["a\x00b"]}, ["grouped_by", 0], "must be a property name (1 to 255 characters)"),
        ("tiered", {"grouped_by": ["n" * 256]}, ["grouped_by", 0], "must be a property name (1 to 255 characters)"),
        ("package", props({f"p{i}": [i] for i in range(21)}), ["filters", 0, "properties"], NAMES),
        (
            "package",
            props({"a": list(range(101))}),
            ["filters", 0, "properties", "a"],
            "must be a list of 1 to 100 values",
        ),
        ("tiered", {"min_amount": "-1"}, ["min_amount"], "must be greater than or equal to 0"),
        ("tiered", {"min_amount": "ten"}, ["min_amount"], "must be a decimal number, not the string 'ten'"),
        ("tiered", {"prorated": "yes"}, ["prorated"], "must be true or false"),
        ("tiered", {"prorated": 1}, ["prorated"], "must be true or false"),
    ],
)
def test_invalid_options(pricing_type: str, raw: dict[str, Any], loc: list[str | int], message: str) -> None:
    assert failure(pricing_type, raw) == (loc, message)


def test_options_at_their_limits_are_accepted() -> None:
    names = ["n" * 255, *(f"p{i}" for i in range(9))]
    assert parse_options("tiered", {"grouped_by": names}).grouped_by == tuple(names)
    details = {"package_size": 1, "package_price": 1}
    widest = {"properties": {f"p{i}": [i] for i in range(20)}, "pricing_details": details}
    longest = {"properties": {"n" * 255: list(range(100))}, "pricing_details": details}
    filters = parse_options("package", {"filters": [widest, longest]}).filters
    assert [(f.specificity, sum(map(len, f.properties.values()))) for f in filters] == [(20, 20), (1, 100)]
    fifty = [{"properties": {"n": [i]}, "pricing_details": details} for i in range(50)]
    assert choose_filter(parse_options("package", {"filters": fifty}).filters, {"n": 49}) == 49


def test_filter_details_follow_the_components_type() -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_options("tiered", {"filters": [FILTER]})
    assert [e["loc"] for e in exc.value.detail] == [
        ["filters", 0, "pricing_details", "tiers"],
        ["filters", 0, "pricing_details", "amount"],
    ]
    ok = {"properties": {"region": ["eu"]}, "pricing_details": {"package_size": 1, "package_price": 1}}
    bad = {"properties": {"region": ["us"]}, "pricing_details": {"package_size": 0, "package_price": 1}}
    assert failure("package", {"filters": [ok, bad]}) == (
        ["filters", 1, "pricing_details", "package_size"],
        "must be greater than 0",
    )


def test_a_filter_repeating_another_is_refused() -> None:
    details = {"package_size": 1, "package_price": 1}
    repeated = {
        "filters": [
            {"properties": {"region": ["eu", "uk"], "n": [1]}, "pricing_details": details},
            {"properties": {"n": ["1.0"], "region": ["uk", "eu"]}, "pricing_details": details},  # "1.0" is a string
            {"properties": {"n": [D("1.0")], "region": ["uk", "eu"]}, "pricing_details": details},
        ]
    }
    assert failure("package", repeated) == (["filters", 2, "properties"], "the same properties as filter 0")


def test_a_filter_listing_more_values_is_not_a_repeat() -> None:
    details = {"package_size": 1, "package_price": 1}
    narrow = {"properties": {"region": ["eu"]}, "pricing_details": details}
    wide = {"properties": {"region": ["eu", "uk"]}, "pricing_details": details}
    filters = parse_options("package", {"filters": [narrow, wide]}).filters
    assert choose_filter(filters, {"region": "eu"}) == 0 and choose_filter(filters, {"region": "uk"}) == 1


def test_matching_and_choosing_a_filter() -> None:
    options = parse_options("package", OPTIONS)
    eu_gold, eu = options.filters[1], options.filters[0]
    assert eu.matches({"region": "uk"}) and not eu.matches({"region": "us"})
    assert not eu.matches({"zone": "eu"}) and not eu.matches(None) and not eu.matches({"region": None})
    assert eu_gold.matches({"region": "eu", "tier": D("1.0"), "other": 3})  # numbers by value
    assert not eu_gold.matches({"region": "eu", "tier": "1"}) and not eu_gold.matches({"region": "eu", "tier": True})
    assert choose_filter(options.filters, {"region": "eu", "tier": "gold"}) == 1  # the most specific
    assert choose_filter(options.filters, {"region": "eu", "tier": "silver"}) == 0
    assert choose_filter(options.filters, {"region": "us", "tier": "gold"}) is None
    assert choose_filter(options.filters, None) is None
    assert choose_filter((), {"region": "eu"}) is None
    model = parse_pricing("package", {"package_size": 1, "package_price": 1})
    tie = parse_options(
        "package",
        {
            "filters": [
                {"properties": {"a": [1]}, "pricing_details": model.to_json()},
                {"properties": {"b": [1]}, "pricing_details": model.to_json()},
                {"properties": {"a": [1], "b": [2]}, "pricing_details": model.to_json()},
            ]
        },
    ).filters
    assert choose_filter(tie, {"a": 1, "b": 1}) == 0  # equally specific: the first listed
    assert choose_filter(tie, {"b": 1}) == 1
    assert choose_filter(tie, {"a": 1, "b": 2}) == 2


def test_group_keys_and_labels() -> None:
    grouped_by = ("region", "tier")
    assert group_key(grouped_by, {"region": "eu", "tier": "gold", "x": 1}) == ('"eu"', '"gold"')
    assert group_key(grouped_by, {"region": "eu"}) == ('"eu"', None)
    assert group_key(grouped_by, None) == (None, None)
    assert group_key(["n"], {"n": 1}) == group_key(["n"], {"n": D("1.00")}) == ("1",)
    assert group_key(["n"], {"n": "1"}) == ('"1"',)
    assert group_key(["n"], {"n": None}) == ("null",)
    assert group_key(["n"], {"n": True}) == ("true",)
    assert group_key(["n"], {"n": {"b": [1, D("2.50")], "a": "é"}}) == ('{"a":"é","b":[1,2.5]}',)
    assert group_label(grouped_by, ('"eu"', '"gold"')) == "region: eu, tier: gold"
    assert group_label(grouped_by, ('"eu"', None)) == "region: eu, tier: (none)"
    assert group_label(["n", "m"], ("2.5", "null")) == "n: 2.5, m: null"


def test_group_keys_of_floats_non_finite_numbers_and_other_values() -> None:
    """A binary float groups by the number it prints as, written out without an exponent; NaN and the infinities by
    name; object keys and any other value (a caller's own type, by its text) keep their letters."""
    assert group_key(["n"], {"n": 0.1}) == group_key(["n"], {"n": D("0.10")}) == ("0.1",)
    assert group_key(["n", "m"], {"n": 1e-7, "m": D("25E-8")}) == ("0.0000001", "0.00000025")
    assert group_key(["n", "m", "k"], {"n": float("inf"), "m": D("-Infinity"), "k": float("nan")}) == (
        '"Infinity"',
        '"-Infinity"',
        '"NaN"',
    )
    nested = group_key(["meta"], {"meta": {"città": "Milano"}})
    assert nested == ('{"città":"Milano"}',)
    assert group_label(["meta"], nested) == 'meta: {"città":"Milano"}'
    site = group_key(["site"], {"site": PurePosixPath("/sites/città")})
    assert site == group_key(["site"], {"site": "/sites/città"}) == ('"/sites/città"',)
    assert group_label(["site"], site) == "site: /sites/città"


def test_a_group_label_needs_a_value_for_each_grouped_property() -> None:
    with pytest.raises(ValueError, match="zip"):
        group_label(["region", "tier"], ('"eu"',))


@pytest.mark.parametrize(
    ("minimum", "charged", "fraction", "currency", "expected"),
    [
        ("100", "40.00", Fraction(1), "USD", "60.00"),
        ("100", "40.00", Fraction(1, 2), "USD", "10.00"),
        ("100", "60.00", Fraction(1, 2), "USD", None),  # charged more than the prorated minimum
        ("100", "100.00", Fraction(1), "USD", None),  # exactly the minimum: no true-up
        ("100", "99.50", Fraction(1), "USD", "0.50"),  # short by less than one unit of money
        ("100", "99.00", Fraction(1), "USD", "1.00"),
        ("100", "-5.00", Fraction(1), "USD", "105.00"),  # credits do not count towards the minimum
        ("10", "0.00", Fraction(1, 3), "USD", "3.33"),  # round(10/3) once
        ("1000", "0", Fraction(1, 3), "JPY", "333"),
        ("0", "0.00", Fraction(1), "USD", None),
    ],
)
def test_minimum_true_up(minimum: str, charged: str, fraction: Fraction, currency: str, expected: str | None) -> None:
    result = minimum_true_up(D(minimum), D(charged), fraction, currency)
    assert (None if result is None else str(result)) == expected
