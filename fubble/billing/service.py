"""The billing run: turn subscriptions and recorded usage into draft invoices for a window ``[start, end)``.

For each customer with a subscription active in the window (or just the one asked for), in id order:

1. The customer row is locked (``SELECT ... FOR NO KEY UPDATE`` on PostgreSQL; SQLite serializes writers), so two
   runs for the same customer queue up instead of billing the same time twice. Customers are billed in batches of
   ``CUSTOMER_BATCH`` (locked together, in id order): the batch's subscriptions, coverage, usage already billed and
   usage per slice are read in a few queries, and its drafts are written with bulk statements
   (:mod:`fubble.billing.store`), so memory stays bounded and a run over 10,000 customers takes seconds.
2. Each subscription's active time inside the window, minus the time non-void invoices already bill
   (:class:`~fubble.db.models.BillingCoverage`), is what is still to bill.
3. That time is cut into slices at the plan's billing-period boundaries, anchored at the subscription's start.
4. Each price component of the plan prices each slice (:func:`fubble.pricing.rating.rate`). Usage of a metric at an
   instant belongs to ONE subscription: the latest-starting one (ties: highest id) of the customer's subscriptions
   active then whose plan prices that metric's usage, so overlapping subscriptions never bill the same events
   twice. Tiered, volume and package pricing continue from the usage already billed in the same period; a flat fee
   is charged once per period.
   A metric's usage is its aggregation (``sum`` by default, see :mod:`fubble.usage.reader`) read from the exact
   usage rollups; ``weighted_sum`` divides by the length of the slice's billing period.
   For the non-additive aggregations (``max``, ``latest``, ``unique_count``) the usage of a period billed in parts is
   NOT the sum of the parts: the line prices the period's usage over everything billed so far (the earlier parts'
   owned time, from the coverage of non-void invoices, plus this slice) against the usage of the earlier parts alone,
   ``price(total) - price(prior)``, and its ``quantity`` is ``total - prior`` (so the quantities of a period's lines
   always add up to the period's usage; for ``latest`` it may be negative, a credit, when the last value fell).
5. Everything new for the customer goes on ONE draft invoice, whose period is the time it bills (earliest slice start
   to latest slice end, not the window asked for). If nothing new is left, the run returns the existing invoices
   that bill this window instead, so running a window twice is harmless. Voiding an invoice frees its time to be
   billed again.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from sqlalchemy.orm import Session

from fubble.billing import repository
from fubble.billing.intervals import Claim, intersect, owned, subtract
from fubble.billing.store import Draft, ItemLine, store
from fubble.clock import Clock
from fubble.config import Settings
from fubble.customers import service as customers
from fubble.db.models import Customer, Invoice, PriceComponent, Subscription
from fubble.db.types import to_utc
from fubble.errors import InvalidInput
from fubble.pricing.aggregation import Aggregation
from fubble.pricing.models import (
    DynamicPricing,
    FlatPricing,
    PricingModel,
    SubscriptionPricing,
    UsageBasedSubscriptionPricing,
    parse_pricing,
)
from fubble.pricing.money import round_money
from fubble.pricing.periods import Slice, split
from fubble.pricing.rating import Line, rate
from fubble.pricing_factors.repository import values_between
from fubble.usage.definitions import MetricDefinition, resolve
from fubble.usage.reader import usage as reader_usage
from fubble.usage.reader import usage_in, usage_many

Span = tuple[datetime, datetime]
Segments = list[tuple[Decimal, Mapping[str, Decimal]]]
_Planned = tuple[Subscription, Slice]

CUSTOMER_BATCH = 500
MAX_SLICES_PER_SUBSCRIPTION = 240  # 20 years of monthly periods in one run: bounds a run's time and response
MAX_DETAIL_IN_DESCRIPTION = 120
FEE_ONLY = (FlatPricing, SubscriptionPricing)
NON_ADDITIVE = frozenset({Aggregation.max, Aggregation.latest, Aggregation.unique_count})


def generate_invoices(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    customer_id: int | None = None,
    clock: Clock,
    settings: Settings,
) -> list[Invoice]:
    """Bill the half-open window ``[start, end)``; see the module docstring. Never commits.

    Returns the new draft invoices, plus, for customers with nothing new to bill, the existing non-void invoices
    that bill this window; in customer id order. Naive datetimes are UTC.
    """
    start, end = to_utc(start), to_utc(end)
    if start >= end:
        raise InvalidInput.at(("end_date",), "end_date must be after start_date (the window is [start_date, end_date))")
    if customer_id is not None:
        customers.get(session, customer_id)  # 404 for an unknown customer
        batches: Iterator[list[int]] = iter([[customer_id]])
    else:
        batches = _customers_to_bill(session, start, end)
    run = _Run(session, (start, end), clock=clock, settings=settings)
    result: list[Invoice] = []
    for batch in batches:
        result.extend(run.bill_batch(batch))
    return result


def _customers_to_bill(session: Session, start: datetime, end: datetime) -> Iterator[list[int]]:
    """Batches of ids of customers with a subscription active in the window, ascending."""
    after = 0
    while True:
        batch = repository.customer_ids_with_subscriptions(session, start, end, after_id=after, limit=CUSTOMER_BATCH)
        if batch:
            yield batch
        if len(batch) < CUSTOMER_BATCH:
            return
        after = batch[-1]


@dataclass
class _PeriodState:
    """What is billed so far for one (subscription, component, period): earlier invoices plus this run."""

    usage: Decimal
    billed: bool
    spans: list[Span] = field(default_factory=list)  # the parts of the period this run billed so far (earlier slices)


@dataclass
class _Plan:
    """A subscription's price components with their parsed pricing models, in component id order."""

    components: list[tuple[PriceComponent, PricingModel]] = field(default_factory=list)

    def usage_metrics(self) -> set[str]:
        return {c.metric_name for c, model in self.components if not isinstance(model, FEE_ONLY)}


UsageKey = tuple[int, str, datetime, datetime, timedelta]  # (customer, metric, window start, end, period length)


class _Run:
    """A billing run over one window. Customers are billed a batch at a time (:meth:`bill_batch`): what the
    per-customer code reads (subscriptions, coverage, usage already billed, usage of whole slices) is fetched for the
    whole batch in a few queries into the caches below, and the drafts are written with bulk statements
    (:mod:`fubble.billing.store`). Code that runs without the caches filled (the upcoming-invoice preview, usage of
    an odd-shaped slice) queries per customer, with the same results."""

    def __init__(self, session: Session, window: Span, *, clock: Clock, settings: Settings) -> None:
        self.session = session
        self.window = window
        self.clock = clock
        self.settings = settings
        self.definitions: dict[str, MetricDefinition] = {}
        self.plans: dict[int, _Plan] = {}
        self.covered: dict[int, list[Span]] = {}
        self.billed: dict[repository.PeriodKey, tuple[Decimal, bool]] = {}
        self.usage: dict[UsageKey, Decimal] = {}

    def definitions_of(self, names: set[str]) -> dict[str, MetricDefinition]:
        missing = names - self.definitions.keys()
        if missing:
            self.definitions.update(resolve(self.session, missing))
        return {name: self.definitions[name] for name in names}

    def plan_of(self, subscription: Subscription) -> _Plan:
        plan = self.plans.get(subscription.plan_id)
        if plan is None:
            components = subscription.plan.price_components
            plan = self.plans[subscription.plan_id] = _Plan(
                [(c, parse_pricing(c.pricing_type, c.pricing_details)) for c in components]
            )
        return plan

    def bill_batch(self, customer_ids: list[int]) -> list[Invoice]:
        """Bill these customers (ascending ids); returns their new or existing invoices, in customer id order."""
        session = self.session
        locked = repository.lock_customers(session, customer_ids)
        subscriptions = repository.subscriptions_of(session, list(locked), *self.window)
        billings = [
            _CustomerBilling(self, locked[cid], subscriptions[cid]) for cid in customer_ids if subscriptions.get(cid)
        ]
        self.covered = repository.covered_many(session, [s.id for b in billings for s in b.subscriptions], *self.window)
        planned = [(b, *b.slices()) for b in billings]
        self._prefetch(planned)
        now = self.clock.now()
        drafts: list[Draft] = []
        unchanged: list[_CustomerBilling] = []
        for billing, slices, coverage in planned:
            if coverage:
                drafts.append(Draft(billing.customer, billing.price(slices, now), coverage))
            else:
                unchanged.append(billing)
        ids = store(session, drafts, now=now, payment_term_days=self.settings.payment_term_days)
        self.covered, self.billed, self.usage = {}, {}, {}
        by_customer: dict[int, list[Invoice]] = {}
        for invoice in repository.invoices_with_items(session, ids):
            by_customer.setdefault(invoice.customer_id, []).append(invoice)
        existing = repository.invoices_covering(
            session, [s.id for b in unchanged for s in b.subscriptions], *self.window
        )
        for invoice in existing:
            by_customer.setdefault(invoice.customer_id, []).append(invoice)
        return [invoice for cid in customer_ids for invoice in by_customer.get(cid, [])]

    def _prefetch(self, planned: list[tuple[_CustomerBilling, list[_Planned], list[tuple[int, Span]]]]) -> None:
        """Fill the caches for the batch: usage already billed per period, and the usage of every slice a
        subscription owns in one piece (grouped by metric and window, one pair of queries per group)."""
        keys: set[repository.PeriodKey] = set()
        groups: dict[tuple[str, datetime, datetime, timedelta], list[int]] = {}
        for billing, slices, _ in planned:
            keys |= billing.period_keys(slices)
            for subscription, slice_ in slices:
                for component, model in billing.plans[subscription.id].components:
                    metric = component.metric_name
                    if isinstance(model, (*FEE_ONLY, DynamicPricing)):
                        continue
                    if billing.definitions[metric].aggregation in NON_ADDITIVE:
                        continue
                    parts = billing._owned_parts(subscription.id, metric, slice_)
                    if len(parts) == 1:
                        group = groups.setdefault((metric, *parts[0], _length(slice_)), [])
                        if not group or group[-1] != billing.customer.id:
                            group.append(billing.customer.id)
        self.billed = repository.billed_in_periods(self.session, keys)
        for (metric, start, end, period), cids in groups.items():
            values = usage_many(self.session, cids, self.definitions[metric], start, end, period=period)
            for cid, value in values.items():
                self.usage[(cid, metric, start, end, period)] = value


class _CustomerBilling:
    """One customer's share of a run."""

    def __init__(self, run: _Run, customer: Customer, subscriptions: list[Subscription]) -> None:
        self.run = run
        self.session = run.session
        self.customer = customer
        self.subscriptions = subscriptions
        self.plans = {s.id: run.plan_of(s) for s in subscriptions}
        self.active = {s.id: _active(s, run.window) for s in subscriptions}
        self.owned = self._ownership()
        # How each priced metric aggregates (weighted_sum divides by the billing period's length).
        self.definitions = run.definitions_of({m for plan in self.plans.values() for m in plan.usage_metrics()})
        self.periods: dict[tuple[int, int, datetime, datetime], _PeriodState] = {}

    def _ownership(self) -> dict[tuple[int, str], list[Span]]:
        """(subscription id, metric) -> the parts of the window where that subscription owns the metric's usage."""
        metrics = sorted({m for plan in self.plans.values() for m in plan.usage_metrics()})
        result: dict[tuple[int, str], list[Span]] = {}
        for metric in metrics:
            claims = [
                Claim(key=s.id, priority=(s.start_date, s.id), active=self.active[s.id])
                for s in self.subscriptions
                if metric in self.plans[s.id].usage_metrics()
            ]
            for sub_id, parts in owned(claims).items():
                result[(sub_id, metric)] = parts
        return result

    def period_keys(self, slices: list[_Planned]) -> set[repository.PeriodKey]:
        """The (subscription, component, period) whose already billed usage pricing these slices reads."""
        return {
            (subscription.id, component.id, slice_.period_start, slice_.period_end)
            for subscription, slice_ in slices
            for component, _ in self.plans[subscription.id].components
        }

    def price(self, slices: list[_Planned], now: datetime) -> list[ItemLine]:
        return [item for subscription, slice_ in slices for item in self._lines(subscription, slice_, now)]

    def slices(self) -> tuple[list[_Planned], list[tuple[int, Span]]]:
        """What is left to bill: the (subscription, slice) pairs to price and the coverage (time) they bill."""
        planned: list[_Planned] = []
        coverage: list[tuple[int, Span]] = []
        for subscription in self.subscriptions:
            already = self.run.covered.get(subscription.id)
            if already is None:
                already = repository.covered(self.session, subscription.id, *self.run.window)
            pieces = subtract(self.active[subscription.id], already)
            slices = [
                s
                for piece in pieces
                for s in split(subscription.start_date, subscription.plan.billing_frequency, *piece)
            ]
            if len(slices) > MAX_SLICES_PER_SUBSCRIPTION:
                raise InvalidInput.at(
                    ("end_date",),
                    f"the window spans more than {MAX_SLICES_PER_SUBSCRIPTION} billing periods of subscription "
                    f"{subscription.id}; bill a shorter window",
                )
            coverage.extend((subscription.id, piece) for piece in pieces)
            planned.extend((subscription, slice_) for slice_ in slices)
        return planned, coverage

    def _lines(self, subscription: Subscription, slice_: Slice, now: datetime) -> list[ItemLine]:
        items = []
        for component, model in self.plans[subscription.id].components:
            state = self._period_state(subscription.id, component.id, slice_)
            segments: Segments | None = None
            prior = state.usage
            if isinstance(model, FEE_ONLY):
                usage = Decimal(0)
            elif isinstance(model, DynamicPricing):
                segments = self._segments(subscription.id, component.metric_name, model, slice_)
                usage = sum((u for u, _ in segments), Decimal(0))
            elif self.definitions[component.metric_name].aggregation in NON_ADDITIVE:
                prior, total = self._period_usage(subscription.id, component.metric_name, slice_, state)
                usage = total - prior
            else:
                usage = self._usage(subscription.id, component.metric_name, slice_)
            line = _rate(model, usage, slice_, self.customer.currency, prior, state.billed, segments)
            if line is None:
                continue
            state.usage += line.quantity
            state.billed = True
            items.append(_item(subscription, component, slice_, line, now))
        for state in {id(s): s for s in self._states_of(subscription.id, slice_)}.values():
            state.spans.append((slice_.start, slice_.end))
        return items

    def _states_of(self, subscription_id: int, slice_: Slice) -> list[_PeriodState]:
        return [
            self.periods[(subscription_id, component.id, slice_.period_start, slice_.period_end)]
            for component, _ in self.plans[subscription_id].components
        ]

    def _period_usage(
        self, subscription_id: int, metric: str, slice_: Slice, state: _PeriodState
    ) -> tuple[Decimal, Decimal]:
        """For a non-additive metric: (usage of the parts of the period billed before this slice, usage of those
        parts together with this slice), over the time the subscription owns the metric's usage."""
        period = (slice_.period_start, slice_.period_end)
        earlier = intersect([*repository.covered(self.session, subscription_id, *period), *state.spans], [period])
        prior_parts = self._owned_elsewhere(subscription_id, metric, earlier)
        new_parts = self._owned_parts(subscription_id, metric, slice_)
        definition, length = self.definitions[metric], _length(slice_)
        prior = usage_in(self.session, self.customer.id, definition, prior_parts, period=length)
        total = usage_in(self.session, self.customer.id, definition, [*prior_parts, *new_parts], period=length)
        return prior, total

    def _owned_elsewhere(self, subscription_id: int, metric: str, spans: list[Span]) -> list[Span]:
        """The parts of ``spans`` (time billed earlier, possibly outside this run's window) where the subscription
        owns the metric's usage, by the same rule as inside the window."""
        if not spans:
            return []
        inside = intersect(spans, [self.run.window])
        result = intersect(self.owned.get((subscription_id, metric), []), inside)
        outside = subtract(spans, [self.run.window])
        if outside:
            hull = (outside[0][0], outside[-1][1])
            claims = []
            for s in repository.subscriptions_in(self.session, self.customer.id, *hull):
                if metric in self.run.plan_of(s).usage_metrics():
                    claims.append(Claim(key=s.id, priority=(s.start_date, s.id), active=_active_in(s, outside)))
            result += owned(claims).get(subscription_id, [])
        return result

    def _period_state(self, subscription_id: int, component_id: int, slice_: Slice) -> _PeriodState:
        key = (subscription_id, component_id, slice_.period_start, slice_.period_end)
        state = self.periods.get(key)
        if state is None:
            known = self.run.billed.get(key)
            usage, billed = known if known is not None else repository.billed_in_period(self.session, *key)
            state = self.periods[key] = _PeriodState(usage, billed)
        return state

    def _owned_parts(self, subscription_id: int, metric: str, slice_: Slice) -> list[Span]:
        return intersect(self.owned.get((subscription_id, metric), []), [(slice_.start, slice_.end)])

    def _usage(self, subscription_id: int, metric: str, slice_: Slice) -> Decimal:
        """The metric's usage (by its aggregation) in the parts of the slice the subscription owns."""
        parts = self._owned_parts(subscription_id, metric, slice_)
        if len(parts) == 1:
            known = self.run.usage.get((self.customer.id, metric, *parts[0], _length(slice_)))
            if known is not None:
                return known
        return usage_in(self.session, self.customer.id, self.definitions[metric], parts, period=_length(slice_))

    def _segments(self, subscription_id: int, metric: str, model: DynamicPricing, slice_: Slice) -> Segments:
        """The owned parts of the slice cut where a factor of the formula changed: (usage, factor values) each."""
        names = sorted(model.factor_names)
        segments: Segments = []
        first: Mapping[str, Decimal] | None = None
        for part_start, part_end in self._owned_parts(subscription_id, metric, slice_):
            for seg_start, seg_end, factors in _factor_spans(
                values_between(self.session, names, part_start, part_end), part_start, part_end
            ):
                if first is None:
                    first = factors
                usage = reader_usage(
                    self.session, self.customer.id, self.definitions[metric], seg_start, seg_end, period=_length(slice_)
                )
                if usage:
                    segments.append((usage, factors))
        if not segments:
            if first is None:
                first = values_between(self.session, names, slice_.start, slice_.end)[0][1]
            segments.append((Decimal(0), first))
        return segments


def _length(slice_: Slice) -> timedelta:
    return slice_.period_end - slice_.period_start


def _active(subscription: Subscription, window: Span) -> list[Span]:
    """The subscription's active time [start_date, end_date or forever) inside the window."""
    return _active_in(subscription, [window])


def _active_in(subscription: Subscription, spans: list[Span]) -> list[Span]:
    """The subscription's active time [start_date, end_date or forever) inside the spans."""
    if not spans:
        return []
    sub_end = subscription.end_date if subscription.end_date is not None else max(end for _, end in spans)
    return intersect([(subscription.start_date, sub_end)], spans)


def _rate(
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
    fall = rate(model, usage=-usage, slice=slice_, currency=currency, prior_usage=total)
    assert fall is not None
    detail = f"the period's usage fell from {prior} to {total}: {fall.detail}, credited"
    return Line(-fall.quantity, fall.unit_price, -fall.amount, detail)


def _factor_spans(
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


def _when(moment: datetime) -> str:
    if moment.hour == moment.minute == moment.second == moment.microsecond == 0:
        return moment.date().isoformat()
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _item(subscription: Subscription, component: PriceComponent, slice_: Slice, line: Line, now: datetime) -> ItemLine:
    name = component.display_name or component.metric_name
    description = f"{name} ({_when(slice_.start)} \N{EN DASH} {_when(slice_.end)})"
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
    )
