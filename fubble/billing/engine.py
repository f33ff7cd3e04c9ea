"""The billing engine: turn subscriptions and recorded usage into invoice lines, for a batch of customers.

Both ways of billing use it: ``POST /invoices/generate`` (a window chosen by hand,
:class:`~fubble.billing.tracks.WindowPolicy`) and the billing runs (every period due as of an instant,
:class:`fubble.billing_runs.policy.DuePolicy`). A *policy* says
which time of each subscription is up for billing and how the new lines are grouped into invoices; everything else
is this module, the same for both:

1. The customers of a batch are locked (``SELECT ... FOR NO KEY UPDATE`` on PostgreSQL; SQLite serializes writers) in
   id order, so two runs for the same customers queue up; what was already billed is read after the lock.
2. A subscription is billed on up to three *tracks*, each with its own coverage (:class:`~fubble.db.models.
   BillingCoverage` ``kind``): ``arrears`` (usage, and the fixed fees of ordinary plans, after the time),
   ``advance`` (the fixed fees of a plan with ``fees_in_advance``, when a period starts; :mod:`fubble.pricing.fees`)
   and ``credit`` (the part of an advance fee's time the subscription did not live to use). A track's billable time
   is the subscription's active time from :func:`~fubble.billing.schedule.billable_start` (after any trial) to its
   end, inside the policy's window, minus the track's coverage by invoices not void.
3. That time is cut into slices at the subscription's period boundaries (:mod:`fubble.billing.schedule`: its anchor,
   frequency and its customer's time zone), and each price component of the subscription's plan version (with its
   ``price_overrides``) prices each slice (:func:`fubble.pricing.rating.rate`). Usage of a metric at an instant
   belongs to ONE subscription: the latest-starting one (ties: highest id) of the customer's subscriptions active then
   whose plan prices that metric's usage, so overlapping subscriptions never bill the same events twice. Tiered,
   volume and package pricing continue from the usage already billed in the same period; a flat fee is charged once
   per period, and when a plan change ends a subscription inside a period, by the plan in force at the period's end
   (the ended subscription's flat fee for a metric the new plan also charges a flat fee for is left out).
   A metric's usage is its aggregation read from the exact usage rollups (:mod:`fubble.usage.reader`); for the
   non-additive aggregations (``max``, ``latest``, ``unique_count``) a period billed in parts prices the period's
   usage so far against the earlier parts' (``price(total) - price(prior)``).
   How each component's usage is read is :mod:`fubble.billing.usage_reads`; components priced from their events
   (percentage, event amounts, ``grouped_by``, charge filters: one line per part) are :mod:`fubble.billing.charged`;
   the slice that ends a period also gets the period's true-up lines (a component's ``min_amount``, the plan's
   ``minimum_commitment``: :mod:`fubble.billing.true_ups`).
4. The lines are grouped into drafts by the policy and written with bulk statements (:mod:`fubble.billing.store`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from fubble.billing import charged, repository
from fubble.billing.intervals import Claim, intersect, owned, subtract
from fubble.billing.lines import item_line
from fubble.billing.schedule import Schedule, billable_start, schedule_of
from fubble.billing.store import ItemLine
from fubble.billing.tracks import (
    ADVANCE,
    ARREARS,
    CREDIT,
    EARLIEST,
    LINE_KIND,
    TRACKS,
    Planned,
    Policy,
    PricedPlan,
    Span,
    priced_plan,
)
from fubble.billing.true_ups import Amounts, ends_period, period_true_ups
from fubble.billing.usage_reads import NON_ADDITIVE, rate_component
from fubble.clock import Clock
from fubble.config import Settings
from fubble.db.models import Customer, PriceComponent, Subscription
from fubble.errors import InvalidInput
from fubble.plans.versions import components_of_subscription
from fubble.pricing.charges import ComponentOptions, parse_options
from fubble.pricing.fees import is_fee_only, unused_credit
from fubble.pricing.models import (
    DynamicPricing,
    FlatPricing,
    PricingModel,
    SubscriptionPricing,
)
from fubble.pricing.periods import Slice
from fubble.pricing.rating import Line
from fubble.usage.definitions import MetricDefinition, resolve
from fubble.usage.reader import usage_many

MAX_SLICES_PER_SUBSCRIPTION = 240  # 20 years of monthly periods in one run: bounds a run's time and response


@dataclass
class _PeriodState:
    """What is billed so far for one (subscription, component, period): earlier invoices plus this pass."""

    usage: Decimal
    billed: bool
    spans: list[Span] = field(default_factory=list)  # the parts of the period this pass billed so far


UsageKey = tuple[int, str, datetime, datetime, timedelta]  # (customer, metric, window start, end, period length)


class Run:
    """One billing pass (a window, or a run as of an instant), a batch of customers at a time (:meth:`price_batch`).
    What the per-customer code reads is fetched for the whole batch in a few queries into the caches below; code that
    runs without the caches filled (the upcoming-invoice preview, an odd-shaped slice) queries per customer, with the
    same results."""

    def __init__(self, session: Session, window: Span, policy: Policy, *, clock: Clock, settings: Settings) -> None:
        self.session = session
        self.window = window
        self.policy = policy
        self.clock = clock
        self.settings = settings
        self.definitions: dict[str, MetricDefinition] = {}
        self.plans: dict[tuple[int, int, str], PricedPlan] = {}
        self.covered: dict[tuple[int, str], list[Span]] = {}
        self.loaded_coverage: set[int] = set()
        self.billed: dict[repository.PeriodKey, tuple[Decimal, bool]] = {}
        self.usage: dict[UsageKey, Decimal] = {}
        self.unfinished: set[int] = set()  # subscriptions a partial policy billed only in part (see slices)
        self.options: dict[int, ComponentOptions] = {}

    def options_of(self, component: PriceComponent) -> ComponentOptions:
        """The component's charge options (grouped_by, filters, min_amount, prorated)."""
        found = self.options.get(component.id)
        if found is None:
            raw = {
                "grouped_by": component.grouped_by,
                "filters": component.filters,
                "min_amount": component.min_amount,
                "prorated": component.prorated,
            }
            found = self.options[component.id] = parse_options(component.pricing_type, raw)
        return found

    def definitions_of(self, names: set[str]) -> dict[str, MetricDefinition]:
        missing = names - self.definitions.keys()
        if missing:
            self.definitions.update(resolve(self.session, missing))
        return {name: self.definitions[name] for name in names}

    def plan_of(self, subscription: Subscription) -> PricedPlan:
        overrides = subscription.price_overrides or []
        key = (subscription.plan_id, subscription.plan_version, repr(overrides))
        plan = self.plans.get(key)
        if plan is None:
            components = components_of_subscription(self.session, subscription)
            plan = self.plans[key] = priced_plan(components, overrides, subscription.plan.fees_in_advance)
        return plan

    def coverage_of(self, subscription_id: int, track: str) -> list[Span]:
        if subscription_id not in self.loaded_coverage:
            for kind, spans in repository.covered_kinds(self.session, subscription_id, *self.window).items():
                self.covered[(subscription_id, kind)] = spans
            self.loaded_coverage.add(subscription_id)
        return self.covered.get((subscription_id, track), [])

    def load_batch(self, customer_ids: list[int], locked: dict[int, Customer] | None = None) -> list[CustomerBilling]:
        """Lock the customers (unless the caller did: ``locked``) and read what the batch needs; their billings, in
        customer id order."""
        session = self.session
        if locked is None:
            locked = repository.lock_customers(session, customer_ids)
        subscriptions = repository.subscriptions_of(session, list(locked), *self.window)
        billings = [
            CustomerBilling(self, locked[cid], subscriptions[cid]) for cid in customer_ids if subscriptions.get(cid)
        ]
        ids = [s.id for b in billings for s in b.subscriptions]
        self.covered = repository.covered_many(session, ids, *self.window)
        self.loaded_coverage = set(ids)
        return billings

    def prefetch(self, planned: list[tuple[CustomerBilling, list[Planned]]]) -> None:
        """Fill the caches for the batch: usage already billed per period, and the usage of every slice a
        subscription owns in one piece (grouped by metric and window, one pair of queries per group)."""
        keys: set[repository.PeriodKey] = set()
        groups: dict[tuple[str, datetime, datetime, timedelta], list[int]] = {}
        for billing, slices in planned:
            keys |= billing.period_keys(slices)
            for item in slices:
                if item.track != ARREARS:
                    continue
                for component, model in billing.plans[item.subscription.id].tracks[ARREARS]:
                    metric = component.metric_name
                    if is_fee_only(model) or isinstance(model, DynamicPricing):
                        continue
                    if billing.per_period(component, model):
                        continue
                    parts = billing.owned_parts(item.subscription.id, metric, item.slice)
                    if len(parts) == 1:
                        group = groups.setdefault((metric, *parts[0], _length(item.slice)), [])
                        if not group or group[-1] != billing.customer.id:
                            group.append(billing.customer.id)
        self.billed = repository.billed_in_periods(self.session, keys)
        for (metric, start, end, period), cids in groups.items():
            values = usage_many(self.session, cids, self.definitions[metric], start, end, period=period)
            for cid, value in values.items():
                self.usage[(cid, metric, start, end, period)] = value

    def clear(self) -> None:
        self.covered, self.loaded_coverage, self.billed, self.usage = {}, set(), {}, {}


class CustomerBilling:
    """One customer's share of a pass."""

    def __init__(self, run: Run, customer: Customer, subscriptions: list[Subscription]) -> None:
        self.run = run
        self.session = run.session
        self.customer = customer
        self.tz = customer.timezone
        self.subscriptions = subscriptions
        self.plans = {s.id: run.plan_of(s) for s in subscriptions}
        self.schedules = {s.id: schedule_of(s, self.tz) for s in subscriptions}
        self.active = {s.id: active_in(s, [run.window]) for s in subscriptions}
        self.successor = {s.previous_subscription_id: s for s in subscriptions if s.previous_subscription_id}
        self.owned = self._ownership()
        # How each priced metric aggregates (weighted_sum divides by the billing period's length).
        self.definitions = run.definitions_of({m for plan in self.plans.values() for m in plan.usage_metrics()})
        self.periods: dict[tuple[int, int, datetime, datetime], _PeriodState] = {}
        self.amounts: dict[tuple[int, datetime, datetime], Amounts] = {}  # this pass's lines per subscription period

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

    def period_keys(self, slices: list[Planned]) -> set[repository.PeriodKey]:
        """The (subscription, component, period) whose already billed usage pricing these slices reads."""
        return {
            (item.subscription.id, component.id, item.slice.period_start, item.slice.period_end)
            for item in slices
            for component, _ in self.plans[item.subscription.id].tracks[item.track]
        }

    def slices(self) -> tuple[list[Planned], list[tuple[int, str, Span]]]:
        """What is left to bill: the slices to price, and the coverage (subscription, track, time) they bill."""
        planned: list[Planned] = []
        for subscription in self.subscriptions:
            schedule = self.schedules[subscription.id]
            tracks = self.plans[subscription.id].tracks
            count = 0
            for track in TRACKS:
                if not tracks[track]:
                    continue
                pieces = self._unbilled(subscription, schedule, track)
                mine = [Planned(subscription, track, sl) for piece in pieces for sl in schedule.split(*piece)]
                if self.run.policy.partial and len(mine) > MAX_SLICES_PER_SUBSCRIPTION:
                    # A billing run bills the earliest periods now and the rest in the next runs: one subscription
                    # far behind (started decades ago) never stops the others' billing.
                    mine = mine[:MAX_SLICES_PER_SUBSCRIPTION]
                    self.run.unfinished.add(subscription.id)
                planned.extend(mine)
                count += len(mine)
            if count > MAX_SLICES_PER_SUBSCRIPTION * 2:
                raise InvalidInput.at(
                    ("end_date",),
                    f"the window spans more than {MAX_SLICES_PER_SUBSCRIPTION} billing periods of subscription "
                    f"{subscription.id}; bill a shorter window",
                )
        return planned, [(p.subscription.id, p.track, (p.slice.start, p.slice.end)) for p in planned]

    def _unbilled(self, subscription: Subscription, schedule: Schedule, track: str) -> list[Span]:
        window = self.run.policy.window(schedule, track)
        already = self.run.coverage_of(subscription.id, track)
        if track != CREDIT:
            return subtract(intersect(self.active[subscription.id], [window]), already)
        # Paid-ahead time the subscription no longer lives in (it ended, or changed plan, inside it), credited once
        # the time has come: pieces that start inside the window, whole.
        ahead = self.run.coverage_of(subscription.id, ADVANCE)
        if not ahead:
            return []
        lived = active_in(subscription, [(EARLIEST, ahead[-1][1])])
        return [p for p in subtract(ahead, [*lived, *already]) if window[0] <= p[0] < window[1]]

    def price(self, slices: list[Planned], now: datetime) -> list[tuple[Planned, ItemLine]]:
        return [(item, line) for item in slices for line in self._lines(item, now)]

    def _lines(self, item: Planned, now: datetime) -> list[ItemLine]:
        subscription, slice_ = item.subscription, item.slice
        lines = []
        for component, model in self.plans[subscription.id].tracks[item.track]:
            state = self._period_state(subscription.id, component.id, slice_)
            if item.track == CREDIT:
                assert isinstance(model, (FlatPricing, SubscriptionPricing))
                replaced = self._flat_replaced(subscription, component, slice_, at_end=False)
                line = unused_credit(model, slice_, self.customer.currency, replaced=replaced)
            elif isinstance(model, FlatPricing) and self._flat_replaced(subscription, component, slice_, at_end=True):
                continue
            elif item.track == ARREARS and charged.needs_events(model, self.run.options_of(component)):
                for label, part in self._event_lines(subscription, component, model, slice_, state):
                    state.billed = True
                    lines.append(self._item(item, component, part, now, label))
                continue
            else:
                line = rate_component(self, subscription, component, model, slice_, state)
            if line is None:
                continue
            if item.track == ARREARS:
                state.usage += line.quantity
            state.billed = True
            lines.append(self._item(item, component, line, now))
        for state in {id(s): s for s in self._states_of(subscription.id, item.track, slice_)}.values():
            state.spans.append((slice_.start, slice_.end))
        if item.track == ARREARS and ends_period(subscription, item):
            lines += self._true_ups(item, now)
        return lines

    def _item(self, item: Planned, component: PriceComponent, line: Line, now: datetime, label: str = "") -> ItemLine:
        kind = LINE_KIND[item.track]
        made = item_line(item.subscription, component, item.slice, line, now, kind=kind, tz=self.tz, label=label)
        period = (item.subscription.id, item.slice.period_start, item.slice.period_end)
        amounts = self.amounts.setdefault(period, {})
        amounts[(component.id, kind)] = amounts.get((component.id, kind), Decimal(0)) + line.amount
        return made

    def _true_ups(self, item: Planned, now: datetime) -> list[ItemLine]:
        return period_true_ups(self, item, now)

    def per_period(self, component: PriceComponent, model: PricingModel) -> bool:
        """Whether a component's usage is read per slice from its events or over the period so far (not from the
        prefetched additive usage): event-priced components, non-additive and recurring metrics, and sums that may
        go negative (a period's sum is never billed below zero)."""
        definition = self.definitions[component.metric_name]
        return (
            charged.needs_events(model, self.run.options_of(component))
            or definition.aggregation in NON_ADDITIVE
            or definition.recurring
            or definition.allow_negative
        )

    def _event_lines(
        self,
        subscription: Subscription,
        component: PriceComponent,
        model: PricingModel,
        slice_: Slice,
        state: _PeriodState,
    ) -> list[tuple[str, Line]]:
        earlier = self._earlier_owned(subscription.id, component.metric_name, slice_, state)
        return charged.event_lines(self, subscription, component, model, slice_, earlier, billed=state.billed)

    def _earlier_owned(self, subscription_id: int, metric: str, slice_: Slice, state: _PeriodState) -> list[Span]:
        """The parts of the slice's period billed before it (earlier invoices and this pass) where the subscription
        owns the metric's usage."""
        period = (slice_.period_start, slice_.period_end)
        earlier = intersect([*repository.covered(self.session, subscription_id, *period), *state.spans], [period])
        return self.owned_elsewhere(subscription_id, metric, earlier)

    def _flat_replaced(
        self, subscription: Subscription, component: PriceComponent, slice_: Slice, *, at_end: bool
    ) -> bool:
        """Whether the plan that follows ``subscription`` (a plan change inside the slice's period) charges its own
        flat fee for the component's metric in that period: then the ended subscription's flat fee is not charged
        (``at_end``: its slice stops at the change, before the period's end) or, paid ahead, is credited."""
        successor = self.successor.get(subscription.id)
        if successor is None or subscription.end_date is None:
            return False
        if not slice_.period_start < subscription.end_date < slice_.period_end:
            return False
        if at_end and slice_.end != subscription.end_date:
            return False
        return component.metric_name in self.run.plan_of(successor).flat_metrics()

    def _states_of(self, subscription_id: int, track: str, slice_: Slice) -> list[_PeriodState]:
        return [
            self.periods[(subscription_id, component.id, slice_.period_start, slice_.period_end)]
            for component, _ in self.plans[subscription_id].tracks[track]
        ]

    def owned_elsewhere(self, subscription_id: int, metric: str, spans: list[Span]) -> list[Span]:
        """The parts of ``spans`` (time billed earlier, possibly outside this pass's window) where the subscription
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
                    claims.append(Claim(key=s.id, priority=(s.start_date, s.id), active=active_in(s, outside)))
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

    def owned_parts(self, subscription_id: int, metric: str, slice_: Slice) -> list[Span]:
        return intersect(self.owned.get((subscription_id, metric), []), [(slice_.start, slice_.end)])


def _length(slice_: Slice) -> timedelta:
    return slice_.period_end - slice_.period_start


def active_in(subscription: Subscription, spans: list[Span]) -> list[Span]:
    """The subscription's billable time [start (after any trial), end_date or forever) inside the spans."""
    if not spans:
        return []
    sub_end = subscription.end_date if subscription.end_date is not None else max(end for _, end in spans)
    return intersect([(billable_start(subscription), sub_end)], spans)
