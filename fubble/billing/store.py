"""Writing a batch of generated draft invoices with bulk statements (the billing run's last step).

Per batch of customers: the invoice numbers are taken from each customer's own sequence (the customers are locked by
the run; the increments are flushed by the ORM in one ``executemany``), then the invoices, their items and their
coverage rows are written with one Core ``INSERT`` each (``RETURNING`` the invoice ids in parameter order). The audit
recorder only sees ORM flushes, so each invoice's ``create`` entry (its state as stored, with its final amount and its
lines, as the recorder writes an invoice created with its lines) is written here, in one ``INSERT``; the lines get no
entries of their own. Nothing commits.

A billing run's draft refreshed while its grace lasts (:mod:`fubble.billing_runs.late`) is written in place: its row
keeps its id, number, issue date and grace, and gets the new lines and coverage, its figures recomputed from all its
lines (:func:`restate`). Every invoice's figures (discounts, taxes, total, ``credit_carried``, credits when created
finalized) come from :mod:`fubble.invoices.terms`. The audit log gets the invoice's ``update`` (through the ORM) and,
when the lines changed, an ``invoice_item`` ``delete`` per replaced line and ``create`` per
new one; a refresh that reproduces the same lines logs only its new lines of other kinds (adjustments).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, insert, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from fubble.audit import recorder
from fubble.coupons.periods import period_key
from fubble.db.models import BillingCoverage, Customer, Invoice, InvoiceItem
from fubble.invoices import terms
from fubble.invoices.money import exact_total
from fubble.invoices.numbering import invoice_number
from fubble.invoices.status import InvoiceStatus
from fubble.payments import queue as payments
from fubble.webhooks import invoice_events

INVOICES = cast(Table, Invoice.__table__)
ITEMS = cast(Table, InvoiceItem.__table__)
COVERAGE = cast(Table, BillingCoverage.__table__)
_INVOICE_COLUMNS = [column.name for column in INVOICES.columns]
_ITEM_COLUMNS = [column.name for column in ITEMS.columns]

Span = tuple[datetime, datetime]


class ItemLine(NamedTuple):
    """A generated invoice line before it is stored (cheaper than a transient ORM object; :meth:`orm` makes one)."""

    description: str
    metric_name: str | None
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    subscription_id: int | None
    price_component_id: int | None
    period_start: datetime | None
    period_end: datetime | None
    created_at: datetime
    kind: str | None = None  # usage, fee, credit or adjustment

    def orm(self) -> InvoiceItem:
        return InvoiceItem(**self._asdict())


@dataclass
class Draft:
    """One customer's new invoice: its lines, the time it bills (subscription, coverage kind, span; empty only for
    an invoice of late-usage adjustments alone), its period, and for a billing run's draft the run and the instant
    after which a run finalizes it."""

    customer: Customer
    items: list[ItemLine]
    coverage: list[tuple[int, str, Span]]
    period: Span
    billing_run_id: int | None = None
    grace_until: datetime | None = None
    finalized: bool = False  # created finalized (pending): a run's draft whose grace period is already over
    invoice_id: int | None = None  # a run's draft refreshed in place: the existing invoice (no new row)
    replaced: Sequence[InvoiceItem] = ()  # the lines a refresh removed from it (detached; for the audit log)


def store(session: Session, drafts: Sequence[Draft], *, now: datetime, payment_term_days: int) -> list[int]:
    """Write the drafts; returns their invoice ids (new, or the refreshed one's), in the drafts' order."""
    if not drafts:
        return []
    new = [d for d in drafts if d.invoice_id is None]
    seqs = _take_invoice_seqs(session, new)
    due = now + timedelta(days=payment_term_days)
    batch = terms.Terms.load(session, [d.customer.id for d in new], lock_grants=any(d.finalized for d in new))
    figures = _all_figures(batch, new, now)
    rows = [
        {
            "invoice_number": invoice_number(d.customer.id, now, seq),
            "customer_id": d.customer.id,
            "status": (InvoiceStatus.PENDING if d.finalized else InvoiceStatus.DRAFT).value,
            "currency": d.customer.currency,
            "issue_date": now,
            "due_date": due,
            **fig.columns(),
            "paid_date": None,
            "notes": None,
            "period_start": d.period[0],
            "period_end": d.period[1],
            "created_at": now,
            "updated_at": now,
            "billing_run_id": d.billing_run_id,
            "grace_until": d.grace_until,
        }
        for d, seq, fig in zip(new, seqs, figures, strict=True)
    ]
    new_ids: list[int] = []
    if rows:
        statement = insert(INVOICES).returning(INVOICES.c.id, sort_by_parameter_order=True)
        new_ids = [int(i) for i in session.execute(statement, rows).scalars()]
    created = iter(new_ids)
    ids = [d.invoice_id if d.invoice_id is not None else next(created) for d in drafts]
    terms.write_terms(session, new_ids, figures)
    recording = recorder.is_recording(session)
    items = [_item_row(invoice_id, item) for invoice_id, d in zip(ids, drafts, strict=True) for item in d.items]
    if items and recording:
        statement = insert(ITEMS).returning(ITEMS.c.id, sort_by_parameter_order=True)
        for row, item_id in zip(items, session.execute(statement, items).scalars(), strict=True):
            row["id"] = item_id
    elif items:
        session.execute(insert(ITEMS), items)
    coverage = [
        {"invoice_id": invoice_id, "subscription_id": sub_id, "kind": kind, "start": span[0], "end": span[1]}
        for invoice_id, d in zip(ids, drafts, strict=True)
        for sub_id, kind, span in d.coverage
    ]
    if coverage:
        session.execute(insert(COVERAGE), coverage)
    lines: dict[int, list[dict[str, Any]]] = {invoice_id: [] for invoice_id in ids}
    if recording:
        for item in items:
            lines[item["invoice_id"]].append({column: item[column] for column in _ITEM_COLUMNS})
        entries = [
            (
                str(invoice_id),
                {
                    **{column: invoice_id if column == "id" else row[column] for column in _INVOICE_COLUMNS},
                    recorder.LINES: lines[invoice_id],
                },
            )
            for invoice_id, row in zip(new_ids, rows, strict=True)
        ]
        if entries:
            recorder.record_inserted(session, "invoice", entries, now)
    for invoice_id, d, fig in zip(new_ids, new, figures, strict=True):
        if d.finalized:  # created finalized: its terms settle now (coupon periods, credits)
            invoice = session.get(Invoice, invoice_id)
            assert invoice is not None
            terms.settle(session, invoice, fig, batch, at=now)
    refreshed = [(invoice_id, d) for invoice_id, d in zip(ids, drafts, strict=True) if d.invoice_id is not None]
    if refreshed:
        restate(session, [invoice_id for invoice_id, _ in refreshed], now=now, periods=[d.period for _, d in refreshed])
        if recording:
            _log_refreshed(session, refreshed, lines, now)
    finalized = [invoice_id for invoice_id, d in zip(new_ids, new, strict=True) if d.finalized]
    invoice_events.created_in_bulk(session, new_ids, finalized, at=now)  # webhooks, when subscribed
    payments.queue_finalized(session, finalized, at=now)  # payment attempts, with a payment provider
    return ids


def restate(
    session: Session, invoice_ids: Sequence[int], *, now: datetime, periods: Sequence[Span] | None = None
) -> None:
    """Recompute existing drafts' figures from all their stored lines (:func:`fubble.invoices.terms.apply`),
    widening their period to ``periods`` when given; through the ORM, so the audit log records each invoice whose
    figures changed."""
    for index, invoice_id in enumerate(invoice_ids):
        invoice = session.get(Invoice, invoice_id)
        assert invoice is not None
        session.expire(invoice, ["invoice_items"])
        invoice.updated_at = now
        if periods is not None:
            start, end = periods[index]
            if invoice.period_start is None or start < invoice.period_start:
                invoice.period_start = start
            if invoice.period_end is None or end > invoice.period_end:
                invoice.period_end = end
        terms.apply(session, invoice, at=now, finalizing=False)
        session.expire(invoice, ["invoice_items"])


def _same_line(item: InvoiceItem) -> tuple[object, ...]:
    return (
        item.description,
        item.metric_name,
        item.quantity,
        item.unit_price,
        item.amount,
        item.subscription_id,
        item.price_component_id,
        item.period_start,
        item.period_end,
        item.kind,
    )


def _log_refreshed(
    session: Session, refreshed: list[tuple[int, Draft]], lines: dict[int, list[dict[str, Any]]], now: datetime
) -> None:
    """The audit entries of the lines of refreshed invoices (see the module docstring)."""
    created: list[tuple[str, dict[str, Any]]] = []
    for invoice_id, draft in refreshed:
        kinds = {item.kind for item in draft.replaced}
        again = Counter(_same_line(i.orm()) for i in draft.items if i.kind in kinds)
        same = again == Counter(_same_line(i) for i in draft.replaced)
        for item in [] if same else draft.replaced:
            recorder.record_change(session, item, action="delete", before=recorder.snapshot(item))
        for line in lines[invoice_id]:
            if not same or line["kind"] not in kinds:
                created.append((str(line["id"]), line))
    if created:
        recorder.record_inserted(session, "invoice_item", created, now)


def _all_figures(batch: terms.Terms, drafts: Sequence[Draft], now: datetime) -> list[terms.Figures]:
    """The new drafts' figures, each customer's in period order: one created finalized counts its coupon period and
    uses its credits before the next one is figured."""
    figures: dict[int, terms.Figures] = {}
    for index in sorted(range(len(drafts)), key=lambda i: (drafts[i].customer.id, drafts[i].period[1], i)):
        draft = drafts[index]
        fig = figures[index] = _figures(batch, draft, now)
        if draft.finalized:
            key = period_key(Invoice(period_end=draft.period[1], issue_date=now))
            batch.note_finalized(draft.customer.id, key, fig)
    return [figures[index] for index in range(len(drafts))]


def _figures(batch: terms.Terms, draft: Draft, now: datetime) -> terms.Figures:
    """A new draft's figures (with credits when it is created finalized)."""
    invoice = Invoice(period_end=draft.period[1], issue_date=now)  # transient: only its billing period is read
    amounts = [(item.amount, item.subscription_id) for item in draft.items]
    currency = draft.customer.currency
    key = period_key(invoice)
    for item in draft.items:
        exact_total([item.amount], currency)  # each line in the currency's minor unit
    return batch.figures(draft.customer.id, currency, key, amounts, at=now, with_credits=draft.finalized)


def _take_invoice_seqs(session: Session, drafts: Sequence[Draft]) -> list[int]:
    """Each draft's invoice sequence number, taken from its customer's sequence: one ``UPDATE ... RETURNING`` per
    distinct number of drafts a customer has in the batch (atomic, like
    :func:`fubble.customers.repository.next_invoice_seq`), keeping the loaded customers in step."""
    table = cast(Table, Customer.__table__)
    counts: dict[int, int] = {}
    customers: dict[int, Customer] = {}
    for draft in drafts:
        counts[draft.customer.id] = counts.get(draft.customer.id, 0) + 1
        customers[draft.customer.id] = draft.customer
    by_count: dict[int, list[int]] = {}
    for customer_id, count in counts.items():
        by_count.setdefault(count, []).append(customer_id)
    last: dict[int, int] = {}
    for count, ids in by_count.items():
        statement = (
            update(table)
            .where(table.c.id.in_(ids))
            .values(invoice_seq=table.c.invoice_seq + count)
            .returning(table.c.id, table.c.invoice_seq)
        )
        last.update({int(row[0]): int(row[1]) for row in session.execute(statement)})
    for customer_id, customer in customers.items():
        set_committed_value(customer, "invoice_seq", last[customer_id])
    taken = {customer_id: last[customer_id] - counts[customer_id] for customer_id in counts}
    seqs = []
    for draft in drafts:
        taken[draft.customer.id] += 1
        seqs.append(taken[draft.customer.id])
    return seqs


def _item_row(invoice_id: int, item: ItemLine) -> dict[str, Any]:
    row = item._asdict()
    row["invoice_id"] = invoice_id
    return row
