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
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

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
from fubble.db.models import Customer, Invoice, InvoiceItem, Subscription
from fubble.invoices import terms
from fubble.invoices.money import exact_total
from fubble.invoices.schemas import FIGURES
from fubble.test_clocks.now import customer_now

Span = tuple[datetime, datetime]

# A billing period is at most a year (366 days): subscriptions that ended longer ago have no current-period time.
_LOOKBACK = timedelta(days=367)
_MICROSECOND = timedelta(microseconds=1)


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
    fig = _figures(session, customer, items, hull, now)
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
    )


def _figures(
    session: Session, customer: Customer, items: list[InvoiceItem], hull: Span | None, now: datetime
) -> terms.Figures:
    """The draft's terms as finalizing it now would apply them: coupons, taxes and the credit balance."""
    batch = terms.Terms.load(session, [customer.id])
    key = period_key(Invoice(period_end=hull[1] if hull else None, issue_date=now))
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
