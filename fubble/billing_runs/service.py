"""A billing run's work on one batch of customers (never commits; :mod:`fubble.billing_runs.job` does, per batch).

For the batch: every period due as of the run's ``as_of`` and not yet invoiced is billed by the billing engine
(:class:`~fubble.billing_runs.policy.DuePolicy`), on one invoice per customer and period end. Each new invoice gets a
grace period from its period's end (the customer's ``invoice_grace_period_hours``, else ``FUBBLE_GRACE_PERIOD_HOURS``):
when it is already over as of ``as_of`` the invoice is created finalized (``pending``); otherwise it stays a draft,
which later runs refresh with late usage and finalize once its grace is over. A finalized invoice is never edited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from fubble.billing.drafts import bill_batch
from fubble.billing.engine import Run
from fubble.billing.schedule import schedule_of
from fubble.billing.tracks import EARLIEST
from fubble.billing_runs import late as late_usage
from fubble.billing_runs import repository
from fubble.billing_runs.policy import DuePolicy, next_due
from fubble.clock import Clock, FrozenClock
from fubble.config import Settings
from fubble.db.models import Customer
from fubble.errors import InvalidInput
from fubble.invoices import service as invoices
from fubble.invoices.status import InvoiceStatus

# A period is at most a year, so a run looks at most this far past as_of (fees due in advance).
HORIZON = timedelta(days=367)


@dataclass(frozen=True)
class BatchOutcome:
    created: list[int]
    finalized: int


def check_as_of(as_of: datetime, now: datetime) -> None:
    """A run bills what is due by ``as_of``, which may lie in the past (back-filling) but not in the future (only a
    test clock bills the future)."""
    if as_of > now:
        raise InvalidInput.at(
            ("body", "as_of"), "as_of must not be after now; to rehearse the future, use a test clock"
        )


def bill_due(
    session: Session,
    run_id: int,
    customer_ids: list[int],
    *,
    as_of: datetime,
    clock: Clock,
    settings: Settings,
) -> BatchOutcome:
    """Bill and finalize what is due as of ``as_of`` for these customers (ascending ids). ``clock`` dates the
    invoices (a test-clock run passes its clock's time)."""

    def grace_until(customer: Customer, key: datetime) -> datetime:
        hours = customer.invoice_grace_period_hours
        return key + timedelta(hours=settings.grace_period_hours if hours is None else hours)

    engine = Run(session, (EARLIEST, as_of + HORIZON), DuePolicy(as_of), clock=clock, settings=settings)
    late = late_usage.prepare(session, run_id, customer_ids, as_of=as_of)  # hook: late usage (billing_runs/late.py)
    outcome = bill_batch(
        engine, customer_ids, billing_run_id=run_id, grace_until=grace_until, finalize_by=as_of, late=late
    )
    finalized = len(outcome.finalized)
    for invoice in repository.drafts_to_finalize(session, customer_ids, as_of):
        invoices.change_status(session, invoice.id, InvoiceStatus.PENDING, clock=clock)
        finalized += 1
    repository.add_counts(session, run_id, created=len(outcome.invoice_ids), finalized=finalized)
    _note_next_due(session, customer_ids, as_of, unfinished=engine.unfinished)
    return BatchOutcome(outcome.invoice_ids, finalized)


def _note_next_due(session: Session, customer_ids: list[int], as_of: datetime, *, unfinished: set[int]) -> None:
    """After the batch billed what was due by ``as_of``: when each of its subscriptions next needs a run (at once for
    those billed only in part, far behind)."""
    zones = repository.time_zones(session, customer_ids)
    due = []
    for subscription in repository.billed_subscriptions(session, customer_ids, as_of):
        if subscription.id in unfinished:
            due.append((subscription.id, as_of))
            continue
        schedule = schedule_of(subscription, zones[subscription.customer_id])
        due.append((subscription.id, next_due(subscription, schedule, as_of)))
    repository.set_next_due(session, due)


def billing_clock(clock: Clock, as_of: datetime, test_clock_id: int | None) -> Clock:
    """The clock that dates a run's invoices: the server's, or for a test clock's run, its time (``as_of``)."""
    return FrozenClock(as_of) if test_clock_id is not None else clock
