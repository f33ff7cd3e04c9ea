"""Golden cases: exact amounts, periods and validation errors the pricing core must reproduce."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from fubble.errors import InvalidInput
from fubble.pricing import (
    MINOR_UNITS,
    PRICING_TYPES,
    BillingFrequency,
    DynamicPricing,
    Line,
    Slice,
    TieredPricing,
    TimeUnit,
    VolumePricing,
    is_currency,
    minor_unit_digits,
    parse_pricing,
    period_containing,
    period_start,
    rate,
    round_money,
    split,
    to_decimal,
)

D = Decimal


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


JAN = split(utc(2024, 1, 1), "monthly", utc(2024, 1, 1), utc(2024, 2, 1))[0]
TIERED = {
    "tiers": [
        {"start": 0, "end": 1000, "price": "0.01"},
        {"start": 1000, "end": 10000, "price": "0.005"},
        {"start": 10000, "end": None, "price": "0.002"},
    ]
}
VOLUME = {
    "tiers": [
        {"start": 0, "end": 100, "price": "0.10"},
        {"start": 100, "end": 1000, "price": "0.08"},
        {"start": 1000, "end": None, "price": "0.05"},
    ]
}


def line(pricing_type: str, details: dict[str, Any], usage: str | int = 0, **kwargs: Any) -> Line:
    kwargs.setdefault("slice", JAN)
    kwargs.setdefault("currency", "USD")
    result = rate(parse_pricing(pricing_type, details), usage=D(usage), **kwargs)
    assert result is not None
    return result


def error_locs(exc: pytest.ExceptionInfo[InvalidInput]) -> list[list[str | int]]:
    return [entry["loc"] for entry in exc.value.detail]


# --- money --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        (D("0.005"), "USD", "0.01"),
        (D("-0.005"), "USD", "-0.01"),
        (D("0.0049999"), "USD", "0.00"),
        (D("2.675"), "USD", "2.68"),
        (D("12.5"), "USD", "12.50"),
        (D("12.5"), "JPY", "13"),
        (D("12.4999"), "JPY", "12"),
        (D("-12.5"), "KRW", "-13"),
        (D("1.0005"), "KWD", "1.001"),
        (D("1.0004999"), "BHD", "1.000"),
        (D("7"), "KWD", "7.000"),
        (D("0.00005"), "CLF", "0.0001"),
        (Fraction(1, 3), "USD", "0.33"),
        (Fraction(2, 3), "USD", "0.67"),
        (Fraction(1, 200), "USD", "0.01"),
        (Fraction(1, 2), "JPY", "1"),
        (Fraction(-1, 2), "JPY", "-1"),
        (Fraction(-1, 1000), "USD", "0.00"),
        (5, "USD", "5.00"),
        (D("1E+3"), "USD", "1000.00"),
        (D("123456789012345678901234567890.125"), "USD", "123456789012345678901234567890.13"),
    ],
)
def test_round_money_half_up(value: Decimal | Fraction | int, currency: str, expected: str) -> None:
    result = round_money(value, currency)
    assert isinstance(result, Decimal)
    assert str(result) == expected
    assert -result.as_tuple().exponent == minor_unit_digits(currency)  # type: ignore[operator]


def test_round_money_never_negative_zero() -> None:
    assert not round_money(D("-0.001"), "USD").is_signed()


def test_round_money_refuses_float_and_non_finite() -> None:
    with pytest.raises(TypeError):
        round_money(0.1, "USD")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        round_money(True, "USD")
    with pytest.raises(ValueError):
        round_money(D("NaN"), "USD")


def test_currencies() -> None:
    for code, digits in {
        "USD": 2,
        "EUR": 2,
        "JPY": 0,
        "KRW": 0,
        "KWD": 3,
        "BHD": 3,
        "JOD": 3,
        "OMR": 3,
        "TND": 3,
        "LYD": 3,
        "IQD": 3,
        "CLP": 0,
        "ISK": 0,
        "VND": 0,
        "UGX": 0,
        "CLF": 4,
    }.items():
        assert minor_unit_digits(code) == digits
    assert len(MINOR_UNITS) > 150
    assert all(len(code) == 3 and code.isupper() for code in MINOR_UNITS)
    assert is_currency("USD") and not is_currency("usd") and not is_currency("XAU") and not is_currency(None)
    with pytest.raises(InvalidInput) as exc:
        minor_unit_digits("ABC")
    assert error_locs(exc) == [["currency"]]


def test_to_decimal_display() -> None:
    assert to_decimal(Fraction(1, 3)) == D("0.333333333333")
    assert str(to_decimal(Fraction(100))) == "100"
    assert str(to_decimal(Fraction(1, 4))) == "0.25"
    assert str(to_decimal(Fraction(0))) == "0"


# --- periods ------------------------------------------------------------------------------------------------------


def test_month_end_anchor_keeps_its_day() -> None:
    anchor = utc(2024, 1, 31, 9, 30)
    starts = [period_start(anchor, BillingFrequency.monthly, k) for k in range(5)]
    assert starts == [
        utc(2024, 1, 31, 9, 30),
        utc(2024, 2, 29, 9, 30),
        utc(2024, 3, 31, 9, 30),
        utc(2024, 4, 30, 9, 30),
        utc(2024, 5, 31, 9, 30),
    ]
    assert period_start(utc(2023, 1, 31), "monthly", 1) == utc(2023, 2, 28)


def test_quarterly_and_yearly_month_ends() -> None:
    anchor = utc(2023, 8, 31)
    assert [period_start(anchor, "quarterly", k) for k in range(4)] == [
        utc(2023, 8, 31),
        utc(2023, 11, 30),
        utc(2024, 2, 29),
        utc(2024, 5, 31),
    ]
    assert period_start(utc(2022, 8, 31), "quarterly", 2) == utc(2023, 2, 28)
    assert period_start(utc(2024, 2, 29), "yearly", 1) == utc(2025, 2, 28)
    assert period_start(utc(2024, 2, 29), "yearly", 4) == utc(2028, 2, 29)
    assert BillingFrequency.quarterly.months == 3 and BillingFrequency("yearly").months == 12


def test_periods_before_the_anchor() -> None:
    anchor = utc(2024, 3, 31, 12)
    assert period_start(anchor, "monthly", -1) == utc(2024, 2, 29, 12)
    assert period_start(anchor, "monthly", -2) == utc(2024, 1, 31, 12)
    assert period_containing(anchor, "monthly", utc(2024, 3, 1)) == (utc(2024, 2, 29, 12), utc(2024, 3, 31, 12))
    before = utc(2024, 2, 29, 11, 59)
    assert period_containing(anchor, "monthly", before) == (utc(2024, 1, 31, 12), utc(2024, 2, 29, 12))
    assert period_containing(anchor, "yearly", utc(2020, 6, 1)) == (utc(2020, 3, 31, 12), utc(2021, 3, 31, 12))


def test_period_containing_boundaries() -> None:
    anchor = utc(2024, 1, 15, 12)
    assert period_containing(anchor, "monthly", anchor) == (anchor, utc(2024, 2, 15, 12))
    just_before = utc(2024, 2, 15, 12) - timedelta(microseconds=1)
    assert period_containing(anchor, "monthly", just_before) == (anchor, utc(2024, 2, 15, 12))
    assert period_containing(anchor, "monthly", utc(2024, 2, 15, 12))[0] == utc(2024, 2, 15, 12)
    assert period_containing(anchor, "monthly", utc(2024, 2, 15, 11))[0] == anchor


def test_split_at_boundaries() -> None:
    anchor = utc(2024, 1, 31)
    slices = split(anchor, "monthly", utc(2024, 2, 10), utc(2024, 4, 5))
    assert [(s.period_start, s.period_end, s.start, s.end) for s in slices] == [
        (utc(2024, 1, 31), utc(2024, 2, 29), utc(2024, 2, 10), utc(2024, 2, 29)),
        (utc(2024, 2, 29), utc(2024, 3, 31), utc(2024, 2, 29), utc(2024, 3, 31)),
        (utc(2024, 3, 31), utc(2024, 4, 30), utc(2024, 3, 31), utc(2024, 4, 5)),
    ]
    assert [s.is_full_period for s in slices] == [False, True, False]
    assert slices[0].fraction == Fraction(19, 29)
    assert slices[1].fraction == 1
    assert slices[2].fraction == Fraction(5, 30)
    assert split(anchor, "monthly", utc(2024, 2, 29), utc(2024, 3, 31)) == [slices[1]]
    assert split(anchor, "monthly", utc(2024, 3, 1), utc(2024, 3, 1)) == []
    assert split(anchor, "monthly", utc(2024, 3, 2), utc(2024, 3, 1)) == []


def test_proration_fractions() -> None:
    feb = split(utc(2024, 1, 31), "monthly", utc(2024, 1, 31), utc(2024, 2, 29))[0]
    assert (feb.period_start, feb.period_end) == (utc(2024, 1, 31), utc(2024, 2, 29))
    assert feb.fraction == 1
    half = Slice(utc(2024, 4, 1), utc(2024, 5, 1), utc(2024, 4, 1), utc(2024, 4, 16))
    assert half.fraction == Fraction(1, 2)
    second_half = Slice(utc(2024, 4, 1), utc(2024, 5, 1), utc(2024, 4, 16), utc(2024, 5, 1))
    assert half.fraction + second_half.fraction == 1
    tiny = Slice(utc(2024, 4, 1), utc(2024, 5, 1), utc(2024, 4, 1), utc(2024, 4, 1) + timedelta(microseconds=1))
    assert tiny.fraction == Fraction(1, 30 * 86_400_000_000)


def test_slice_invariants_and_naive_datetimes() -> None:
    with pytest.raises(ValueError):
        Slice(utc(2024, 4, 1), utc(2024, 5, 1), utc(2024, 4, 10), utc(2024, 4, 10))
    with pytest.raises(ValueError):
        Slice(utc(2024, 4, 1), utc(2024, 5, 1), utc(2024, 3, 10), utc(2024, 4, 10))
    with pytest.raises(ValueError):
        period_start(datetime(2024, 1, 1), "monthly", 1)
    with pytest.raises(InvalidInput):
        period_start(utc(2024, 1, 1), "weekly", 1)


def test_calendar_range_edges() -> None:
    assert period_start(utc(1, 1, 31), "monthly", 1) == utc(1, 2, 28)
    assert period_containing(utc(2024, 1, 31), "monthly", utc(9999, 12, 1))[0] == utc(9999, 11, 30)
    with pytest.raises(InvalidInput):
        period_containing(utc(2024, 1, 31), "monthly", utc(9999, 12, 31))  # the next period would start in 10000
    with pytest.raises(InvalidInput):
        period_start(utc(1, 6, 1), "yearly", -1)


# --- rating goldens -----------------------------------------------------------------------------------------------


def test_tiered_golden() -> None:
    result = line("tiered", TIERED, 1500)
    assert result.amount == D("12.50") and str(result.amount) == "12.50"
    assert result.detail == "1000 x 0.01 + 500 x 0.005"
    assert result.quantity == 1500
    assert line("tiered", TIERED, 20000).amount == D("75.00")  # 10 + 45 + 20


def test_tiered_prior_usage_sums_to_whole() -> None:
    first = line("tiered", TIERED, 800)
    second = line("tiered", TIERED, 700, prior_usage=D(800))
    assert first.amount + second.amount == D("12.50")
    assert second.detail == "200 x 0.01 + 500 x 0.005 (units 800 to 1500 of the period)"


def test_tiered_last_tier_with_finite_end_extends() -> None:
    details = {"tiers": [{"start": 0, "end": 10, "price": 1}, {"start": 10, "end": 20, "price": 2}]}
    assert line("tiered", details, 25).amount == D("40.00")  # 10 x 1 + 15 x 2
    assert line("volume", details, 25).amount == D("50.00")  # 25 x 2


@pytest.mark.parametrize(
    ("usage", "amount"),
    [("150", "12.00"), ("100", "8.00"), ("99.5", "9.95"), ("0", "0.00"), ("1000", "50.00"), ("5000", "250.00")],
)
def test_volume_golden(usage: str, amount: str) -> None:
    assert str(line("volume", VOLUME, usage).amount) == amount


def test_volume_prior_usage_correction_can_be_negative() -> None:
    first = line("volume", VOLUME, 990)  # 990 x 0.08 = 79.20
    second = line("volume", VOLUME, 20, prior_usage=D(990))  # 1010 x 0.05 = 50.50
    assert (first.amount, second.amount) == (D("79.20"), D("-28.70"))
    assert first.amount + second.amount == line("volume", VOLUME, 1010).amount
    assert second.unit_price == D("0.05")


def test_package_golden() -> None:
    details = {"package_size": 100, "package_price": "5"}
    assert line("package", details, "100.5").amount == D("10.00")
    assert line("package", details, "100").amount == D("5.00")
    assert line("package", details, "0").amount == D("0.00")
    assert line("package", details, "0.001").amount == D("5.00")
    assert line("package", details, "50", prior_usage=D("60")).amount == D("5.00")


def test_usage_based_subscription_golden() -> None:
    result = line("usage_based_subscription", {"base_fee": 20, "usage_price": "0.5"}, 30)
    assert (result.amount, result.unit_price, result.quantity) == (D("35.00"), D("0.5"), D(30))
    half = Slice(utc(2024, 4, 1), utc(2024, 5, 1), utc(2024, 4, 1), utc(2024, 4, 16))
    assert line("usage_based_subscription", {"base_fee": 20, "usage_price": "0.5"}, 30, slice=half).amount == 25


def test_time_based_golden() -> None:
    result = line("time_based", {"rate_per_unit": "2.5", "unit": "hour"}, 5)
    assert (result.amount, result.unit_price) == (D("12.50"), D("2.5"))
    assert TimeUnit.hour.seconds == 3600


def test_dynamic_golden() -> None:
    details = {"formula": "base_rate * (1 + market_factor)", "base_rate": "0.15"}
    assert line("dynamic", details, 100).amount == D("15.00")
    with_factor = line("dynamic", details, 100, segments=[(D(100), {"market_factor": D("0.2")})])
    assert (with_factor.amount, with_factor.unit_price) == (D("18.00"), D("0.18"))
    mixed = line("dynamic", details, 100, segments=[(D(50), {"market_factor": D("0.2")}), (D(50), {})])
    assert mixed.amount == D("16.50")
    assert mixed.detail == "50 x 0.180 + 50 x 0.15"


def test_dynamic_factors_cannot_override_variables_or_usage() -> None:
    details = {"formula": "base_rate * usage / 100 + f", "base_rate": "1"}
    result = line("dynamic", details, 100, segments=[(D(100), {"base_rate": D(9), "usage": D(9), "f": D(1)})])
    assert result.unit_price == 2


def test_dynamic_segments_must_add_up() -> None:
    model = parse_pricing("dynamic", {"formula": "1"})
    with pytest.raises(ValueError):
        rate(model, usage=D(10), slice=JAN, currency="USD", segments=[(D(4), {})])


def test_dynamic_division_by_zero_at_rating() -> None:
    model = parse_pricing("dynamic", {"formula": "1 / market_factor"})
    with pytest.raises(InvalidInput, match="division by zero"):
        rate(model, usage=D(1), slice=JAN, currency="USD")


def test_flat_once_per_period() -> None:
    half = Slice(utc(2024, 4, 1), utc(2024, 5, 1), utc(2024, 4, 1), utc(2024, 4, 16))
    result = line("flat", {"amount": "9.99"}, slice=half)
    assert (result.quantity, result.unit_price, result.amount) == (D(1), D("9.99"), D("9.99"))
    model = parse_pricing("flat", {"amount": "9.99"})
    assert rate(model, usage=D(0), slice=half, currency="USD", period_already_billed=True) is None


def test_subscription_prorated() -> None:
    assert line("subscription", {"amount": 30}).amount == D("30.00")
    half = Slice(utc(2024, 4, 1), utc(2024, 5, 1), utc(2024, 4, 1), utc(2024, 4, 16))
    result = line("subscription", {"amount": 30}, slice=half)
    assert (result.amount, result.detail) == (D("15.00"), "prorated 15/30 days of period")
    feb = split(utc(2024, 1, 31), "monthly", utc(2024, 2, 10), utc(2024, 2, 29))[0]
    assert line("subscription", {"amount": 29}, slice=feb).amount == D("19.00")


def test_jpy_and_kwd_amounts() -> None:
    assert str(line("tiered", TIERED, 1500, currency="JPY").amount) == "13"
    assert str(line("tiered", TIERED, 1500, currency="KWD").amount) == "12.500"
    assert str(line("time_based", {"rate_per_unit": "0.0005", "unit": "second"}, 3, currency="KWD").amount) == "0.002"
    assert str(line("subscription", {"amount": 1000}, currency="JPY").amount) == "1000"


def test_zero_usage_lines_are_returned() -> None:
    cases: list[tuple[str, dict[str, Any]]] = [
        ("tiered", TIERED),
        ("volume", VOLUME),
        ("time_based", {"rate_per_unit": 1, "unit": "day"}),
        ("package", {"package_size": 1, "package_price": 1}),
        ("dynamic", {"formula": "2"}),
        ("usage_based_subscription", {"base_fee": 0, "usage_price": 1}),
    ]
    for pricing_type, details in cases:
        result = line(pricing_type, details, 0)
        assert result.amount == 0 and str(result.amount) == "0.00"


def test_rate_input_checks() -> None:
    model = parse_pricing("tiered", TIERED)
    with pytest.raises(InvalidInput):
        rate(model, usage=D(-1), slice=JAN, currency="USD")
    with pytest.raises(InvalidInput):
        rate(model, usage=D(1), slice=JAN, currency="XXX")
    with pytest.raises(TypeError):
        rate(model, usage=1.5, slice=JAN, currency="USD")  # type: ignore[arg-type]


# --- pricing_details validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tiers", "loc"),
    [
        # gap, overlap, unsorted, end before start, a null end that is not last
        ([{"start": 0, "end": 10, "price": 1}, {"start": 11, "end": None, "price": 1}], ["tiers", 1, "start"]),
        ([{"start": 0, "end": 10, "price": 1}, {"start": 5, "end": None, "price": 1}], ["tiers", 1, "start"]),
        ([{"start": 10, "end": 20, "price": 1}, {"start": 0, "end": 10, "price": 1}], ["tiers", 0, "start"]),
        ([{"start": 0, "end": 20, "price": 1}, {"start": 20, "end": 10, "price": 1}], ["tiers", 1, "end"]),
        ([{"start": 0, "end": None, "price": 1}, {"start": 10, "end": None, "price": 1}], ["tiers", 0, "end"]),
        ([{"start": 0, "price": 1}, {"start": 10, "price": 1}], ["tiers", 0, "end"]),  # missing end = null
        ([], ["tiers"]),  # empty
        ([{"start": 0, "end": None, "price": "-0.01"}], ["tiers", 0, "price"]),  # negative price
        ([{"start": 0, "end": 0, "price": 1}], ["tiers", 0, "end"]),  # start == end
        ([{"start": 0, "price": 1, "discount": 2}], ["tiers", 0, "discount"]),  # extra key in a tier
        ([{"start": 0, "end": None}], ["tiers", 0, "price"]),  # missing price
    ],
)
@pytest.mark.parametrize("pricing_type", ["tiered", "volume"])
def test_invalid_tiers(pricing_type: str, tiers: list[dict[str, Any]], loc: list[str | int]) -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_pricing(pricing_type, {"tiers": tiers})
    assert error_locs(exc) == [["pricing_details", *loc]]


def test_unknown_pricing_type() -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_pricing("weird", {})
    assert error_locs(exc) == [["pricing_type"]]
    assert all(name in exc.value.detail[0]["msg"] for name in PRICING_TYPES)


@pytest.mark.parametrize(
    ("pricing_type", "details", "loc"),
    [
        ("flat", {"amount": 1, "currency": "USD"}, ["currency"]),
        ("subscription", {"amount": 1, "interval": "monthly"}, ["interval"]),
        ("package", {"package_size": 0, "package_price": 1}, ["package_size"]),
        ("package", {"package_size": "-1", "package_price": 1}, ["package_size"]),
        ("usage_based_subscription", {"base_fee": -1, "usage_price": 1}, ["base_fee"]),
        ("time_based", {"rate_per_unit": 1, "unit": "week"}, ["unit"]),
        ("time_based", {"rate_per_unit": 1}, ["unit"]),
        ("flat", {"amount": True}, ["amount"]),
        ("flat", {"amount": 1.5}, ["amount"]),
        ("flat", {"amount": "NaN"}, ["amount"]),
        ("flat", {"amount": D("Infinity")}, ["amount"]),
        ("flat", {"amount": D("sNaN")}, ["amount"]),
        ("flat", {"amount": "12,50"}, ["amount"]),
        ("flat", {"amount": "1e400"}, ["amount"]),
        ("flat", {"amount": D("1E+999999999")}, ["amount"]),
        ("flat", {"amount": None}, ["amount"]),
        ("flat", {}, ["amount"]),
        ("dynamic", {"formula": "__import__('os')"}, ["formula"]),
        ("dynamic", {"formula": "base * 2", "base": "x"}, ["base"]),
        ("dynamic", {"formula": "usage", "usage": 1}, ["usage"]),
        ("dynamic", {"formula": "_x", "_x": 1}, ["_x"]),
        ("dynamic", {"base": 1}, ["formula"]),
        ("dynamic", {"formula": 5}, ["formula"]),
    ],
)
def test_invalid_details(pricing_type: str, details: dict[str, Any], loc: list[str | int]) -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_pricing(pricing_type, details)
    assert error_locs(exc) == [["pricing_details", *loc]]
    assert exc.value.status_code == 422


def test_extra_key_message_names_the_key() -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_pricing("flat", {"amount": 1, "amout": 2})
    assert "'amout'" in exc.value.detail[0]["msg"]


def test_details_must_be_an_object() -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_pricing("flat", [1])
    assert error_locs(exc) == [["pricing_details"]]


def test_numbers_are_canonical_decimals() -> None:
    model = parse_pricing(
        "tiered", {"tiers": [{"start": "0", "end": D("1E+3"), "price": "0.0100"}, {"start": 1000, "price": D("0.005")}]}
    )
    assert isinstance(model, TieredPricing)
    assert model.to_json() == {
        "tiers": [
            {"start": D(0), "end": D(1000), "price": D("0.01")},
            {"start": D(1000), "end": None, "price": D("0.005")},
        ]
    }
    assert str(model.to_json()["tiers"][0]["end"]) == "1000"
    assert parse_pricing("flat", {"amount": "10.00"}).to_json() == {"amount": D(10)}
    assert parse_pricing("time_based", {"rate_per_unit": 2, "unit": "hour"}).to_json() == {
        "rate_per_unit": D(2),
        "unit": "hour",
    }
    assert parse_pricing(model.pricing_type, model.to_json()) == model


def test_volume_model_type() -> None:
    assert isinstance(parse_pricing("volume", VOLUME), VolumePricing)


def test_dynamic_model() -> None:
    details = {"formula": "base_rate * (1 + market_factor) + min(usage, cap) * 0", "base_rate": "0.15", "cap": 10}
    model = parse_pricing("dynamic", details)
    assert isinstance(model, DynamicPricing)
    assert model.factor_names == {"market_factor"}
    assert model.variables == {"base_rate": D("0.15"), "cap": D(10)}
    assert model.to_json() == {"formula": details["formula"], "base_rate": D("0.15"), "cap": D(10)}
    assert parse_pricing("dynamic", model.to_json()) == model
