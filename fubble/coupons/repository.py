"""Queries of the coupons, their redemptions and the billing periods each redemption was counted for."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import Select, Table, bindparam, exists, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from fubble.db.bulk import chunks
from fubble.db.models import Coupon, CouponPeriod, CouponRedemption, Plan


@dataclass(frozen=True)
class Redeemed:
    """A coupon applied to a customer, with the billing periods (keys, :mod:`fubble.coupons.periods`) it has been
    counted for."""

    redemption: CouponRedemption
    coupon: Coupon
    counted: frozenset[str] = frozenset()

    def with_period(self, key: str) -> Redeemed:
        """The same redemption, counted for ``key`` too (a batch finalizing several periods of one customer)."""
        return replace(self, counted=self.counted | {key})


def get(session: Session, coupon_id: int) -> Coupon | None:
    return session.get(Coupon, coupon_id)


def by_code(session: Session, code: str, *, lock: bool = False) -> Coupon | None:
    """The coupon with ``code``; ``lock``: row-locked until commit (``FOR UPDATE`` on PostgreSQL; SQLite's writers
    hold the whole database), read afresh even if the session had it."""
    query = select(Coupon).where(Coupon.code == code)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalars(query).first()


def code_taken(session: Session, code: str) -> bool:
    return session.scalar(select(exists().where(Coupon.code == code))) is True


def list_page(session: Session, *, limit: int, offset: int) -> list[Coupon]:
    return list(session.scalars(select(Coupon).order_by(Coupon.id).limit(limit).offset(offset)))


def plan_currencies(session: Session, plan_ids: Sequence[int]) -> dict[int, str | None]:
    """The currency (None: its subscribers') of each plan among ``plan_ids`` that exists."""
    return {
        plan_id: currency
        for plan_id, currency in session.execute(select(Plan.id, Plan.currency).where(Plan.id.in_(list(plan_ids))))
    }


def redemption_of(session: Session, customer_id: int, coupon_id: int) -> CouponRedemption | None:
    query = select(CouponRedemption).where(
        CouponRedemption.customer_id == customer_id, CouponRedemption.coupon_id == coupon_id
    )
    return session.scalars(query).first()


def customer_page(session: Session, customer_id: int, *, limit: int, offset: int) -> list[Redeemed]:
    """A customer's redemptions by id, with their coupons and counted periods."""
    query = (
        select(CouponRedemption, Coupon)
        .join(Coupon, Coupon.id == CouponRedemption.coupon_id)
        .where(CouponRedemption.customer_id == customer_id)
        .order_by(CouponRedemption.id)
        .limit(limit)
        .offset(offset)
    )
    pairs = [(redemption, coupon) for redemption, coupon in session.execute(query)]
    counted = counted_periods(session, [redemption.id for redemption, _ in pairs])
    return [Redeemed(redemption, coupon, counted.get(redemption.id, frozenset())) for redemption, coupon in pairs]


def redemptions_for(session: Session, customer_ids: Sequence[int]) -> dict[int, list[Redeemed]]:
    """Every redemption of each customer (by redemption id), with its coupon and the periods it was counted for, for
    many customers at once (billing runs): one query per 1,000 customers (a row per counted period). Customers
    without any are left out."""
    found: dict[int, list[Redeemed]] = {}
    for chunk in chunks(sorted(set(customer_ids))):
        pairs: dict[int, tuple[CouponRedemption, Coupon]] = {}
        counted: dict[int, set[str]] = {}
        for redemption, coupon, key in session.execute(_redemptions_query(), {"customer_ids": chunk}):
            pairs[redemption.id] = (redemption, coupon)
            keys = counted.setdefault(redemption.id, set())
            if key is not None:
                keys.add(key)
        for redemption_id, (redemption, coupon) in pairs.items():
            found.setdefault(redemption.customer_id, []).append(
                Redeemed(redemption, coupon, frozenset(counted[redemption_id]))
            )
    return found


@functools.cache
def _redemptions_query() -> Select[CouponRedemption, Coupon, str]:
    """Built once (every preview reads it): a statement is cheaper to run than to build and key each time."""
    return (
        select(CouponRedemption, Coupon, CouponPeriod.period_key)
        .join(Coupon, Coupon.id == CouponRedemption.coupon_id)
        .outerjoin(CouponPeriod, CouponPeriod.redemption_id == CouponRedemption.id)
        .where(CouponRedemption.customer_id.in_(bindparam("customer_ids")))
        .order_by(CouponRedemption.id)
    )


def counted_periods(session: Session, redemption_ids: Sequence[int]) -> dict[int, frozenset[str]]:
    """The period keys each redemption was counted for (redemptions never counted are left out)."""
    keys: dict[int, set[str]] = {}
    for chunk in chunks(list(redemption_ids)):
        query = select(CouponPeriod.redemption_id, CouponPeriod.period_key).where(CouponPeriod.redemption_id.in_(chunk))
        for redemption_id, key in session.execute(query):
            keys.setdefault(redemption_id, set()).add(key)
    return {redemption_id: frozenset(found) for redemption_id, found in keys.items()}


def insert_periods(session: Session, redemption_ids: Sequence[int], key: str, invoice_id: int) -> None:
    """Count the period ``key`` (billed by ``invoice_id``) for each redemption; one already counted for it keeps its
    row (the period's first invoice)."""
    rows = [{"redemption_id": rid, "period_key": key, "invoice_id": invoice_id} for rid in sorted(set(redemption_ids))]
    if not rows:
        return
    table = CouponPeriod.__table__
    assert isinstance(table, Table)
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(table).on_conflict_do_nothing(index_elements=["redemption_id", "period_key"])
    session.execute(statement, rows)


def fixed_currencies(session: Session, customer_id: int) -> set[str]:
    """The currencies of the fixed-amount coupons applied to the customer."""
    query = (
        select(Coupon.currency)
        .join(CouponRedemption, CouponRedemption.coupon_id == Coupon.id)
        .where(CouponRedemption.customer_id == customer_id, Coupon.currency.is_not(None))
    )
    return {currency for currency in session.scalars(query) if currency is not None}
