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
* ``tiered`` (graduated): ``charge(x)`` = sum over the tiers ``x`` REACHES of ``price * (min(x, end) - start)`` for
  the part of ``x`` inside each (the last tier also takes everything past its end) plus the tier's ``flat_amount``.
  A tier is reached when ``x`` exceeds its start; the first tier always is, so its flat amount is charged even for
  zero usage. With usage ``P`` already billed earlier in the same period (``prior_usage``) the line is
  ``round(charge(P + U)) - round(charge(P))``, so a period billed in parts sums to exactly the one-part total. When
  no earlier part was billed (``P`` 0 and not ``period_already_billed``) the earlier charge is 0, so the first
  tier's flat amount is charged with the first part, and only then.
* ``graduated_percentage``: as ``tiered``, each tier charging ``rate`` percent (``rate / 100`` a unit) instead of a
  unit price, plus its ``flat_amount`` when reached.
* ``volume``: the single tier with ``start <= x < end`` (the last tier at/after its end; usage exactly at a tier's
  end is in the next tier) prices ALL units and adds its ``flat_amount``: ``vol(x) = x * price + flat_amount``; zero
  usage is in the first tier, so its flat amount is charged then too. The line is ``round(vol(P + U)) -
  round(vol(P))`` (earlier charge 0 when no part was billed before, as for ``tiered``), which may be negative when
  the period's usage crosses into a cheaper tier (a correction of what was billed earlier).
* ``package``: ``ceil(max(0, x - free_units) / package_size) * package_price`` (a partly used package counts; usage
  up to ``free_units`` is free, so usage exactly using up the free units costs 0), line
  ``round(pkg(P + U)) - round(pkg(P))``.
* ``percentage`` and ``event_amount`` price ``events`` one by one (rules: :mod:`fubble.pricing.per_event`): with
  the events of the period billed earlier (``prior_events``) the line is ``round(charge(prior_events + events)) -
  round(charge(prior_events))``. For ``percentage`` the line's ``quantity`` is the sum of the slice's event
  quantities (``usage`` is not read); for ``event_amount`` it is ``usage`` (the metric's usage of the slice, of any
  sign).
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
  (tiered, graduated_percentage, package, percentage, event_amount, dynamic with several prices) ``amount /
  quantity`` to at most 12 places (``amount`` if the quantity is 0). ``quantity`` is ``U`` for usage types and 1
  for flat and subscription.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Context, Decimal, Inexact, InvalidOperation, Overflow
from fractions import Fraction

from fubble.errors import InvalidInput
from fubble.pricing.charges import EventValue
from fubble.pricing.models import (
    DynamicPricing,
    EventAmountPricing,
    FlatPricing,
    GraduatedPercentagePricing,
    PackagePricing,
    PercentagePricing,
    PricingModel,
    SubscriptionPricing,
    TieredPricing,
    TimeBasedPricing,
    UsageBasedSubscriptionPricing,
    VolumePricing,
)
from fubble.pricing.money import minor_unit_digits, round_money, to_decimal
from fubble.pricing.per_event import event_amounts, percentage_charge
from fubble.pricing.periods import Slice
from fubble.pricing.tiers import PercentageTier, Tier

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


def _finite(value: object) -> Decimal:
    """A usage of any sign (``event_amount`` only shows it)."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int) or not Decimal(value).is_finite():
        raise TypeError(f"usage must be a finite Decimal, got {value!r}")
    return Decimal(value)


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


def _earlier(charge: Fraction, prior: Decimal, billed: bool) -> Fraction:
    """What the period's earlier parts were charged: ``charge(prior)``, or nothing when no part was billed before
    (``prior`` 0 and not ``billed``: a first tier's flat amount is then still to charge)."""
    return charge if prior or billed else Fraction(0)


def _reached(tiers: Sequence[Tier | PercentageTier], x: Fraction) -> list[int]:
    """The tiers ``x`` reaches: the first always, each other when ``x`` exceeds its start."""
    return [i for i, tier in enumerate(tiers) if i == 0 or x > tier.start]


def _graduated(
    model: TieredPricing | GraduatedPercentagePricing, usage: Decimal, prior: Decimal, billed: bool, currency: str
) -> Line:
    tiers: Sequence[Tier | PercentageTier] = model.tiers
    percent = isinstance(model, GraduatedPercentagePricing)

    def unit_price(tier: Tier | PercentageTier) -> Fraction:
        return Fraction(tier.rate) / 100 if isinstance(tier, PercentageTier) else Fraction(tier.price)

    def upper(index: int, x: Fraction) -> Fraction:
        end = tiers[index].end
        return x if index == len(tiers) - 1 or end is None else min(x, Fraction(end))

    def flats(x: Fraction) -> Fraction:
        return sum((Fraction(tiers[i].flat_amount or 0) for i in _reached(tiers, x)), Fraction(0))

    def charge(x: Fraction) -> Fraction:
        total = flats(x)
        for index in _reached(tiers, x):
            start = Fraction(tiers[index].start)
            if x > start:
                total += unit_price(tiers[index]) * (upper(index, x) - start)
        return total

    end = _EXACT.add(prior, usage)
    amount = _difference(charge(Fraction(end)), _earlier(charge(Fraction(prior)), prior, billed), currency)
    parts = []
    for index, tier in enumerate(tiers):
        last = index == len(tiers) - 1
        low = max(prior, tier.start)
        high = end if last or tier.end is None else min(end, tier.end)
        if high > low:
            quantity = _fmt(_EXACT.subtract(high, low))
            if isinstance(tier, PercentageTier):
                parts.append(f"{_fmt(tier.rate)}% of {quantity}")
            else:
                parts.append(f"{quantity} x {_fmt(tier.price)}")
    flat = flats(Fraction(end)) - _earlier(flats(Fraction(prior)), prior, billed)
    if flat:
        parts = [*(parts or ["0 units"]), f"flat {_fmt(flat)}"]
    detail = " + ".join(parts) if parts else ("0 of volume" if percent else "0 units")
    if prior:
        detail += f" (units {_fmt(prior)} to {_fmt(end)} of the period)"
    return Line(usage, _per_unit(amount, usage), amount, detail)


def _volume(model: VolumePricing, usage: Decimal, prior: Decimal, billed: bool, currency: str) -> Line:
    def volume(x: Decimal) -> Fraction:
        tier = model.tier_for(x)
        return Fraction(x) * Fraction(tier.price) + Fraction(tier.flat_amount or 0)

    end = _EXACT.add(prior, usage)
    tier = model.tier_for(end)
    earlier = _earlier(volume(prior), prior, billed)
    amount = _difference(volume(end), earlier, currency)
    flat = f" + flat {_fmt(tier.flat_amount)}" if tier.flat_amount else ""
    detail = f"{_fmt(usage)} x {_fmt(tier.price)}{flat}"
    if prior or earlier:
        detail = (
            f"{_fmt(end)} x {_fmt(tier.price)}{flat} for the period so far, "
            f"less {_fmt(round_money(earlier, currency))} billed earlier"
        )
    return Line(usage, tier.price, amount, detail)


def _package(model: PackagePricing, usage: Decimal, prior: Decimal, currency: str) -> Line:
    size = Fraction(model.package_size)
    free = Fraction(model.free_units or 0)

    def packages(x: Decimal) -> int:
        return math.ceil(max(Fraction(0), Fraction(x) - free) / size)

    end = _EXACT.add(prior, usage)
    price = Fraction(model.package_price)
    amount = _difference(packages(end) * price, packages(prior) * price, currency)
    each = f"{_fmt(model.package_price)} (packages of {_fmt(model.package_size)}"
    each += f", after {_fmt(model.free_units)} free units)" if model.free_units else ")"
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


def _percentage(
    model: PercentagePricing, events: Sequence[EventValue], prior_events: Sequence[EventValue], currency: str
) -> Line:
    result = percentage_charge(model, [*prior_events, *events], skip=len(prior_events))
    amount = _difference(result.earlier + result.total, result.earlier, currency)
    quantity = _EXACT.add(_ZERO, _ZERO)
    for event in events:
        quantity = _EXACT.add(quantity, event.quantity)
    paid = result.paid_events
    detail = f"{_fmt(model.rate)}% of {_fmt(result.paid_volume)} on {paid} event{'' if paid == 1 else 's'}"
    if model.fixed_amount:
        detail += f" + {paid} x {_fmt(model.fixed_amount)} fixed"
    notes = []
    if result.free_events:
        notes.append(f"{result.free_events} event{'' if result.free_events == 1 else 's'} free")
    if result.raised:
        notes.append(f"{result.raised} raised to {_fmt(model.per_transaction_min_amount or _ZERO)}")
    if result.cut:
        notes.append(f"{result.cut} cut to {_fmt(model.per_transaction_max_amount or _ZERO)}")
    if notes:
        detail += f" ({', '.join(notes)})"
    return Line(quantity, _per_unit(amount, quantity), amount, detail)


def _event_amount(
    model: EventAmountPricing,
    usage: Decimal,
    events: Sequence[EventValue],
    prior_events: Sequence[EventValue],
    currency: str,
) -> Line:
    earlier, _ = event_amounts(model, prior_events)
    total, carried = event_amounts(model, events)
    amount = _difference(earlier + total, earlier, currency)
    detail = f"the {model.amount_property!r} amounts of {carried} event{'' if carried == 1 else 's'}"
    return Line(usage, _per_unit(amount, usage), amount, detail)


def rate(
    model: PricingModel,
    *,
    usage: Decimal,
    slice: Slice,
    currency: str,
    prior_usage: Decimal = _ZERO,
    period_already_billed: bool = False,
    segments: Sequence[tuple[Decimal, Mapping[str, Decimal]]] | None = None,
    events: Sequence[EventValue] | None = None,
    prior_events: Sequence[EventValue] = (),
) -> Line | None:
    """The line ``model`` charges for ``usage`` in ``slice`` (see the module rules); ``None`` only for a flat fee
    whose period an earlier invoice already charged.

    ``prior_usage`` is the usage of the same period billed on earlier invoices (tiered, graduated_percentage, volume
    and package price the period as a whole) and ``period_already_billed`` whether any earlier line charged the
    component in the period; ``segments`` only applies to dynamic pricing. ``events`` (required by ``percentage``
    and ``event_amount``, :class:`TypeError` without) are the slice's events in time order, ``prior_events`` those
    of the same period billed earlier.
    """
    minor_unit_digits(currency)  # unknown currency -> InvalidInput
    if isinstance(model, PercentagePricing | EventAmountPricing):
        if events is None:
            raise TypeError(f"{model.pricing_type} pricing rates events: pass events=[EventValue, ...]")
        if isinstance(model, PercentagePricing):
            return _percentage(model, events, prior_events, currency)
        return _event_amount(model, _finite(usage), events, prior_events, currency)
    usage = _quantity(usage, "usage")
    prior = _quantity(prior_usage, "prior_usage")
    if isinstance(model, FlatPricing):
        if period_already_billed:
            return None
        return Line(_ONE, model.amount, round_money(model.amount, currency), "flat fee, once per billing period")
    if isinstance(model, SubscriptionPricing):
        amount = round_money(Fraction(model.amount) * slice.fraction, currency)
        return Line(_ONE, model.amount, amount, _proration(slice))
    if isinstance(model, TieredPricing | GraduatedPercentagePricing):
        return _graduated(model, usage, prior, period_already_billed, currency)
    if isinstance(model, VolumePricing):
        return _volume(model, usage, prior, period_already_billed, currency)
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
