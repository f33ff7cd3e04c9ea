"""Queries of the billing run: who to bill, what they subscribe to, and what earlier invoices already billed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Context, Decimal, Inexact

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from fubble.db.functions import exact_sum
from fubble.db.models import BillingCoverage, Customer, Invoice, InvoiceItem, Plan, Subscription
from fubble.invoices.status import InvoiceStatus
from fubble.subscriptions.repository import active_in

NOT_VOID = Invoice.status != InvoiceStatus.VOID.value
# Lines that bring a period's charges up to a minimum (a component's ``min_amount``, a plan's commitment): not usage.
TRUE_UP_KINDS = ("minimum", "commitment")
NOT_TRUE_UP = or_(InvoiceItem.kind.is_(None), InvoiceItem.kind.not_in(TRUE_UP_KINDS))


def customer_ids_with_subscriptions(
    session: Session, start: datetime, end: datetime, *, after_id: int, limit: int, test_clock_id: int | None = None
) -> list[int]:
    """The next ``limit`` customer ids above ``after_id`` (ascending) with a subscription active in the window, of
    the customers on test clock ``test_clock_id`` (``None``: the customers on no test clock)."""
    clock = Customer.test_clock_id.is_(None) if test_clock_id is None else Customer.test_clock_id == test_clock_id
    query = (
        select(Subscription.customer_id)
        .join(Customer, Customer.id == Subscription.customer_id)
        .where(active_in(start, end), Subscription.customer_id > after_id, clock)
        .group_by(Subscription.customer_id)
        .order_by(Subscription.customer_id)
        .limit(limit)
    )
    return list(session.scalars(query))


def subscriptions_in(session: Session, customer_id: int, start: datetime, end: datetime) -> list[Subscription]:
    """The customer's subscriptions active in the window, by id, with their plans and price components loaded: one
    query, the plans and components joined (a customer has a few; :func:`subscriptions_of`, for many customers,
    loads each plan once instead)."""
    params = {"customer_id": customer_id, "start": start, "end": end}
    return list(session.scalars(_SUBSCRIPTIONS_IN, params).unique())


# Statements of a preview built once (building and keying a SQLAlchemy expression per call costs about as much as
# the query); datetimes bound with the column's type.
_AT = Subscription.start_date.type
_SUBSCRIPTIONS_IN = (
    select(Subscription)
    .where(
        Subscription.customer_id == bindparam("customer_id"),
        active_in(bindparam("start", type_=_AT), bindparam("end", type_=_AT)),
    )
    .options(joinedload(Subscription.plan).joinedload(Plan.price_components))
    .order_by(Subscription.id)
)


def covered(session: Session, subscription_id: int, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The parts of the subscription's time within [start, end) that non-void invoices already bill in arrears."""
    return covered_many(session, [subscription_id], start, end).get((subscription_id, "arrears"), [])


def billed_in_period(
    session: Session, subscription_id: int, component_id: int, period_start: datetime, period_end: datetime
) -> tuple[Decimal, bool]:
    """Usage already billed for this subscription and component within the period by non-void invoices, and
    whether any such line exists at all (a flat fee is charged once per period)."""
    query = (
        select(exact_sum(InvoiceItem.quantity), func.count(InvoiceItem.id))
        .join(Invoice, Invoice.id == InvoiceItem.invoice_id)
        .where(
            InvoiceItem.subscription_id == subscription_id,
            InvoiceItem.price_component_id == component_id,
            InvoiceItem.period_start >= period_start,
            InvoiceItem.period_end <= period_end,
            NOT_TRUE_UP,
            NOT_VOID,
        )
    )
    total, count = session.execute(query).one()
    return (total if total is not None else Decimal(0)), bool(count)


def invoices_covering(
    session: Session, subscription_ids: Sequence[int], start: datetime, end: datetime
) -> list[Invoice]:
    """Non-void invoices that bill part of these subscriptions' time within [start, end), by id, with items."""
    if not subscription_ids:
        return []
    covering = select(BillingCoverage.invoice_id).where(
        BillingCoverage.subscription_id.in_(list(subscription_ids)),
        BillingCoverage.start < end,
        BillingCoverage.end > start,
    )
    query = (
        select(Invoice)
        .where(Invoice.id.in_(covering), NOT_VOID)
        .options(selectinload(Invoice.invoice_items))
        .order_by(Invoice.id)
    )
    return list(session.scalars(query))


# --- batched reads of the billing run (one query for a batch of customers) -------------------------------------------


def lock_customers(session: Session, customer_ids: Sequence[int]) -> dict[int, Customer]:
    """Lock the customers (``FOR NO KEY UPDATE`` on PostgreSQL, in id order, like one-by-one billing does) and return
    those that exist."""
    query = (
        select(Customer)
        .where(Customer.id.in_(list(customer_ids)))
        .order_by(Customer.id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    return {c.id: c for c in session.scalars(query)}


def subscriptions_of(
    session: Session, customer_ids: Sequence[int], start: datetime, end: datetime
) -> dict[int, list[Subscription]]:
    """:func:`subscriptions_in` for many customers: ``{customer id: subscriptions by id}``."""
    query = (
        select(Subscription)
        .where(Subscription.customer_id.in_(list(customer_ids)), active_in(start, end))
        .options(selectinload(Subscription.plan))
        .order_by(Subscription.id)
    )
    result: dict[int, list[Subscription]] = {}
    for subscription in session.scalars(query):
        result.setdefault(subscription.customer_id, []).append(subscription)
    return result


def covered_many(
    session: Session, subscription_ids: Sequence[int], start: datetime, end: datetime
) -> dict[tuple[int, str], list[tuple[datetime, datetime]]]:
    """What non-void invoices bill of these subscriptions' time within [start, end):
    ``{(subscription id, coverage kind): spans by start}`` (only pairs with coverage are present)."""
    result: dict[tuple[int, str], list[tuple[datetime, datetime]]] = {}
    if not subscription_ids:
        return result
    params = {"ids": list(subscription_ids), "start": start, "end": end}
    for row in session.execute(_COVERED, params):
        result.setdefault((row.subscription_id, row.kind), []).append((row.start, row.end))
    return result


def covered_kinds(
    session: Session, subscription_id: int, start: datetime, end: datetime
) -> dict[str, list[tuple[datetime, datetime]]]:
    """:func:`covered_many` for one subscription: ``{kind: spans by start}``."""
    return {kind: spans for (_, kind), spans in covered_many(session, [subscription_id], start, end).items()}


_COVERED = (
    select(BillingCoverage.subscription_id, BillingCoverage.kind, BillingCoverage.start, BillingCoverage.end)
    .where(
        BillingCoverage.subscription_id.in_(bindparam("ids", expanding=True)),
        BillingCoverage.start < bindparam("end", type_=BillingCoverage.start.type),
        BillingCoverage.end > bindparam("start", type_=BillingCoverage.start.type),
        BillingCoverage.released.is_(False),
    )
    .order_by(BillingCoverage.subscription_id, BillingCoverage.kind, BillingCoverage.start)
)


_EXACT = Context(prec=2000, traps=[Inexact])  # sums of quantities: exact or an error, never rounded
PeriodKey = tuple[int, int, datetime, datetime]  # (subscription id, component id, period start, period end)


def billed_in_periods(session: Session, keys: Iterable[PeriodKey]) -> dict[PeriodKey, tuple[Decimal, bool]]:
    """:func:`billed_in_period` for many keys in one query (the matching lines are added up in Python, exactly)."""
    wanted = set(keys)
    result: dict[PeriodKey, tuple[Decimal, bool]] = dict.fromkeys(wanted, (Decimal(0), False))
    if not wanted:
        return result
    by_component: dict[tuple[int, int], list[PeriodKey]] = {}
    for key in wanted:
        by_component.setdefault((key[0], key[1]), []).append(key)
    params = {
        "ids": sorted({k[0] for k in wanted}),
        "first": min(k[2] for k in wanted),
        "last": max(k[3] for k in wanted),
    }
    for sub_id, component_id, item_start, item_end, quantity in session.execute(_BILLED, params):
        if sub_id is None or component_id is None:
            continue
        for key in by_component.get((sub_id, component_id), ()):
            if item_start is not None and item_end is not None and item_start >= key[2] and item_end <= key[3]:
                total, _ = result[key]
                result[key] = (_EXACT.add(total, quantity), True)
    return result


_BILLED = (
    select(
        InvoiceItem.subscription_id,
        InvoiceItem.price_component_id,
        InvoiceItem.period_start,
        InvoiceItem.period_end,
        InvoiceItem.quantity,
    )
    .join(Invoice, Invoice.id == InvoiceItem.invoice_id)
    .where(
        InvoiceItem.subscription_id.in_(bindparam("ids", expanding=True)),
        InvoiceItem.period_start >= bindparam("first", type_=InvoiceItem.period_start.type),
        InvoiceItem.period_end <= bindparam("last", type_=InvoiceItem.period_end.type),
        NOT_TRUE_UP,
        NOT_VOID,
    )
)


def billed_amounts(
    session: Session, subscription_id: int, period_start: datetime, period_end: datetime
) -> dict[tuple[int | None, str], Decimal]:
    """What non-void invoices billed the subscription within the period: amount per (component, line kind)."""
    params = {"subscription_id": subscription_id, "first": period_start, "last": period_end}
    result: dict[tuple[int | None, str], Decimal] = {}
    for component_id, kind, amount in session.execute(_BILLED_AMOUNTS, params):
        key = (component_id, kind or "usage")
        result[key] = _EXACT.add(result.get(key, Decimal(0)), amount)
    return result


_BILLED_AMOUNTS = (
    select(InvoiceItem.price_component_id, InvoiceItem.kind, InvoiceItem.amount)
    .join(Invoice, Invoice.id == InvoiceItem.invoice_id)
    .where(
        InvoiceItem.subscription_id == bindparam("subscription_id"),
        InvoiceItem.period_start >= bindparam("first", type_=InvoiceItem.period_start.type),
        InvoiceItem.period_end <= bindparam("last", type_=InvoiceItem.period_end.type),
        NOT_VOID,
    )
)


def invoices_with_items(session: Session, invoice_ids: Sequence[int]) -> list[Invoice]:
    if not invoice_ids:
        return []
    query = (
        select(Invoice)
        .where(Invoice.id.in_(list(invoice_ids)))
        .options(selectinload(Invoice.invoice_items))
        .order_by(Invoice.id)
    )
    return list(session.scalars(query))


def open_run_drafts(session: Session, customer_ids: Sequence[int]) -> dict[tuple[int, datetime], int]:
    """``{(customer id, period end): invoice id}`` of the customers' drafts made by billing runs (still in their
    grace period): new lines of the same customer and period end join them."""
    query = select(Invoice.customer_id, Invoice.period_end, Invoice.id).where(
        Invoice.customer_id.in_(list(customer_ids)),
        Invoice.status == InvoiceStatus.DRAFT.value,
        Invoice.billing_run_id.is_not(None),
        Invoice.period_end.is_not(None),
    )
    return {(cid, end): invoice_id for cid, end, invoice_id in session.execute(query) if end is not None}
