"""Properties of an invoice's terms (fubble.pricing.terms), checked on generated invoices (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from fubble.errors import Conflict, InvalidInput
from fubble.pricing.money import minor_unit_digits, round_money
from fubble.pricing.terms import (
    CouponTerm,
    GrantTerm,
    TaxTerm,
    TermLine,
    Totals,
    available,
    check_credit_note,
    consumption_order,
    creditable_left,
    invoice_totals,
)

D = Decimal
PROPERTY = settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
AT = datetime(2024, 5, 1, tzinfo=UTC)
PLANS = [None, 1, 2, 3]

currencies = st.sampled_from(["USD", "JPY", "KWD", "EUR"])


def money(units: int, currency: str) -> Decimal:
    return round_money(Fraction(units, 10 ** minor_unit_digits(currency)), currency)


@st.composite
def invoices(draw: st.DrawFn) -> tuple[list[TermLine], list[CouponTerm], list[TaxTerm], list[GrantTerm], str]:
    currency = draw(currencies)
    line_units = st.one_of(st.integers(-50_000, 200_000), st.integers(-3, 3))
    lines = [
        TermLine(money(units, currency), plan)
        for units, plan in draw(st.lists(st.tuples(line_units, st.sampled_from(PLANS)), max_size=8))
    ]
    plan_sets = st.one_of(st.none(), st.frozensets(st.sampled_from([1, 2, 3])))
    percentage = st.builds(
        lambda key, p, plans: CouponTerm(key, "percentage", p, None, plans),
        st.integers(1, 99),
        st.decimals(0, 100, places=3),
        plan_sets,
    )
    fixed = st.builds(
        lambda key, units, plans: CouponTerm(key, "fixed", None, money(units, currency), plans),
        st.integers(1, 99),
        st.integers(0, 150_000),
        plan_sets,
    )
    coupons = draw(st.lists(st.one_of(percentage, fixed), max_size=4))
    taxes = [
        TaxTerm(i, f"t{i}", rate) for i, rate in enumerate(draw(st.lists(st.decimals(0, 30, places=3), max_size=3)))
    ]
    expiries = st.one_of(st.none(), st.integers(-5, 5).map(lambda d: AT + timedelta(days=d)))
    grants = [
        GrantTerm(key, money(units, currency), priority, expires)
        for key, (units, priority, expires) in enumerate(
            draw(st.lists(st.tuples(st.integers(-100, 100_000), st.integers(1, 50), expiries), max_size=5))
        )
    ]
    return lines, coupons, taxes, grants, currency


def _places_ok(t: Totals, currency: str) -> bool:
    exponent = -minor_unit_digits(currency)
    amounts = [
        t.subtotal,
        t.discount_amount,
        t.tax_amount,
        t.total,
        t.credit_granted,
        t.credits_applied,
        t.amount_due,
        *(a for _, a in t.discounts),
        *(a for _, b, c in t.taxes for a in (b, c)),
        *(a for _, a in t.credits),
        *t.line_discounts,
    ]
    return all(a.as_tuple().exponent == exponent for a in amounts)


@PROPERTY
@given(invoices())
def test_totals_follow_the_order_of_the_terms(
    invoice: tuple[list[TermLine], list[CouponTerm], list[TaxTerm], list[GrantTerm], str],
) -> None:
    lines, coupons, taxes, grants, currency = invoice
    t = invoice_totals(lines, coupons, taxes, grants, currency, at=AT)
    assert _places_ok(t, currency)
    assert t.subtotal == sum((line.amount for line in lines), D(0))

    # discounts: never negative, never beyond the positive subtotal, listed per coupon
    assert [key for key, _ in t.discounts] == [c.key for c in coupons]
    assert all(d >= 0 for _, d in t.discounts)
    assert t.discount_amount == sum((d for _, d in t.discounts), D(0))
    assert t.discount_amount <= max(D(0), t.subtotal)
    for coupon, (_, d) in zip(coupons, t.discounts, strict=True):
        covered = [ln.amount for ln in lines if coupon.plan_ids is None or ln.plan_id in coupon.plan_ids]
        assert d <= max(D(0), sum(covered, D(0)))
        if coupon.kind == "fixed":
            assert coupon.amount_off is not None
            assert d <= coupon.amount_off

    # taxes: once per rate on the discounted subtotal
    taxable = max(D(0), t.subtotal - t.discount_amount)
    assert t.taxes == tuple((tax.key, taxable, round_money(taxable * tax.rate / 100, currency)) for tax in taxes)
    assert t.tax_amount == sum((a for _, _, a in t.taxes), D(0))

    # total, or the credit granted instead
    raw = t.subtotal - t.discount_amount + t.tax_amount
    if raw >= 0:
        assert (t.total, t.credit_granted) == (raw, D(0))
    else:
        assert (t.total, t.credit_granted) == (D(0), -raw)
        assert t.discount_amount == 0 and t.tax_amount == 0

    # credits: never more than the balance nor the total; amount due what is left
    by_key = {g.key: g for g in grants}
    assert t.credits_applied == sum((a for _, a in t.credits), D(0))
    assert t.credits_applied <= t.total
    assert t.credits_applied <= available(grants, AT)
    assert t.credits_applied == min(t.total, available(grants, AT))
    for key, used in t.credits:
        grant = by_key[key]
        assert 0 < used <= grant.remaining
        assert grant.expires_at is None or grant.expires_at > AT
    assert t.amount_due == t.total - t.credits_applied >= 0
    # the grants used are the first ones of the order, every one but the last used up
    order = consumption_order(grants, AT)
    assert [key for key, _ in t.credits] == [g.key for g in order[: len(t.credits)]]
    assert all(used == by_key[key].remaining for key, used in t.credits[:-1])


@PROPERTY
@given(invoices())
def test_a_coupon_never_makes_a_line_negative(
    invoice: tuple[list[TermLine], list[CouponTerm], list[TaxTerm], list[GrantTerm], str],
) -> None:
    lines, coupons, taxes, grants, currency = invoice
    t = invoice_totals(lines, coupons, taxes, grants, currency, at=AT)
    assert len(t.line_discounts) == len(lines)
    assert sum(t.line_discounts, D(0)) == t.discount_amount
    for ln, share in zip(lines, t.line_discounts, strict=True):
        assert share >= 0
        if ln.amount > 0:
            assert ln.amount - share >= 0
        else:
            assert share == 0
        if share > 0:
            assert any(c.plan_ids is None or ln.plan_id in c.plan_ids for c in coupons)


@PROPERTY
@given(invoices())
def test_fixed_coupons_on_every_line_add_up_like_one(
    invoice: tuple[list[TermLine], list[CouponTerm], list[TaxTerm], list[GrantTerm], str],
) -> None:
    """Fixed coupons that all cover every line take what one coupon of their sum takes (capped at the subtotal)."""
    lines, _, _, _, currency = invoice
    t = invoice_totals(
        lines,
        [CouponTerm(1, "fixed", None, D(7), None), CouponTerm(2, "fixed", None, D(5), None)],
        [],
        [],
        currency,
        at=AT,
    )
    one = invoice_totals(lines, [CouponTerm(1, "fixed", None, D(12), None)], [], [], currency, at=AT)
    assert t.discount_amount == one.discount_amount == min(D(12), max(D(0), one.subtotal))


@st.composite
def credit_requests(
    draw: st.DrawFn,
) -> tuple[str, dict[int, Decimal], Decimal, list[tuple[dict[int, Decimal], Decimal | None]]]:
    currency = draw(currencies)
    items = {
        item_id: money(units, currency)
        for item_id, units in enumerate(draw(st.lists(st.integers(-1_000, 10_000), min_size=1, max_size=4)), start=1)
    }
    positive = sum((max(D(0), a) for a in items.values()), D(0))
    # the invoice total after discounts (lower) or taxes (higher)
    total = money(draw(st.integers(0, int(positive * 10 ** minor_unit_digits(currency) * 2) + 10)), currency)
    asked = st.one_of(st.integers(1, 3_000), st.integers(-10, 12_000)).map(lambda u: money(u, currency))
    item_ids = st.one_of(st.sampled_from(sorted(items)), st.integers(0, 6))
    by_items = st.tuples(st.dictionaries(item_ids, asked, min_size=1, max_size=3), st.none())
    no_items: dict[int, Decimal] = {}
    by_amount = st.tuples(st.just(no_items), asked)
    both = st.tuples(st.dictionaries(item_ids, asked, max_size=3), st.one_of(st.none(), asked))
    requests = draw(st.lists(st.one_of(by_items, by_amount, both), max_size=6))
    return currency, items, total, requests


def _acceptable(
    asked_items: dict[int, Decimal],
    asked_total: Decimal | None,
    items: dict[int, Decimal],
    credited_items: dict[int, Decimal],
    left: Decimal,
) -> bool:
    """The rule, written independently: every asked item exists, is > 0 and within what remains of it; an amount
    given with items equals their sum; the whole is > 0 and within what remains of the invoice."""
    if not asked_items and asked_total is None:
        return False
    for item_id, value in asked_items.items():
        if item_id not in items or value <= 0:
            return False
        if value > max(D(0), items[item_id]) - credited_items.get(item_id, D(0)):
            return False
    amount = sum(asked_items.values(), D(0)) if asked_items else asked_total
    assert amount is not None
    if asked_total is not None and asked_total != amount:
        return False
    return D(0) < amount <= left


@PROPERTY
@given(credit_requests())
def test_a_credit_note_never_exceeds_what_remains_creditable(
    case: tuple[str, dict[int, Decimal], Decimal, list[tuple[dict[int, Decimal], Decimal | None]]],
) -> None:
    currency, items, total, requests = case
    credited_items: dict[int, Decimal] = {}
    credited = D(0)
    for asked_items, asked_total in requests:
        left = creditable_left(total, credited)
        acceptable = _acceptable(asked_items, asked_total, items, credited_items, left)
        try:
            amount = check_credit_note(asked_items, items, credited_items, asked_total, total, credited, currency)
        except (InvalidInput, Conflict):
            event("refused")
            assert not acceptable
            continue
        event("accepted")
        assert acceptable
        assert 0 < amount <= left
        assert amount.as_tuple().exponent == -minor_unit_digits(currency)
        if asked_items:
            assert amount == sum(asked_items.values(), D(0))
            for item_id, value in asked_items.items():
                credited_items[item_id] = credited_items.get(item_id, D(0)) + value
                assert credited_items[item_id] <= items[item_id]
        if asked_total is not None:
            assert amount == asked_total
        credited += amount
        assert credited <= total
