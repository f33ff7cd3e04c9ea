"""Deciding what one price component charges for one slice of a billing period.

:func:`rate` turns a pricing model, the usage ``U`` recorded in a :class:`~fubble.pricing.periods.Slice` (the sum of
the event quantities in it, ``>= 0``) and the currency into one invoice :class:`Line`.

Rules
-----
* All arithmetic is exact (``Fraction``); the amount is rounded ONCE, half-up, to the currency's minor unit by
  :func:`~fubble.pricing.money.round_money`.
* ``flat``: ``amount`` in full, once per billing period, never prorated. If an earlier invoice already charged the
  period (``period_already_billed``) there is no line (``None``).
* ``subscription``: ``amount * slice.fraction`` (time proration, exact).
* ``tiered`` (graduated): ``charge(x)`` = sum over tiers of ``price * (min(x, end) - start)`` for the part of ``x``
  inside each tier (the last tier also takes everything past its end). With usage ``P`` already billed earlier in the
  same period (``prior_usage``) the line is ``round(charge(P + U)) - round(charge(P))``, so a period billed in parts
  sums to exactly the one-part total.
* ``volume``: the single tier with ``start <= x < end`` (the last tier at/after its end) prices ALL units:
  ``vol(x) = x * price``; the line is ``round(vol(P + U)) - round(vol(P))``, which may be negative when the period's
  usage crosses into a cheaper tier (a correction of what was billed earlier).
* ``package``: ``ceil(x / package_size) * package_price`` (a partly used package counts), line
  ``round(pkg(P + U)) - round(pkg(P))``.
* ``usage_based_subscription``: ``base_fee * slice.fraction + U * usage_price``, one line.
* ``time_based``: ``U`` is a duration in the model's ``event_unit`` (default: its ``unit``), converted exactly into
  ``unit``: ``U_unit = U * seconds(event_unit) / seconds(unit)`` (a ratio, never a rounded division); the amount is
  ``round(U_unit * rate_per_unit)``, from the exact ``U_unit``. The line's ``quantity`` is ``U_unit``, shown with at
  most 12 decimal places (rounded half-up when it has more, e.g. 1 second = 1/3600 hour = 0.000277777778; the detail
  then says ``≈``), and its ``unit_price`` the ``rate_per_unit``.
* ``dynamic``: unit price = the formula evaluated with the numeric ``pricing_details`` variables, ``usage = U`` and
  the external factors (a factor without a value is 0; a factor can never override a details variable or
  ``usage``). With ``segments`` (the slice cut where factor values changed: ``(usage_i, factors_i)`` with
  ``sum(usage_i) == U``) the amount is ``sum(usage_i * unit_price_i)``; otherwise one segment ``(U, {})``. A formula
  may produce a negative unit price (a credit); use ``max(..., 0)`` in the formula to prevent that.
* A line is returned even for zero usage (amount 0), so an invoice shows every component.
* ``unit_price`` is the model's natural unit price where it has one (flat/subscription amount, volume tier price,
  ``usage_price``, ``rate_per_unit``, the dynamic unit price when it was the same for every segment); otherwise
  (tiered, package, dynamic with several prices) ``amount / quantity`` to at most 12 places (``amount`` if the
  quantity is 0). ``quantity`` is ``U`` for usage types and 1 for flat and subscription.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Context, Decimal, Inexact, InvalidOperation, Overflow
from fractions import Fraction

from fubble.errors import InvalidInput
from fubble.pricing.models import (
    DynamicPricing,
    FlatPricing,
    PackagePricing,
    PricingModel,
    SubscriptionPricing,
    TieredPricing,
    TimeBasedPricing,
    UsageBasedSubscriptionPricing,
    VolumePricing,
)
from fubble.pricing.money import minor_unit_digits, round_money, to_decimal
from fubble.pricing.periods import Slice

__all__ = ["Line", "rate"]

_ZERO = Decimal(0)
_ONE = Decimal(1)
# Sums and differences of quantities for display: exact, or an error (never silently rounded).
_EXACT = Context(prec=2000, traps=[Inexact, InvalidOperation, Overflow])
_MICRO = timedelta(microseconds=1)
_DAY = timedelta(days=1) // _MICRO


@dataclass(frozen=True)
class Line:
    """One invoice line: ``quantity`` at ``unit_price`` came to ``amount`` (``detail`` explains how)."""

    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    detail: str


def _fmt(value: Decimal | Fraction) -> str:
    """A number for a detail text: plain notation, no exponent (Fractions to at most 12 places)."""
    number = to_decimal(value) if isinstance(value, Fraction) else value
    text = format(number, "f")
    return "0" if text == "-0" else text


def _quantity(value: object, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(f"{name} must be a Decimal, got {type(value).__name__}")
    number = Decimal(value)
    if not number.is_finite() or number < 0:
        raise InvalidInput.at((name,), f"{name} must be a finite number >= 0, got {value}")
    return number


def _difference(total: Fraction, earlier: Fraction, currency: str) -> Decimal:
    """``round(total) - round(earlier)``, exactly, with the currency's decimal places."""
    return round_money(Fraction(round_money(total, currency)) - Fraction(round_money(earlier, currency)), currency)


def _proration(slice: Slice) -> str:
    if slice.is_full_period:
        return "full period"
    covered = (slice.end - slice.start) // _MICRO
    whole = (slice.period_end - slice.period_start) // _MICRO
    if covered % _DAY == 0 and whole % _DAY == 0:
        return f"prorated {covered // _DAY}/{whole // _DAY} days of period"
    return f"prorated {slice.fraction} of period"


def _per_unit(amount: Decimal, quantity: Decimal) -> Decimal:
    return amount if quantity == 0 else to_decimal(Fraction(amount) / Fraction(quantity))


def _tiered(model: TieredPricing, usage: Decimal, prior: Decimal, currency: str) -> Line:
    def charge(x: Fraction) -> Fraction:
        total = Fraction(0)
        for index, tier in enumerate(model.tiers):
            start = Fraction(tier.start)
            if x <= start:
                break
            last = index == len(model.tiers) - 1
            upper = x if last or tier.end is None else min(x, Fraction(tier.end))
            total += Fraction(tier.price) * (upper - start)
        return total

    end = _EXACT.add(prior, usage)
    amount = _difference(charge(Fraction(end)), charge(Fraction(prior)), currency)
    parts = []
    for index, tier in enumerate(model.tiers):
        last = index == len(model.tiers) - 1
        low = max(prior, tier.start)
        high = end if last or tier.end is None else min(end, tier.end)
        if high > low:
            parts.append(f"{_fmt(_EXACT.subtract(high, low))} x {_fmt(tier.price)}")
    detail = " + ".join(parts) if parts else "0 units"
    if prior:
        detail += f" (units {_fmt(prior)} to {_fmt(end)} of the period)"
    return Line(usage, _per_unit(amount, usage), amount, detail)


def _volume(model: VolumePricing, usage: Decimal, prior: Decimal, currency: str) -> Line:
    def volume(x: Decimal) -> Fraction:
        return Fraction(x) * Fraction(model.tier_for(x).price)

    end = _EXACT.add(prior, usage)
    price = model.tier_for(end).price
    amount = _difference(volume(end), volume(prior), currency)
    detail = f"{_fmt(usage)} x {_fmt(price)}"
    if prior:
        earlier = round_money(volume(prior), currency)
        detail = f"{_fmt(end)} x {_fmt(price)} for the period so far, less {_fmt(earlier)} billed earlier"
    return Line(usage, price, amount, detail)


def _package(model: PackagePricing, usage: Decimal, prior: Decimal, currency: str) -> Line:
    size = Fraction(model.package_size)

    def packages(x: Decimal) -> int:
        return math.ceil(Fraction(x) / size)

    end = _EXACT.add(prior, usage)
    price = Fraction(model.package_price)
    amount = _difference(packages(end) * price, packages(prior) * price, currency)
    each = f"{_fmt(model.package_price)} (packages of {_fmt(model.package_size)})"
    if prior:
        detail = f"{packages(end)} packages for the period so far, less {packages(prior)} billed earlier, x {each}"
    else:
        detail = f"{packages(end)} packages x {each}"
    return Line(usage, _per_unit(amount, usage), amount, detail)


def _time_based(model: TimeBasedPricing, usage: Decimal, currency: str) -> Line:
    exact = Fraction(usage) * model.to_unit
    amount = round_money(exact * Fraction(model.rate_per_unit), currency)
    quantity = usage if model.to_unit == 1 else to_decimal(exact)
    unit = model.unit.value
    detail = f"{_fmt(quantity)} {unit}(s) x {_fmt(model.rate_per_unit)}"
    if model.events_in is not model.unit:
        equals = "=" if Fraction(quantity) == exact else "\N{ALMOST EQUAL TO}"
        detail = f"{_fmt(usage)} {model.events_in.value}(s) {equals} {detail}"
    return Line(quantity, model.rate_per_unit, amount, detail)


def _dynamic(
    model: DynamicPricing,
    usage: Decimal,
    segments: Sequence[tuple[Decimal, Mapping[str, Decimal]]] | None,
    currency: str,
) -> Line:
    if segments is None:
        segments = [(usage, {})]
    total_usage = Fraction(0)
    total = Fraction(0)
    prices: list[Decimal] = []
    parts: list[str] = []
    factor_names = model.factor_names
    for segment_usage, factors in segments:
        quantity = _quantity(segment_usage, "usage")
        variables: dict[str, Decimal] = {name: factors[name] for name in factor_names if name in factors}
        variables.update(model.variables)
        variables["usage"] = usage
        price = model.compiled.evaluate(variables)
        prices.append(price)
        parts.append(f"{_fmt(quantity)} x {_fmt(price)}")
        total_usage += Fraction(quantity)
        total += Fraction(quantity) * Fraction(price)
    if total_usage != Fraction(usage):
        raise ValueError(f"dynamic segments add up to {_fmt(total_usage)}, not the slice usage {_fmt(usage)}")
    amount = round_money(total, currency)
    if prices and all(price == prices[0] for price in prices):
        unit_price = prices[0]
        detail = f"{_fmt(usage)} x {_fmt(unit_price)}"
    else:
        unit_price = _per_unit(amount, usage)
        detail = " + ".join(parts) if parts else "0 units"
    return Line(usage, unit_price, amount, detail)


def rate(
    model: PricingModel,
    *,
    usage: Decimal,
    slice: Slice,
    currency: str,
    prior_usage: Decimal = _ZERO,
    period_already_billed: bool = False,
    segments: Sequence[tuple[Decimal, Mapping[str, Decimal]]] | None = None,
) -> Line | None:
    """The line ``model`` charges for ``usage`` in ``slice`` (see the module rules); ``None`` only for a flat fee
    whose period an earlier invoice already charged.

    ``prior_usage`` is the usage of the same period billed on earlier invoices (tiered, volume and package price the
    period as a whole); ``segments`` only applies to dynamic pricing.
    """
    minor_unit_digits(currency)  # unknown currency -> InvalidInput
    usage = _quantity(usage, "usage")
    prior = _quantity(prior_usage, "prior_usage")
    if isinstance(model, FlatPricing):
        if period_already_billed:
            return None
        return Line(_ONE, model.amount, round_money(model.amount, currency), "flat fee, once per billing period")
    if isinstance(model, SubscriptionPricing):
        amount = round_money(Fraction(model.amount) * slice.fraction, currency)
        return Line(_ONE, model.amount, amount, _proration(slice))
    if isinstance(model, TieredPricing):
        return _tiered(model, usage, prior, currency)
    if isinstance(model, VolumePricing):
        return _volume(model, usage, prior, currency)
    if isinstance(model, PackagePricing):
        return _package(model, usage, prior, currency)
    if isinstance(model, UsageBasedSubscriptionPricing):
        exact = Fraction(model.base_fee) * slice.fraction + Fraction(usage) * Fraction(model.usage_price)
        base = f"base fee {_fmt(model.base_fee)}"
        if not slice.is_full_period:
            base += f" {_proration(slice)}"
        detail = f"{base} + {_fmt(usage)} x {_fmt(model.usage_price)}"
        return Line(usage, model.usage_price, round_money(exact, currency), detail)
    if isinstance(model, TimeBasedPricing):
        return _time_based(model, usage, currency)
    if isinstance(model, DynamicPricing):
        return _dynamic(model, usage, segments, currency)
    raise TypeError(f"not a pricing model: {type(model).__name__}")
