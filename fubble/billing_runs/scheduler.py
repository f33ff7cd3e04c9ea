"""The billing scheduler inside ``fubble serve``: a run as of now every ``FUBBLE_BILLING_INTERVAL_SECONDS``.

Every server process runs a scheduler thread; they take turns through a lease in the database (``job_leases``, row
``billing``), so of several processes and hosts on one database exactly one runs at a time. The lease lasts
:data:`LEASE_SECONDS` and is extended between batches, so a process killed mid-run hands over once it expires; the
run itself is safe to repeat (see :mod:`fubble.billing_runs.job`). A failed run is logged and retried at the next
tick; nothing else is affected. An idle tick costs two short transactions (claim the lease, find nothing due).
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import UTC, datetime, timedelta

from fubble.billing_runs import repository
from fubble.billing_runs.job import run_billing
from fubble.clock import Clock
from fubble.config import Settings
from fubble.db.session import Database
from fubble.ticker import Ticker

log = logging.getLogger("fubble.billing")

LEASE = "billing"
LEASE_SECONDS = 300


class Scheduler:
    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._ticker = Ticker("fubble-billing-scheduler", self.tick, log)

    def start(self) -> None:
        self._ticker.start(self.settings.billing_interval_seconds)

    def stop(self) -> None:
        self._ticker.stop(timeout=30)

    def tick(self) -> int | None:
        """Run billing as of now if this process gets the lease; the run's id, or ``None`` if another holds it."""
        if not self._claim():
            return None
        try:
            return run_billing(
                self.db,
                as_of=self.clock.now(),
                trigger="scheduler",
                clock=self.clock,
                settings=self.settings,
                heartbeat=self._claim,
            )
        finally:
            with self.db.transaction() as session:
                repository.release_lease(session, LEASE, self.holder)

    def _claim(self) -> bool:
        now = datetime.now(UTC)  # the lease is about real time, whatever clock the billing uses
        with self.db.transaction() as session:
            return repository.claim_lease(
                session, LEASE, self.holder, now=now, until=now + timedelta(seconds=LEASE_SECONDS)
            )
