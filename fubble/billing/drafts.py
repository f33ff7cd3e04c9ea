"""One batch of a billing pass: price what is left to bill for a batch of customers and write it as drafts.

The lines of a customer are grouped by the policy's key (:meth:`fubble.billing.engine.Policy.key`): one draft per
customer and key. Each slice billed becomes a coverage row of its draft (subscription, track, ``[start, end)``), so the
same time is never billed twice on a track: the next pass subtracts it, and the unique index on coverage refuses a
second row for the same start should two passes race. A draft's period is the time it bills: with a key (a billing
run: the instant its usage period ends), from the earliest start of its usage lines to the key; otherwise from the
earliest start to the latest end of what it bills.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from fubble.billing.engine import ARREARS, CustomerBilling, Planned, Run
from fubble.billing.store import Draft, ItemLine, store
from fubble.db.models import Customer

Span = tuple[datetime, datetime]
GraceUntil = Callable[[Customer, datetime], datetime]


@dataclass
class BatchResult:
    invoice_ids: list[int]  # the new invoices, in customer id order (then key order)
    finalized: list[int]  # those of them created finalized
    unchanged: list[CustomerBilling]  # the customers with nothing new to bill


def bill_batch(
    run: Run,
    customer_ids: list[int],
    *,
    billing_run_id: int | None = None,
    grace_until: GraceUntil | None = None,
    finalize_by: datetime | None = None,
) -> BatchResult:
    """Bill these customers (ascending ids). Billing runs pass ``grace_until(customer, key)``, when a run should
    finalize the draft of that key, and ``finalize_by`` (their ``as_of``): a draft whose grace is over by then is
    created finalized. Never commits."""
    billings = run.load_batch(customer_ids)
    planned = [(billing, billing.slices()[0]) for billing in billings]
    run.prefetch(planned)
    now = run.clock.now()
    drafts: list[Draft] = []
    unchanged: list[CustomerBilling] = []
    for billing, slices in planned:
        if not slices:
            unchanged.append(billing)
            continue
        groups: dict[datetime | None, tuple[list[ItemLine], list[Planned]]] = {}
        for item in slices:
            groups.setdefault(run.policy.key(item), ([], []))[1].append(item)
        for item, line in billing.price(slices, now):
            groups[run.policy.key(item)][0].append(line)
        for key in sorted(groups, key=lambda k: (k is not None, k or now)):
            items, billed = groups[key]
            coverage = [(p.subscription.id, p.track, (p.slice.start, p.slice.end)) for p in billed]
            until = grace_until(billing.customer, key) if grace_until is not None and key is not None else None
            final = until is not None and finalize_by is not None and until <= finalize_by
            draft = Draft(billing.customer, items, coverage, _period(key, billed), billing_run_id, until, final)
            drafts.append(draft)
    ids = store(run.session, drafts, now=now, payment_term_days=run.settings.payment_term_days)
    run.clear()
    finalized = [invoice_id for invoice_id, d in zip(ids, drafts, strict=True) if d.finalized]
    return BatchResult(ids, finalized, unchanged)


def _period(key: datetime | None, billed: list[Planned]) -> Span:
    usage = [p.slice.start for p in billed if p.track == ARREARS]
    if key is not None and usage:
        return min(usage), key
    return min(p.slice.start for p in billed), max(p.slice.end for p in billed)
