"""One batch of a billing pass: price what is left to bill for a batch of customers and write it as drafts.

The lines of a customer are grouped by the policy's key (:meth:`fubble.billing.engine.Policy.key`): one draft per
customer and key. Each slice billed becomes a coverage row of its draft (subscription, track, ``[start, end)``), so the
same time is never billed twice on a track: the next pass subtracts it, and the unique index on coverage refuses a
second row for the same start should two passes race. A draft's period is the time it bills: with a key (a billing
run: the instant its usage period ends), from the earliest start of its usage lines to the key; otherwise from the
earliest start to the latest end of what it bills.

A billing run also passes its late usage (:class:`Late`, :mod:`fubble.billing_runs.late`): a draft whose key is that
of a run draft it released for a refresh is written into that invoice in place, and a customer's adjustments for late
usage go on the first draft (in key order) the batch writes for the customer, or on an invoice of their own when the
late usage says so and the customer has nothing else to bill.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from fubble.billing import repository
from fubble.billing.engine import CustomerBilling, Run
from fubble.billing.store import Draft, ItemLine, store
from fubble.billing.tracks import ARREARS, Planned
from fubble.db.models import Customer, InvoiceItem

Span = tuple[datetime, datetime]
GraceUntil = Callable[[Customer, datetime], datetime]


class Late(Protocol):
    """A billing run's late usage for one batch (:class:`fubble.billing_runs.late.LateUsage`)."""

    locked: dict[int, Customer]  # the batch's customers, locked by the run before it read their late usage

    def adjust(self, run: Run, planned: list[tuple[CustomerBilling, list[Planned]]]) -> dict[int, list[ItemLine]]:
        """After the batch's reads, before pricing: the adjustment lines to bill now, per customer id."""
        ...

    def refreshed(self, customer_id: int, key: datetime) -> tuple[int, Sequence[InvoiceItem]] | None:
        """The run draft of this customer and key released for a refresh (its id and removed lines), taken once."""
        ...

    def finish(self, session: Session, now: datetime) -> None:
        """After the batch is written."""
        ...


@dataclass
class BatchResult:
    invoice_ids: list[int]  # the new invoices, in customer id order (then key order)
    finalized: list[int]  # those of them created finalized
    unchanged: list[CustomerBilling]  # the customers with nothing new to bill
    refreshed: list[int] | None = None  # run drafts written again in place (with late usage), by id


def bill_batch(
    run: Run,
    customer_ids: list[int],
    *,
    billing_run_id: int | None = None,
    grace_until: GraceUntil | None = None,
    finalize_by: datetime | None = None,
    late: Late | None = None,
) -> BatchResult:
    """Bill these customers (ascending ids). Billing runs pass ``grace_until(customer, key)``, when a run should
    finalize the draft of that key, ``finalize_by`` (their ``as_of``): a draft whose grace is over by then is
    created finalized, and their ``late`` usage. Never commits."""
    billings = run.load_batch(customer_ids, late.locked if late is not None else None)
    planned = [(billing, billing.slices()[0]) for billing in billings]
    run.prefetch(planned)
    adjustments = late.adjust(run, planned) if late is not None else {}
    # A run's lines join the customer's run draft of the same period end while it is open (one invoice per customer
    # and period end), e.g. a subscription dated back into a period whose draft is in its grace period.
    joinable = repository.open_run_drafts(run.session, customer_ids) if billing_run_id is not None else {}
    now = run.clock.now()
    drafts: list[Draft] = []
    unchanged: list[CustomerBilling] = []

    def grace(customer: Customer, key: datetime | None) -> tuple[datetime | None, bool]:
        until = grace_until(customer, key) if grace_until is not None and key is not None else None
        return until, until is not None and finalize_by is not None and until <= finalize_by

    for billing, slices in planned:
        extra = adjustments.get(billing.customer.id, [])
        if not slices:
            if extra:  # late usage and nothing else coming: an invoice of its adjustments
                period = (min(_start(i) for i in extra), max(_end(i) for i in extra))
                until, final = grace(billing.customer, finalize_by or now)
                drafts.append(Draft(billing.customer, extra, [], period, billing_run_id, until, final))
            else:
                unchanged.append(billing)
            continue
        groups: dict[datetime | None, tuple[list[ItemLine], list[Planned]]] = {}
        for item in slices:
            groups.setdefault(run.policy.key(item), ([], []))[1].append(item)
        for item, line in billing.price(slices, now):
            groups[run.policy.key(item)][0].append(line)
        for key in sorted(groups, key=lambda k: (k is not None, k or now)):
            items, billed = groups[key]
            items.extend(extra)
            extra = []
            coverage = [(p.subscription.id, p.track, (p.slice.start, p.slice.end)) for p in billed]
            until, final = grace(billing.customer, key)
            draft = Draft(billing.customer, items, coverage, _period(key, billed), billing_run_id, until, final)
            again = late.refreshed(billing.customer.id, key) if late is not None and key is not None else None
            if again is not None:
                draft.invoice_id, draft.replaced, draft.finalized = again[0], again[1], False
            elif key is not None and any(p.track == ARREARS for p in billed):
                open_draft = joinable.get((billing.customer.id, key))
                if open_draft is not None:
                    draft.invoice_id, draft.finalized = open_draft, False
            drafts.append(draft)
    ids = store(run.session, drafts, now=now, payment_term_days=run.settings.payment_term_days)
    if late is not None:
        late.finish(run.session, now)
    run.clear()
    new = [(invoice_id, d) for invoice_id, d in zip(ids, drafts, strict=True) if d.invoice_id is None]
    finalized = [invoice_id for invoice_id, d in new if d.finalized]
    refreshed = [invoice_id for invoice_id, d in zip(ids, drafts, strict=True) if d.invoice_id is not None]
    return BatchResult([invoice_id for invoice_id, _ in new], finalized, unchanged, refreshed)


def _start(item: ItemLine) -> datetime:
    assert item.period_start is not None
    return item.period_start


def _end(item: ItemLine) -> datetime:
    assert item.period_end is not None
    return item.period_end


def _period(key: datetime | None, billed: list[Planned]) -> Span:
    usage = [p.slice.start for p in billed if p.track == ARREARS]
    if key is not None and usage:
        return min(usage), key
    return min(p.slice.start for p in billed), max(p.slice.end for p in billed)
