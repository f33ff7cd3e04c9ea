"""The charge models that price events one by one: ``percentage`` and ``event_amount``. Pure and exact.

Both see the billing period's events in time order as :class:`~fubble.pricing.charges.EventValue` s; the charge of a
sequence is an exact ``Fraction`` (:mod:`fubble.pricing.rating` rounds it once and continues a period billed in
parts).

``percentage`` (``rate`` is a percent: 1.5 means 1.5 %)
-------------------------------------------------------
* Events are taken in order. The free allowances are ``free_units_per_events`` (N: a number of events) and
  ``free_units_per_total_aggregation`` (X: a volume, the sum of the events' quantities); an allowance of 0 or not set
  is no allowance. While the allowances are open, an event whose quantity fits in the volume left (``q <= X - used``,
  always true without X) is FREE: it pays neither the rate nor ``fixed_amount`` and is not raised to the minimum. It
  counts as one of the N free events and uses ``max(q, 0)`` of the volume.
* The allowances end as soon as EITHER is used up (N free events, or X of volume exactly used); with only one set,
  when that one is. The event that uses up the N-th free event, or exactly the last of the volume, is still free.
* An event that does not fit in the volume left CROSSES it: it pays the rate on its part past the allowance
  (``q - (X - used)``) plus ``fixed_amount``, within the bounds; the allowances end with it.
* Every later event pays ``rate / 100 * q + fixed_amount`` (an event of quantity 0 still pays ``fixed_amount``),
  then bounded: below ``per_transaction_min_amount`` it is raised to it, above ``per_transaction_max_amount`` it is
  cut to it. The bounds apply to the event's WHOLE charge (rate part plus fixed amount), the "bounds on each event's
  charge" of the specification; Lago does the same.
* The charge is the exact sum over events; nothing is rounded per event.
* Where this differs from Lago: an event exactly using up the volume allowance is free (Lago charges it the fixed
  amount), and with both allowances the event allowance ends when the volume one does (and the other way round).
* An event's quantity may be negative (a refund, for a metric that allows it): it pays the rate on a negative
  amount, so it is a credit unless the bounds or ``fixed_amount`` say otherwise.

``event_amount``
----------------
* The charge is the sum of the events' ``amount`` (currency units, any sign: a refunded cost is a credit); an event
  without one (``None``) counts 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from fubble.pricing.charges import EventValue
from fubble.pricing.models import EventAmountPricing, PercentagePricing

__all__ = ["PercentageCharge", "event_amounts", "percentage_charge"]

_HUNDRED = Fraction(100)


@dataclass(frozen=True)
class PercentageCharge:
    """The exact charge of a run of events, and what it was made of (for a line's detail)."""

    total: Fraction  # the events from ``skip`` on
    earlier: Fraction  # the events before ``skip``
    paid_events: int
    free_events: int
    paid_volume: Fraction  # the quantities the rate was charged on
    raised: int  # events raised to the minimum
    cut: int  # events cut to the maximum


def _bounded(model: PercentagePricing, charge: Fraction) -> tuple[Fraction, int, int]:
    low, high = model.per_transaction_min_amount, model.per_transaction_max_amount
    if low is not None and charge < low:
        return Fraction(low), 1, 0
    if high is not None and charge > high:
        return Fraction(high), 0, 1
    return charge, 0, 0


def _quantity(event: EventValue) -> Fraction:
    value = event.quantity
    if isinstance(value, bool) or not isinstance(value, Decimal | int) or not Decimal(value).is_finite():
        raise TypeError(f"an event quantity must be a finite Decimal, got {value!r}")
    return Fraction(value)


def percentage_charge(model: PercentagePricing, events: Sequence[EventValue], skip: int = 0) -> PercentageCharge:
    """The exact charge of ``events`` (in time order) under ``model``. The events before index ``skip`` (billed
    earlier) take part in the allowances; their charge is ``earlier``, and the counts cover only the others."""
    free_events = model.free_units_per_events or 0
    free_volume = Fraction(model.free_units_per_total_aggregation or 0)
    is_open = bool(free_events or free_volume)
    used_events, used_volume = 0, Fraction(0)
    rate = Fraction(model.rate) / _HUNDRED
    fixed = Fraction(model.fixed_amount or 0)
    total, earlier, paid_volume = Fraction(0), Fraction(0), Fraction(0)
    paid = free = raised = cut = 0
    for index, event in enumerate(events):
        quantity = _quantity(event)
        charged_on: Fraction | None = quantity
        if is_open:
            left = free_volume - used_volume if free_volume else None
            if left is None or quantity <= left:
                charged_on = None
                used_events += 1
                used_volume += max(quantity, Fraction(0))
                is_open = not (
                    (free_events and used_events >= free_events) or (free_volume and used_volume >= free_volume)
                )
            else:
                charged_on = quantity - left
                is_open = False
        if charged_on is None:
            free += index >= skip
            continue
        charge, up, down = _bounded(model, rate * charged_on + fixed)
        if index < skip:
            earlier += charge
            continue
        total += charge
        paid_volume += charged_on
        paid, raised, cut = paid + 1, raised + up, cut + down
    return PercentageCharge(total, earlier, paid, free, paid_volume, raised, cut)


def event_amounts(model: EventAmountPricing, events: Sequence[EventValue]) -> tuple[Fraction, int]:
    """The exact sum of the events' amounts (``None`` counts 0), and how many events carried one."""
    del model  # the property was read when the events were
    total, carried = Fraction(0), 0
    for event in events:
        if event.amount is None:
            continue
        amount = event.amount
        if isinstance(amount, bool) or not isinstance(amount, Decimal | int) or not Decimal(amount).is_finite():
            raise TypeError(f"an event amount must be a finite Decimal, got {amount!r}")
        total += Fraction(amount)
        carried += 1
    return total, carried
