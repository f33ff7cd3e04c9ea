"""Golden cases of how coupons share out and stack (fubble.pricing.terms), written out to the cent.

Each one is a case the broad cases in ``test_terms.py`` happen not to tell apart: a leftover cent owed to a later
line, a discount of one minor unit, a zero line among discounted ones, and stacked coupons that depend on what the
earlier ones took from the invoice and from each line.
"""

from __future__ import annotations

from decimal import Decimal

from tests.pricing.test_terms import fixed, line, pct, summary, totals

D = Decimal


def test_leftover_cents_go_to_the_largest_remainders_wherever_they_are() -> None:
    # 1.00 over 1.00/2.00/4.00: exact shares 0.1428.., 0.2857.., 0.5714..; floors 0.14/0.28/0.57, the cent to 0.2857..
    t = totals([line("1.00"), line("2.00"), line("4.00")], (fixed(1, "1.00"),))
    assert t.line_discounts == (D("0.14"), D("0.29"), D("0.57"))
    # 0.02 over 0.02/0.01: exact 4/3 and 2/3 cents; floors 1 and 0, the cent to the later line's larger remainder
    t = totals([line("0.02"), line("0.01")], (fixed(1, "0.02"),))
    assert t.line_discounts == (D("0.01"), D("0.01"))


def test_a_discount_of_one_minor_unit_is_given_to_a_line() -> None:
    t = totals([line("0.01")], (fixed(1, "0.01"),))
    assert t.line_discounts == (D("0.01"),)
    assert summary(t) == ("0.01", "0.01", "0.00", "0.00", "0.00", "0.00")
    t = totals([line("1.00"), line("3.00")], (fixed(1, "0.01"),))
    assert t.line_discounts == (D("0.00"), D("0.01"))
    t = totals([line("7", 1)], (pct(1, "10"),), currency="JPY")  # 0.7 -> 1 yen
    assert t.line_discounts == (D("1"),)


def test_a_zero_line_gets_no_share_of_a_discount() -> None:
    t = totals([line("1.00", 1), line("0.00", 1)], (fixed(1, "1.00"),))
    assert t.line_discounts == (D("1.00"), D("0.00"))
    assert t.total == D("0.00")


def test_a_100_percent_coupon_takes_everything() -> None:
    t = totals([line("12.34", 1), line("0.66", 2)], (pct(1, "100", {1}),))
    assert t.discounts == ((1, D("12.34")),)
    assert t.line_discounts == (D("12.34"), D("0.00"))
    assert summary(t) == ("13.00", "12.34", "0.00", "0.66", "0.00", "0.66")


def test_a_later_coupon_is_capped_by_what_earlier_ones_left_of_the_invoice_not_by_their_size() -> None:
    t = totals([line("100.00")], (pct(1, "10"), pct(2, "50")))
    assert t.discounts == ((1, D("10.00")), (2, D("45.00")))
    assert summary(t) == ("100.00", "55.00", "0.00", "45.00", "0.00", "45.00")


def test_the_invoice_cap_shrinks_with_each_coupon() -> None:
    # a credit line leaves 5.00 on the invoice: 3.00 to the first coupon, only the last 2.00 to the second
    t = totals([line("100.00", 1), line("-95.00")], (fixed(1, "3.00", {1}), fixed(2, "10.00", {1})))
    assert t.discounts == ((1, D("3.00")), (2, D("2.00")))
    assert t.line_discounts == (D("5.00"), D("0.00"))
    assert summary(t) == ("5.00", "5.00", "0.00", "0.00", "0.00", "0.00")


def test_a_line_discounted_by_an_earlier_coupon_weighs_less_in_a_later_one() -> None:
    # coupon 1 leaves 0.50 of line 1 and all 1.00 of line 2; coupon 2's 1.00 is shared 1:2 (0.333.. / 0.666..)
    t = totals([line("1.00", 1), line("1.00", 2)], (fixed(1, "0.50", {1}), fixed(2, "1.00")))
    assert t.discounts == ((1, D("0.50")), (2, D("1.00")))
    assert t.line_discounts == (D("0.83"), D("0.67"))
    assert summary(t) == ("2.00", "1.50", "0.00", "0.50", "0.00", "0.50")
