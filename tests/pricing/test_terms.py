"""Golden cases of an invoice's terms (fubble.pricing.terms), written out to the cent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from fubble.errors import Conflict, InvalidInput
from fubble.pricing.terms import (
    CouponTerm,
    GrantTerm,
    TaxTerm,
    TermLine,
    Totals,
    available,
    check_credit_note,
    consume,
    consumption_order,
    credit_note_limit,
    creditable_left,
    expired,
    invoice_totals,
)

D = Decimal
AT = datetime(2024, 5, 1, tzinfo=UTC)


def pct(key: int, percent: str, plans: set[int] | None = None) -> CouponTerm:
    return CouponTerm(key, "percentage", D(percent), None, None if plans is None else frozenset(plans))


def fixed(key: int, amount: str, plans: set[int] | None = None) -> CouponTerm:
    return CouponTerm(key, "fixed", None, D(amount), None if plans is None else frozenset(plans))


def line(amount: str, plan: int | None = None) -> TermLine:
    return TermLine(D(amount), plan)


def totals(
    lines: list[TermLine],
    coupons: tuple[CouponTerm, ...] = (),
    taxes: tuple[TaxTerm, ...] = (),
    grants: tuple[GrantTerm, ...] = (),
    currency: str = "USD",
) -> Totals:
    return invoice_totals(lines, coupons, taxes, grants, currency, at=AT)


def summary(t: Totals) -> tuple[str, ...]:
    """The six headline amounts as text, so the decimal places are checked too."""
    return tuple(
        str(x) for x in (t.subtotal, t.discount_amount, t.tax_amount, t.total, t.credits_applied, t.amount_due)
    )


# -- subtotal, discounts, taxes --------------------------------------------------------------------------------------


def test_no_terms_total_is_the_sum_of_the_lines() -> None:
    t = totals([line("12.5"), line("7.25", 3)])
    assert summary(t) == ("19.75", "0.00", "0.00", "19.75", "0.00", "19.75")
    assert t.discounts == () and t.taxes == () and t.credits == ()
    assert str(t.credit_granted) == "0.00"
    assert t.line_discounts == (D("0.00"), D("0.00"))


def test_no_lines_at_all() -> None:
    t = totals([], (pct(1, "10"),), (TaxTerm(1, "VAT", D(20)),))
    assert summary(t) == ("0.00", "0.00", "0.00", "0.00", "0.00", "0.00")
    assert t.discounts == ((1, D("0.00")),)
    assert t.taxes == ((1, D("0.00"), D("0.00")),)


def test_tax_on_a_discounted_invoice() -> None:
    t = totals([line("100.00", 1)], (pct(7, "10"),), (TaxTerm(3, "VAT", D(20)),))
    assert summary(t) == ("100.00", "10.00", "18.00", "108.00", "0.00", "108.00")
    assert t.discounts == ((7, D("10.00")),)
    assert t.taxes == ((3, D("90.00"), D("18.00")),)
    assert t.line_discounts == (D("10.00"),)


def test_two_taxes_are_rounded_per_rate() -> None:
    # 10.05 * 7.5% = 0.75375 -> 0.75 and 10.05 * 2.5% = 0.25125 -> 0.25: 1.00 (one 10% rate would give 1.005 -> 1.01)
    t = totals([line("10.05")], taxes=(TaxTerm(1, "state", D("7.5")), TaxTerm(2, "city", D("2.5"))))
    assert t.taxes == ((1, D("10.05"), D("0.75")), (2, D("10.05"), D("0.25")))
    assert summary(t) == ("10.05", "0.00", "1.00", "11.05", "0.00", "11.05")


def test_tax_halves_round_up() -> None:
    # 0.10 * 5% = 0.005 -> 0.01
    t = totals([line("0.10")], taxes=(TaxTerm(1, "t", D(5)),))
    assert t.taxes == ((1, D("0.10"), D("0.01")),)


def test_percentage_discount_rounds_half_up_once_per_coupon() -> None:
    # 33.33 * 15% = 4.9995 -> 5.00, although each of three 11.11 lines would give 1.6665 -> 1.67 (5.01 in all)
    t = totals([line("11.11", 1), line("11.11", 1), line("11.11", 2)], (pct(1, "15"),))
    assert t.discounts == ((1, D("5.00")),)
    assert summary(t) == ("33.33", "5.00", "0.00", "28.33", "0.00", "28.33")
    assert t.line_discounts == (D("1.67"), D("1.67"), D("1.66"))


def test_fixed_coupon_larger_than_the_covered_subtotal_takes_only_that() -> None:
    t = totals([line("30.00", 1), line("50.00", 2)], (fixed(1, "40.00", {1}),))
    assert t.discounts == ((1, D("30.00")),)
    assert t.line_discounts == (D("30.00"), D("0.00"))
    assert summary(t) == ("80.00", "30.00", "0.00", "50.00", "0.00", "50.00")


def test_plan_restricted_coupon_discounts_only_its_plans() -> None:
    t = totals([line("80.00", 1), line("20.00", 2), line("5.00")], (pct(1, "25", {2}),))
    assert t.discounts == ((1, D("5.00")),)
    assert t.line_discounts == (D("0.00"), D("5.00"), D("0.00"))
    assert t.total == D("100.00")


def test_a_coupon_for_all_plans_covers_lines_without_a_plan() -> None:
    t = totals([line("10.00"), line("30.00", 4)], (pct(1, "50"),))
    assert t.line_discounts == (D("5.00"), D("15.00"))
    assert t.discount_amount == D("20.00")


def test_stacked_coupons_apply_in_order_on_what_is_left() -> None:
    t = totals([line("100.00", 1)], (pct(1, "10"), pct(2, "10")))
    assert t.discounts == ((1, D("10.00")), (2, D("9.00")))
    assert t.total == D("81.00")
    t = totals([line("100.00", 1)], (fixed(1, "95.00"), pct(2, "50"), fixed(3, "10")))
    assert t.discounts == ((1, D("95.00")), (2, D("2.50")), (3, D("2.50")))
    assert summary(t) == ("100.00", "100.00", "0.00", "0.00", "0.00", "0.00")


def test_a_coupon_only_discounts_the_undiscounted_part_of_its_plans() -> None:
    # coupon 1 (all plans) takes 60.00, spread 30/30; coupon 2 on plan 2 has 50.00 - 30.00 = 20.00 left
    t = totals([line("50.00", 1), line("50.00", 2)], (fixed(1, "60.00"), fixed(2, "100.00", {2})))
    assert t.discounts == ((1, D("60.00")), (2, D("20.00")))
    assert t.line_discounts == (D("30.00"), D("50.00"))


def test_negative_lines_of_a_plan_reduce_its_base_and_are_never_discounted() -> None:
    t = totals([line("100.00", 1), line("-30.00", 1)], (pct(1, "50", {1}),))
    assert t.discounts == ((1, D("35.00")),)
    assert t.line_discounts == (D("35.00"), D("0.00"))
    assert summary(t) == ("70.00", "35.00", "0.00", "35.00", "0.00", "35.00")


def test_discounts_never_take_the_invoice_below_zero() -> None:
    # plan 1's 10% would be 10.00, but a credit line leaves only 5.00 on the invoice
    t = totals([line("100.00", 1), line("-95.00")], (pct(1, "10", {1}),), (TaxTerm(1, "VAT", D(20)),))
    assert t.discounts == ((1, D("5.00")),)
    assert summary(t) == ("5.00", "5.00", "0.00", "0.00", "0.00", "0.00")
    assert t.credit_granted == D("0.00")


def test_discount_allocation_goes_to_the_largest_remainders_then_earlier_lines() -> None:
    t = totals([line("1.00"), line("1.00"), line("1.00")], (fixed(1, "1.00"),))
    assert t.line_discounts == (D("0.34"), D("0.33"), D("0.33"))
    t = totals([line("0.01"), line("0.02")], (fixed(1, "0.02"),))
    # shares 2/3 and 4/3 cents: floors 0 and 1, the remaining cent to the larger remainder (2/3)
    assert t.line_discounts == (D("0.01"), D("0.01"))


def test_a_zero_percent_coupon_is_listed_with_zero() -> None:
    t = totals([line("10.00")], (pct(9, "0"),))
    assert t.discounts == ((9, D("0.00")),)


# -- negative totals and credits -------------------------------------------------------------------------------------


def test_a_negative_total_is_zero_and_grants_the_difference() -> None:
    grants = (GrantTerm(1, D("100.00"), 1, None),)
    t = totals([line("20.00", 1), line("-50.00")], (pct(1, "10"),), (TaxTerm(1, "VAT", D(20)),), grants)
    assert summary(t) == ("-30.00", "0.00", "0.00", "0.00", "0.00", "0.00")
    assert str(t.credit_granted) == "30.00"
    assert t.discounts == ((1, D("0.00")),)
    assert t.taxes == ((1, D("0.00"), D("0.00")),)
    assert t.credits == ()


def test_credits_are_used_by_priority_then_soonest_expiry_then_key() -> None:
    grants = (
        GrantTerm(1, D("100.00"), 50, None),
        GrantTerm(2, D("30.00"), 1, AT + timedelta(days=60)),
        GrantTerm(3, D("20.00"), 1, AT + timedelta(days=30)),
        GrantTerm(5, D("10.00"), 1, None),
        GrantTerm(4, D("10.00"), 1, None),
    )
    t = totals([line("55.00")], grants=grants)
    assert t.credits == ((3, D("20.00")), (2, D("30.00")), (4, D("5.00")))
    assert summary(t) == ("55.00", "0.00", "0.00", "55.00", "55.00", "0.00")
    assert [g.key for g in consumption_order(grants, AT)] == [3, 2, 4, 5, 1]


def test_credits_cover_part_of_the_total() -> None:
    t = totals([line("100.00")], taxes=(TaxTerm(1, "VAT", D(20)),), grants=(GrantTerm(1, D("50.5"), 50, None),))
    assert summary(t) == ("100.00", "0.00", "20.00", "120.00", "50.50", "69.50")
    assert t.credits == ((1, D("50.50")),)


def test_expired_and_empty_grants_are_skipped() -> None:
    grants = (
        GrantTerm(1, D("10.00"), 1, AT),  # expires exactly now: no longer serves
        GrantTerm(2, D("10.00"), 1, AT - timedelta(seconds=1)),
        GrantTerm(3, D("0.00"), 1, None),
        GrantTerm(4, D("-1.00"), 1, None),
        GrantTerm(5, D("4.00"), 2, AT + timedelta(seconds=1)),
    )
    t = totals([line("10.00")], grants=grants)
    assert t.credits == ((5, D("4.00")),)
    assert t.amount_due == D("6.00")
    assert [g.key for g in expired(grants, AT)] == [1, 2]
    assert available(grants, AT) == D("4.00")


def test_consume_takes_what_is_owed_exactly() -> None:
    grants = [GrantTerm(1, D("3"), 1, None), GrantTerm(2, D("5"), 2, None)]
    assert consume(grants, D("4.5"), at=AT) == [(1, D("3")), (2, D("1.5"))]
    assert consume(grants, D("0"), at=AT) == []
    assert consume(grants, D("-2"), at=AT) == []
    assert consume(grants, D("100"), at=AT) == [(1, D("3")), (2, D("5"))]


# -- currencies ------------------------------------------------------------------------------------------------------


def test_jpy_has_no_decimal_places() -> None:
    # 333 * 15% = 49.95 -> 50; 8% of 283 = 22.64 -> 23
    t = totals(
        [line("333", 1)], (pct(1, "15"),), (TaxTerm(1, "consumption", D(8)),), (GrantTerm(1, D("6"), 1, None),), "JPY"
    )
    assert summary(t) == ("333", "50", "23", "306", "6", "300")
    assert str(t.credit_granted) == "0"
    assert t.line_discounts == (D("50"),)


def test_jpy_half_yen_tax_rounds_up() -> None:
    t = totals([line("150")], taxes=(TaxTerm(1, "t", D(1)),), currency="JPY")  # 1.5 -> 2
    assert t.tax_amount == D("2")


def test_eur() -> None:
    # 19.99 * 19% = 3.7981 -> 3.80
    t = totals([line("19.99", 2)], taxes=(TaxTerm(1, "MwSt", D(19)),), currency="EUR")
    assert summary(t) == ("19.99", "0.00", "3.80", "23.79", "0.00", "23.79")


def test_kwd_three_places() -> None:
    t = totals([line("1.001")], (pct(1, "50"),), currency="KWD")  # 0.5005 -> 0.501
    assert summary(t) == ("1.001", "0.501", "0.000", "0.500", "0.000", "0.500")


# -- refused inputs (programming errors: the service validates requests first) ---------------------------------------


def test_amounts_finer_than_the_minor_unit_are_refused() -> None:
    with pytest.raises(ValueError, match=r"a line amount 1\.005 is not in the currency's minor unit"):
        totals([line("1.005")])
    with pytest.raises(ValueError, match="minor unit"):
        totals([line("10.5")], currency="JPY")
    with pytest.raises(ValueError, match="remaining"):
        totals([line("10.00")], grants=(GrantTerm(1, D("0.001"), 1, None),))


def test_unknown_currency_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        totals([line("1.00")], currency="usd")


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: CouponTerm(1, "percentage", D("100.01"), None, None), ValueError),
        (lambda: CouponTerm(1, "percentage", D("-1"), None, None), ValueError),
        (lambda: CouponTerm(1, "percentage", None, D(1), None), TypeError),
        (lambda: CouponTerm(1, "fixed", None, D("-0.01"), None), ValueError),
        (lambda: CouponTerm(1, "fixed", D(10), None, None), TypeError),
        (lambda: CouponTerm(1, "other", D(10), D(1), None), ValueError),  # type: ignore[arg-type]
        (lambda: TaxTerm(1, "t", D(-1)), ValueError),
        (lambda: TaxTerm(1, "t", 0.2), TypeError),  # type: ignore[arg-type]
        (lambda: TermLine(1.5, None), TypeError),  # type: ignore[arg-type]
        (lambda: TermLine(D("NaN"), None), TypeError),
        (lambda: GrantTerm(1, D("Infinity"), 1, None), TypeError),
    ],
)
def test_bad_terms_are_refused(make: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        make()  # type: ignore[operator]


# -- credit notes ----------------------------------------------------------------------------------------------------

ITEMS = {11: D("60.00"), 12: D("40.00"), 13: D("-5.00")}


def note(
    items: dict[int, Decimal] | None = None,
    amount: str | None = None,
    *,
    credited: dict[int, Decimal] | None = None,
    invoice_total: str = "108.00",
    so_far: str = "0.00",
    currency: str = "USD",
) -> Decimal:
    return check_credit_note(
        items or {},
        ITEMS,
        credited or {},
        None if amount is None else D(amount),
        D(invoice_total),
        D(so_far),
        currency,
    )


def entries(error: InvalidInput) -> list[tuple[list[str | int], str]]:
    assert isinstance(error.detail, list)
    return [(e["loc"], e["msg"]) for e in error.detail]


def test_creditable_left() -> None:
    assert creditable_left(D("108.00"), D("20.00")) == D("88.00")
    assert creditable_left(D("108.00"), D("120.00")) == D(0)
    assert credit_note_limit is creditable_left


def test_a_partial_credit_note_of_items() -> None:
    assert str(note({11: D("20")})) == "20.00"
    assert note({11: D("20.00"), 12: D("40.00")}) == D("60.00")
    assert note({11: D("10.00")}, credited={11: D("50.00")}) == D("10.00")


def test_a_credit_note_of_an_amount() -> None:
    assert str(note(amount="108")) == "108.00"
    assert note(amount="8.00", so_far="100.00") == D("8.00")
    assert str(note(amount="5", invoice_total="5", currency="JPY")) == "5"


def test_items_and_an_amount_must_agree() -> None:
    assert note({11: D("20.00")}, "20") == D("20.00")
    with pytest.raises(InvalidInput) as caught:
        note({11: D("20.00")}, "25.00")
    assert entries(caught.value) == [(["amount"], "25.00 is not the sum of the items (20.00)")]


def test_a_credit_note_needs_items_or_an_amount() -> None:
    with pytest.raises(InvalidInput) as caught:
        note({})
    assert entries(caught.value) == [(["items"], "give the items to credit or an amount")]


@pytest.mark.parametrize(
    ("items", "amount", "currency", "expected"),
    [
        ({11: D(0)}, None, "USD", (["items", 0, "amount"], "must be greater than 0, got 0")),
        ({11: D("1"), 12: D("-1")}, None, "USD", (["items", 1, "amount"], "must be greater than 0, got -1")),
        (None, "0.00", "USD", (["amount"], "must be greater than 0, got 0.00")),
        (None, "1.005", "USD", (["amount"], "USD amounts have at most 2 decimal places; got 1.005")),
        ({11: D("1.5")}, None, "JPY", (["items", 0, "amount"], "JPY amounts have no decimal places; got 1.5")),
        (None, "1.0005", "KWD", (["amount"], "KWD amounts have at most 3 decimal places; got 1.0005")),
        ({99: D(1)}, None, "USD", (["items", 0, "invoice_item_id"], "item 99 is not an item of this invoice")),
        ({11: D("60.01")}, None, "USD", (["items", 0, "amount"], "60.01 is more than item 11 invoiced (60.00)")),
        ({13: D("1")}, None, "USD", (["items", 0, "amount"], "1 is more than item 13 invoiced (0.00)")),
        (None, "108.01", "USD", (["amount"], "108.01 is more than the invoice's total (108.00)")),
        (
            {11: D(1), 99: D(1)},
            None,
            "USD",
            (["items", 1, "invoice_item_id"], "item 99 is not an item of this invoice"),
        ),
    ],
)
def test_credit_note_input_errors(
    items: dict[int, Decimal] | None, amount: str | None, currency: str, expected: tuple[list[str | int], str]
) -> None:
    with pytest.raises(InvalidInput) as caught:
        note(items, amount, currency=currency, invoice_total="108" if currency == "JPY" else "108.00")
    assert entries(caught.value) == [expected]


def test_items_may_not_exceed_a_discounted_invoice_total() -> None:
    with pytest.raises(InvalidInput) as caught:
        note({11: D("60.00"), 12: D("40.00")}, invoice_total="90.00")
    assert entries(caught.value) == [(["items"], "100.00 is more than the invoice's total (90.00)")]


def test_more_than_earlier_notes_left_is_a_conflict() -> None:
    with pytest.raises(Conflict, match=r"^item 11: 20.00 is more than remains creditable of it \(10.00 after earlier"):
        note({11: D("20.00")}, credited={11: D("50.00")})
    with pytest.raises(Conflict, match=r"^60.00 is more than remains creditable of the invoice \(58.00 after earlier"):
        note({11: D("60.00")}, so_far="50.00")
    with pytest.raises(Conflict, match=r"^0.01 is more than remains creditable of the invoice \(0.00 after"):
        note(amount="0.01", so_far="108.00")
