"""``POST /invoices/generate``: bill a window ``[start, end)`` chosen by hand, as drafts.

For each customer with a subscription active in the window (or just the one asked for), in batches of
``CUSTOMER_BATCH`` customers, in id order, the billing engine (:mod:`fubble.billing.engine`) bills the subscriptions'
time inside the window that no non-void invoice bills yet, on ONE draft per customer whose period is the time it
bills (earliest slice start to latest slice end, not the window asked for). If nothing new is left, the existing
invoices that bill this window are returned instead, so running a window twice is harmless. Voiding an invoice frees
its time to be billed again. The billing runs (:mod:`fubble.billing_runs`) use the same engine and coverage, so the
two never bill the same time twice. Customers on a test clock are billed only when asked for by id.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy.orm import Session

from fubble.billing import repository
from fubble.billing.drafts import bill_batch
from fubble.billing.engine import Run
from fubble.billing.tracks import WindowPolicy
from fubble.clock import Clock
from fubble.config import Settings
from fubble.customers import service as customers
from fubble.db.models import Invoice
from fubble.db.types import to_utc
from fubble.errors import InvalidInput

CUSTOMER_BATCH = 500


def generate_invoices(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    customer_id: int | None = None,
    clock: Clock,
    settings: Settings,
) -> list[Invoice]:
    """Bill the half-open window ``[start, end)``; see the module docstring. Never commits.

    Returns the new draft invoices, plus, for customers with nothing new to bill, the existing non-void invoices
    that bill this window; in customer id order. Naive datetimes are UTC.
    """
    start, end = to_utc(start), to_utc(end)
    if start >= end:
        raise InvalidInput.at(("end_date",), "end_date must be after start_date (the window is [start_date, end_date))")
    if customer_id is not None:
        customers.get(session, customer_id)  # 404 for an unknown customer
        batches: Iterator[list[int]] = iter([[customer_id]])
    else:
        batches = _customers_to_bill(session, start, end)
    run = Run(session, (start, end), WindowPolicy(start, end), clock=clock, settings=settings)
    result: list[Invoice] = []
    for batch in batches:
        outcome = bill_batch(run, batch)
        by_customer: dict[int, list[Invoice]] = {}
        for invoice in repository.invoices_with_items(session, outcome.invoice_ids):
            by_customer.setdefault(invoice.customer_id, []).append(invoice)
        unchanged = [s.id for billing in outcome.unchanged for s in billing.subscriptions]
        for invoice in repository.invoices_covering(session, unchanged, start, end):
            by_customer.setdefault(invoice.customer_id, []).append(invoice)
        result.extend(invoice for cid in batch for invoice in by_customer.get(cid, []))
    return result


def _customers_to_bill(session: Session, start: datetime, end: datetime) -> Iterator[list[int]]:
    """Batches of ids of customers with a subscription active in the window, ascending."""
    after = 0
    while True:
        batch = repository.customer_ids_with_subscriptions(session, start, end, after_id=after, limit=CUSTOMER_BATCH)
        if batch:
            yield batch
        if len(batch) < CUSTOMER_BATCH:
            return
        after = batch[-1]
