"""Queries over pricing factors: named, time-varying values that ``dynamic`` price formulas read.

A factor's value is in effect from its ``effective_from`` until the next value's ``effective_from`` (half-open).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fubble.db.models import PricingFactor


def upsert(session: Session, name: str, value: Decimal, effective_from: datetime, *, now: datetime) -> PricingFactor:
    """Set ``name`` to ``value`` from ``effective_from``; a value already set at that instant is replaced."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(PricingFactor).values(name=name, value=value, effective_from=effective_from, created_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=[PricingFactor.name, PricingFactor.effective_from], set_={"value": value, "created_at": now}
    )
    row_id = session.execute(statement.returning(PricingFactor.id)).scalar_one()
    row = session.get(PricingFactor, row_id, populate_existing=True)
    assert row is not None
    return row


def at_instant(session: Session, name: str, effective_from: datetime) -> PricingFactor | None:
    """The value set for ``name`` exactly at ``effective_from``, if any."""
    query = select(PricingFactor).where(PricingFactor.name == name, PricingFactor.effective_from == effective_from)
    return session.scalars(query).first()


def history(session: Session, name: str) -> list[PricingFactor]:
    """Every value of ``name``, oldest ``effective_from`` first."""
    query = select(PricingFactor).where(PricingFactor.name == name).order_by(PricingFactor.effective_from)
    return list(session.scalars(query))


def values_at(session: Session, at: datetime, *, names: Iterable[str] | None = None) -> list[PricingFactor]:
    """The value in effect at ``at`` of each factor (of ``names``, or of all), by name; unset ones are left out."""
    latest = select(PricingFactor.name, func.max(PricingFactor.effective_from).label("since")).where(
        PricingFactor.effective_from <= at
    )
    if names is not None:
        latest = latest.where(PricingFactor.name.in_(list(names)))
    subquery = latest.group_by(PricingFactor.name).subquery()
    query = select(PricingFactor).join(
        subquery, (PricingFactor.name == subquery.c.name) & (PricingFactor.effective_from == subquery.c.since)
    )
    return sorted(session.scalars(query), key=lambda row: row.name)


def current_page(session: Session, now: datetime, *, limit: int, offset: int) -> list[PricingFactor]:
    """The values in effect at ``now``, one per factor, ordered by name (code points)."""
    return values_at(session, now)[offset : offset + limit]


def values_between(
    session: Session, names: Iterable[str], start: datetime, end: datetime
) -> list[tuple[datetime, dict[str, Decimal]]]:
    """The factors' values over the half-open window ``[start, end)``, as consecutive segments.

    Returns ``[(from_time, {name: value}), ...]`` ordered by ``from_time``: the first segment starts at ``start`` with
    the values in effect at ``start``, and a new segment starts at each instant inside the window where any of
    ``names`` changes; each segment lasts until the next one's ``from_time`` (the last until ``end``). A name with no
    value in effect is absent from the dict (formulas then read it as 0). Each dict is a fresh, complete snapshot.
    There is always at least one segment: an empty window (``start >= end``) gives just the values at ``start``, and
    no names gives ``[(start, {})]``.
    """
    wanted = sorted(set(names))
    if not wanted:
        return [(start, {})]
    values = {row.name: row.value for row in values_at(session, start, names=wanted)}
    segments: list[tuple[datetime, dict[str, Decimal]]] = [(start, dict(values))]
    if start >= end:
        return segments
    changes = session.scalars(
        select(PricingFactor)
        .where(PricingFactor.name.in_(wanted), PricingFactor.effective_from > start, PricingFactor.effective_from < end)
        .order_by(PricingFactor.effective_from, PricingFactor.name)
    )
    for row in changes:
        values[row.name] = row.value
        if segments[-1][0] == row.effective_from:
            segments[-1] = (row.effective_from, dict(values))
        else:
            segments.append((row.effective_from, dict(values)))
    return segments
