"""What a person reads: the detail text of an invoice line and the message of a refused price or formula.

The amounts are checked elsewhere; a wrong detail or a message naming the wrong thing is a bug of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from fubble.errors import InvalidInput
from fubble.pricing import EventValue, Line, Slice, compile_formula, parse_pricing, rate, split, to_decimal
from fubble.pricing.aggregation import merge, summarize, usage_of

D = Decimal
APRIL = (datetime(2024, 4, 1, tzinfo=UTC), datetime(2024, 5, 1, tzinfo=UTC))
FULL = Slice(*APRIL, *APRIL)


def line(
    pricing_type: str,
    details: Mapping[str, Any],
    usage: str = "0",
    prior: str = "0",
    slice: Slice = FULL,
    segments: list[tuple[Decimal, dict[str, Decimal]]] | None = None,
) -> Line:
    model = parse_pricing(pricing_type, details)
    result = rate(model, usage=D(usage), prior_usage=D(prior), slice=slice, currency="USD", segments=segments)
    assert result is not None
    return result


# --- detail texts -------------------------------------------------------------------------------------------------


def test_subscription_details() -> None:
    assert line("subscription", {"amount": 30}).detail == "full period"
    fifteen_days = Slice(*APRIL, APRIL[0], APRIL[0] + timedelta(days=15))
    assert line("subscription", {"amount": 30}, slice=fifteen_days).detail == "prorated 15/30 days of period"
    twelve_hours = Slice(*APRIL, APRIL[0], APRIL[0] + timedelta(hours=12))  # not whole days: the exact fraction
    result = line("subscription", {"amount": 30}, slice=twelve_hours)
    assert (result.detail, result.amount) == ("prorated 1/60 of period", D("0.50"))
    base = line("usage_based_subscription", {"base_fee": 20, "usage_price": "0.5"}, "3", slice=twelve_hours)
    assert base.detail == "base fee 20 prorated 1/60 of period + 3 x 0.5"
    assert line("usage_based_subscription", {"base_fee": 20, "usage_price": "0.5"}, "3").detail == (
        "base fee 20 + 3 x 0.5"
    )


def test_volume_and_package_details() -> None:
    volume = {"tiers": [{"start": 0, "end": 100, "price": "0.10"}, {"start": 100, "price": "0.08"}]}
    assert line("volume", volume, "50").detail == "50 x 0.1"
    assert line("volume", volume, "60", "50").detail == "110 x 0.08 for the period so far, less 5.00 billed earlier"
    free_first = {"tiers": [{"start": 0, "end": 100, "price": 0}, {"start": 100, "price": "0.08"}]}
    assert line("volume", free_first, "60", "50").detail == (
        "110 x 0.08 for the period so far, less 0.00 billed earlier"  # units billed earlier, even if for nothing
    )
    package = {"package_size": 10, "package_price": "5"}
    assert line("package", package, "11").detail == "2 packages x 5 (packages of 10)"
    assert line("package", package, "11", "15").detail == (
        "3 packages for the period so far, less 2 billed earlier, x 5 (packages of 10)"
    )


def test_tiered_details() -> None:
    tiers = {"tiers": [{"start": 0, "end": 100, "price": "0.10"}, {"start": 100, "price": "0.08"}]}
    assert line("tiered", tiers, "150").detail == "100 x 0.1 + 50 x 0.08"
    assert line("tiered", tiers, "50", "80").detail == "20 x 0.1 + 30 x 0.08 (units 80 to 130 of the period)"
    assert line("tiered", tiers, "0").detail == "0 units"
    # the first tier's flat amount went with the earlier units (prior usage), not with these
    with_flat = {"tiers": [{"start": 0, "end": 100, "price": 1, "flat_amount": 10}, {"start": 100, "price": 2}]}
    result = line("tiered", with_flat, "20", "30")
    assert (result.amount, result.detail) == (D("20.00"), "20 x 1 (units 30 to 50 of the period)")


def test_event_amount_details() -> None:
    model = parse_pricing("event_amount", {"amount_property": "cost"})
    one = rate(model, usage=D(1), slice=FULL, currency="USD", events=[EventValue(D(1), D("2.5"))])
    assert one is not None and one.detail == "the 'cost' amounts of 1 event"
    none = rate(model, usage=D(0), slice=FULL, currency="USD", events=[])
    assert none is not None and none.detail == "the 'cost' amounts of 0 events"


def test_dynamic_details_and_segment_checks() -> None:
    details = {"formula": "0.5"}
    assert line("dynamic", details, "4").detail == "4 x 0.5"
    empty = line("dynamic", details, "0", segments=[])
    assert (empty.detail, empty.unit_price, empty.amount, empty.quantity) == ("0 units", D("0.00"), D("0.00"), D(0))
    with pytest.raises(InvalidInput) as exc:
        line("dynamic", details, "1", segments=[(D(-1), {}), (D(2), {})])
    assert [entry["loc"] for entry in exc.value.detail] == [["usage"]]
    assert "usage must be a finite number >= 0" in exc.value.detail[0]["msg"]
    with pytest.raises(ValueError, match=r"dynamic segments add up to 3, not the slice usage 4"):
        line("dynamic", details, "4", segments=[(D(1), {}), (D(2), {})])


# --- messages of refused pricing details --------------------------------------------------------------------------


def entries(pricing_type: str, details: object) -> list[dict[str, object]]:
    with pytest.raises(InvalidInput) as exc:
        parse_pricing(pricing_type, details)
    return list(exc.value.detail)


def test_unknown_keys_name_the_allowed_ones() -> None:
    assert entries("flat", {"amount": 1, "price": 2}) == [
        {
            "loc": ["pricing_details", "price"],
            "msg": "unknown key 'price'; allowed keys: amount",
            "type": "extra_forbidden",
        }
    ]
    assert entries("package", {"package_size": 1, "package_price": 2, "size": 3})[0]["msg"] == (
        "unknown key 'size'; allowed keys: package_size, package_price, free_units"
    )
    tiers = {"tiers": [{"start": 0, "price": 1, "rate": 2}]}
    assert entries("tiered", tiers) == [
        {
            "loc": ["pricing_details", "tiers", 0, "rate"],
            "msg": "unknown key 'rate'; allowed keys: start, end, price, flat_amount",
            "type": "extra_forbidden",
        }
    ]


@pytest.mark.parametrize(
    ("pricing_type", "tier"), [("tiered", {"start": 0, "price": 1}), ("graduated_percentage", {"start": 0, "rate": 1})]
)
def test_an_unknown_key_beside_the_tiers_names_the_details_keys(pricing_type: str, tier: dict[str, int]) -> None:
    assert entries(pricing_type, {"tiers": [tier], "currency": "USD"}) == [
        {
            "loc": ["pricing_details", "currency"],
            "msg": "unknown key 'currency'; allowed keys: tiers",
            "type": "extra_forbidden",
        }
    ]


@pytest.mark.parametrize(
    ("name", "message", "kind"),
    [
        (3, "must be a property name (a string)", "string_type"),
        ("", "must be a property name (1 to 255 characters)", "string_value"),
        ("c" * 256, "must be a property name (1 to 255 characters)", "string_value"),
        ("cost\x00", "must be a property name (1 to 255 characters)", "string_value"),
    ],
)
def test_refused_amount_properties(name: object, message: str, kind: str) -> None:
    assert entries("event_amount", {"amount_property": name}) == [
        {"loc": ["pricing_details", "amount_property"], "msg": message, "type": kind}
    ]


def test_the_longest_amount_property_is_accepted() -> None:
    longest = "c" * 255
    assert parse_pricing("event_amount", {"amount_property": longest}).to_json() == {"amount_property": longest}


def test_a_count_of_free_events_is_whole() -> None:
    assert entries("percentage", {"rate": 1, "free_units_per_events": "2.5"}) == [
        {"loc": ["pricing_details", "free_units_per_events"], "msg": "must be a whole number", "type": "int_from_float"}
    ]


def test_value_errors_keep_their_own_message() -> None:
    assert entries("package", {"package_size": 0, "package_price": 1}) == [
        {"loc": ["pricing_details", "package_size"], "msg": "must be greater than 0", "type": "greater_than"}
    ]
    assert entries("flat", {"amount": "-1"}) == [
        {
            "loc": ["pricing_details", "amount"],
            "msg": "must be greater than or equal to 0",
            "type": "greater_than_equal",
        }
    ]


# --- messages of refused formulas ---------------------------------------------------------------------------------


def formula_error(text: str) -> str:
    with pytest.raises(InvalidInput) as exc:
        compile_formula(text)
    return str(exc.value.detail[0]["msg"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("None", "formula: None literals not allowed (only decimal numbers)"),
        ("...", "formula: ... literals not allowed (only decimal numbers)"),
        ("True", "formula: bool literals not allowed (only decimal numbers)"),
        ("1j", "formula: complex literals not allowed (only decimal numbers)"),
        ("0x10", "formula: number '0x10' not allowed (only plain decimal numbers)"),
        ("1" * 45, f"formula: number {'1' * 40!r} has more than 30 digits"),
        ("1e31", "formula: number '1e31' out of range (1e-30 to 1e30)"),
        ("x.y(1)", "formula: call of 'Attribute' not allowed (only min, max, abs)"),
        ("a ** 2 ** 2", "formula: ** needs an integer literal exponent from 0 to 10"),
        ("(a ** 2) ** 2", "formula: nested powers (power towers) are not allowed"),
        ("a // 2", "formula: operator // is not allowed"),
        ("~a", "formula: operator ~ is not allowed"),
    ],
)
def test_formula_messages(text: str, message: str) -> None:
    assert formula_error(text) == message


def test_each_kind_of_operand_is_one_level_deeper() -> None:
    # 31 negations put the operand at level 32 (allowed); one more level is refused, for each kind of operand.
    for operand in ("abs(1)", "x ** 2", "(x * 2)", "(2 - x)"):
        assert compile_formula("-" * 30 + operand).evaluate({"x": D(1)}) in (D(-1), D(-2), D(1), D(2))
        assert "nested deeper than 32 levels" in formula_error("-" * 31 + operand), operand


def test_evaluation_messages() -> None:
    formula = compile_formula("a + 1", loc=("pricing_details", "formula"))
    with pytest.raises(InvalidInput) as exc:
        formula.evaluate({"a": D("NaN")})
    assert exc.value.detail == [
        {
            "loc": ["pricing_details", "formula"],
            "msg": "formula variable 'a' is not a finite number: Decimal('NaN')",
            "type": "value_error",
        }
    ]
    with pytest.raises(InvalidInput) as exc:
        formula.evaluate({"a": "1"})  # type: ignore[dict-item]
    assert exc.value.detail[0]["msg"] == "formula variable 'a' must be a finite Decimal, got '1'"
    assert formula.evaluate({"a": 2}) == 3  # type: ignore[dict-item]  # ints are taken as they are


def test_equal_formulas_hash_alike() -> None:
    assert hash(compile_formula("a+b")) == hash(compile_formula("a+b")) == hash("a+b")
    assert len({compile_formula("a+b"), compile_formula("a+b"), compile_formula("a + b")}) == 2


# --- aggregation with more digits than the default decimal context keeps -------------------------------------------


def test_aggregates_stay_exact_beyond_28_digits() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    big, tiny = D("12345678901234567890.123456789"), D("0.000000002")  # 30 digits: 28 would round the sum
    events = [(start, 1, big), (start + timedelta(hours=1), 2, tiny)]
    summary = summarize(events)
    assert summary.total == D("12345678901234567890.123456791")
    assert merge([summarize(events[:1]), summarize(events[1:])]).total == summary.total
    end = start + timedelta(hours=2)
    # big for one hour, tiny for the next: the mean of the two, exactly, to 12 places
    assert usage_of("weighted_sum", summary, start=start, end=end) == D("6172839450617283945.0617283955")
    assert usage_of("unique_count", summary, start=start, end=end) == 0
    assert usage_of("unique_count", summary, start=start, end=end, distinct=3) == 3


# --- inputs to rate() and the periods -----------------------------------------------------------------------------


def test_rate_names_the_bad_input() -> None:
    model = parse_pricing("flat", {"amount": 1})
    with pytest.raises(InvalidInput) as exc:
        rate(model, usage=D(-1), slice=FULL, currency="USD")
    assert exc.value.detail == [
        {"loc": ["usage"], "msg": "usage must be a finite number >= 0, got -1", "type": "value_error"}
    ]
    with pytest.raises(InvalidInput) as exc:
        rate(model, usage=D(1), prior_usage=D("NaN"), slice=FULL, currency="USD")
    assert exc.value.detail[0]["loc"] == ["prior_usage"]
    assert exc.value.detail[0]["msg"] == "prior_usage must be a finite number >= 0, got NaN"
    with pytest.raises(TypeError, match=r"^usage must be a Decimal, got float$"):
        rate(model, usage=1.5, slice=FULL, currency="USD")  # type: ignore[arg-type]
    per_event = parse_pricing("event_amount", {"amount_property": "cost"})  # its usage may be of any sign
    for bad in (True, 1.5, D("NaN")):
        with pytest.raises(TypeError) as type_error:
            rate(per_event, usage=bad, slice=FULL, currency="USD", events=[])  # type: ignore[arg-type]
        assert str(type_error.value) == f"usage must be a finite Decimal, got {bad!r}"


def test_naive_datetimes_are_named() -> None:
    naive = datetime(2024, 4, 1)
    with pytest.raises(ValueError, match=r"^start must be a timezone-aware \(UTC\) datetime, got naive"):
        split(APRIL[0], "monthly", naive, APRIL[1])
    with pytest.raises(ValueError, match=r"^end must be a timezone-aware \(UTC\) datetime, got naive"):
        split(APRIL[0], "monthly", APRIL[0], naive.replace(month=5))
    with pytest.raises(ValueError, match=r"^period_end must be a timezone-aware"):
        Slice(APRIL[0], naive.replace(month=5), *APRIL)
    with pytest.raises(ValueError, match=r"^invalid slice: need period_start <= start < end <= period_end, got Slice"):
        Slice(*APRIL, APRIL[1], APRIL[0])


def test_subscription_and_flat_lines() -> None:
    half = Slice(*APRIL, APRIL[0], APRIL[0] + timedelta(days=15))
    result = line("subscription", {"amount": "29.99"}, slice=half)
    assert (result.quantity, result.unit_price, result.amount) == (D(1), D("29.99"), D("15.00"))
    flat = line("flat", {"amount": "29.99"}, slice=half)
    assert (flat.quantity, flat.unit_price, flat.amount, flat.detail) == (
        D(1),
        D("29.99"),
        D("29.99"),
        "flat fee, once per billing period",
    )


def test_detail_numbers_are_plain_and_never_negative_zero() -> None:
    tiny = line("usage_based_subscription", {"base_fee": 0, "usage_price": "0.0000001"}, "2")
    assert tiny.detail == "base fee 0 + 2 x 0.0000001"
    minus_zero = line("usage_based_subscription", {"base_fee": 20, "usage_price": "0.5"}, "-0")
    assert minus_zero.detail == "base fee 20 + 0 x 0.5"
    tiers = {"tiers": [{"start": 0, "end": 100, "price": "0.10"}, {"start": 100, "end": 200, "price": "0.08"}]}
    assert line("tiered", tiers, "100").detail == "100 x 0.1"  # no "0 x 0.08" for the tier it only touches
    assert line("tiered", tiers, "300").detail == "100 x 0.1 + 200 x 0.08"  # past the last end: still the last tier
    assert line("tiered", tiers, "0", "40").detail == "0 units (units 40 to 40 of the period)"


def test_display_values_have_no_exponent() -> None:
    assert [str(to_decimal(value)) for value in (100, Fraction(1000), D("1E+2"), Fraction(-50, 1))] == [
        "100",
        "1000",
        "100",
        "-50",
    ]
    assert str(to_decimal(Fraction(995, 10), 0)) == "100"
    with pytest.raises(ValueError, match=r"^max_places must be >= 0$"):
        to_decimal(1, -1)


@pytest.mark.parametrize(
    ("value", "message", "kind"),
    [
        (True, "must be a number, not a boolean", "number_type"),
        (
            0.5,
            "must be an exact decimal number (a JSON number read as decimal, or a numeric string)",
            "number_type",
        ),
        ("ten", "must be a decimal number, not the string 'ten'", "number_parsing"),
        ("9" * 81, f"must be a decimal number, not the string {'9' * 40!r}", "number_parsing"),
        ([1], "must be a number", "number_type"),
        (D("NaN"), "must be a finite number (NaN and Infinity are not allowed)", "number_finite"),
        ("1e24", "must be less than 1e24 in magnitude", "number_range"),
        ("1e-21", "must have at most 20 decimal places", "number_range"),
        ("-1", "must be greater than or equal to 0", "greater_than_equal"),
    ],
)
def test_number_messages(value: object, message: str, kind: str) -> None:
    assert entries("flat", {"amount": value}) == [{"loc": ["pricing_details", "amount"], "msg": message, "type": kind}]


def test_pricing_type_and_details_shape_messages() -> None:
    expected = (
        "unknown pricing type 'hourly'; expected one of: flat, subscription, tiered, volume, package, "
        "usage_based_subscription, time_based, dynamic, percentage, graduated_percentage, event_amount"
    )
    assert entries("hourly", {}) == [{"loc": ["pricing_type"], "msg": expected, "type": "value_error"}]
    assert entries(["flat"], {})[0]["loc"] == ["pricing_type"]  # type: ignore[arg-type]  # not even hashable
    assert entries("flat", "amount=1") == [
        {"loc": ["pricing_details"], "msg": "must be an object, not str", "type": "value_error"}
    ]
    with pytest.raises(TypeError, match=r"^not a pricing model: dict$"):
        rate({"amount": 1}, usage=D(0), slice=FULL, currency="USD")  # type: ignore[arg-type]
