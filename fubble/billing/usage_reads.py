"""How the engine reads the usage a component prices for a slice (:class:`fubble.billing.engine.CustomerBilling`).

* Additive metrics (``sum``, ``count``, ``weighted_sum``): the usage of the parts of the slice the subscription owns
  (prefetched for the batch when the slice is owned in one piece).
* Non-additive metrics (``max``, ``latest``, ``unique_count``), recurring metrics not prorated, and sums that may go
  negative: the period's usage so far against the usage of the parts billed before (``price(total) -
  price(prior)``); a sum that may go negative is never billed below zero.
* Prorated recurring metrics: each unit's held time in the slice (:mod:`fubble.billing.charged`).
* Dynamic pricing: the owned parts cut where a factor of the formula changed (usage and factor values each).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from fubble.billing import charged, repository
from fubble.billing.intervals import intersect
from fubble.billing.lines import Segments, factor_spans, rate_line
from fubble.billing.tracks import Span
from fubble.db.models import PriceComponent, Subscription
from fubble.pricing.aggregation import Aggregation
from fubble.pricing.fees import is_fee_only
from fubble.pricing.models import (
    DynamicPricing,
    GraduatedPercentagePricing,
    PackagePricing,
    PricingModel,
    TieredPricing,
    VolumePricing,
)
from fubble.pricing.periods import Slice
from fubble.pricing.rating import Line
from fubble.pricing_factors.repository import values_between
from fubble.usage.reader import usage as reader_usage
from fubble.usage.reader import usage_in

if TYPE_CHECKING:
    from fubble.billing.engine import CustomerBilling, _PeriodState

NON_ADDITIVE = frozenset({Aggregation.max, Aggregation.latest, Aggregation.unique_count})
# The pricing types whose price of a slice depends on the usage billed earlier in its period (``prior_usage``). Only
# for them is the period's billed quantity read as usage: a component billed in advance also has fee lines
# (quantity 1) and credit lines (quantity -1) in its period, which are not usage.
PRICED_ON_PERIOD_TOTAL = (TieredPricing, VolumePricing, PackagePricing, GraduatedPercentagePricing)


def _length(slice_: Slice) -> timedelta:
    return slice_.period_end - slice_.period_start


def rate_component(
    billing: CustomerBilling,
    subscription: Subscription,
    component: PriceComponent,
    model: PricingModel,
    slice_: Slice,
    state: _PeriodState,
) -> Line | None:
    """The line ``model`` charges for the slice, from the usage the component reads (see the module rules)."""
    segments: Segments | None = None
    prior = state.usage if isinstance(model, PRICED_ON_PERIOD_TOTAL) else Decimal(0)
    metric = component.metric_name
    if is_fee_only(model):
        usage = Decimal(0)
    elif isinstance(model, DynamicPricing):
        segments = factor_segments(billing, subscription.id, metric, model, slice_)
        usage = sum((u for u, _ in segments), Decimal(0))
    elif billing.definitions[metric].recurring and billing.run.options_of(component).prorated:
        spans = billing.owned_parts(subscription.id, metric, slice_)
        usage = charged.recurring_usage(
            billing.session, billing.customer.id, billing.definitions[metric], spans, slice_, prorated=True
        )
    elif (
        billing.definitions[metric].aggregation in NON_ADDITIVE
        or billing.definitions[metric].recurring
        or billing.definitions[metric].allow_negative
    ):
        prior, total = period_usage(billing, subscription.id, metric, slice_, state)
        usage = total - prior
    else:
        usage = slice_usage(billing, subscription.id, metric, slice_)
    return rate_line(model, usage, slice_, billing.customer.currency, prior, state.billed, segments)


def period_usage(
    billing: CustomerBilling, subscription_id: int, metric: str, slice_: Slice, state: _PeriodState
) -> tuple[Decimal, Decimal]:
    """For a non-additive metric: (usage of the parts of the period billed before this slice, usage of those
    parts together with this slice), over the time the subscription owns the metric's usage."""
    period = (slice_.period_start, slice_.period_end)
    earlier = intersect([*repository.covered(billing.session, subscription_id, *period), *state.spans], [period])
    prior_parts = billing.owned_elsewhere(subscription_id, metric, earlier)
    new_parts = billing.owned_parts(subscription_id, metric, slice_)
    definition, length = billing.definitions[metric], _length(slice_)
    if definition.recurring:

        def value(spans: list[Span]) -> Decimal:
            return charged.recurring_usage(
                billing.session, billing.customer.id, definition, spans, slice_, prorated=False
            )

        return value(prior_parts), value([*prior_parts, *new_parts])
    prior = usage_in(billing.session, billing.customer.id, definition, prior_parts, period=length)
    total = usage_in(billing.session, billing.customer.id, definition, [*prior_parts, *new_parts], period=length)
    if definition.allow_negative:
        return max(prior, Decimal(0)), max(total, Decimal(0))
    return prior, total


def slice_usage(billing: CustomerBilling, subscription_id: int, metric: str, slice_: Slice) -> Decimal:
    """The metric's usage (by its aggregation) in the parts of the slice the subscription owns."""
    parts = billing.owned_parts(subscription_id, metric, slice_)
    if len(parts) == 1:
        known = billing.run.usage.get((billing.customer.id, metric, *parts[0], _length(slice_)))
        if known is not None:
            return known
    return usage_in(billing.session, billing.customer.id, billing.definitions[metric], parts, period=_length(slice_))


def factor_segments(
    billing: CustomerBilling, subscription_id: int, metric: str, model: DynamicPricing, slice_: Slice
) -> Segments:
    """The owned parts of the slice cut where a factor of the formula changed: (usage, factor values) each."""
    names = sorted(model.factor_names)
    segments: Segments = []
    first: Mapping[str, Decimal] | None = None
    for part_start, part_end in billing.owned_parts(subscription_id, metric, slice_):
        for seg_start, seg_end, factors in factor_spans(
            values_between(billing.session, names, part_start, part_end), part_start, part_end
        ):
            if first is None:
                first = factors
            usage = reader_usage(
                billing.session,
                billing.customer.id,
                billing.definitions[metric],
                seg_start,
                seg_end,
                period=_length(slice_),
            )
            if usage:
                segments.append((usage, factors))
    if not segments:
        if first is None:
            first = values_between(billing.session, names, slice_.start, slice_.end)[0][1]
        segments.append((Decimal(0), first))
    return segments
