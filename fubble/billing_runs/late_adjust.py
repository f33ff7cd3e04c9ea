"""The adjustment lines for usage that arrived late, for one customer (see :mod:`fubble.billing_runs.late`).

For each (subscription, price component, billing period) the late usage may touch, the part of the component that
prices usage (:func:`fubble.pricing.fees.usage_part`: fixed fees never change with usage) is priced again:

* ``full``: the metric's usage over the time of the period already billed in arrears (the coverage of invoices not
  void) that the subscription owns (the engine's rule when subscriptions overlap: the latest-starting one that
  prices the metric), read like the engine reads it (:mod:`fubble.usage.reader`, ``period`` = the period's length);
* ``billed``: the quantities (and amounts) of the non-void lines of kind ``usage`` or ``adjustment`` (or none, for
  old lines) of that subscription and component inside the period.

Tiered, volume, package and usage-based subscription pricing continue from what was billed, like the engine bills a
period in parts: the line prices ``full - billed`` units on top of ``billed`` (``price(full) - price(billed)``, tier
aware; negative for volume pricing when the usage crossed into a cheaper tier). Time-based and dynamic pricing are
priced whole: ``price(full) - the amounts billed``. The line's quantity is the usage difference, so later passes
add the period's quantities up correctly; a line is made whenever the quantity or the amount is not zero.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Context, Decimal, Inexact
from fractions import Fraction

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from fubble.billing import charged
from fubble.billing.engine import CustomerBilling, Run, active_in
from fubble.billing.intervals import intersect, subtract
from fubble.billing.lines import Segments, factor_spans, rate_line
from fubble.billing.store import ItemLine
from fubble.billing.tracks import ADVANCE, ARREARS, EARLIEST, Planned
from fubble.billing.true_ups import Amounts, period_true_ups
from fubble.db.models import Invoice, InvoiceItem, PriceComponent
from fubble.invoices.status import InvoiceStatus
from fubble.pricing.fees import usage_part
from fubble.pricing.models import DynamicPricing, PricingModel, TimeBasedPricing
from fubble.pricing.money import to_decimal
from fubble.pricing.periods import Slice, local_date_label
from fubble.pricing.rating import rate
from fubble.pricing_factors.repository import values_between
from fubble.usage.reader import usage as reader_usage
from fubble.usage.reader import usage_in

Span = tuple[datetime, datetime]
PeriodKey = tuple[int, int, datetime, datetime]  # (subscription, component, period start, period end)
ADJUSTMENT = "adjustment"
BILLED_KINDS = ("usage", ADJUSTMENT)
_EXACT = Context(prec=2000, traps=[Inexact])


def bills_again(run: Run, billing: CustomerBilling) -> bool:
    """Whether a later run will invoice this customer again: a subscription without an end, or one with time not yet
    billed on a track it bills (arrears or advance)."""
    for subscription in billing.subscriptions:
        if subscription.end_date is None:
            return True
        lived = active_in(subscription, [(EARLIEST, subscription.end_date)])
        tracks = billing.plans[subscription.id].tracks
        for track in (ARREARS, ADVANCE):
            if tracks[track] and subtract(lived, run.coverage_of(subscription.id, track)):
                return True
    return False


def adjustments(run: Run, billing: CustomerBilling, earliest: dict[str, datetime]) -> list[ItemLine]:
    """The customer's adjustment lines for late usage of these metrics (each from its earliest late event on)."""
    periods: dict[tuple[int, datetime, datetime], list[Span]] = {}
    priced: dict[int, list[tuple[PriceComponent, PricingModel]]] = {}
    for subscription in billing.subscriptions:
        components = []
        for component, model in billing.plans[subscription.id].tracks[ARREARS]:
            part = usage_part(model)
            if part is not None and component.metric_name in earliest:
                components.append((component, part))
        if not components:
            continue
        priced[subscription.id] = components
        first = min(earliest[c.metric_name] for c, _ in components)
        schedule = billing.schedules[subscription.id]
        for span in run.coverage_of(subscription.id, ARREARS):
            if span[1] > first:
                periods.setdefault((subscription.id, *schedule.containing(span[0])), []).append(span)
    if not periods:
        return []
    billed = _billed(run.session, {(s, c.id, a, b) for (s, a, b) in periods for c, _ in priced[s]})
    now = run.clock.now()
    lines = []
    adjusted_amounts: dict[tuple[int, datetime, datetime], Amounts] = {}
    for (sub_id, start, end), spans in sorted(periods.items()):
        slice_ = Slice(start, end, start, end)
        for component, model in priced[sub_id]:
            metric = component.metric_name
            if max(span_end for _, span_end in spans) <= earliest[metric]:
                continue
            parts = intersect(billing.owned_parts(sub_id, metric, slice_), spans)
            quantity, amount = billed.get((sub_id, component.id, start, end), (Decimal(0), Decimal(0)))
            line = _price(run, billing, component, model, parts, slice_, quantity, amount)
            if line is None:
                continue
            adjusted = adjusted_amounts.setdefault((sub_id, start, end), {})
            adjusted[(component.id, ADJUSTMENT)] = adjusted.get((component.id, ADJUSTMENT), Decimal(0)) + line[2]
            description = f"Adjustment for {metric}, {local_date_label(start, billing.tz)} to "
            description += local_date_label(end, billing.tz)
            lines.append(
                ItemLine(
                    description=description,
                    metric_name=metric,
                    quantity=line[0],
                    unit_price=line[1],
                    amount=line[2],
                    subscription_id=sub_id,
                    price_component_id=component.id,
                    period_start=start,
                    period_end=end,
                    created_at=now,
                    kind=ADJUSTMENT,
                )
            )
    return lines + _true_ups(billing, periods, adjusted_amounts, now)


def _true_ups(
    billing: CustomerBilling,
    periods: dict[tuple[int, datetime, datetime], list[Span]],
    adjusted: dict[tuple[int, datetime, datetime], Amounts],
    now: datetime,
) -> list[ItemLine]:
    """The change late usage makes to the true-up lines (component minimums, plan commitments) of periods billed to
    their end: the period's charges now include the adjustments (:mod:`fubble.billing.true_ups`)."""
    by_id = {s.id: s for s in billing.subscriptions}
    lines: list[ItemLine] = []
    for (sub_id, start, end), this_pass in sorted(adjusted.items()):
        subscription = by_id[sub_id]
        billed_to = max(span_end for _, span_end in periods[(sub_id, start, end)])
        if billed_to < end and (subscription.end_date is None or billed_to < subscription.end_date):
            continue  # the period's last slice, still to come, trues it up
        item = Planned(subscription, ARREARS, Slice(start, end, start, end))
        billing.amounts[(sub_id, start, end)] = dict(this_pass)
        for line in period_true_ups(billing, item, now):
            lines.append(line._replace(period_start=start, period_end=end))
    return lines


def _price(
    run: Run,
    billing: CustomerBilling,
    component: PriceComponent,
    model: PricingModel,
    parts: list[Span],
    slice_: Slice,
    billed_quantity: Decimal,
    billed_amount: Decimal,
) -> tuple[Decimal, Decimal, Decimal] | None:
    """(quantity, unit price, amount) of the adjustment, or ``None`` when there is nothing to adjust."""
    session, customer = run.session, billing.customer
    metric = component.metric_name
    definition = billing.definitions[metric]
    length = slice_.period_end - slice_.period_start
    currency = customer.currency
    if charged.needs_events(model, run.options_of(component)) or definition.recurring:
        # Priced from events (per part) or from held units: priced whole, less the amounts billed.
        quantity, amount = charged.whole_charge(billing, component, model, parts, slice_)
        quantity, amount = _EXACT.subtract(quantity, billed_quantity), amount - billed_amount
        if quantity == 0 and amount == 0:
            return None
        unit_price = amount if quantity == 0 else to_decimal(Fraction(amount) / Fraction(quantity))
        return quantity, unit_price, amount
    if isinstance(model, DynamicPricing | TimeBasedPricing):
        segments = _segments(run, billing, metric, model, parts, slice_) if isinstance(model, DynamicPricing) else None
        if segments is not None:
            full = sum((u for u, _ in segments), Decimal(0))
        else:
            full = usage_in(session, customer.id, definition, parts, period=length)
        whole = rate(model, usage=full, slice=slice_, currency=currency, segments=segments)
        assert whole is not None
        quantity = _EXACT.subtract(whole.quantity, billed_quantity)
        amount = whole.amount - billed_amount
        if quantity == 0 and amount == 0:
            return None
        return quantity, whole.unit_price, amount
    full = usage_in(session, customer.id, definition, parts, period=length)
    difference = _EXACT.subtract(full, billed_quantity)
    if difference == 0:
        return None
    line = rate_line(model, difference, slice_, currency, billed_quantity, True, None)
    assert line is not None
    return difference, line.unit_price, line.amount


def _segments(
    run: Run, billing: CustomerBilling, metric: str, model: DynamicPricing, parts: list[Span], slice_: Slice
) -> Segments:
    """Like the engine's: the parts cut where a factor of the formula changed, (usage, factor values) each."""
    session, definition = run.session, billing.definitions[metric]
    names = sorted(model.factor_names)
    length = slice_.period_end - slice_.period_start
    segments: Segments = []
    first = None
    for part_start, part_end in parts:
        for start, end, factors in factor_spans(
            values_between(session, names, part_start, part_end), part_start, part_end
        ):
            if first is None:
                first = factors
            usage = reader_usage(session, billing.customer.id, definition, start, end, period=length)
            if usage:
                segments.append((usage, factors))
    if not segments:
        if first is None:
            first = values_between(session, names, slice_.start, slice_.end)[0][1]
        segments.append((Decimal(0), first))
    return segments


def _billed(session: Session, keys: Iterable[PeriodKey]) -> dict[PeriodKey, tuple[Decimal, Decimal]]:
    """``{key: (quantity, amount)}`` of the non-void usage and adjustment lines inside each key's period."""
    wanted = set(keys)
    result: dict[PeriodKey, tuple[Decimal, Decimal]] = {}
    if not wanted:
        return result
    by_component: dict[tuple[int, int], list[PeriodKey]] = {}
    for key in wanted:
        by_component.setdefault((key[0], key[1]), []).append(key)
    query = (
        select(
            InvoiceItem.subscription_id,
            InvoiceItem.price_component_id,
            InvoiceItem.period_start,
            InvoiceItem.period_end,
            InvoiceItem.quantity,
            InvoiceItem.amount,
        )
        .join(Invoice, Invoice.id == InvoiceItem.invoice_id)
        .where(
            InvoiceItem.subscription_id.in_(sorted({k[0] for k in wanted})),
            InvoiceItem.period_start >= min(k[2] for k in wanted),
            InvoiceItem.period_end <= max(k[3] for k in wanted),
            or_(InvoiceItem.kind.in_(BILLED_KINDS), InvoiceItem.kind.is_(None)),
            Invoice.status != InvoiceStatus.VOID.value,
        )
    )
    for sub_id, component_id, start, end, quantity, amount in session.execute(query):
        if sub_id is None or component_id is None:
            continue
        for key in by_component.get((sub_id, component_id), ()):
            if start is not None and end is not None and start >= key[2] and end <= key[3]:
                total_quantity, total_amount = result.get(key, (Decimal(0), Decimal(0)))
                result[key] = (_EXACT.add(total_quantity, quantity), _EXACT.add(total_amount, amount))
    return result
