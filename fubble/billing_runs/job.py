"""Running a billing run: the job edge, which commits once per batch of customers.

The run is recorded first (``billing_runs``, committed), then the customers are billed in batches of ``BATCH``, in id
order, each batch in its own transaction together with the run's updated figures. So a run killed at any point leaves
whole batches billed and nothing half-written; the next run bills the rest, and no period is billed twice (what a
batch bills is read after its customers are locked, and the coverage's unique index refuses a second bill of the same
time). Concurrent runs wait for each other customer by customer: never an error, never a double bill.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from fubble.billing_runs import late as late_usage
from fubble.billing_runs import repository, service
from fubble.clock import Clock
from fubble.config import Settings
from fubble.db.models import BillingRun
from fubble.db.session import Database
from fubble.observability.metrics import observed_billing_run
from fubble.webhooks import run_events

BATCH = 500
Progress = Callable[[int, int], None]  # (customers done, customers in all)


@observed_billing_run  # fubble_billing_runs_total, fubble_billing_run_duration_seconds
def run_billing(
    db: Database,
    *,
    as_of: datetime,
    trigger: str,
    clock: Clock,
    settings: Settings,
    test_clock_id: int | None = None,
    progress: Progress | None = None,
    heartbeat: Callable[[], object] | None = None,
    info: Mapping[str, Any] | None = None,
) -> int:
    """Bill everything due as of ``as_of`` (for the customers of ``test_clock_id``, or those on no test clock);
    returns the run's id. ``heartbeat`` is called between batches (the scheduler extends its lease there); ``info``
    attributes the audit entries (a request's actor and request line)."""

    @contextmanager
    def transaction() -> Iterator[Session]:
        with db.transaction() as session:
            session.info.update({"actor": "billing run", **(info or {}), "now": clock.now(), "settings": settings})
            yield session

    with transaction() as session:
        run = BillingRun(
            as_of=as_of,
            started_at=clock.now(),
            trigger=trigger,
            test_clock_id=test_clock_id,
            events_watermark=repository.events_watermark(session),
        )
        session.add(run)
        session.flush()
        run_id = run.id
    with transaction() as session:
        late_usage.scan(session, run_id)  # before choosing customers: late usage makes a customer due
        total = len(repository.customer_ids_due(session, as_of, after_id=0, limit=None, test_clock_id=test_clock_id))
    dating = service.billing_clock(clock, as_of, test_clock_id)
    after, done = 0, 0
    while True:
        with transaction() as session:
            batch = repository.customer_ids_due(
                session, as_of, after_id=after, limit=BATCH, test_clock_id=test_clock_id
            )
            if batch:
                service.bill_due(session, run_id, batch, as_of=as_of, clock=dating, settings=settings)
        if not batch:
            break
        after, done = batch[-1], done + len(batch)
        if progress is not None:
            progress(done, max(total, done))
        if heartbeat is not None:
            heartbeat()
        if len(batch) < BATCH:
            break
    with transaction() as session:
        finished = session.get(BillingRun, run_id)
        assert finished is not None
        finished.finished_at = clock.now()
        session.flush()
        run_events.after_run(session, finished, clock=clock)  # webhooks: billing_run.completed, subscription.ended
    return run_id
