"""Usage that arrives late: refreshing a run's drafts while their grace lasts, adjusting finalized periods after.

A run creates a period's invoice as a draft; while the grace lasts, later runs refresh that draft with usage that
arrived late; once it has passed, a run finalizes it (``pending``). A finalized invoice is never edited: usage for an
already invoiced period is billed on the customer's next invoice as an adjustment line per metric and period, and
with no next invoice coming, a run issues an invoice of adjustments. Nothing that arrives late is dropped.

Rules, per billing run (:func:`prepare` is called by :func:`fubble.billing_runs.service.bill_due` for each batch):

1. **Detection** (once per run, in its first batch; ``late_usage_scans``): the events stored with an id above
   ``since`` (the smaller ``events_watermark`` of the two latest earlier runs of the same scope: the customers of
   the run's test clock, or those on none; an event committed slightly out of id order on PostgreSQL is still seen;
   no earlier run: no scan), of the run's customers, whose ``event_time`` lies before the end of the time already
   invoiced for the customer (its latest arrears coverage not released), are recorded in ``late_usage``:
   (customer, metric, earliest event time). Scanning an event twice is harmless (everything below is idempotent).
2. **Refresh** (each batch, customers locked): each draft made by a run whose grace lasts (``grace_until >
   as_of``) of a customer with late usage, and whose arrears coverage ends after the customer's earliest late event,
   is released: its arrears coverage and its ``usage`` lines are deleted (its other lines stay: fees, credits,
   adjustments). The batch's billing then bills that time again, with all usage stored by now, and the draft of the
   same customer and key (the released invoice's ``period_end``: its arrears lines are keyed by their period's end)
   is written into the same invoice (:func:`fubble.billing.store.store`: same id and number, issue date and grace;
   new amount). A released draft that gets no lines again keeps its other lines, its amount recomputed.
3. **Adjustments** (after the refresh): for a customer with late usage, each (subscription, component, period) with
   arrears coverage ending after the metric's earliest late event is priced again, full minus billed
   (:mod:`fubble.billing_runs.late_adjust`), giving lines ``Adjustment for <metric>, <period start> to <period
   end>`` (local dates in the customer's time zone, :func:`fubble.pricing.periods.local_date_label`; the end is the
   local date of the period's end instant), of kind ``adjustment``, with the period as the line's period and the
   usage difference as its quantity. They are billed:

   * when the batch writes an invoice for the customer (new, or a refreshed draft): on the first one, by key;
   * else, when the customer will not be invoiced again (every subscription ended and all its time billed, see
     :func:`~fubble.billing_runs.late_adjust.bills_again`): on an invoice of its own, at once (grace counted from
     the run's ``as_of``: finalized at creation when the grace is 0);
   * else they wait: the ``late_usage`` rows stay, and the run that next invoices the customer prices them (then,
     with whatever else arrived late meanwhile).

   The customer's ``late_usage`` rows read by the batch are deleted once priced (also when nothing differed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, insert, select
from sqlalchemy.orm import Session

from fubble.audit import recorder
from fubble.billing import repository as billing_repository
from fubble.billing.engine import CustomerBilling, Run
from fubble.billing.store import ItemLine, restate
from fubble.billing.tracks import ARREARS, Planned
from fubble.billing_runs.late_adjust import adjustments, bills_again
from fubble.db.models import (
    BillingCoverage,
    BillingRun,
    Customer,
    Event,
    Invoice,
    InvoiceItem,
    LateUsage,
    LateUsageScan,
    Subscription,
)
from fubble.invoices.status import InvoiceStatus

_CHUNK = 1000  # customer ids per IN list


@dataclass
class LateUsageBatch:
    """One batch's late usage (:class:`fubble.billing.drafts.Late`)."""

    locked: dict[int, Customer]  # the batch's customers, locked here first
    pending: dict[int, list[LateUsage]]  # customer id -> its late_usage rows
    released: dict[tuple[int, datetime], tuple[int, list[InvoiceItem]]]  # (customer, key) -> (invoice, removed lines)
    processed: set[int] = field(default_factory=set)  # customers whose late usage was priced

    def adjust(self, run: Run, planned: list[tuple[CustomerBilling, list[Planned]]]) -> dict[int, list[ItemLine]]:
        result: dict[int, list[ItemLine]] = {}
        billed = {billing.customer.id for billing, _ in planned}
        self.processed.update(cid for cid in self.pending if cid not in billed)  # no subscription: nothing to adjust
        for billing, slices in planned:
            rows = self.pending.get(billing.customer.id)
            if not rows or (not slices and bills_again(run, billing)):
                continue
            self.processed.add(billing.customer.id)
            earliest: dict[str, datetime] = {}
            for row in rows:
                earliest[row.metric_name] = min(row.earliest, earliest.get(row.metric_name, row.earliest))
            lines = adjustments(run, billing, earliest)
            for line in lines:  # what the pass prices next in the same period continues from the adjusted usage
                assert line.subscription_id is not None and line.price_component_id is not None
                assert line.period_start is not None and line.period_end is not None
                key = (line.subscription_id, line.price_component_id, line.period_start, line.period_end)
                if key in run.billed:
                    run.billed[key] = (run.billed[key][0] + line.quantity, True)
            if lines:
                result[billing.customer.id] = lines
        return result

    def refreshed(self, customer_id: int, key: datetime) -> tuple[int, Sequence[InvoiceItem]] | None:
        return self.released.pop((customer_id, key), None)

    def finish(self, session: Session, now: datetime) -> None:
        ids = [row.id for cid in sorted(self.processed) for row in self.pending.get(cid, [])]
        for start in range(0, len(ids), _CHUNK):
            session.execute(delete(LateUsage).where(LateUsage.id.in_(ids[start : start + _CHUNK])))
        if self.released:  # released drafts that got no lines again: their other lines stay
            restate(session, sorted(invoice_id for invoice_id, _ in self.released.values()), now=now)
            if recorder.is_recording(session):
                for _, items in self.released.values():
                    for item in items:
                        recorder.record_change(session, item, action="delete", before=recorder.snapshot(item))
            self.released.clear()


def prepare(session: Session, run_id: int, customer_ids: list[int], *, as_of: datetime) -> LateUsageBatch:
    """Scan for late usage (once per run), lock the batch's customers, read their late usage and release the
    drafts to refresh (see the module docstring). Never commits."""
    run = session.get(BillingRun, run_id)
    assert run is not None
    _scan(session, run)
    locked = billing_repository.lock_customers(session, customer_ids)
    pending: dict[int, list[LateUsage]] = {}
    for start in range(0, len(customer_ids), _CHUNK):
        query = select(LateUsage).where(LateUsage.customer_id.in_(customer_ids[start : start + _CHUNK]))
        for row in session.scalars(query.order_by(LateUsage.id)):
            pending.setdefault(row.customer_id, []).append(row)
    return LateUsageBatch(locked, pending, _release(session, pending, as_of))


def _on_clock(test_clock_id: int | None) -> ColumnElement[bool]:
    if test_clock_id is None:
        return Customer.test_clock_id.is_(None)
    return Customer.test_clock_id == test_clock_id


def scan(session: Session, run_id: int) -> None:
    """Record the late usage among the events stored since the two latest earlier runs of the run's scope began
    (once per run: the job calls it first, so that customers with late usage are among those it bills)."""
    run = session.get(BillingRun, run_id)
    assert run is not None
    _scan(session, run)


def _scan(session: Session, run: BillingRun) -> None:
    if session.get(LateUsageScan, run.id) is not None:
        return
    same_scope = (
        BillingRun.test_clock_id.is_(None)
        if run.test_clock_id is None
        else BillingRun.test_clock_id == run.test_clock_id
    )
    earlier = select(BillingRun.events_watermark).where(
        BillingRun.id < run.id, same_scope, BillingRun.events_watermark.is_not(None)
    )
    marks = [mark for mark in session.scalars(earlier.order_by(BillingRun.id.desc()).limit(2)) if mark is not None]
    since = min(marks) if marks else int(run.events_watermark or 0)
    session.add(LateUsageScan(billing_run_id=run.id, since_event_id=since))
    session.flush()
    if not marks:
        return  # the first run of its scope: nothing it could find was billed by a run before
    # The new events first, by id (a range of the primary key), then their customers: left to itself, SQLite walked
    # the whole (customer, metric, time) index to group them (half a second at 10 million events, with none new).
    new = (
        select(Event.customer_id, Event.metric_name, Event.event_time)
        .where(Event.id > since)
        .cte("new_events")
        .prefix_with("MATERIALIZED")
    )
    query = (
        select(new.c.customer_id, new.c.metric_name, func.min(new.c.event_time))
        .join(Customer, Customer.id == new.c.customer_id)
        .where(_on_clock(run.test_clock_id))
        .group_by(new.c.customer_id, new.c.metric_name)
    )
    found = [(int(cid), str(metric), earliest) for cid, metric, earliest in session.execute(query)]
    customers = sorted({cid for cid, _, _ in found})
    invoiced: dict[int, datetime] = {}
    for start in range(0, len(customers), _CHUNK):
        ends = (
            select(Subscription.customer_id, func.max(BillingCoverage.end))
            .join(Subscription, Subscription.id == BillingCoverage.subscription_id)
            .where(
                Subscription.customer_id.in_(customers[start : start + _CHUNK]),
                BillingCoverage.kind == ARREARS,
                BillingCoverage.released.is_(False),
            )
            .group_by(Subscription.customer_id)
        )
        invoiced.update({int(cid): end for cid, end in session.execute(ends) if end is not None})
    rows = [
        {"customer_id": cid, "metric_name": metric, "earliest": earliest, "billing_run_id": run.id}
        for cid, metric, earliest in found
        if cid in invoiced and earliest < invoiced[cid]
    ]
    if rows:
        session.execute(insert(LateUsage), rows)


def _release(
    session: Session, pending: dict[int, list[LateUsage]], as_of: datetime
) -> dict[tuple[int, datetime], tuple[int, list[InvoiceItem]]]:
    """Release the run drafts in grace that late usage may change (see the module docstring)."""
    if not pending:
        return {}
    earliest = {cid: min(row.earliest for row in rows) for cid, rows in pending.items()}
    drafts = session.scalars(
        select(Invoice)
        .where(
            Invoice.customer_id.in_(sorted(pending)),
            Invoice.status == InvoiceStatus.DRAFT.value,
            Invoice.billing_run_id.is_not(None),
            Invoice.grace_until > as_of,
        )
        .order_by(Invoice.id)
        .with_for_update()
    ).all()
    if not drafts:
        return {}
    ends: dict[int, datetime] = {}
    coverage = select(BillingCoverage.invoice_id, func.max(BillingCoverage.end)).where(
        BillingCoverage.invoice_id.in_([d.id for d in drafts]), BillingCoverage.kind == ARREARS
    )
    for invoice_id, end in session.execute(coverage.group_by(BillingCoverage.invoice_id)):
        ends[int(invoice_id)] = end
    chosen = [d for d in drafts if d.id in ends and d.period_end is not None and earliest[d.customer_id] < ends[d.id]]
    if not chosen:
        return {}
    ids = [d.id for d in chosen]
    lines: dict[int, list[InvoiceItem]] = {invoice_id: [] for invoice_id in ids}
    items = session.scalars(
        select(InvoiceItem).where(InvoiceItem.invoice_id.in_(ids), InvoiceItem.kind == "usage").order_by(InvoiceItem.id)
    ).all()
    for item in items:
        lines[item.invoice_id].append(item)
        session.expunge(item)
    session.execute(delete(InvoiceItem).where(InvoiceItem.id.in_([item.id for item in items])))
    session.execute(delete(BillingCoverage).where(BillingCoverage.invoice_id.in_(ids), BillingCoverage.kind == ARREARS))
    result: dict[tuple[int, datetime], tuple[int, list[InvoiceItem]]] = {}
    for draft in chosen:
        assert draft.period_end is not None
        result[(draft.customer_id, draft.period_end)] = (draft.id, lines[draft.id])
        session.expire(draft, ["invoice_items"])
    return result
