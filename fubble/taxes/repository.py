"""Queries of the tax rates, and of the rates chosen for customers (``customer_tax_rates``)."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

from sqlalchemy import Select, and_, bindparam, or_, select
from sqlalchemy.orm import Session, aliased

from fubble.db.bulk import chunks
from fubble.db.models import Customer, CustomerTaxRate, TaxRate


def get(session: Session, tax_rate_id: int) -> TaxRate | None:
    return session.get(TaxRate, tax_rate_id)


def list_page(session: Session, *, limit: int, offset: int) -> list[TaxRate]:
    return list(session.scalars(select(TaxRate).order_by(TaxRate.id).limit(limit).offset(offset)))


def existing_ids(session: Session, tax_rate_ids: Iterable[int]) -> set[int]:
    """The ids among ``tax_rate_ids`` that name a tax rate."""
    wanted = sorted(set(tax_rate_ids))
    found: set[int] = set()
    for chunk in chunks(wanted):
        found.update(session.scalars(select(TaxRate.id).where(TaxRate.id.in_(chunk))))
    return found


def chosen_ids(session: Session, customer_ids: Sequence[int]) -> dict[int, list[int]]:
    """Each customer's ``tax_rate_ids`` (ascending), ``[]`` for a customer without any: one query per 1,000 ids."""
    chosen: dict[int, list[int]] = {customer_id: [] for customer_id in customer_ids}
    for chunk in chunks(list(chosen)):
        query = (
            select(CustomerTaxRate.customer_id, CustomerTaxRate.tax_rate_id)
            .where(CustomerTaxRate.customer_id.in_(chunk))
            .order_by(CustomerTaxRate.customer_id, CustomerTaxRate.tax_rate_id)
        )
        for customer_id, tax_rate_id in session.execute(query):
            chosen[customer_id].append(tax_rate_id)
    return chosen


def choose(session: Session, customer_id: int, tax_rate_ids: Sequence[int]) -> None:
    """Make ``tax_rate_ids`` the customer's chosen rates (rows added and removed through the ORM, so the audit log
    sees them once their class is audited)."""
    rows = session.scalars(select(CustomerTaxRate).where(CustomerTaxRate.customer_id == customer_id)).all()
    wanted = set(tax_rate_ids)
    for row in rows:
        if row.tax_rate_id not in wanted:
            session.delete(row)
    held = {row.tax_rate_id for row in rows}
    for tax_rate_id in tax_rate_ids:
        if tax_rate_id not in held:
            session.add(CustomerTaxRate(customer_id=customer_id, tax_rate_id=tax_rate_id))
    session.flush()


def rates_for(session: Session, customer_ids: Sequence[int]) -> dict[int, list[TaxRate]]:
    """The tax rates each customer's invoices are taxed at, for many customers at once (billing runs).

    * a ``tax_exempt`` customer: ``[]`` (rates chosen for it, or applying by default, are ignored);
    * a customer with rates of its own (``tax_rate_ids``): those, by id;
    * any other customer: every rate with ``applies_by_default``, by id (``[]`` if there is none).

    Keys: the customers among ``customer_ids`` that exist. One query per 1,000 customers: each customer with every
    rate it chose or that applies by default, marked chosen or not (invoice previews read this on every request).
    """
    ids = list(dict.fromkeys(customer_ids))
    result: dict[int, list[TaxRate]] = {}
    for chunk in chunks(ids):
        query = _rates_query()
        exempt: dict[int, bool] = {}
        chosen: dict[int, list[TaxRate]] = {}
        defaults: dict[int, list[TaxRate]] = {}
        for customer_id, tax_exempt, rate, chosen_id in session.execute(query, {"customer_ids": chunk}):
            exempt[customer_id] = bool(tax_exempt)
            chosen.setdefault(customer_id, [])
            defaults.setdefault(customer_id, [])
            if rate is not None:
                (chosen if chosen_id is not None else defaults)[customer_id].append(rate)
        for customer_id, rates in chosen.items():
            result[customer_id] = [] if exempt[customer_id] else rates or defaults[customer_id]
    return result


@functools.cache
def _rates_query() -> Select[int, bool, TaxRate, int]:
    """Built once: every preview reads it, and building and keying a statement this size costs more than running it."""
    held = aliased(CustomerTaxRate)
    chosen_ids = select(held.tax_rate_id).where(held.customer_id == Customer.id).correlate(Customer)
    return (
        select(Customer.id, Customer.tax_exempt, TaxRate, CustomerTaxRate.tax_rate_id)
        .select_from(Customer)
        .outerjoin(TaxRate, or_(TaxRate.applies_by_default.is_(True), TaxRate.id.in_(chosen_ids)))
        .outerjoin(
            CustomerTaxRate,
            and_(CustomerTaxRate.customer_id == Customer.id, CustomerTaxRate.tax_rate_id == TaxRate.id),
        )
        .where(Customer.id.in_(bindparam("customer_ids")))
        .order_by(Customer.id, TaxRate.id)
    )
