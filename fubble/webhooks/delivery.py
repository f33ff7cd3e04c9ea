"""The webhook delivery worker: sends the attempts that are due, retries the failed ones, checks the usage alerts.

It runs as a thread in every ``fubble serve`` process (every ``FUBBLE_WEBHOOK_POLL_INTERVAL_SECONDS``; 0 turns it off
there) and in ``fubble worker``. Each tick:

1. **claims** up to :data:`BATCH` due attempts in one short transaction (:func:`fubble.webhooks.repository.claim`:
   ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, one writer at a time on SQLite), each for :data:`LEASE` (real time) so
   several processes and hosts never send one attempt at the same time; a worker killed mid-send leaves its claims to
   expire, and the attempt is sent again (at least once: receivers deduplicate on ``webhook-id``);
2. **sends** them, :data:`CONCURRENCY` at a time, with httpx: a POST of the message's body, signed per Standard
   Webhooks (:mod:`fubble.webhooks.signing`), within ``FUBBLE_WEBHOOK_TIMEOUT_SECONDS``, to public addresses only
   (:mod:`fubble.webhooks.urls`), never following a redirect. A 2xx status is a success; anything else (another
   status, a timeout, a refused connection) fails the attempt;
3. **records** the outcomes in one transaction: a failed attempt with a retry left (``FUBBLE_WEBHOOK_RETRY_SCHEDULE``:
   the n-th failure waits the n-th delay) gets ``next_attempt_at`` and a new pending attempt due then; after the last
   delay, the message has failed for that endpoint. A replay is not retried.

Times of attempts (``due_at``, ``at``, ``next_attempt_at``) come from the injected clock, like billing's; the claims'
leases and the signatures' ``webhook-timestamp`` from real time (receivers compare it with theirs). The tick then
drains: it claims again while full batches come back.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType

import httpx

from fubble.billing_runs.repository import claim_lease, release_lease
from fubble.clock import Clock
from fubble.config import Settings
from fubble.db.claims import claim_due
from fubble.db.session import Database
from fubble.observability import metrics
from fubble.ticker import Ticker
from fubble.webhooks import alerts, outbox, repository, signing, urls
from fubble.webhooks.event_types import EventType
from fubble.webhooks.repository import Claimed

log = logging.getLogger("fubble.webhooks")

BATCH = 32
CONCURRENCY = 8
ALERTS_LEASE = "usage_alerts"


@dataclass(frozen=True)
class Outcome:
    at: datetime
    status_code: int | None
    error: str | None  # None: delivered
    seconds: float


class WebhookWorker:
    def __init__(self, db: Database, clock: Clock, settings: Settings, *, holder: str | None = None) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease = timedelta(seconds=settings.webhook_timeout_seconds * (BATCH // CONCURRENCY + 1) + 60)
        self._ticker = Ticker("fubble-webhooks", self.tick, log)
        self._pool: ThreadPoolExecutor | None = None
        self._client: httpx.Client | None = None
        self._alerts_due = 0.0  # monotonic time of the next usage alert check

    # --- the thread ---------------------------------------------------------------------------------------------------

    def start(self, *, interval: float | None = None) -> None:
        """Run :meth:`tick` every ``interval`` seconds (default ``FUBBLE_WEBHOOK_POLL_INTERVAL_SECONDS``; 0: not
        at all) in a thread, until :meth:`stop`."""
        self._ticker.start(self.settings.webhook_poll_interval_seconds if interval is None else interval)

    def stop(self) -> None:
        self._ticker.stop(timeout=self.settings.webhook_timeout_seconds + 30)
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> WebhookWorker:
        return self

    def __exit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    # --- the work -----------------------------------------------------------------------------------------------------

    def tick(self) -> int:
        """Check the usage alerts when they are due, then send every attempt due now; the number of attempts made."""
        if time.monotonic() >= self._alerts_due:
            self._alerts_due = time.monotonic() + self.settings.usage_alert_interval_seconds
            try:
                self.check_alerts()
            except Exception:
                log.exception("usage alert check failed")
        made = 0
        while not self._ticker.stopping.is_set():
            sent = self.deliver_due()
            made += sent
            if sent < BATCH:
                return made
        return made

    def check_alerts(self) -> int:
        """Evaluate the usage alerts if this process gets the lease; how many fired. Nothing but one read when no
        endpoint subscribes to ``usage.threshold_reached``."""
        read = self.db.session(write=False)
        try:
            if not outbox.subscribers(read, EventType.USAGE_THRESHOLD_REACHED):
                return 0
        finally:
            read.close()
        now = datetime.now(UTC)
        with self.db.transaction() as session:
            if not claim_lease(session, ALERTS_LEASE, self.holder, now=now, until=now + timedelta(minutes=5)):
                return 0
        try:
            return alerts.evaluate(self.db, self.clock, self.settings)
        finally:
            with self.db.transaction() as session:
                release_lease(session, ALERTS_LEASE, self.holder)

    def deliver_due(self, limit: int = BATCH) -> int:
        """Claim up to ``limit`` due attempts, send them and record the outcomes; how many were claimed."""
        real_now = datetime.now(UTC)
        due_by = self.clock.now()
        claimed = claim_due(
            self.db,
            repository.any_due,
            repository.claim,
            due_by=due_by,
            lease_now=real_now,
            until=real_now + self.lease,
            holder=self.holder,
            limit=limit,
        )
        if not claimed:
            return 0
        self._http()  # made here, once, not by the sending threads at the same time
        outcomes = list(self._executor().map(self.send, claimed))
        delays = self.settings.webhook_retry_schedule
        with self.db.transaction() as session:
            session.info.update(actor="webhooks", now=self.clock.now())
            for attempt, outcome in zip(claimed, outcomes, strict=True):
                next_at = None
                if outcome.error is not None and attempt.step is not None and attempt.step <= len(delays):
                    next_at = outcome.at + timedelta(seconds=delays[attempt.step - 1])
                recorded = repository.record(
                    session,
                    attempt,
                    holder=self.holder,
                    at=outcome.at,
                    status_code=outcome.status_code,
                    error=outcome.error,
                    next_attempt_at=next_at,
                )
                if recorded:
                    observe_attempt(attempt.event_type, outcome)
        return len(claimed)

    def send(self, attempt: Claimed) -> Outcome:
        """Make one attempt (never raises: a failure is its outcome)."""
        at = self.clock.now()
        started = time.monotonic()
        body = attempt.body.encode("utf-8")
        headers = signing.headers(attempt.signing_secrets(at), attempt.message_id, int(time.time()), body)
        try:
            with self._http().stream("POST", attempt.url, content=body, headers=headers) as response:
                status = response.status_code
        except httpx.HTTPError as exc:
            reason = str(exc) or type(exc).__name__
            return Outcome(at, None, f"{type(exc).__name__}: {reason}", time.monotonic() - started)
        except Exception as exc:  # an unexpected failure of one attempt fails that attempt only
            log.exception("webhook attempt %s failed unexpectedly", attempt.id)
            return Outcome(at, None, f"{type(exc).__name__}: {exc}", time.monotonic() - started)
        error = None if 200 <= status < 300 else f"HTTP {status}"
        return Outcome(at, status, error, time.monotonic() - started)

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=CONCURRENCY, thread_name_prefix="fubble-webhook-send")
        return self._pool

    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = urls.client(
                allow_private=self.settings.webhook_allow_private_urls,
                timeout=self.settings.webhook_timeout_seconds,
                connections=CONCURRENCY,
            )
        return self._client


def observe_attempt(event_type: str, outcome: Outcome) -> None:
    """The metrics of one recorded attempt (``fubble_webhook_deliveries_total``, ``..._failures_total``)."""
    metrics.webhook_delivery(event_type, succeeded=outcome.error is None)
