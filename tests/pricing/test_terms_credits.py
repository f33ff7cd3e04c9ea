"""Golden edge cases of prepaid credits and of credit-note limits (fubble.pricing.terms): amounts below one whole
unit of money, grants with nothing left, an empty balance, and items or invoices with (almost) nothing creditable."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from fubble.errors import Conflict, InvalidInput
from fubble.pricing.terms import GrantTerm, available, consume, expired
from tests.pricing.test_terms import AT, entries, line, note, summary, totals

D = Decimal

# -- prepaid credits -------------------------------------------------------------------------------------------------


def test_consume_takes_amounts_below_one_unit() -> None:
    grants = [GrantTerm(1, D("3"), 1, None), GrantTerm(2, D("5"), 2, None)]
    assert consume(grants, D("0.01"), at=AT) == [(1, D("0.01"))]
    assert consume(grants, D("4"), at=AT) == [(1, D("3")), (2, D("1"))]  # exactly 1 still owed after grant 1
    t = totals([line("0.99")], grants=(GrantTerm(7, D("10.00"), 1, None),))
    assert t.credits == ((7, D("0.99")),)
    assert summary(t) == ("0.99", "0.00", "0.00", "0.99", "0.99", "0.00")


def test_only_grants_with_something_left_expire() -> None:
    past = AT - timedelta(days=1)
    grants = (
        GrantTerm(1, D("0.00"), 1, past),  # used up before it expired: nothing expires
        GrantTerm(2, D("0.50"), 1, past),
        GrantTerm(3, D("1.00"), 1, AT),
        GrantTerm(4, D("-0.01"), 1, past),
        GrantTerm(5, D("0.01"), 1, AT + timedelta(seconds=1)),
    )
    assert [g.key for g in expired(grants, AT)] == [2, 3]


def test_an_empty_balance_is_a_decimal_zero() -> None:
    # the balance endpoint quantizes it to the currency (fubble/credits/service.py): an int 0 has no quantize
    for grants in ((), (GrantTerm(1, D("5.00"), 1, AT),)):
        balance = available(grants, AT)
        assert isinstance(balance, Decimal)
        assert balance.quantize(D("0.01")) == D("0.00")


# -- credit-note limits ----------------------------------------------------------------------------------------------


def test_an_invoice_total_below_one_unit_limits_a_note() -> None:
    assert note(amount="0.50", invoice_total="0.50") == D("0.50")
    with pytest.raises(InvalidInput) as caught:
        note(amount="0.60", invoice_total="0.50")
    assert entries(caught.value) == [(["amount"], "0.60 is more than the invoice's total (0.50)")]
    with pytest.raises(InvalidInput) as caught:
        note(amount="0.01", invoice_total="0.00")
    assert entries(caught.value) == [(["amount"], "0.01 is more than the invoice's total (0.00)")]


def test_an_item_with_less_than_one_unit_left_limits_a_note() -> None:
    assert note({11: D("0.50")}, credited={11: D("59.50")}, so_far="59.50") == D("0.50")
    with pytest.raises(Conflict) as conflict:
        note({11: D("0.75")}, credited={11: D("59.50")}, so_far="59.50")
    assert (
        str(conflict.value) == "item 11: 0.75 is more than remains creditable of it (0.50 after earlier credit notes)"
    )
    with pytest.raises(Conflict) as conflict:
        note({11: D("0.01")}, credited={11: D("60.00")}, so_far="60.00")
    assert (
        str(conflict.value) == "item 11: 0.01 is more than remains creditable of it (0.00 after earlier credit notes)"
    )
