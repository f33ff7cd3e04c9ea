"""Golden cases of the issue-18 charge models, written out to the cent: tier flat amounts, package free units,
percentage, graduated_percentage and event_amount."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from fubble.errors import InvalidInput
from fubble.pricing import EventValue, Line, Slice, parse_pricing, rate, split

D = Decimal
FULL: Slice = split(
    datetime(2024, 1, 1, tzinfo=UTC), "monthly", datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC)
)[0]
TIERS_WITH_FLATS = {
    "tiers": [
        {"start": 0, "end": 100, "price": 1, "flat_amount": 10},
        {"start": 100, "end": None, "price": "0.5", "flat_amount": 5},
    ]
}


def line(
    pricing_type: str,
    details: dict[str, Any],
    usage: object = 0,
    *,
    currency: str = "USD",
    prior: object = 0,
    billed: bool = False,
    events: list[EventValue] | None = None,
    prior_events: list[EventValue] | None = None,
) -> Line:
    result = rate(
        parse_pricing(pricing_type, details),
        usage=D(str(usage)),
        slice=FULL,
        currency=currency,
        prior_usage=D(str(prior)),
        period_already_billed=billed,
        events=events,
        prior_events=prior_events or (),
    )
    assert result is not None
    return result


def amount(*args: Any, **kwargs: Any) -> str:
    return str(line(*args, **kwargs).amount)


def events(*quantities: object) -> list[EventValue]:
    return [EventValue(D(str(q))) for q in quantities]


# --- tiered (graduated) with flat amounts ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("usage", "expected", "detail"),
    [
        ("0", "10.00", "0 units + flat 10"),  # the first tier is reached even at zero usage
        ("99.99", "109.99", "99.99 x 1 + flat 10"),
        ("100", "110.00", "100 x 1 + flat 10"),  # the second tier starts at 100: not exceeded, not reached
        ("100.001", "115.00", "100 x 1 + 0.001 x 0.5 + flat 15"),  # 115.0005 rounds half-up
        ("150", "140.00", "100 x 1 + 50 x 0.5 + flat 15"),
    ],
)
def test_tiered_flat_amounts(usage: str, expected: str, detail: str) -> None:
    result = line("tiered", TIERS_WITH_FLATS, usage)
    assert (str(result.amount), result.detail) == (expected, detail)


def test_tiered_flat_amounts_over_parts_of_a_period() -> None:
    first = line("tiered", TIERS_WITH_FLATS, 100)  # 100 + flat 10
    second = line("tiered", TIERS_WITH_FLATS, 50, prior=100, billed=True)  # 25 + flat 5
    assert (first.amount, second.amount) == (D("110.00"), D("30.00"))
    assert second.detail == "50 x 0.5 + flat 5 (units 100 to 150 of the period)"
    # A first part with no usage charges the first tier's flat amount; the next part does not charge it again.
    empty = line("tiered", TIERS_WITH_FLATS, 0)
    rest = line("tiered", TIERS_WITH_FLATS, 150, billed=True)
    assert (empty.amount, rest.amount) == (D("10.00"), D("130.00"))
    assert rest.detail == "100 x 1 + 50 x 0.5 + flat 5"
    assert amount("tiered", TIERS_WITH_FLATS, 0, billed=True) == "0.00"


def test_zero_usage_first_tier_flat_amount_in_jpy() -> None:
    details = {"tiers": [{"start": 0, "price": 3, "flat_amount": "10.5"}]}
    result = line("tiered", details, 0, currency="JPY")
    assert (str(result.amount), str(result.unit_price)) == ("11", "11")  # 10.5 half-up; unit price: the amount
    assert amount("volume", details, 0, currency="JPY") == "11"
    assert amount("tiered", details, "0.1", currency="JPY") == "11"  # 10.8


def test_tiers_without_flat_amounts_are_unchanged() -> None:
    details = {"tiers": [{"start": 0, "end": 100, "price": 1}, {"start": 100, "price": "0.5"}]}
    assert line("tiered", details, 0).detail == "0 units"
    assert amount("tiered", details, 0) == "0.00"
    assert (
        line("volume", details, 20, prior=100, billed=True).detail
        == "120 x 0.5 for the period so far, less 50.00 billed earlier"
    )


# --- volume with flat amounts ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("usage", "expected", "detail"),
    [
        ("0", "10.00", "0 x 1 + flat 10"),  # zero usage is in the first tier
        ("99.99", "109.99", "99.99 x 1 + flat 10"),
        ("100", "55.00", "100 x 0.5 + flat 5"),  # exactly at the first tier's end: the next tier
        ("150", "80.00", "150 x 0.5 + flat 5"),
    ],
)
def test_volume_flat_amount_of_the_tier_it_lands_in(usage: str, expected: str, detail: str) -> None:
    result = line("volume", TIERS_WITH_FLATS, usage)
    assert (str(result.amount), result.detail) == (expected, detail)
    assert result.unit_price == (D(1) if D(usage) < 100 else D("0.5"))


def test_volume_flat_amounts_over_parts_of_a_period() -> None:
    first = line("volume", TIERS_WITH_FLATS, 90)  # 90 + 10
    second = line("volume", TIERS_WITH_FLATS, 20, prior=90, billed=True)  # 110 x 0.5 + 5 = 60, less 100
    assert (first.amount, second.amount) == (D("100.00"), D("-40.00"))
    assert second.detail == "110 x 0.5 + flat 5 for the period so far, less 100.00 billed earlier"
    assert line("volume", TIERS_WITH_FLATS, 0).amount + line("volume", TIERS_WITH_FLATS, 150, billed=True).amount == D(
        "80.00"
    )


# --- package with free units -------------------------------------------------------------------------------------

PACKAGE_FREE = {"package_size": 100, "package_price": 5, "free_units": 100}


@pytest.mark.parametrize(
    ("usage", "expected"),
    [("0", "0.00"), ("100", "0.00"), ("100.5", "5.00"), ("200", "5.00"), ("201", "10.00"), ("350", "15.00")],
)
def test_package_free_units(usage: str, expected: str) -> None:
    assert amount("package", PACKAGE_FREE, usage) == expected


def test_package_free_units_detail_and_parts() -> None:
    assert line("package", PACKAGE_FREE, 201).detail == "2 packages x 5 (packages of 100, after 100 free units)"
    assert line("package", PACKAGE_FREE, 0).detail == "0 packages x 5 (packages of 100, after 100 free units)"
    assert amount("package", PACKAGE_FREE, 60) == "0.00"
    assert amount("package", PACKAGE_FREE, 90, prior=60) == "5.00"  # 150: one package past the free 100
    assert amount("package", PACKAGE_FREE, 51, prior=150) == "5.00"  # 201: two
    no_free = {"package_size": 100, "package_price": 5}
    assert line("package", no_free, 201).detail == "3 packages x 5 (packages of 100)"


# --- percentage --------------------------------------------------------------------------------------------------


def test_percentage_rate_fixed_amount_and_free_events() -> None:
    details = {"rate": "1.5", "fixed_amount": "0.10", "free_units_per_events": 3}
    result = line("percentage", details, events=events(*[100] * 15))
    # 12 paid events: 1.5% of 1200 = 18.00, plus 12 x 0.10 = 1.20
    assert (result.quantity, result.amount) == (D(1500), D("19.20"))
    assert result.detail == "1.5% of 1200 on 12 events + 12 x 0.1 fixed (3 events free)"
    assert result.unit_price == D("0.0128")


def test_percentage_min_and_max_per_transaction() -> None:
    details = {
        "rate": 2,
        "fixed_amount": "0.25",
        "per_transaction_min_amount": "0.50",
        "per_transaction_max_amount": 3,
    }
    result = line("percentage", details, events=events(10, 100, 200, 0))
    # 0.45 -> 0.50, 2.25, 4.25 -> 3.00, 0.25 -> 0.50 (an event of 0 still pays the fixed amount, raised to the min)
    assert result.amount == D("6.25")
    assert result.detail == "2% of 310 on 4 events + 4 x 0.25 fixed (2 raised to 0.5, 1 cut to 3)"
    # The bounds apply to the whole charge of the event (rate part plus fixed amount): exactly at them, unchanged.
    assert amount("percentage", details, events=events("12.5", "137.5")) == "3.50"  # 0.50 + 3.00


def test_percentage_both_allowances_event_count_used_up_first() -> None:
    details = {"rate": 1, "fixed_amount": "0.5", "free_units_per_events": 3, "free_units_per_total_aggregation": 500}
    result = line("percentage", details, events=events(100, 100, 100, 100))
    assert result.amount == D("1.50")  # the third event uses up the free events; the fourth pays 1 + 0.5
    assert result.detail == "1% of 100 on 1 event + 1 x 0.5 fixed (3 events free)"


def test_percentage_both_allowances_volume_used_up_first_by_a_crossing_event() -> None:
    details = {"rate": 1, "fixed_amount": "0.5", "free_units_per_events": 3, "free_units_per_total_aggregation": 150}
    result = line("percentage", details, events=events(100, 100, 100))
    # 100 free; the second crosses the 150: 1% of its 50 past the allowance + 0.5 = 1.00; the third 1 + 0.5 = 1.50
    assert result.amount == D("2.50")
    assert result.detail == "1% of 150 on 2 events + 2 x 0.5 fixed (1 event free)"


def test_percentage_volume_allowance_exactly_used_up() -> None:
    details = {"rate": 1, "fixed_amount": "0.5", "free_units_per_total_aggregation": 200}
    assert amount("percentage", details, events=events(150, 50, 10)) == "0.60"  # 150 and 50 free; 0.10 + 0.50
    assert amount("percentage", details, events=events(150, 50)) == "0.00"


def test_percentage_free_events_are_not_raised_to_the_minimum() -> None:
    details = {"rate": 1, "free_units_per_events": 2, "per_transaction_min_amount": 1}
    result = line("percentage", details, events=events(10, 10, 10))
    assert result.amount == D("1.00")  # two free events pay nothing; the third's 0.10 is raised to 1
    assert result.detail == "1% of 10 on 1 event (2 events free, 1 raised to 1)"


def test_percentage_zero_allowances_are_no_allowance() -> None:
    details = {"rate": 1, "fixed_amount": "0.3", "free_units_per_events": 0, "free_units_per_total_aggregation": 0}
    assert amount("percentage", details, events=events(0, 0)) == "0.60"


def test_percentage_is_rounded_once() -> None:
    assert amount("percentage", {"rate": 1}, events=events("0.5", "0.5", "0.5")) == "0.02"  # 0.015, not 3 x 0.01
    # JPY has no decimals: 44.424 + 204.408 = 248.832 -> 249 (per event it would be 44 + 204 = 248)
    assert amount("percentage", {"rate": "3.6"}, events=events(1234, 5678), currency="JPY") == "249"


def test_percentage_over_parts_of_a_period() -> None:
    details = {"rate": "1.5", "fixed_amount": "0.10", "free_units_per_events": 3}
    first = line("percentage", details, events=events(*[100] * 5))
    second = line("percentage", details, events=events(*[100] * 10), prior_events=events(*[100] * 5))
    assert (first.amount, second.amount) == (D("3.20"), D("16.00"))
    assert second.detail == "1.5% of 1000 on 10 events + 10 x 0.1 fixed"
    # Rounding: 0.005 billed as 0.01, then the period's 0.01 leaves 0.00: the parts sum to the one-part total.
    assert amount("percentage", {"rate": 1}, events=events("0.5")) == "0.01"
    assert amount("percentage", {"rate": 1}, events=events("0.5"), prior_events=events("0.5")) == "0.00"


def test_percentage_without_events() -> None:
    result = line("percentage", {"rate": 1, "fixed_amount": 1}, events=[])
    assert (result.quantity, result.amount, result.detail) == (D(0), D("0.00"), "1% of 0 on 0 events + 0 x 1 fixed")
    with pytest.raises(TypeError, match="percentage pricing rates events"):
        rate(parse_pricing("percentage", {"rate": 1}), usage=D(1), slice=FULL, currency="USD")


# --- graduated_percentage ----------------------------------------------------------------------------------------

GRADUATED_PERCENT = {
    "tiers": [
        {"start": 0, "end": 1000, "rate": 1, "flat_amount": 2},
        {"start": 1000, "end": None, "rate": "0.5", "flat_amount": 3},
    ]
}


@pytest.mark.parametrize(
    ("usage", "expected", "detail"),
    [
        ("0", "2.00", "0 units + flat 2"),
        ("1000", "12.00", "1% of 1000 + flat 2"),
        ("1500", "17.50", "1% of 1000 + 0.5% of 500 + flat 5"),
    ],
)
def test_graduated_percentage(usage: str, expected: str, detail: str) -> None:
    result = line("graduated_percentage", GRADUATED_PERCENT, usage)
    assert (str(result.amount), result.detail) == (expected, detail)


def test_graduated_percentage_parts_and_jpy() -> None:
    first = line("graduated_percentage", GRADUATED_PERCENT, 800)  # 8 + 2
    second = line("graduated_percentage", GRADUATED_PERCENT, 700, prior=800, billed=True)  # 2 + 2.5 + 3
    assert (first.amount, second.amount) == (D("10.00"), D("7.50"))
    assert amount("graduated_percentage", GRADUATED_PERCENT, 1500, currency="JPY") == "18"  # 17.5 half-up
    plain = {"tiers": [{"start": 0, "rate": 1}]}
    assert line("graduated_percentage", plain, 0).detail == "0 of volume"


# --- event_amount ------------------------------------------------------------------------------------------------


def test_event_amount_sums_the_events_amounts() -> None:
    priced = [EventValue(D(1), D("0.333")), EventValue(D(1), None), EventValue(D(1), D("1.001"))]
    result = line("event_amount", {"amount_property": "cost"}, 3, events=priced)
    assert (result.quantity, result.amount, result.detail) == (D(3), D("1.33"), "the 'cost' amounts of 2 events")
    assert result.unit_price == D("0.443333333333")


def test_event_amount_refunds_parts_and_jpy() -> None:
    refund = [EventValue(D(1), D(-5)), EventValue(D(1), D("2.5"))]
    assert amount("event_amount", {"amount_property": "cost"}, 2, events=refund) == "-2.50"
    half = [EventValue(D(1), D("0.005"))]
    assert amount("event_amount", {"amount_property": "c"}, 1, events=half) == "0.01"
    assert amount("event_amount", {"amount_property": "c"}, 1, events=half, prior_events=half) == "0.00"
    yen = [EventValue(D(1), D("99.5")), EventValue(D(1), D("0.4"))]
    assert amount("event_amount", {"amount_property": "c"}, 2, events=yen, currency="JPY") == "100"
    with pytest.raises(TypeError, match="event_amount pricing rates events"):
        rate(parse_pricing("event_amount", {"amount_property": "c"}), usage=D(1), slice=FULL, currency="USD")


# --- details: validation and storage -----------------------------------------------------------------------------


def errors(pricing_type: str, details: dict[str, Any]) -> list[tuple[list[str | int], str]]:
    with pytest.raises(InvalidInput) as exc:
        parse_pricing(pricing_type, details)
    return [(entry["loc"], entry["msg"]) for entry in exc.value.detail]


def test_invalid_new_details() -> None:
    assert errors("percentage", {"rate": 1, "per_transaction_min_amount": 5, "per_transaction_max_amount": 1}) == [
        (
            ["pricing_details", "per_transaction_max_amount"],
            "must be greater than or equal to per_transaction_min_amount (5), not 1",
        )
    ]
    assert errors("percentage", {"rate": 1, "free_units_per_events": "2.5"}) == [
        (["pricing_details", "free_units_per_events"], "must be a whole number")
    ]
    assert errors("percentage", {"rate": "-1"})[0][0] == ["pricing_details", "rate"]
    assert errors("percentage", {"rate": 1, "fixed_amount": True})[0][0] == ["pricing_details", "fixed_amount"]
    assert errors("tiered", {"tiers": [{"start": 0, "price": 1, "flat_amount": "-1"}]}) == [
        (["pricing_details", "tiers", 0, "flat_amount"], "must be greater than or equal to 0")
    ]
    gap = {"tiers": [{"start": 0, "end": 10, "rate": 1}, {"start": 11, "rate": 1}]}
    assert errors("graduated_percentage", gap) == [
        (["pricing_details", "tiers", 1, "start"], "gap: tier starts at 11 but the previous tier ends at 10")
    ]
    assert errors("graduated_percentage", {"tiers": [{"start": 0, "rate": 1, "price": 1}]}) == [
        (["pricing_details", "tiers", 0, "price"], "unknown key 'price'; allowed keys: start, end, rate, flat_amount")
    ]
    for bad in ("", "x" * 256, 3):
        assert errors("event_amount", {"amount_property": bad})[0][0] == ["pricing_details", "amount_property"]


def test_stored_details_round_trip_and_leave_unset_keys_out() -> None:
    old_tiers = {"tiers": [{"start": D(0), "end": D(10), "price": D(1)}, {"start": D(10), "end": None, "price": D(2)}]}
    assert parse_pricing("tiered", old_tiers).to_json() == old_tiers
    assert parse_pricing("volume", old_tiers).to_json() == old_tiers
    old_package = {"package_size": D(100), "package_price": D(5)}
    assert parse_pricing("package", old_package).to_json() == old_package
    assert parse_pricing("package", {**old_package, "free_units": 0}).to_json() == {**old_package, "free_units": 0}
    assert parse_pricing("percentage", {"rate": "1.50"}).to_json() == {"rate": D("1.5")}
    full = {
        "rate": D("1.5"),
        "fixed_amount": D("0.1"),
        "free_units_per_events": 3,
        "free_units_per_total_aggregation": D(500),
        "per_transaction_min_amount": D("0.3"),
        "per_transaction_max_amount": D(5),
    }
    assert parse_pricing("percentage", full).to_json() == full
    assert (
        parse_pricing("percentage", {"rate": 1, "free_units_per_events": "3"}).to_json()["free_units_per_events"] == 3
    )
    graduated = {"tiers": [{"start": D(0), "end": None, "rate": D(2), "flat_amount": D(1)}]}
    assert parse_pricing("graduated_percentage", graduated).to_json() == graduated
    assert parse_pricing("event_amount", {"amount_property": "cost"}).to_json() == {"amount_property": "cost"}
    flat_tier = {"tiers": [{"start": 0, "price": 1, "flat_amount": "2.50"}]}
    assert parse_pricing("tiered", flat_tier).to_json() == {
        "tiers": [{"start": D(0), "end": None, "price": D(1), "flat_amount": D("2.5")}]
    }


def test_per_event_models_do_not_read_usage_as_a_quantity() -> None:
    """``percentage`` shows the events' sum; ``event_amount`` shows the usage, of any sign (a metric allowing
    negative values)."""
    model = parse_pricing("percentage", {"rate": 10})
    result = rate(model, usage=D(-7), slice=FULL, currency="USD", events=events(3, 4))
    assert result is not None and (result.quantity, result.amount) == (D(7), D("0.70"))
    priced = parse_pricing("event_amount", {"amount_property": "c"})
    credit = rate(priced, usage=D(-2), slice=FULL, currency="USD", events=[EventValue(D(-2), D("-4.00"))])
    assert credit is not None and (credit.quantity, credit.unit_price, credit.amount) == (D(-2), D(2), D("-4.00"))
