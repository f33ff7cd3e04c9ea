"""The messages of a billing run, written in its last transaction (:mod:`fubble.billing_runs.job`):

* ``subscription.ended`` for each subscription whose ``end_date`` passed since the previous run of the same clock
  (``(previous as_of, as_of]``, for the run's customers: those of its test clock, or on none), unless a plan change
  ended it (``subscription.changed`` told that) or it was already announced (``subscription_end_notices``: a cancel
  whose end is already past announces the end at once, :func:`announce_end`). The first run looks back one day.
* ``billing_run.completed`` with the run as ``GET /billing/runs/{id}`` returns it, for a run that created or finalized
  an invoice, and for every run started by hand (API, CLI, a test clock): the scheduler's runs that found nothing to
  do (one a minute) send nothing.

Both only when some endpoint subscribes to the event type (one cached query); nothing is read otherwise.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, aliased

from fubble.billing_runs import repository
from fubble.billing_runs.schemas import RunOut
from fubble.clock import Clock
from fubble.db.models import BillingRun, Customer, Subscription, SubscriptionEndNotice
from fubble.subscriptions.schemas import SubscriptionOut
from fubble.webhooks import outbox
from fubble.webhooks.event_types import EventType

FIRST_LOOKBACK = timedelta(days=1)


def after_run(session: Session, run: BillingRun, *, clock: Clock) -> None:
    """Emit the run's messages (see the module's docstring); ``run`` is finished."""
    now = clock.now()
    if outbox.subscribers(session, EventType.SUBSCRIPTION_ENDED):
        since = _previous_as_of(session, run) or run.as_of - FIRST_LOOKBACK
        for subscription in _ended(session, since, run.as_of, run.test_clock_id):
            announce_end(session, subscription, at=now, customer_now=run.as_of)
    manual = run.trigger != "scheduler"
    if (manual or run.invoices_created or run.invoices_finalized) and outbox.subscribers(
        session, EventType.BILLING_RUN_COMPLETED
    ):
        ids = repository.invoice_ids(session, [run.id])[run.id]
        outbox.emit(session, EventType.BILLING_RUN_COMPLETED, RunOut.of(run, ids), at=now)


def announce_end(session: Session, subscription: Subscription, *, at: datetime, customer_now: datetime) -> None:
    """``subscription.ended`` for ``subscription``, once (a second call does nothing); dated ``at``, its status as of
    ``customer_now``."""
    if session.get(SubscriptionEndNotice, subscription.id) is not None:
        return
    if not outbox.subscribers(session, EventType.SUBSCRIPTION_ENDED):
        return
    customer = session.get(Customer, subscription.customer_id)
    assert customer is not None  # a foreign key
    session.add(SubscriptionEndNotice(subscription_id=subscription.id, emitted_at=at))
    data = SubscriptionOut.of(subscription, now=customer_now, timezone=customer.timezone)
    outbox.emit(session, EventType.SUBSCRIPTION_ENDED, data, at=at)


def _previous_as_of(session: Session, run: BillingRun) -> datetime | None:
    clock_match = (
        BillingRun.test_clock_id.is_(None)
        if run.test_clock_id is None
        else BillingRun.test_clock_id == run.test_clock_id
    )
    query = select(func.max(BillingRun.as_of)).where(
        BillingRun.id < run.id, BillingRun.finished_at.is_not(None), clock_match
    )
    return session.scalar(query)


def _ended(session: Session, since: datetime, until: datetime, test_clock_id: int | None) -> list[Subscription]:
    """Subscriptions of the run's customers ending in ``(since, until]``, not ended by a plan change, not announced."""
    successor = aliased(Subscription)
    on_clock = Customer.test_clock_id.is_(None) if test_clock_id is None else Customer.test_clock_id == test_clock_id
    query = (
        select(Subscription)
        .join(Customer, Customer.id == Subscription.customer_id)
        .where(
            Subscription.end_date > since,
            Subscription.end_date <= until,
            on_clock,
            ~exists().where(successor.previous_subscription_id == Subscription.id),
            ~exists().where(SubscriptionEndNotice.subscription_id == Subscription.id),
        )
        .order_by(Subscription.id)
    )
    return list(session.scalars(query))
