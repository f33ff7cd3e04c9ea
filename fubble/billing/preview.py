"""The upcoming invoice: what the billing run would put on a draft for the customer's current periods, right now.

For each subscription of the customer, its *current period* is the billing period containing now (the customer's
now: a test clock's time for its customers; periods from :mod:`fubble.billing.schedule`). A subscription takes part
when it is billable during some of its current period (so one that ended earlier in the period, and whose last
stretch is not invoiced yet, still shows up). The preview prices the part of each current period that no non-void
invoice bills yet:

* subscription fees and flat fees cover that part up to the period's end (exactly what a billing run over the current
  period would charge if it ran now);
* usage counts the events up to now (``event_time < now``): the usage so far (a ``weighted_sum`` gauge counts the
  time it held up to now, as a share of the whole period);
* tiers continue from the usage already invoiced in the period, a flat fee already charged in the period is not
  charged again, and overlapping subscriptions split a metric's usage as the billing run does.

How: this module reuses the billing run's own per-customer code (:class:`fubble.billing.engine.CustomerBilling`)
unchanged, through a subclass that (1) restricts each subscription's billable time to its current period and (2) cuts
every subscription's *ownership* of usage at now, so usage stops at now while fee slices reach the period end. The
priced lines are kept in memory as transient ORM objects never added to the session, so nothing is written (no
invoice number taken, no coverage, no audit entry); the route runs in a read-only transaction anyway.

The plan preview (:func:`plan_preview`, ``POST /plans/{plan_id}/preview``) answers "what would this customer pay on
this plan": the invoice of the plan's *first* billing period for a subscription starting at ``start_date`` (default
the customer's now), priced by the same machinery on a transient subscription built as
``POST /customers/{id}/subscriptions`` would build it (the plan's latest version, ``billing_anchor``, its period anchor
at the start, the negotiated ``price_overrides`` checked by the same rules), never added to a session:

* its first period is the billing period containing ``start_date`` (anniversary: ``[start, start + 1 period)``;
  calendar: from the start to the next calendar boundary, fees prorated); fees cover that part up to its end;
* it owns the customer's usage of every metric it prices alone (the customer's real subscriptions, their invoices
  and coverage are ignored): usage counts the events of ``[start_date, now)`` inside the period, tiers start at zero;
* the customer's coupons (``plan_ids`` checked against the previewed plan), tax rates and credit balance apply as
  they do to the upcoming invoice;
* 404 unknown plan or customer; 409 inactive plan, or a plan in another currency than the customer's (the rules of
  subscribing); 422 invalid price overrides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from fubble.billing import repository
from fubble.billing.engine import CustomerBilling, Run, active_in
from fubble.billing.intervals import intersect
from fubble.billing.schedule import schedule_of
from fubble.billing.tracks import WindowPolicy
from fubble.clock import Clock
from fubble.config import Settings
from fubble.coupons.periods import period_key
from fubble.customers import service as customers
from fubble.db.models import Customer, Invoice, InvoiceDiscount, InvoiceItem, InvoiceTax, Plan, Subscription
from fubble.errors import Conflict, NotFound
from fubble.invoices import terms
from fubble.invoices.money import exact_total
from fubble.invoices.schemas import FIGURES
from fubble.plans import repository as plan_repository
from fubble.subscriptions import overrides
from fubble.subscriptions.schemas import BillingAnchor, PriceOverrideIn
from fubble.subscriptions.service import require_plan_currency
from fubble.test_clocks.now import customer_now

Span = tuple[datetime, datetime]

# A billing period is at most a year (366 days): subscriptions that ended longer ago have no current-period time.
_LOOKBACK = timedelta(days=367)
_MICROSECOND = timedelta(microseconds=1)
# The id of a plan preview's transient subscription: no stored row has it (ids start at 1), so what the engine reads
# about it (coverage, usage billed in its periods, amounts billed) is empty.
HYPOTHETICAL_ID = 0


@dataclass(frozen=True)
class UpcomingInvoice:
    """The preview of one customer's next draft. ``items`` are transient (never added to a session)."""

    customer: Customer
    issue_date: datetime
    due_date: datetime
    usage_as_of: datetime
    period_start: datetime | None
    period_end: datetime | None
    amount: Decimal
    items: list[InvoiceItem]
    figures: dict[str, Decimal]  # subtotal, discount_amount, tax_amount, total, credits_applied, amount_due
    discounts: list[InvoiceDiscount]  # transient, like the items: what the coupons would take off
    taxes: list[InvoiceTax]  # transient: the tax per rate


def upcoming_invoice(session: Session, customer_id: int, *, clock: Clock, settings: Settings) -> UpcomingInvoice:
    """The draft invoice the customer's current billing periods would produce if billed now (404 unknown customer).

    ``period_start``/``period_end`` span the current periods of the subscriptions taking part (``None`` without any);
    a customer without such a subscription gets no items and amount 0. Reads only.
    """
    customer = customers.get(session, customer_id)
    now = customer_now(session, customer, clock)
    # Every subscription active at some instant of [now - a year, now]. Those starting after now have no time in
    # their current period and own no usage before now, so they cannot change the preview.
    candidates = repository.subscriptions_in(session, customer_id, now - _LOOKBACK, now + _MICROSECOND)
    periods = _current_periods(candidates, customer.timezone, now)
    items: list[InvoiceItem] = []
    hull: Span | None = None
    if periods:
        hull = (min(start for start, _ in periods.values()), max(end for _, end in periods.values()))
        run = Run(session, hull, WindowPolicy(*hull), clock=clock, settings=settings)
        preview = _Preview(run, customer, [s for s in candidates if active_in(s, [hull])], periods, now)
        slices, _ = preview.slices()
        run.billed = repository.billed_in_periods(session, preview.period_keys(slices))  # one query for all
        items = [line.orm() for _, line in preview.price(slices, now)]
    fig = _figures(
        session, customer, items, hull[1] if hull else None, now, plans={s.id: s.plan_id for s in candidates}
    )
    return UpcomingInvoice(
        customer=customer,
        issue_date=now,
        due_date=now + timedelta(days=settings.payment_term_days),
        usage_as_of=now,
        period_start=hull[0] if hull else None,
        period_end=hull[1] if hull else None,
        amount=fig.totals.total,
        items=items,
        figures={name: value for name, value in fig.columns().items() if name in FIGURES and value is not None},
        discounts=[InvoiceDiscount(**row) for row in fig.discount_rows()],
        taxes=[InvoiceTax(**row) for row in fig.tax_rows()],
    )


def plan_preview(
    session: Session,
    plan_id: int,
    customer_id: int,
    *,
    start_date: datetime | None,
    billing_anchor: BillingAnchor,
    price_overrides: Sequence[PriceOverrideIn],
    clock: Clock,
    settings: Settings,
) -> UpcomingInvoice:
    """The invoice of ``plan_id``'s first billing period for ``customer_id`` subscribed from ``start_date`` (default
    the customer's now), usage up to now (see the module rules). ``period_start``/``period_end`` are the part of the
    first period the subscription would live (from ``start_date`` to the period's end); items have no
    ``subscription_id`` (the subscription does not exist). Reads only."""
    plan = _subscribable_plan(session, plan_id)
    customer = customers.get(session, customer_id)
    require_plan_currency(plan, customer)
    negotiated = overrides.validated(plan, price_overrides)
    now = customer_now(session, customer, clock)
    subscription = _hypothetical(plan, customer, start_date or now, billing_anchor, negotiated, clock)
    period = schedule_of(subscription, customer.timezone).containing(subscription.start_date)
    run = Run(session, period, WindowPolicy(*period), clock=clock, settings=settings)
    run.loaded_coverage.add(HYPOTHETICAL_ID)  # nothing bills it: no coverage to read
    preview = _Preview(run, customer, [subscription], {HYPOTHETICAL_ID: period}, now)
    slices, _ = preview.slices()
    run.billed = {key: (Decimal(0), False) for key in preview.period_keys(slices)}  # nothing billed in its period
    lines = [line for _, line in preview.price(slices, now)]
    items = [line.orm() for line in lines]
    fig = _figures(session, customer, items, period[1], now, plans={HYPOTHETICAL_ID: plan.id})
    return UpcomingInvoice(
        customer=customer,
        issue_date=now,
        due_date=now + timedelta(days=settings.payment_term_days),
        usage_as_of=now,
        period_start=subscription.start_date,
        period_end=period[1],
        amount=fig.totals.total,
        items=[line._replace(subscription_id=None).orm() for line in lines],
        figures={name: value for name, value in fig.columns().items() if name in FIGURES and value is not None},
        discounts=[InvoiceDiscount(**row) for row in fig.discount_rows()],
        taxes=[InvoiceTax(**row) for row in fig.tax_rows()],
    )


def _subscribable_plan(session: Session, plan_id: int) -> Plan:
    """The plan, if a new subscription may take it: 404 unknown, 409 inactive (as subscribing refuses it)."""
    plan = plan_repository.get(session, plan_id)
    if plan is None:
        raise NotFound(f"plan {plan_id} not found")
    if not plan.is_active:
        raise Conflict(f"plan {plan_id} is inactive and accepts no new subscriptions")
    return plan


def _hypothetical(
    plan: Plan,
    customer: Customer,
    start: datetime,
    anchor: BillingAnchor,
    negotiated: list[dict[str, Any]],
    clock: Clock,
) -> Subscription:
    """The subscription ``POST /customers/{id}/subscriptions`` would create (no trial, no end): the plan's latest
    version, periods anchored at the start. Transient: never added to a session (``plan`` has no back reference, so
    setting it does not cascade it into one)."""
    return Subscription(
        id=HYPOTHETICAL_ID,
        customer_id=customer.id,
        plan_id=plan.id,
        plan=plan,
        plan_version=plan.version,
        start_date=start,
        end_date=None,
        billing_anchor=anchor.value,
        period_anchor=start,
        trial_end=None,
        cancel_at_period_end=False,
        previous_subscription_id=None,
        price_overrides=negotiated or None,
        canceled_at=None,
        created_at=clock.now(),
    )


def _figures(
    session: Session,
    customer: Customer,
    items: list[InvoiceItem],
    period_end: datetime | None,
    now: datetime,
    *,
    plans: Mapping[int, int],
) -> terms.Figures:
    """The draft's terms as finalizing it now would apply them: coupons, taxes and the credit balance. ``plans``:
    the plan of each subscription the items bill (for coupons limited to plans)."""
    batch = terms.Terms.load(session, [customer.id], plans=plans)
    key = period_key(Invoice(period_end=period_end, issue_date=now))
    amounts = [(exact_total([item.amount], customer.currency), item.subscription_id) for item in items]
    return batch.figures(customer.id, customer.currency, key, amounts, at=now, with_credits=True)


def _current_periods(subscriptions: list[Subscription], timezone: str, now: datetime) -> dict[int, Span]:
    """Subscription id -> its period containing now, for the subscriptions billable during some of that period."""
    result: dict[int, Span] = {}
    for subscription in subscriptions:
        period = schedule_of(subscription, timezone).containing(now)
        if active_in(subscription, [period]):
            result[subscription.id] = period
    return result


class _Preview(CustomerBilling):
    """The billing run's per-customer computation, limited to the current periods, with usage cut at now."""

    def __init__(
        self,
        run: Run,
        customer: Customer,
        subscriptions: list[Subscription],
        periods: Mapping[int, Span],
        now: datetime,
    ) -> None:
        # Ownership of usage is decided over the whole window with every subscription, exactly as a run would (it is
        # a per-instant rule); then each subscription's billable time shrinks to its current period, and usage to
        # the time before now.
        super().__init__(run, customer, subscriptions)
        self.active = {
            sub_id: intersect(active, [periods[sub_id]]) if sub_id in periods else []
            for sub_id, active in self.active.items()
        }
        self.owned = {key: intersect(parts, [(run.window[0], now)]) for key, parts in self.owned.items()}
