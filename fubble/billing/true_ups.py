"""Minimums per billing period: a component's ``min_amount`` and a plan's ``minimum_commitment``.

When a pass bills the slice that ends a subscription's period (the period's end, or the subscription's end inside
it), the period's charges are added up: what non-void invoices billed the subscription in the period plus this
pass's lines. A component whose charges in the period fall short of its ``min_amount`` gets a ``minimum`` line for the
difference; a plan whose period charges (every line of the subscription's period, the component minimums included)
fall short of its ``minimum_commitment`` gets a ``commitment`` line (:func:`fubble.pricing.charges.minimum_true_up`).
A minimum is prorated by the share of the period the subscription was billable (after any trial, before its end).
True-up lines already billed for the period count: a period refreshed later (late usage) bills only the change.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from fubble.billing import repository
from fubble.billing.store import ItemLine
from fubble.billing.tracks import ARREARS, Planned, Span
from fubble.db.models import PriceComponent, Subscription
from fubble.pricing.charges import minimum_true_up
from fubble.pricing.money import round_money

if TYPE_CHECKING:
    from fubble.billing.engine import CustomerBilling

MINIMUM, COMMITMENT = "minimum", "commitment"
Amounts = dict[tuple[int | None, str], Decimal]


def ends_period(subscription: Subscription, item: Planned) -> bool:
    slice_ = item.slice
    return slice_.end == slice_.period_end or (
        subscription.end_date is not None and slice_.end == subscription.end_date
    )


def true_up_lines(
    item: Planned,
    *,
    minimums: list[tuple[PriceComponent, Decimal]],
    commitment: Decimal | None,
    billed: Amounts,
    lived: Callable[[Span], list[Span]],
    currency: str,
    now: datetime,
) -> list[ItemLine]:
    """The true-up lines of the period ``item`` ends, given what the period billed so far (``billed``: earlier
    invoices and this pass) and the subscription's billable time (``lived``)."""
    slice_ = item.slice
    period = (slice_.period_start, slice_.period_end)
    length = (period[1] - period[0]) // _MICRO
    fraction = Fraction(sum((b - a) // _MICRO for a, b in lived(period)), length or 1)
    lines: list[ItemLine] = []
    added = Decimal(0)
    for component, minimum in minimums:
        charged = sum(
            (v for (cid, kind), v in billed.items() if cid == component.id and kind not in _TRUE_UPS), Decimal(0)
        )
        due = minimum_true_up(minimum, charged, fraction, currency) or Decimal(0)
        amount = round_money(due - billed.get((component.id, MINIMUM), Decimal(0)), currency)
        if amount:
            name = component.display_name or component.metric_name
            detail = f"minimum {minimum} per period{_share(fraction)}, charges {charged}"
            lines.append(_line(item, component, f"{name}: minimum charge true-up ({detail})", amount, MINIMUM, now))
            added += amount
    if commitment is not None:
        charged = sum((v for (_, kind), v in billed.items() if kind != COMMITMENT), Decimal(0)) + added
        due = minimum_true_up(commitment, charged, fraction, currency) or Decimal(0)
        amount = round_money(due - billed.get((None, COMMITMENT), Decimal(0)), currency)
        if amount:
            detail = f"minimum commitment {commitment} per period{_share(fraction)}, charges {charged}"
            lines.append(_line(item, None, f"Minimum commitment true-up ({detail})", amount, COMMITMENT, now))
    return lines


def period_amounts(session: Session, subscription_id: int, period: Span, this_pass: Amounts) -> Amounts:
    """What the period billed so far: non-void invoices plus this pass's lines."""
    billed = repository.billed_amounts(session, subscription_id, *period)
    for key, value in this_pass.items():
        billed[key] = billed.get(key, Decimal(0)) + value
    return billed


_MICRO = timedelta(microseconds=1)
_TRUE_UPS = (MINIMUM, COMMITMENT)


def _share(fraction: Fraction) -> str:
    return "" if fraction == 1 else f", prorated {fraction} of the period"


def _line(
    item: Planned, component: PriceComponent | None, description: str, amount: Decimal, kind: str, now: datetime
) -> ItemLine:
    return ItemLine(
        description=description,
        metric_name=component.metric_name if component is not None else None,
        quantity=Decimal(1),
        unit_price=amount,
        amount=amount,
        subscription_id=item.subscription.id,
        price_component_id=component.id if component is not None else None,
        period_start=item.slice.start,
        period_end=item.slice.end,
        created_at=now,
        kind=kind,
    )


def period_true_ups(billing: CustomerBilling, item: Planned, now: datetime) -> list[ItemLine]:
    """The true-up lines of the period ``item``'s slice ends, for a subscription of ``billing``'s customer."""
    from fubble.billing.engine import active_in

    subscription, slice_ = item.subscription, item.slice
    minimums = []
    for component, _ in billing.plans[subscription.id].tracks[ARREARS]:
        minimum = billing.run.options_of(component).min_amount
        if minimum is not None:
            minimums.append((component, minimum))
    commitment = subscription.plan.minimum_commitment
    if not minimums and commitment is None:
        return []
    period = (slice_.period_start, slice_.period_end)
    this_pass = billing.amounts.setdefault((subscription.id, *period), {})
    lines = true_up_lines(
        item,
        minimums=minimums,
        commitment=commitment,
        billed=period_amounts(billing.session, subscription.id, period, this_pass),
        lived=lambda span: active_in(subscription, [span]),
        currency=billing.customer.currency,
        now=now,
    )
    for made in lines:
        key = (made.price_component_id, made.kind or "")
        this_pass[key] = this_pass.get(key, Decimal(0)) + made.amount
    return lines
