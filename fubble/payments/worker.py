"""The payment worker: makes the payment attempts that are due (the first one of each finalized invoice, and the
dunning retries of failed ones), then the refunds of refund credit notes (:mod:`fubble.payments.refunds`), claimed,
made and recorded the same way.

It runs as a thread in every ``fubble serve`` process (every ``FUBBLE_PAYMENT_POLL_INTERVAL_SECONDS``; 0 turns it off
there) and in ``fubble worker``, and only with ``FUBBLE_STRIPE_SECRET_KEY``. Each tick:

1. **claims** up to :data:`BATCH` due attempts in one short transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
   one writer at a time on SQLite), each for :data:`LEASE` (real time), so two workers never make one attempt at the
   same time; a worker killed mid-call leaves its claims to expire and the attempt is made again with the same
   idempotency key (the provider then answers with the first result instead of charging twice);
2. for each, outside any transaction: **ensures the customer** at the provider (created once, its id stored) with
   the customer's payment method attached, then **charges** the invoice's ``amount_due``;
3. **records** the result in a transaction of its own (:func:`fubble.payments.service.record`).

Times of attempts come from the injected clock, like billing's; the claims' leases from real time.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from fubble.clock import Clock
from fubble.config import Settings
from fubble.db.claims import claim_due
from fubble.db.models import PaymentAttempt, PaymentRefund
from fubble.db.session import Database
from fubble.payments import refunds, repository, service
from fubble.payments.provider import (
    CardDeclined,
    Charge,
    ChargeResult,
    PaymentProvider,
    ProviderUnavailable,
    configured,
)
from fubble.ticker import Ticker

log = logging.getLogger("fubble.payments")

BATCH = 16
LEASE = timedelta(minutes=5)


class PaymentWorker:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: Settings,
        *,
        provider: PaymentProvider | None = None,
        holder: str | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.provider = provider if provider is not None else configured(settings)
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._ticker = Ticker("fubble-payments", self.tick, log)

    def start(self, *, interval: float | None = None) -> None:
        """Run :meth:`tick` every ``interval`` seconds (default ``FUBBLE_PAYMENT_POLL_INTERVAL_SECONDS``; 0: not at
        all) in a thread, until :meth:`stop`; nothing without a provider."""
        if self.provider is not None:
            self._ticker.start(self.settings.payment_poll_interval_seconds if interval is None else interval)

    def stop(self) -> None:
        self._ticker.stop(timeout=120)

    def tick(self) -> int:
        """Make every attempt, then every refund, due now; how many were made."""
        made = 0
        for step in (self.collect_due, self.refund_due):
            while not self._ticker.stopping.is_set():
                done = step()
                made += done
                if done < BATCH:
                    break
        return made

    def refund_due(self, limit: int = BATCH) -> int:
        """Claim up to ``limit`` due refunds, make them and record the results; how many were claimed."""
        return self._make_due(PaymentRefund, self.refund, "refund", limit)

    def refund(self, refund_id: int) -> None:
        """Make one claimed refund and record the provider's answer."""
        provider = self.provider
        assert provider is not None
        with self.db.transaction() as session:
            work = refunds.prepare(session, refund_id, holder=self.holder)
        if work is None:
            return
        try:
            result = provider.refund(work)
        except ProviderUnavailable as exc:
            log.warning("refund %s: provider unavailable: %s", refund_id, exc)
            with self.db.transaction() as session:
                now = self.clock.now()
                retry = now + service.UNAVAILABLE_RETRY
                refunds.record_unavailable(session, refund_id, str(exc), holder=self.holder, at=now, retry_at=retry)
            return
        with self.db.transaction() as session:
            self._dated(session)
            refunds.record(session, refund_id, result, holder=self.holder, at=self.clock.now())

    def _make_due(self, model: repository.Claimable, make: Callable[[int], None], what: str, limit: int) -> int:
        """Claim up to ``limit`` due rows of ``model`` (attempts or refunds) and ``make`` each; how many were claimed.
        One's failure never stops the others: its claim expires and it is made again."""
        if self.provider is None:
            return 0
        real_now = datetime.now(UTC)
        claimed = claim_due(
            self.db,
            functools.partial(repository.any_due, model=model),
            functools.partial(repository.claim, model=model),
            due_by=self.clock.now(),
            lease_now=real_now,
            until=real_now + LEASE,
            holder=self.holder,
            limit=limit,
        )
        for row_id in claimed:
            try:
                make(row_id)
            except Exception:
                log.exception("%s %s failed unexpectedly", what, row_id)
        return len(claimed)

    def collect_due(self, limit: int = BATCH) -> int:
        """Claim up to ``limit`` due attempts, make them and record the results; how many were claimed."""
        return self._make_due(PaymentAttempt, self.attempt, "payment attempt", limit)

    def attempt(self, attempt_id: int) -> None:
        """Make one claimed attempt and record its result."""
        provider = self.provider
        assert provider is not None
        with self.db.transaction() as session:
            self._dated(session)
            work = service.prepare(session, attempt_id, provider=provider.name, holder=self.holder, at=self.clock.now())
        if work is None:
            return
        try:
            result = self._charge(provider, work)
        except ProviderUnavailable as exc:
            log.warning("payment attempt %s: provider unavailable: %s", attempt_id, exc)
            with self.db.transaction() as session:
                service.record_unavailable(session, attempt_id, str(exc), holder=self.holder, at=self.clock.now())
            return
        with self.db.transaction() as session:
            self._dated(session)
            service.record(
                session,
                attempt_id,
                result,
                holder=self.holder,
                clock=self.clock,
                schedule=self.settings.payment_retry_schedule,
            )

    def _charge(self, provider: PaymentProvider, work: service.Work) -> ChargeResult:
        customer = work.customer
        if customer is None:
            return ChargeResult("failed", None, None, "the customer has no payment_method_id")
        try:
            provider_id = provider.ensure_customer(customer)
        except CardDeclined as exc:
            return ChargeResult("failed", None, None, str(exc))
        if provider_id != customer.provider_customer_id or customer.attached_payment_method_id != (
            customer.payment_method_id
        ):
            with self.db.transaction() as session:
                service.save_customer(
                    session,
                    customer.customer_id,
                    provider=provider.name,
                    provider_customer_id=provider_id,
                    payment_method_id=customer.payment_method_id,
                    at=self.clock.now(),
                )
        charge = Charge(
            invoice_id=work.invoice_id,
            attempt_id=work.attempt_id,
            amount_minor=work.amount_minor,
            currency=work.currency,
            provider_customer_id=provider_id,
            payment_method_id=customer.payment_method_id,
        )
        return provider.charge_invoice(charge)

    def _dated(self, session: Session) -> None:
        session.info.update(actor="payments", now=self.clock.now())
