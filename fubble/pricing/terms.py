"""An invoice's terms: coupons, taxes, the negative-total credit, prepaid credits, and the limits of credit notes.

:func:`invoice_totals` turns an invoice's lines (already rated and rounded) and the terms that apply to it into its
:class:`Totals`, in the fixed order subtotal -> discounts -> taxes -> total -> credits -> amount due.
:func:`check_credit_note` decides what a credit note may credit.

Rules
-----
* All amounts are ``Decimal`` in one currency. Every input amount (line, grant ``remaining``, credit-note inputs of
  the invoice) must already be in the currency's minor unit (``10.5`` USD is fine, ``10.005`` is a programming error:
  ``ValueError``); a coupon's ``amount_off`` is rounded half-up to it (the API refuses a finer one before). Every
  result is computed exactly and written with exactly the currency's decimal places (``0.00`` USD, ``0`` JPY) by
  :func:`~fubble.pricing.money.round_money`; the only roundings are the percentage discount (once per coupon and
  invoice) and the tax (once per rate and invoice), both half-up.
* Percents are percents: ``percent_off`` 15 and a tax ``rate`` 20 mean 15% and 20%.
* **Subtotal** = the sum of the line amounts (a line may be negative: a credit or a correction).
* **Discounts**, one per coupon, in the order the coupons are given (the caller passes them in redemption order):

  - A coupon *covers* the lines whose ``plan_id`` is in its ``plan_ids``; ``plan_ids`` None covers every line
    (including lines without a plan).
  - Each positive line has a *discountable remainder*, initially its amount; a line <= 0 has none.
  - The coupon's *base* is ``max(0, sum of the covered lines - what earlier coupons took from those lines)``: the
    covered plans' positive subtotal that is still undiscounted.
  - ``percentage``: ``round_half_up(base * percent_off / 100)``; ``fixed``: ``min(amount_off, base)``.
  - The discount is then capped so that all discounts together never exceed ``max(0, subtotal)``: a coupon never
    takes the invoice below zero and never adds to a credit the invoice already grants.
  - The discount is allocated to the covered lines proportionally to their discountable remainders, exactly, in
    minor units by largest remainder (ties: the earlier line); each share is <= the line's remainder, which then
    shrinks by it. So no line's discounted amount ever goes below zero and a line <= 0 is never discounted.
    :attr:`Totals.line_discounts` holds every line's total share; they sum to ``discount_amount``.
  - Every coupon appears in :attr:`Totals.discounts`, even with a 0 discount (it was counted for the period).
* **Taxes**: ``taxable = max(0, subtotal - discount_amount)``; each rate, in the order given, taxes it
  ``round_half_up(taxable * rate / 100)``, once per rate and invoice (each rate appears, even at 0).
  ``tax_amount`` is their sum. An exempt customer is simply passed no rates.
* **Total** = ``subtotal - discount_amount + tax_amount``. If that is below zero, ``total`` is 0 and
  ``credit_granted`` is the difference (the caller grants it as credit); otherwise ``credit_granted`` is 0.
* **Credits**: a grant is usable at ``at`` when ``remaining > 0`` and (``expires_at`` is None or ``expires_at > at``).
  Usable grants are used by ``priority`` ascending (1 first), then soonest ``expires_at`` (None last), then ``key``;
  each gives ``min(remaining, what is still owed)``. :attr:`Totals.credits` lists only grants that gave something.
  ``credits_applied`` <= ``total`` and <= the usable balance; ``amount_due = total - credits_applied`` (>= 0).
* **Credit notes** (:func:`check_credit_note`): a note credits either given amounts against given invoice items or a
  plain amount against the invoice. Item amounts are taken *as given* against each item (no discount or tax is
  re-derived): each must be > 0, in the currency's minor unit and at most what remains of that item
  (``max(0, item amount - credited earlier against it)``); the note's amount is their sum. Whatever form, the note's
  amount is > 0 and never more than what remains creditable of the invoice: ``creditable_left(invoice total,
  credited so far) = max(0, total - credited)``, where the caller passes the invoice's ``total`` (after discounts and
  taxes, before credits). Asking for more than the item or invoice holds at all is :class:`InvalidInput` (422);
  asking for more than earlier notes left is :class:`Conflict` (409).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from fubble.errors import Conflict, InvalidInput
from fubble.pricing.money import minor_unit_digits, round_money

__all__ = [
    "CouponTerm",
    "GrantTerm",
    "TaxTerm",
    "TermLine",
    "Totals",
    "available",
    "check_credit_note",
    "consume",
    "consumption_order",
    "credit_note_limit",
    "creditable_left",
    "expired",
    "invoice_totals",
]


def _check_decimal(value: object, what: str) -> None:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise TypeError(f"{what} must be a finite Decimal, got {value!r}")


@dataclass(frozen=True, slots=True)
class TermLine:
    """One invoice line as the terms see it: its (rounded) amount and the plan it bills, if any."""

    amount: Decimal
    plan_id: int | None

    def __post_init__(self) -> None:
        _check_decimal(self.amount, "a line amount")


@dataclass(frozen=True, slots=True)
class CouponTerm:
    """A coupon applied to this invoice. ``key`` identifies it to the caller (e.g. the redemption id)."""

    key: int
    kind: Literal["percentage", "fixed"]
    percent_off: Decimal | None
    amount_off: Decimal | None
    plan_ids: frozenset[int] | None
    description: str = ""

    def __post_init__(self) -> None:
        if self.kind == "percentage":
            _check_decimal(self.percent_off, "percent_off")
            assert self.percent_off is not None
            if not 0 <= self.percent_off <= 100:
                raise ValueError(f"percent_off must be within 0..100, got {self.percent_off}")
        elif self.kind == "fixed":
            _check_decimal(self.amount_off, "amount_off")
            assert self.amount_off is not None
            if self.amount_off < 0:
                raise ValueError(f"amount_off must be >= 0, got {self.amount_off}")
        else:
            raise ValueError(f"unknown coupon kind {self.kind!r}")


@dataclass(frozen=True, slots=True)
class TaxTerm:
    """A tax rate applied to this invoice (``rate`` percent, >= 0)."""

    key: int
    name: str
    rate: Decimal

    def __post_init__(self) -> None:
        _check_decimal(self.rate, "a tax rate")
        if self.rate < 0:
            raise ValueError(f"a tax rate must be >= 0, got {self.rate}")


@dataclass(frozen=True, slots=True)
class GrantTerm:
    """A customer's credit grant: what remains of it, its priority (1 used first) and when it expires."""

    key: int
    remaining: Decimal
    priority: int
    expires_at: datetime | None

    def __post_init__(self) -> None:
        _check_decimal(self.remaining, "a grant's remaining amount")


@dataclass(frozen=True, slots=True)
class Totals:
    """An invoice's totals; every amount has exactly the currency's decimal places."""

    subtotal: Decimal
    discounts: tuple[tuple[int, Decimal], ...]  # (coupon key, amount), one per coupon, in the order given
    discount_amount: Decimal
    taxes: tuple[tuple[int, Decimal, Decimal], ...]  # (tax key, taxable, amount), one per rate, in the order given
    tax_amount: Decimal
    total: Decimal
    credit_granted: Decimal
    credits: tuple[tuple[int, Decimal], ...]  # (grant key, amount used), only grants that gave something
    credits_applied: Decimal
    amount_due: Decimal
    line_discounts: tuple[Decimal, ...]  # each input line's share of discount_amount


def _units(amount: Decimal, places: int, what: str) -> int:
    """``amount`` as an integer number of minor units; ``ValueError`` if it has a finer part."""
    scaled: Fraction = Fraction(amount) * 10**places
    if scaled.denominator != 1:
        raise ValueError(f"{what} {amount} is not in the currency's minor unit ({places} decimal places)")
    return int(scaled.numerator)


def _allocate(amount: int, weights: Sequence[int]) -> list[int]:
    """Split ``amount`` (0 <= amount <= sum(weights), weights >= 0) proportionally to ``weights`` in whole units:
    floors first, then one unit each to the largest remainders (ties: the earlier index). Each share <= its weight."""
    total = sum(weights)
    if amount == 0 or total == 0:
        return [0] * len(weights)
    shares = [amount * w // total for w in weights]
    remainders = [amount * w % total for w in weights]
    left = amount - sum(shares)
    for i in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:left]:
        shares[i] += 1
    return shares


def _percent_of(units: int, percent: Decimal, places: int, currency: str) -> int:
    """``round_half_up(units * percent / 100)`` in minor units (the one rounding, via round_money)."""
    rounded = round_money(Fraction(units, 10**places) * Fraction(percent) / 100, currency)
    return _units(rounded, places, "a rounded amount")


def _discounts(
    lines: list[int], plans: list[int | None], coupons: Sequence[CouponTerm], places: int, currency: str
) -> tuple[list[int], list[int]]:
    """Per-coupon discounts and per-line shares, in minor units (the rules in the module docstring)."""
    remainder = [max(0, amount) for amount in lines]
    taken = [0] * len(lines)
    cap = max(0, sum(lines))
    per_coupon: list[int] = []
    for coupon in coupons:
        covered = [i for i, plan in enumerate(plans) if coupon.plan_ids is None or plan in coupon.plan_ids]
        base = max(0, sum(lines[i] - taken[i] for i in covered))
        if coupon.kind == "percentage":
            assert coupon.percent_off is not None
            wanted = _percent_of(base, coupon.percent_off, places, currency)
        else:
            assert coupon.amount_off is not None
            wanted = _units(round_money(coupon.amount_off, currency), places, "amount_off")
        discount = max(0, min(wanted, base, cap))
        cap -= discount
        per_coupon.append(discount)
        shares = _allocate(discount, [remainder[i] for i in covered])
        for i, share in zip(covered, shares, strict=True):
            remainder[i] -= share
            taken[i] += share
    return per_coupon, taken


def invoice_totals(
    lines: Sequence[TermLine],
    coupons: Sequence[CouponTerm],
    taxes: Sequence[TaxTerm],
    grants: Sequence[GrantTerm],
    currency: str,
    *,
    at: datetime,
) -> Totals:
    """The invoice's totals under its terms (every rule in the module docstring)."""
    places = minor_unit_digits(currency)

    def money(units: int) -> Decimal:
        return round_money(Fraction(units, 10**places), currency)

    amounts = [_units(line.amount, places, "a line amount") for line in lines]
    subtotal = sum(amounts)
    per_coupon, line_shares = _discounts(amounts, [line.plan_id for line in lines], coupons, places, currency)
    discount = sum(per_coupon)
    taxable = max(0, subtotal - discount)
    per_rate = [_percent_of(taxable, tax.rate, places, currency) for tax in taxes]
    tax = sum(per_rate)
    total = subtotal - discount + tax
    credit_granted = max(0, -total)
    total = max(0, total)
    used = consume(grants, money(total), at=at)
    used_units = [(key, _units(amount, places, "a grant's remaining amount")) for key, amount in used]
    applied = sum(units for _, units in used_units)
    return Totals(
        subtotal=money(subtotal),
        discounts=tuple((c.key, money(d)) for c, d in zip(coupons, per_coupon, strict=True)),
        discount_amount=money(discount),
        taxes=tuple((t.key, money(taxable), money(a)) for t, a in zip(taxes, per_rate, strict=True)),
        tax_amount=money(tax),
        total=money(total),
        credit_granted=money(credit_granted),
        credits=tuple((key, money(units)) for key, units in used_units),
        credits_applied=money(applied),
        amount_due=money(total - applied),
        line_discounts=tuple(money(share) for share in line_shares),
    )


# -- prepaid credits -------------------------------------------------------------------------------------------------


def _usable(grant: GrantTerm, at: datetime) -> bool:
    return grant.remaining > 0 and (grant.expires_at is None or grant.expires_at > at)


def consumption_order(grants: Sequence[GrantTerm], at: datetime) -> list[GrantTerm]:
    """The grants usable at ``at``, in the order they are used: priority ascending, then soonest ``expires_at``
    (None last), then ``key``."""
    usable = [g for g in grants if _usable(g, at)]
    return sorted(usable, key=lambda g: (g.priority, g.expires_at is None, g.expires_at or at, g.key))


def consume(grants: Sequence[GrantTerm], amount: Decimal, *, at: datetime) -> list[tuple[int, Decimal]]:
    """``(grant key, taken)`` for each grant that gives something towards ``amount``, in :func:`consumption_order`;
    each takes ``min(remaining, what is still owed)``. Exact (no rounding): the sum is ``min(amount, balance)``."""
    _check_decimal(amount, "an amount")
    left = max(Decimal(0), amount)
    taken: list[tuple[int, Decimal]] = []
    for grant in consumption_order(grants, at):
        if left <= 0:
            break
        take = min(grant.remaining, left)
        taken.append((grant.key, take))
        left -= take
    return taken


def available(grants: Sequence[GrantTerm], at: datetime) -> Decimal:
    """The balance usable at ``at``: the sum of the usable grants' ``remaining`` (exact)."""
    return sum((g.remaining for g in grants if _usable(g, at)), Decimal(0))


def expired(grants: Sequence[GrantTerm], at: datetime) -> list[GrantTerm]:
    """The grants with something left whose ``expires_at`` is at or before ``at`` (their remainder expires), in the
    order given."""
    return [g for g in grants if g.remaining > 0 and g.expires_at is not None and g.expires_at <= at]


# -- credit notes ----------------------------------------------------------------------------------------------------


def creditable_left(invoice_total: Decimal, credited_so_far: Decimal) -> Decimal:
    """What credit notes may still credit on an invoice: ``max(0, invoice_total - credited_so_far)`` (exact)."""
    _check_decimal(invoice_total, "an invoice total")
    _check_decimal(credited_so_far, "an amount credited")
    return max(Decimal(0), invoice_total - credited_so_far)


credit_note_limit = creditable_left


def _requested(amount: object, currency: str, places: int, loc: tuple[str | int, ...]) -> Decimal:
    """A requested credit amount: a finite Decimal > 0 in the currency's minor unit, else InvalidInput at ``loc``."""
    if isinstance(amount, bool) or not isinstance(amount, Decimal | int) or not Decimal(amount).is_finite():
        raise InvalidInput.at(loc, f"must be a number, got {amount!r}")
    value = Decimal(amount)
    if value <= 0:
        raise InvalidInput.at(loc, f"must be greater than 0, got {value}")
    if (Fraction(value) * 10**places).denominator != 1:
        unit = "no decimal places" if places == 0 else f"at most {places} decimal place{'s' * (places > 1)}"
        raise InvalidInput.at(loc, f"{currency} amounts have {unit}; got {value}")
    return value


def check_credit_note(
    requested_items: Mapping[int, Decimal],
    item_amounts: Mapping[int, Decimal],
    item_credited: Mapping[int, Decimal],
    requested_total: Decimal | None,
    invoice_total: Decimal,
    credited_so_far: Decimal,
    currency: str,
) -> Decimal:
    """The amount of a credit note, or the reason it cannot be issued (rules in the module docstring).

    ``requested_items``: invoice item id -> amount to credit, in request order (errors are located at
    ``("items", position, ...)``); ``item_amounts``: every item of the invoice -> its amount; ``item_credited``: item
    id -> credited by earlier notes (missing = 0); ``requested_total``: the plain ``amount`` asked for, if any (with
    items too, it must equal their sum). Give items or an amount (or both, agreeing).
    """
    places = minor_unit_digits(currency)
    left = creditable_left(invoice_total, credited_so_far)
    if not requested_items and requested_total is None:
        raise InvalidInput.at(("items",), "give the items to credit or an amount")
    total: Decimal | None = None
    if requested_items:
        total = Decimal(0)
        for position, (item_id, asked) in enumerate(requested_items.items()):
            if item_id not in item_amounts:
                raise InvalidInput.at(
                    ("items", position, "invoice_item_id"), f"item {item_id} is not an item of this invoice"
                )
            value = _requested(asked, currency, places, ("items", position, "amount"))
            whole = max(Decimal(0), item_amounts[item_id])
            remaining = max(Decimal(0), whole - item_credited.get(item_id, Decimal(0)))
            if value > whole:
                raise InvalidInput.at(
                    ("items", position, "amount"),
                    f"{value} is more than item {item_id} invoiced ({round_money(whole, currency)})",
                )
            if value > remaining:
                raise Conflict(
                    f"item {item_id}: {value} is more than remains creditable of it "
                    f"({round_money(remaining, currency)} after earlier credit notes)"
                )
            total += value
    if requested_total is not None:
        value = _requested(requested_total, currency, places, ("amount",))
        if total is not None and value != total:
            raise InvalidInput.at(("amount",), f"{value} is not the sum of the items ({round_money(total, currency)})")
        total = value
    assert total is not None
    if total > max(Decimal(0), invoice_total):
        raise InvalidInput.at(
            ("items",) if requested_total is None else ("amount",),
            f"{round_money(total, currency)} is more than the invoice's total "
            f"({round_money(max(Decimal(0), invoice_total), currency)})",
        )
    if total > left:
        raise Conflict(
            f"{round_money(total, currency)} is more than remains creditable of the invoice "
            f"({round_money(left, currency)} after earlier credit notes)"
        )
    return round_money(total, currency)
