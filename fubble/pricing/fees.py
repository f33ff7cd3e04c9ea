"""Fixed fees versus usage charges, for plans that bill their fixed fees in advance.

A plan with ``fees_in_advance`` invoices a period's fixed fees when the period starts and its usage when it ends
(Stripe's model). Each price component is split into the part billed in advance and the part billed in arrears:

==========================  ====================================  ======================================
pricing type                in advance (:func:`fee_part`)          in arrears (:func:`usage_part`)
==========================  ====================================  ======================================
``flat``                    the whole component                    nothing
``subscription``            the whole component                    nothing
``usage_based_subscription`` its ``base_fee`` as a ``subscription``  ``usage_price`` per unit, base fee 0
every usage type            nothing                                the whole component
==========================  ====================================  ======================================

When a subscription billed in advance ends inside a paid period (a cancel or a plan change), the time left is credited
(:func:`unused_credit`): ``subscription`` fees and base fees by the exact unused share of the period, rounded once; a
``flat`` fee in full when the plan in force at the period's end charges its own flat fee for the same metric (a flat
fee is charged once per period, by that plan), and not at all otherwise (a flat fee is never prorated).
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from fubble.pricing.models import FlatPricing, PricingModel, SubscriptionPricing, UsageBasedSubscriptionPricing
from fubble.pricing.money import round_money
from fubble.pricing.periods import Slice
from fubble.pricing.rating import Line

__all__ = ["fee_part", "is_fee_only", "unused_credit", "usage_part"]


def is_fee_only(model: PricingModel) -> bool:
    """Whether the component charges nothing for usage (``flat``, ``subscription``)."""
    return isinstance(model, (FlatPricing, SubscriptionPricing))


def fee_part(model: PricingModel) -> FlatPricing | SubscriptionPricing | None:
    """The part of the component that is a fixed fee, or ``None``."""
    if isinstance(model, (FlatPricing, SubscriptionPricing)):
        return model
    if isinstance(model, UsageBasedSubscriptionPricing):
        return SubscriptionPricing(amount=model.base_fee)
    return None


def usage_part(model: PricingModel) -> PricingModel | None:
    """The part of the component charged for usage, or ``None``."""
    if isinstance(model, (FlatPricing, SubscriptionPricing)):
        return None
    if isinstance(model, UsageBasedSubscriptionPricing):
        return UsageBasedSubscriptionPricing(base_fee=Decimal(0), usage_price=model.usage_price)
    return model


def unused_credit(
    fee: FlatPricing | SubscriptionPricing, unused: Slice, currency: str, *, replaced: bool
) -> Line | None:
    """The credit (a negative line) for the ``unused`` part of a period whose fee was billed in advance.

    ``replaced``: the plan in force at the period's end charges a flat fee for the same metric (only matters for
    ``flat``). ``None`` when nothing is credited."""
    if isinstance(fee, FlatPricing):
        if not replaced:
            return None
        amount = round_money(fee.amount, currency)
        return Line(Decimal(-1), fee.amount, -amount, "flat fee credited: the new plan charges this period's flat fee")
    share = unused.fraction
    amount = round_money(Fraction(fee.amount) * share, currency)
    detail = f"unused {share.numerator}/{share.denominator} of the period, paid in advance, credited"
    return Line(Decimal(-1), fee.amount, -amount, detail)
