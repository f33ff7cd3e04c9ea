"""Advancing a test clock: the job edge, which commits step by step (like a billing run, whose batches it runs).

The instants to bill at are planned first (:func:`fubble.test_clocks.service.plan_steps`; 404, 422 before anything
is written). Then, step by step in order, a billing run of the clock's customers as of the step
(:func:`fubble.billing_runs.job.run_billing`, trigger ``test_clock``; it commits per batch), after which the clock's
time moves to the step in its own transaction. So an interrupted advance leaves the clock at its last completed step,
with everything billed up to there; advancing again goes on from there (runs are safe to repeat). Between the planned
steps, the end of a draft's grace period (drafts the runs so far made) is a step of its own, so that the draft is
finalized as of that instant.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from fubble.billing_runs.job import run_billing
from fubble.clock import Clock
from fubble.config import Settings
from fubble.db.session import Database
from fubble.test_clocks import repository, service

TRIGGER = "test_clock"


@dataclass(frozen=True)
class Advanced:
    clock_id: int
    billing_run_ids: list[int]


def advance(
    db: Database,
    clock_id: int,
    to: datetime,
    *,
    clock: Clock,
    settings: Settings,
    info: Mapping[str, Any] | None = None,
) -> Advanced:
    """Move test clock ``clock_id`` forward to ``to``, billing its customers on the way (see the module). ``clock`` is
    the server's (it stamps the runs and the clock's ``updated_at``); ``info`` attributes the audit entries."""

    @contextmanager
    def transaction() -> Iterator[Session]:
        with db.transaction() as session:
            session.info.update({"actor": "test clock", **(info or {}), "now": clock.now(), "settings": settings})
            yield session

    with transaction() as session:
        row = service.get(session, clock_id)
        service.check_advance(row, to)
        planned = service.plan_steps(session, row, to, grace_period_hours=settings.grace_period_hours)
        current = row.frozen_time
    run_ids: list[int] = []
    while current < to:
        with transaction() as session:
            step = service.next_step(session, clock_id, current, planned, first=not run_ids)
        run_ids.append(
            run_billing(
                db, as_of=step, trigger=TRIGGER, clock=clock, settings=settings, test_clock_id=clock_id, info=info
            )
        )
        with transaction() as session:
            repository.move_forward(session, clock_id, step, clock.now())
        current = step
    return Advanced(clock_id, run_ids)
