"""Queries of the billing runs: the run log, the drafts due for finalization, and the scheduler's lease."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from fubble.db.models import BillingRun, Customer, Event, Invoice, JobLease, LateUsage, Subscription
from fubble.invoices.status import InvoiceStatus


def get(session: Session, run_id: int) -> BillingRun | None:
    return session.get(BillingRun, run_id)


def list_page(session: Session, *, limit: int, offset: int) -> list[BillingRun]:
    """Runs, newest first."""
    return list(session.scalars(select(BillingRun).order_by(BillingRun.id.desc()).limit(limit).offset(offset)))


def invoice_ids(session: Session, run_ids: Sequence[int]) -> dict[int, list[int]]:
    """``{run id: ids of the invoices it created, ascending}`` (every run id present)."""
    result: dict[int, list[int]] = {run_id: [] for run_id in run_ids}
    if run_ids:
        query = select(Invoice.billing_run_id, Invoice.id).where(Invoice.billing_run_id.in_(list(run_ids)))
        for run_id, invoice_id in session.execute(query.order_by(Invoice.id)):
            if run_id is not None:
                result[run_id].append(invoice_id)
    return result


def add_counts(session: Session, run_id: int, *, created: int, finalized: int) -> None:
    """Add a batch's figures to the run's, in the batch's own transaction (so an interrupted run's figures match
    what it committed)."""
    if created or finalized:
        session.execute(
            update(BillingRun)
            .where(BillingRun.id == run_id)
            .values(
                invoices_created=BillingRun.invoices_created + created,
                invoices_finalized=BillingRun.invoices_finalized + finalized,
            )
        )


def _on_clock(test_clock_id: int | None) -> ColumnElement[bool]:
    if test_clock_id is None:
        return Customer.test_clock_id.is_(None)
    return Customer.test_clock_id == test_clock_id


def drafts_to_finalize(session: Session, customer_ids: Sequence[int], as_of: datetime) -> list[Invoice]:
    """The customers' drafts made by billing runs whose grace period is over as of ``as_of``, locked, by id."""
    query = (
        select(Invoice)
        .where(
            Invoice.customer_id.in_(list(customer_ids)),
            Invoice.status == InvoiceStatus.DRAFT.value,
            Invoice.grace_until <= as_of,
        )
        .order_by(Invoice.id)
        .with_for_update()
    )
    return list(session.scalars(query))


def events_watermark(session: Session) -> int:
    """The highest event id stored so far (0 without events)."""
    return int(session.scalar(select(func.max(Event.id))) or 0)


# --- the scheduler's lease -------------------------------------------------------------------------------------------


def claim_lease(session: Session, name: str, holder: str, *, now: datetime, until: datetime) -> bool:
    """Take (or extend) the lease ``name`` for ``holder`` until ``until``, if it is free, expired or already
    ``holder``'s. Atomic: of several processes claiming at once, exactly one gets it."""
    taken = session.execute(
        update(JobLease)
        .where(
            JobLease.name == name,
            (JobLease.holder.is_(None)) | (JobLease.expires_at <= now) | (JobLease.holder == holder),
        )
        .values(holder=holder, expires_at=until)
    )
    if taken.rowcount:  # type: ignore[attr-defined]
        return True
    try:
        with session.begin_nested():
            session.execute(insert(JobLease).values(name=name, holder=holder, expires_at=until))
    except IntegrityError:
        return False  # another process holds it
    return True


def release_lease(session: Session, name: str, holder: str) -> None:
    session.execute(
        update(JobLease).where(JobLease.name == name, JobLease.holder == holder).values(holder=None, expires_at=None)
    )


def customer_ids_due(
    session: Session, as_of: datetime, *, after_id: int, limit: int | None, test_clock_id: int | None
) -> list[int]:
    """The next ``limit`` customer ids above ``after_id`` (ascending; ``None``: all), of the customers on test clock
    ``test_clock_id`` (``None``: on none), that a run as of ``as_of`` has to look at: a subscription due by then or
    never looked at (``next_due_at``), a run's draft whose grace is over, or late usage waiting to be billed."""
    due = (
        select(Subscription.customer_id.label("cid"))
        .where(or_(Subscription.next_due_at.is_(None), Subscription.next_due_at <= as_of))
        .union(
            select(Invoice.customer_id).where(
                Invoice.status == InvoiceStatus.DRAFT.value, Invoice.grace_until <= as_of
            ),
            select(LateUsage.customer_id),
        )
        .subquery()
    )
    query = (
        select(due.c.cid)
        .join(Customer, Customer.id == due.c.cid)
        .where(due.c.cid > after_id, _on_clock(test_clock_id))
        .order_by(due.c.cid)
    )
    if limit is not None:
        query = query.limit(limit)
    return [int(cid) for cid in session.scalars(query)]


def billed_subscriptions(session: Session, customer_ids: Sequence[int], as_of: datetime) -> list[Subscription]:
    """The customers' subscriptions a run as of ``as_of`` looked at (due by then, or never looked at), with their
    plans loaded: their ``next_due_at`` is set after the batch."""
    query = (
        select(Subscription)
        .where(
            Subscription.customer_id.in_(list(customer_ids)),
            or_(Subscription.next_due_at.is_(None), Subscription.next_due_at <= as_of),
        )
        .options(selectinload(Subscription.plan))
    )
    return list(session.scalars(query))


def set_next_due(session: Session, due: Sequence[tuple[int, datetime]]) -> None:
    """Record when each subscription next needs a run: ``(subscription id, instant)`` each (one bulk UPDATE)."""
    if due:
        session.execute(update(Subscription), [{"id": sid, "next_due_at": at} for sid, at in due])


def time_zones(session: Session, customer_ids: Sequence[int]) -> dict[int, str]:
    """``{customer id: its time zone}`` in one query."""
    query = select(Customer.id, Customer.timezone).where(Customer.id.in_(list(customer_ids)))
    return {int(cid): str(tz) for cid, tz in session.execute(query)}
