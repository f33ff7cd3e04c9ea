"""Queries over credit grants and the credit ledger.

Decimals are stored as text on SQLite, so amounts are compared in Python (``remaining > 0``), never in SQL.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from fubble.db.models import CreditGrant, CreditLedgerEntry, Customer


def grants_for(session: Session, customer_ids: Sequence[int], *, lock: bool) -> dict[int, list[CreditGrant]]:
    """Each customer's grants that may still give credit: not voided, something remaining, in the customer's
    currency (always so: a customer with grants keeps its currency; the condition states the invariant), by id.
    Expired ones are included (the caller decides with the invoice's instant). Every customer asked for is a key.

    ``lock`` locks the grants until the transaction ends (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite serializes
    writers already), so two invoices can never use the same credit twice."""
    found: dict[int, list[CreditGrant]] = {customer_id: [] for customer_id in customer_ids}
    if not found:
        return found
    query = _grants_query(lock)
    for grant in session.scalars(query, {"customer_ids": list(found)}):
        if grant.remaining > 0:
            found[grant.customer_id].append(grant)
    return found


@functools.cache
def _grants_query(lock: bool) -> Select[CreditGrant]:
    """Built once (every preview reads it): a statement is cheaper to run than to build and key each time."""
    query = (
        select(CreditGrant)
        .join(Customer, Customer.id == CreditGrant.customer_id)
        .where(
            CreditGrant.customer_id.in_(bindparam("customer_ids")),
            CreditGrant.voided_at.is_(None),
            CreditGrant.currency == Customer.currency,
        )
        .order_by(CreditGrant.id)
    )
    if lock:
        query = query.with_for_update(of=CreditGrant).execution_options(populate_existing=True)
    return query


def get(session: Session, customer_id: int, grant_id: int, *, lock: bool = False) -> CreditGrant | None:
    """The customer's grant ``grant_id`` (None if there is none, or it is another customer's)."""
    query = select(CreditGrant).where(CreditGrant.id == grant_id, CreditGrant.customer_id == customer_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalars(query).first()


def by_ids(session: Session, grant_ids: Iterable[int], *, lock: bool) -> dict[int, CreditGrant]:
    ids = sorted(set(grant_ids))
    if not ids:
        return {}
    query = select(CreditGrant).where(CreditGrant.id.in_(ids)).order_by(CreditGrant.id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return {grant.id: grant for grant in session.scalars(query)}


def list_page(session: Session, customer_id: int, *, limit: int, offset: int) -> list[CreditGrant]:
    query = select(CreditGrant).where(CreditGrant.customer_id == customer_id).order_by(CreditGrant.id)
    return list(session.scalars(query.limit(limit).offset(offset)))


def unvoided(session: Session, customer_id: int) -> list[CreditGrant]:
    """Every grant of the customer not voided, by id."""
    query = (
        select(CreditGrant)
        .where(CreditGrant.customer_id == customer_id, CreditGrant.voided_at.is_(None))
        .order_by(CreditGrant.id)
    )
    return list(session.scalars(query))


def ledger(session: Session, customer_id: int) -> list[CreditLedgerEntry]:
    """The customer's stored ledger entries, in time order (then id)."""
    query = (
        select(CreditLedgerEntry)
        .where(CreditLedgerEntry.customer_id == customer_id)
        .order_by(CreditLedgerEntry.at, CreditLedgerEntry.id)
    )
    return list(session.scalars(query))


def uses_by(session: Session, invoice_id: int) -> list[CreditLedgerEntry]:
    """The ``use`` entries of an invoice (what it took, and what was returned), by id."""
    query = (
        select(CreditLedgerEntry)
        .where(CreditLedgerEntry.invoice_id == invoice_id, CreditLedgerEntry.type == "use")
        .order_by(CreditLedgerEntry.id)
    )
    return list(session.scalars(query))
