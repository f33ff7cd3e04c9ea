"""The billing run: turn subscriptions and recorded usage into draft invoices for a window ``[start, end)``.

For each customer with a subscription active in the window (or just the one asked for), in id order:

1. The customer row is locked (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite serializes writers), so two runs for
   the same customer queue up instead of billing the same time twice.
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
5. Everything new for the customer goes on ONE draft invoice, which records the time it bills. If nothing new is
   left, the run returns the existing invoices that bill this window instead, so running a window twice is
   harmless. Voiding an invoice frees its time to be billed again.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from fubble.billing import repository
from fubble.billing.intervals import Claim, intersect, owned, subtract
from fubble.clock import Clock
from fubble.config import Settings
from fubble.customers import repository as customers
from fubble.db.models import BillingCoverage, Customer, Invoice, InvoiceItem, PriceComponent, Subscription
from fubble.db.types import to_utc
from fubble.errors import InvalidInput, NotFound
from fubble.invoices import service as invoices
from fubble.pricing.models import DynamicPricing, FlatPricing, PricingModel, SubscriptionPricing, parse_pricing
from fubble.pricing.periods import Slice, split
from fubble.pricing.rating import Line, rate
from fubble.pricing_factors.repository import values_between
from fubble.usage.definitions import resolve
from fubble.usage.reader import usage as reader_usage
from fubble.usage.reader import usage_in

Span = tuple[datetime, datetime]
Segments = list[tuple[Decimal, Mapping[str, Decimal]]]

CUSTOMER_BATCH = 500
MAX_SLICES_PER_SUBSCRIPTION = 1200  # 100 years of monthly periods in one run
MAX_DETAIL_IN_DESCRIPTION = 120
FEE_ONLY = (FlatPricing, SubscriptionPricing)


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
        if customers.get(session, customer_id) is None:
            raise NotFound(f"customer {customer_id} not found")
        ids: Iterator[int] = iter([customer_id])
    else:
        ids = _customers_to_bill(session, start, end)
    run = _Run(session, (start, end), clock=clock, settings=settings)
    result: list[Invoice] = []
    for cid in ids:
        result.extend(run.bill_customer(cid))
    return result


def _customers_to_bill(session: Session, start: datetime, end: datetime) -> Iterator[int]:
    """Ids of customers with a subscription active in the window, ascending, fetched in batches."""
    after = 0
    while True:
        batch = repository.customer_ids_with_subscriptions(session, start, end, after_id=after, limit=CUSTOMER_BATCH)
        yield from batch
        if len(batch) < CUSTOMER_BATCH:
            return
        after = batch[-1]


@dataclass
class _PeriodState:
    """What is billed so far for one (subscription, component, period): earlier invoices plus this run."""

    usage: Decimal
    billed: bool


@dataclass
class _Plan:
    """A subscription's price components with their parsed pricing models, in component id order."""

    components: list[tuple[PriceComponent, PricingModel]] = field(default_factory=list)

    def usage_metrics(self) -> set[str]:
        return {c.metric_name for c, model in self.components if not isinstance(model, FEE_ONLY)}


class _Run:
    def __init__(self, session: Session, window: Span, *, clock: Clock, settings: Settings) -> None:
        self.session = session
        self.window = window
        self.clock = clock
        self.settings = settings

    def bill_customer(self, customer_id: int) -> list[Invoice]:
        customer = customers.get(self.session, customer_id, for_update=True)
        if customer is None:  # deleted meanwhile
            return []
        subscriptions = repository.subscriptions_in(self.session, customer_id, *self.window)
        if not subscriptions:
            return []
        customer_billing = _CustomerBilling(self, customer, subscriptions)
        invoice = customer_billing.bill()
        if invoice is not None:
            return [invoice]
        return repository.invoices_covering(self.session, [s.id for s in subscriptions], *self.window)


class _CustomerBilling:
    """One customer's share of a run."""

    def __init__(self, run: _Run, customer: Customer, subscriptions: list[Subscription]) -> None:
        self.run = run
        self.session = run.session
        self.customer = customer
        self.subscriptions = subscriptions
        self.plans = {
            s.id: _Plan([(c, parse_pricing(c.pricing_type, c.pricing_details)) for c in s.plan.price_components])
            for s in subscriptions
        }
        self.active = {s.id: _active(s, run.window) for s in subscriptions}
        self.owned = self._ownership()
        # How each priced metric aggregates (weighted_sum divides by the billing period's length).
        self.definitions = resolve(self.session, {m for plan in self.plans.values() for m in plan.usage_metrics()})
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

    def bill(self) -> Invoice | None:
        items: list[InvoiceItem] = []
        coverage: list[tuple[int, Span]] = []
        now = self.run.clock.now()
        for subscription in self.subscriptions:
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
            for slice_ in slices:
                items.extend(self._lines(subscription, slice_, now))
        if not coverage:
            return None
        return self._invoice(items, coverage, now)

    def _lines(self, subscription: Subscription, slice_: Slice, now: datetime) -> list[InvoiceItem]:
        items = []
        for component, model in self.plans[subscription.id].components:
            state = self._period_state(subscription.id, component.id, slice_)
            segments: Segments | None = None
            if isinstance(model, FEE_ONLY):
                usage = Decimal(0)
            elif isinstance(model, DynamicPricing):
                segments = self._segments(subscription.id, component.metric_name, model, slice_)
                usage = sum((u for u, _ in segments), Decimal(0))
            else:
                usage = self._usage(subscription.id, component.metric_name, slice_)
            line = rate(
                model,
                usage=usage,
                slice=slice_,
                currency=self.customer.currency,
                prior_usage=state.usage,
                period_already_billed=state.billed,
                segments=segments,
            )
            if line is None:
                continue
            state.usage += line.quantity
            state.billed = True
            items.append(_item(subscription, component, slice_, line, now))
        return items

    def _period_state(self, subscription_id: int, component_id: int, slice_: Slice) -> _PeriodState:
        key = (subscription_id, component_id, slice_.period_start, slice_.period_end)
        state = self.periods.get(key)
        if state is None:
            usage, billed = repository.billed_in_period(self.session, *key)
            state = self.periods[key] = _PeriodState(usage, billed)
        return state

    def _owned_parts(self, subscription_id: int, metric: str, slice_: Slice) -> list[Span]:
        return intersect(self.owned.get((subscription_id, metric), []), [(slice_.start, slice_.end)])

    def _usage(self, subscription_id: int, metric: str, slice_: Slice) -> Decimal:
        """The metric's usage (by its aggregation) in the parts of the slice the subscription owns."""
        parts = self._owned_parts(subscription_id, metric, slice_)
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

    def _invoice(self, items: list[InvoiceItem], coverage: list[tuple[int, Span]], now: datetime) -> Invoice:
        start, end = self.run.window
        invoice = invoices.create_invoice(
            self.session,
            customer=self.customer,
            issue_date=now,
            due_date=None,
            notes=None,
            clock=self.run.clock,
            payment_term_days=self.run.settings.payment_term_days,
            period_start=start,
            period_end=end,
        )
        invoice.invoice_items.extend(items)
        invoices.recompute_total(invoice)
        for subscription_id, (piece_start, piece_end) in coverage:
            self.session.add(
                BillingCoverage(
                    invoice_id=invoice.id, subscription_id=subscription_id, start=piece_start, end=piece_end
                )
            )
        self.session.flush()
        return invoice


def _length(slice_: Slice) -> timedelta:
    return slice_.period_end - slice_.period_start


def _active(subscription: Subscription, window: Span) -> list[Span]:
    """The subscription's active time [start_date, end_date or forever) inside the window."""
    sub_end = subscription.end_date if subscription.end_date is not None else window[1]
    return intersect([(subscription.start_date, sub_end)], [window])


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


def _item(
    subscription: Subscription, component: PriceComponent, slice_: Slice, line: Line, now: datetime
) -> InvoiceItem:
    name = component.display_name or component.metric_name
    description = f"{name} ({_when(slice_.start)} \N{EN DASH} {_when(slice_.end)})"
    if line.detail and len(line.detail) <= MAX_DETAIL_IN_DESCRIPTION:
        description += f" ({line.detail})"
    return InvoiceItem(
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
