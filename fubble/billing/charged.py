"""Components priced from the events themselves, and recurring metrics: the engine's reads for them.

A component is priced event by event (:func:`needs_events`) when its pricing type prices each event
(``percentage``, ``event_amount``) or it has ``grouped_by`` or charge ``filters``: its slice's events are read raw
(with their properties, the metric's filters applied) and cut into parts by :func:`fubble.pricing.charges.
choose_filter` and :func:`~fubble.pricing.charges.group_key`; each part is its own invoice line, priced by its
filter's model or the component's own. Like every other line, a part continues from what the earlier parts of the
same period billed: the events of the period's time billed before this slice are read too, and each part's line is
``price(earlier + now) - price(earlier)`` (for percentage allowances, tiers, packages and minimums alike).

A *recurring* metric's value persists across periods (:mod:`fubble.pricing.recurring`): for ``sum`` the running
total of every event so far (values recorded before a subscription starts count from its start), for
``unique_count`` the units added and not yet removed (property ``operation``: ``add`` (the default) or ``remove``).
A ``prorated`` component charges each unit for the fraction of the period it was held; otherwise the period's value
is the running total at the end of the time billed (``sum``) or every unit held at some instant of it
(``unique_count``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy.orm import Session

from fubble.billing.lines import rate_line
from fubble.billing.tracks import EARLIEST, Span
from fubble.pricing.aggregation import Aggregation, summarize, usage_of
from fubble.pricing.charges import ComponentOptions, EventValue, choose_filter, group_key, group_label
from fubble.pricing.models import EventAmountPricing, PercentagePricing, PricingModel
from fubble.pricing.periods import Slice
from fubble.pricing.rating import Line, rate
from fubble.pricing.recurring import recurring_sum, recurring_units, unit_intervals
from fubble.usage.definitions import MetricDefinition
from fubble.usage.reader import usage_in
from fubble.usage.repository import RawEvent, raw_events

if TYPE_CHECKING:
    from fubble.billing.engine import CustomerBilling
    from fubble.db.models import PriceComponent, Subscription

PER_EVENT = (PercentagePricing, EventAmountPricing)
ADD: Literal["add"] = "add"
REMOVE: Literal["remove"] = "remove"
PartKey = tuple[int, tuple[str | None, ...]]  # (filter index, or len(filters) for the component's own; group key)


def needs_events(model: PricingModel, options: ComponentOptions) -> bool:
    """Whether the component is priced from its raw events (see the module rules)."""
    return isinstance(model, PER_EVENT) or bool(options.grouped_by) or bool(options.filters)


def read_events(
    session: Session, customer_id: int, definition: MetricDefinition, spans: Sequence[Span]
) -> list[RawEvent]:
    """The counted events of the metric inside the spans, with their properties, in time (then arrival) order."""
    events = raw_events(session, customer_id, definition, spans, with_properties=True)
    return sorted(events, key=lambda e: (e.event_time, e.id))


def partition(events: Iterable[RawEvent], options: ComponentOptions) -> dict[PartKey, list[RawEvent]]:
    """The events of each part: the most specific matching filter (or none) and the grouped_by values."""
    own = len(options.filters)
    parts: dict[PartKey, list[RawEvent]] = {}
    for event in events:
        chosen = choose_filter(options.filters, event.properties) if options.filters else None
        key = (own if chosen is None else chosen, group_key(options.grouped_by, event.properties))
        parts.setdefault(key, []).append(event)
    return parts


def part_keys(options: ComponentOptions, *seen: Iterable[PartKey]) -> list[PartKey]:
    """The parts to bill, in line order: every filter and the component's own pricing, each with the groups that
    had events (one ungrouped line when none had), filters in the order listed, the component's own last."""
    found = sorted(
        {key for keys in seen for key in keys}, key=lambda k: (k[0], tuple((v is None, v or "") for v in k[1]))
    )
    result: list[PartKey] = []
    for index in range(len(options.filters) + 1):
        mine = [key for key in found if key[0] == index]
        result += mine or [(index, tuple(None for _ in options.grouped_by))]
    return result


def label(options: ComponentOptions, key: PartKey) -> str:
    """What a part's line adds to the component's name: its filter and group values."""
    words = []
    if key[0] < len(options.filters):
        words.append(
            ", ".join(
                f"{name}: {'|'.join(_text(v) for v in values)}"
                for name, values in sorted(options.filters[key[0]].properties.items())
            )
        )
    if options.grouped_by:
        words.append(group_label(options.grouped_by, key[1]))
    return "; ".join(words)


def _text(value: object) -> str:
    return "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def model_of(model: PricingModel, options: ComponentOptions, key: PartKey) -> PricingModel:
    return options.filters[key[0]].model if key[0] < len(options.filters) else model


def values(events: Sequence[RawEvent], model: PricingModel) -> list[EventValue]:
    """The events as the pricing core reads them: quantity, and for ``event_amount`` the amount property."""
    if not isinstance(model, EventAmountPricing):
        return [EventValue(e.quantity) for e in events]
    return [EventValue(e.quantity, _amount(e.properties, model.amount_property)) for e in events]


def _amount(properties: Any, name: str) -> Decimal | None:
    """An event's amount property as an exact number (a number, or a numeric string); None when absent or not one."""
    if not isinstance(properties, dict) or name not in properties:
        return None
    value = properties[name]
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def aggregate(
    definition: MetricDefinition,
    events: Sequence[RawEvent],
    slice_: Slice,
    spans: Sequence[Span],
    history: Sequence[RawEvent] = (),
) -> Decimal:
    """The metric's usage of these events (all inside ``spans``, in time order), by its aggregation, as the reader
    computes it; a ``weighted_sum`` gauge integrates each span on its own, holding in each the value last reported
    before it (``history``: the part's events before the first span)."""
    period = slice_.period_end - slice_.period_start
    if definition.aggregation is Aggregation.weighted_sum and spans:
        usage = Decimal(0)
        before = [e.quantity for e in history]
        for start, end in spans:
            inside = [e for e in events if start <= e.event_time < end]
            earlier = [e.quantity for e in events if e.event_time < start]
            held = earlier or before
            carry = held[-1] if held else None
            summary = summarize((e.event_time, e.id, e.quantity) for e in inside)
            usage += usage_of(definition.aggregation, summary, start=start, end=end, period=period, carry_in=carry)
        return max(usage, Decimal(0)) if definition.allow_negative else usage
    summary = summarize((e.event_time, e.id, e.quantity) for e in events)
    distinct = len({definition.distinct_value(e.properties) for e in events} - {None})
    start = spans[0][0] if spans else slice_.start
    end = spans[-1][1] if spans else slice_.end
    usage = usage_of(definition.aggregation, summary, start=start, end=end, period=period, distinct=distinct)
    return max(usage, Decimal(0)) if definition.allow_negative else usage


def history_of(
    session: Session, customer_id: int, definition: MetricDefinition, spans: Sequence[Span], options: ComponentOptions
) -> dict[PartKey, list[RawEvent]]:
    """For a ``weighted_sum`` gauge: each part's events before the first span (the value each part holds when the
    spans start); nothing for other aggregations."""
    if definition.aggregation is not Aggregation.weighted_sum or not spans:
        return {}
    return partition(read_events(session, customer_id, definition, [(EARLIEST, spans[0][0])]), options)


def recurring_usage(
    session: Session,
    customer_id: int,
    definition: MetricDefinition,
    spans: Sequence[Span],
    slice_: Slice,
    *,
    prorated: bool,
) -> Decimal:
    """A recurring metric's value over the owned ``spans`` of a period (see the module rules)."""
    if not spans:
        return Decimal(0)
    period = (slice_.period_start, slice_.period_end)
    if definition.aggregation is Aggregation.unique_count:
        ops = []
        for event in read_events(session, customer_id, definition, [(EARLIEST, spans[-1][1])]):
            unit = definition.distinct_value(event.properties)
            if unit is not None:
                removes = (event.properties or {}).get("operation") == "remove"
                ops.append((event.event_time, unit, REMOVE if removes else ADD))
        held = unit_intervals(ops)
        if prorated:
            return sum((recurring_units(held, a, b, *period, prorated=True) for a, b in spans), Decimal(0))
        return _units_in_any(held, spans)
    total = Decimal(0)
    for start, end in spans:
        carry = usage_in(session, customer_id, _as_sum(definition), [(EARLIEST, start)])
        changes = [(e.event_time, e.quantity) for e in read_events(session, customer_id, definition, [(start, end)])]
        if prorated:
            total += recurring_sum(carry, changes, start, end, *period, prorated=True)
        else:
            total = recurring_sum(carry, changes, start, end, *period, prorated=False)
    return total


def _units_in_any(held: dict[str, list[tuple[datetime, datetime | None]]], spans: Sequence[Span]) -> Decimal:
    """Units held at some instant of any of the spans (non-prorated unique_count)."""

    def overlaps(low: datetime, high: datetime | None) -> bool:
        return any(low < end and (high is None or high > start) for start, end in spans)

    return Decimal(sum(1 for intervals in held.values() if any(overlaps(*interval) for interval in intervals)))


def _as_sum(definition: MetricDefinition) -> MetricDefinition:
    return MetricDefinition(definition.name, Aggregation.sum, definition.property, definition.filters)


def event_lines(
    billing: CustomerBilling,
    subscription: Subscription,
    component: PriceComponent,
    model: PricingModel,
    slice_: Slice,
    prior_spans: list[Span],
    *,
    billed: bool,
) -> list[tuple[str, Line]]:
    """The lines of an event-priced component for the slice, one per part, each continuing from the period's time
    billed before (``prior_spans``, where the subscription owns the metric's usage)."""
    metric = component.metric_name
    definition = billing.definitions[metric]
    options = billing.run.options_of(component)
    currency = billing.customer.currency
    new_spans = billing.owned_parts(subscription.id, metric, slice_)
    before = partition(read_events(billing.session, billing.customer.id, definition, prior_spans), options)
    now = partition(read_events(billing.session, billing.customer.id, definition, new_spans), options)
    history = history_of(billing.session, billing.customer.id, definition, [*prior_spans, *new_spans], options)
    result = []
    for key in part_keys(options, before, now, history):
        part_model = model_of(model, options, key)
        earlier, added = before.get(key, []), now.get(key, [])
        line: Line | None
        if isinstance(part_model, PER_EVENT):
            usage = aggregate(definition, added, slice_, new_spans)
            line = rate(
                part_model,
                usage=max(usage, Decimal(0)),
                slice=slice_,
                currency=currency,
                events=values(added, part_model),
                prior_events=values(earlier, part_model),
            )
        else:
            past = history.get(key, [])
            prior = aggregate(definition, earlier, slice_, prior_spans, past)
            total = aggregate(definition, [*earlier, *added], slice_, [*prior_spans, *new_spans], past)
            # A part was billed earlier in the period when it had events then, or it is a part always shown.
            shown = billed and (key in before or all(value is None for value in key[1]))
            line = rate_line(part_model, total - prior, slice_, currency, prior, shown, None)
        if line is not None:
            result.append((label(options, key), line))
    return result


def whole_charge(
    billing: CustomerBilling,
    component: PriceComponent,
    model: PricingModel,
    parts: list[Span],
    slice_: Slice,
) -> tuple[Decimal, Decimal]:
    """(quantity, amount) an event-priced or recurring component charges for the owned ``parts`` of a period priced
    as a whole, its lines added up: what late usage adjustments compare with what was billed."""
    definition = billing.definitions[component.metric_name]
    options = billing.run.options_of(component)
    currency = billing.customer.currency
    quantity, amount = Decimal(0), Decimal(0)
    if not needs_events(model, options):
        usage = recurring_usage(
            billing.session, billing.customer.id, definition, parts, slice_, prorated=options.prorated
        )
        line = rate(model, usage=usage, slice=slice_, currency=currency)
        return (usage, line.amount) if line is not None else (usage, amount)
    events = partition(read_events(billing.session, billing.customer.id, definition, parts), options)
    history = history_of(billing.session, billing.customer.id, definition, parts, options)
    for key in part_keys(options, events, history):
        part_model = model_of(model, options, key)
        found = events.get(key, [])
        usage = max(aggregate(definition, found, slice_, parts, history.get(key, [])), Decimal(0))
        if isinstance(part_model, PER_EVENT):
            part = rate(part_model, usage=usage, slice=slice_, currency=currency, events=values(found, part_model))
        else:
            part = rate(part_model, usage=usage, slice=slice_, currency=currency)
        if part is not None:
            quantity += part.quantity
            amount += part.amount
    return quantity, amount
