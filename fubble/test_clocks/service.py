"""Test clocks (Stripe's): a simulated time for rehearsing billing. Never commits; advancing a clock commits step by
step in :mod:`fubble.test_clocks.advance`.

A customer created with a ``test_clock_id`` lives at its clock's ``frozen_time``
(:func:`fubble.test_clocks.now.customer_now`). The clock only moves forward: advancing it to ``to`` bills its
customers (and only them) as of every instant on the way where billing can change, in order: the starts, trial ends
and ends of their subscriptions, every period boundary (in the customer's time zone, by the subscription's
schedule), and the end of each draft invoice's grace period; then as of ``to`` itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from fubble.billing.schedule import billable_start, schedule_of
from fubble.clock import Clock
from fubble.db.models import Subscription, TestClock
from fubble.errors import InvalidInput, NotFound
from fubble.test_clocks import repository
from fubble.test_clocks.schemas import TestClockCreate

MAX_STEPS = 100  # billing runs one advance may make (each a few tens of milliseconds: the answer stays prompt)
MICROSECOND = timedelta(microseconds=1)


def create(session: Session, data: TestClockCreate, *, clock: Clock) -> TestClock:
    now = clock.now()
    row = TestClock(name=data.name, frozen_time=data.frozen_time, created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    return row


def get(session: Session, clock_id: int) -> TestClock:
    row = repository.get(session, clock_id)
    if row is None:
        raise NotFound(f"test clock {clock_id} not found")
    return row


def check_advance(row: TestClock, to: datetime) -> None:
    """422 unless ``to`` lies after the clock's time (a clock never goes back)."""
    if to <= row.frozen_time:
        raise InvalidInput.at(
            ("body", "to"), f"to must be after the clock's frozen_time ({row.frozen_time.isoformat()})"
        )


def plan_steps(session: Session, row: TestClock, to: datetime, *, grace_period_hours: int) -> list[datetime]:
    """The instants at which advancing ``row`` to ``to`` bills, known up front, ascending: every boundary of its
    customers' subscriptions in ``(frozen_time, to]``, and ``to``; also ``frozen_time`` itself when a boundary lies
    there and no run has billed the clock as of it yet (a subscription that starts at the clock's time: fees due in
    advance). 422 when the advance could take more than :data:`MAX_STEPS` billing runs, counting a grace deadline
    after each boundary of a customer with a grace period (``grace_period_hours``: the server default)."""
    start = row.frozen_time
    steps: set[datetime] = {to}
    deadlines: set[datetime] = set()
    for subscription, customer in repository.subscriptions_between(session, row.id, start, to):
        found = boundaries(subscription, customer.timezone, start - MICROSECOND, to, limit=MAX_STEPS)
        steps.update(found)
        hours = customer.invoice_grace_period_hours
        grace = timedelta(hours=grace_period_hours if hours is None else hours)
        if grace:
            deadlines.update(t + grace for t in found if t + grace <= to)
        if len(steps | deadlines) > MAX_STEPS:
            break
    if start in steps and repository.billed_as_of(session, row.id, start):
        steps.remove(start)
    if len(steps | deadlines) > MAX_STEPS:
        raise InvalidInput.at(
            ("body", "to"),
            f"advancing to {to.isoformat()} would take more than {MAX_STEPS} billing runs (period boundaries, trial "
            "ends, subscription starts and ends, grace deadlines of the clock's customers); advance in smaller steps",
        )
    return sorted(steps)


def boundaries(
    subscription: Subscription, timezone: str, after: datetime, to: datetime, *, limit: int
) -> set[datetime]:
    """The instants in ``(after, to]`` where billing ``subscription`` can change: its start, trial end and end, and
    its period boundaries from its first billable instant until it ends (at most ``limit`` of them)."""
    found = {t for t in _fixed_instants(subscription) if after < t <= to}
    stop = to if subscription.end_date is None else min(to, subscription.end_date)
    schedule = schedule_of(subscription, timezone)
    t = max(after, billable_start(subscription))
    while len(found) <= limit:
        end = schedule.containing(t)[1]
        if end > stop:
            break
        found.add(end)
        t = end
    return found


def _fixed_instants(subscription: Subscription) -> Iterable[datetime]:
    for t in (subscription.start_date, subscription.trial_end, subscription.end_date):
        if t is not None:
            yield t


def next_step(
    session: Session, clock_id: int, after: datetime, planned: list[datetime], *, first: bool = False
) -> datetime:
    """The next instant to bill after ``after`` (the clock's time, at the ``first`` step: from it on): the earliest
    planned one, or an earlier end of a draft's grace period (drafts the runs so far made)."""
    step = min(t for t in planned if t > after or (first and t == after))  # the last planned one is ``to``
    deadline = repository.next_grace_deadline(session, clock_id, after, step)
    return step if deadline is None else min(step, deadline)
