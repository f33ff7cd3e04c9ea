"""The exact messages of refused terms and credit-note requests (fubble.pricing.terms).

A credit note's 422 names the field and says what is wrong with it; a term refused by the core (a programming error:
the service validates requests first) names the value it refused, so a bug upstream is found from the message alone.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from fubble.errors import InvalidInput
from fubble.pricing.terms import CouponTerm, GrantTerm, TaxTerm, TermLine, check_credit_note, consume, creditable_left
from tests.pricing.test_terms import AT, ITEMS, entries, line, totals

D = Decimal


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: TermLine(1.5, None), TypeError, "a line amount must be a finite Decimal, got 1.5"),  # type: ignore[arg-type]
        (lambda: TermLine(D("NaN"), None), TypeError, "a line amount must be a finite Decimal, got Decimal('NaN')"),
        (
            lambda: CouponTerm(1, "percentage", None, D(1), None),
            TypeError,
            "percent_off must be a finite Decimal, got None",
        ),
        (
            lambda: CouponTerm(1, "percentage", D("100.01"), None, None),
            ValueError,
            "percent_off must be within 0..100, got 100.01",
        ),
        (lambda: CouponTerm(1, "fixed", D(10), None, None), TypeError, "amount_off must be a finite Decimal, got None"),
        (lambda: CouponTerm(1, "fixed", None, D("-0.01"), None), ValueError, "amount_off must be >= 0, got -0.01"),
        (lambda: CouponTerm(1, "other", D(10), D(1), None), ValueError, "unknown coupon kind 'other'"),  # type: ignore[arg-type]
        (lambda: TaxTerm(1, "t", 0.2), TypeError, "a tax rate must be a finite Decimal, got 0.2"),  # type: ignore[arg-type]
        (lambda: TaxTerm(1, "t", D("-0.5")), ValueError, "a tax rate must be >= 0, got -0.5"),
        (
            lambda: GrantTerm(1, D("Infinity"), 1, None),
            TypeError,
            "a grant's remaining amount must be a finite Decimal, got Decimal('Infinity')",
        ),
        (lambda: consume([], 1.5, at=AT), TypeError, "an amount must be a finite Decimal, got 1.5"),  # type: ignore[arg-type]
        (lambda: creditable_left(108, D(0)), TypeError, "an invoice total must be a finite Decimal, got 108"),  # type: ignore[arg-type]
        (lambda: creditable_left(D(108), None), TypeError, "an amount credited must be a finite Decimal, got None"),  # type: ignore[arg-type]
    ],
)
def test_refused_terms_name_what_they_refuse(make: Callable[[], object], error: type[Exception], message: str) -> None:
    with pytest.raises(error) as caught:
        make()
    assert str(caught.value) == message


def test_a_grant_amount_finer_than_the_minor_unit_is_named() -> None:
    with pytest.raises(ValueError) as caught:
        totals([line("10.00")], grants=(GrantTerm(1, D("0.001"), 1, None),))
    assert (
        str(caught.value) == "a grant's remaining amount 0.001 is not in the currency's minor unit (2 decimal places)"
    )


@pytest.mark.parametrize(
    ("items", "amount", "expected"),
    [
        ({11: D("Infinity")}, None, (["items", 0, "amount"], "must be a number, got Decimal('Infinity')")),
        ({11: D(1), 12: D("NaN")}, None, (["items", 1, "amount"], "must be a number, got Decimal('NaN')")),
        ({}, True, (["amount"], "must be a number, got True")),
        ({}, "1.00", (["amount"], "must be a number, got '1.00'")),
        ({}, 1.5, (["amount"], "must be a number, got 1.5")),
    ],
)
def test_a_credit_note_amount_must_be_a_number(
    items: dict[int, Decimal], amount: object, expected: tuple[list[str | int], str]
) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_credit_note(items, ITEMS, {}, amount, D("108.00"), D(0), "USD")  # type: ignore[arg-type]
    assert entries(caught.value) == [expected]


def test_a_credit_note_amount_may_be_an_int() -> None:
    assert str(check_credit_note({}, ITEMS, {}, 5, D("108.00"), D(0), "USD")) == "5.00"  # type: ignore[arg-type]
