"""fubble's pure pricing core: every rule by which a customer is charged, and nothing else.

No database, web, clock or float anywhere in this package: money and quantities are ``Decimal``, exact ratios are
``Fraction``, and the only imports are the standard library, pydantic and :mod:`fubble.errors`.

* :mod:`fubble.pricing.money`: currencies (ISO 4217 minor units) and the one rounding rule (half-up, once).
* :mod:`fubble.pricing.periods`: billing periods anchored at the subscription start (in a
  customer's time zone), and slices of them.
* :mod:`fubble.pricing.models`: the pricing types and the rules their ``pricing_details`` must follow.
* :mod:`fubble.pricing.tiers`: the tiers of ``tiered``, ``volume`` and ``graduated_percentage``, and their rule.
* :mod:`fubble.pricing.formula`: the whitelisted arithmetic language of dynamic pricing.
* :mod:`fubble.pricing.rating`: what one price component charges for one slice of a period.
* :mod:`fubble.pricing.per_event`: the models that price events one by one (``percentage``, ``event_amount``).
* :mod:`fubble.pricing.charges`: a component's grouping, charge filters, minimum and proration.
* :mod:`fubble.pricing.recurring`: recurring metrics (running totals and units held across periods).
"""

from fubble.pricing.charges import (
    ChargeFilter,
    ComponentOptions,
    EventValue,
    choose_filter,
    group_key,
    group_label,
    minimum_true_up,
    parse_options,
)
from fubble.pricing.formula import Formula, compile_formula
from fubble.pricing.models import (
    PRICING_TYPES,
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
    TimeUnit,
    UsageBasedSubscriptionPricing,
    VolumePricing,
    parse_pricing,
)
from fubble.pricing.money import MINOR_UNITS, is_currency, minor_unit_digits, round_money, to_decimal
from fubble.pricing.periods import (
    BillingFrequency,
    Slice,
    calendar_anchor,
    local_date_label,
    period_containing,
    period_start,
    split,
    zone,
)
from fubble.pricing.rating import Line, rate
from fubble.pricing.recurring import recurring_sum, recurring_units, unit_intervals
from fubble.pricing.tiers import PercentageTier, Tier

__all__ = [
    "MINOR_UNITS",
    "PRICING_TYPES",
    "BillingFrequency",
    "ChargeFilter",
    "ComponentOptions",
    "DynamicPricing",
    "EventAmountPricing",
    "EventValue",
    "FlatPricing",
    "Formula",
    "GraduatedPercentagePricing",
    "Line",
    "PackagePricing",
    "PercentagePricing",
    "PercentageTier",
    "PricingModel",
    "Slice",
    "SubscriptionPricing",
    "Tier",
    "TieredPricing",
    "TimeBasedPricing",
    "TimeUnit",
    "UsageBasedSubscriptionPricing",
    "VolumePricing",
    "calendar_anchor",
    "choose_filter",
    "compile_formula",
    "group_key",
    "group_label",
    "is_currency",
    "local_date_label",
    "minimum_true_up",
    "minor_unit_digits",
    "parse_options",
    "parse_pricing",
    "period_containing",
    "period_start",
    "rate",
    "recurring_sum",
    "recurring_units",
    "round_money",
    "split",
    "to_decimal",
    "unit_intervals",
    "zone",
]
