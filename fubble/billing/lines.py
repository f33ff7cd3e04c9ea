"""Turning a rated :class:`~fubble.pricing.rating.Line` into an invoice line, and the rating helpers of the engine."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from fubble.billing.store import ItemLine
from fubble.db.models import PriceComponent, Subscription
from fubble.pricing.models import PricingModel, UsageBasedSubscriptionPricing
from fubble.pricing.money import round_money
from fubble.pricing.periods import Slice, zone
from fubble.pricing.rating import Line, rate

MAX_DETAIL_IN_DESCRIPTION = 120
Segments = list[tuple[Decimal, Mapping[str, Decimal]]]


def rate_line(
    model: PricingModel,
    usage: Decimal,
    slice_: Slice,
    currency: str,
    prior: Decimal,
    billed: bool,
    segments: Segments | None,
) -> Line | None:
    """:func:`rate`, also for a negative ``usage`` (a ``latest`` metric whose period usage fell below what earlier
    invoices billed): the line is then ``price(prior + usage) - price(prior)``, a credit."""
    if usage >= 0:
        return rate(
            model,
            usage=usage,
            slice=slice_,
            currency=currency,
            prior_usage=prior,
            period_already_billed=billed,
            segments=segments,
        )
    total = prior + usage
    if isinstance(model, UsageBasedSubscriptionPricing):
        exact = Fraction(model.base_fee) * slice_.fraction + Fraction(usage) * Fraction(model.usage_price)
        detail = f"base fee {model.base_fee} + {usage} x {model.usage_price} (the period's usage fell to {total})"
        return Line(usage, model.usage_price, round_money(exact, currency), detail)
    # price(total) - price(prior) == -(price(total + |usage|) - price(total)): rate the fall from `total` and negate.
    fall = rate(model, usage=-usage, slice=slice_, currency=currency, prior_usage=total, period_already_billed=True)
    assert fall is not None
    detail = f"the period's usage fell from {prior} to {total}: {fall.detail}, credited"
    return Line(-fall.quantity, fall.unit_price, -fall.amount, detail)


def factor_spans(
    points: Sequence[tuple[datetime, Mapping[str, Decimal]]], start: datetime, end: datetime
) -> list[tuple[datetime, datetime, Mapping[str, Decimal]]]:
    """Cut [start, end) where factor values change; ``points`` are (effective from, values in effect) in time order."""
    spans: list[tuple[datetime, datetime, Mapping[str, Decimal]]] = []
    cursor: datetime = start
    current: Mapping[str, Decimal] = {}
    for at, values in points:
        if at > cursor:
            spans.append((cursor, min(at, end), current))
            cursor = at
        if cursor >= end:
            break
        current = values
    if cursor < end:
        spans.append((cursor, end, current))
    return spans


def when(moment: datetime, tz: str = "UTC") -> str:
    """An instant as a line shows it: the date alone when it is midnight in the customer's zone, else UTC."""
    local = moment if tz == "UTC" else moment.astimezone(zone(tz))
    if local.hour == local.minute == local.second == local.microsecond == 0:
        return local.date().isoformat()
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def item_line(
    subscription: Subscription,
    component: PriceComponent,
    slice_: Slice,
    line: Line,
    now: datetime,
    *,
    kind: str,
    tz: str,
    label: str = "",
) -> ItemLine:
    name = component.display_name or component.metric_name
    if label:
        name = f"{name} [{label}]"
    description = f"{name} ({when(slice_.start, tz)} \N{EN DASH} {when(slice_.end, tz)})"
    if line.detail and len(line.detail) <= MAX_DETAIL_IN_DESCRIPTION:
        description += f" ({line.detail})"
    return ItemLine(
        description=description,
        metric_name=component.metric_name,
        quantity=line.quantity,
        unit_price=line.unit_price,
        amount=line.amount,
        subscription_id=subscription.id,
        price_component_id=component.id,
        period_start=slice_.start,
        period_end=slice_.end,
        created_at=now,
        kind=kind,
    )
