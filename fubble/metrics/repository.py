"""Queries over metric definitions, and the names events may use."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, union
from sqlalchemy.orm import Session

from fubble.db import bulk
from fubble.db.models import PriceComponent, Subscription
from fubble.db.models.metric import Metric


def get(session: Session, metric_id: int) -> Metric | None:
    return session.get(Metric, metric_id)


def get_by_name(session: Session, name: str) -> Metric | None:
    return session.scalars(select(Metric).where(Metric.name == name)).first()


def list_page(session: Session, *, limit: int, offset: int) -> list[Metric]:
    return list(session.scalars(select(Metric).order_by(Metric.id).limit(limit).offset(offset)))


def count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Metric)) or 0)


def implicit_names(session: Session) -> list[str]:
    """Names priced by some plan but without a ``metrics`` row (implicitly a ``sum``), in code-point order (sorted
    here, not by the database, whose collation may differ; there are few distinct names)."""
    query = (
        select(PriceComponent.metric_name)
        .where(~select(Metric.id).where(Metric.name == PriceComponent.metric_name).exists())
        .distinct()
    )
    return sorted(session.scalars(query))


def priced_by_plans(session: Session, name: str) -> bool:
    query = select(PriceComponent.id).where(PriceComponent.metric_name == name).limit(1)
    return session.scalars(query).first() is not None


def prorated_by(session: Session, name: str, at: datetime) -> list[int]:
    """The plans (ids, ascending) with a ``prorated`` component of metric ``name`` that is still in use at ``at``:
    in the plan's latest version, or in an earlier version a subscription not ended by ``at`` is on."""
    component = PriceComponent
    subscribed = (
        select(Subscription.id)
        .where(
            Subscription.plan_id == component.plan_id,
            Subscription.plan_version >= component.version_from,
            Subscription.plan_version < component.version_to,
            or_(Subscription.end_date.is_(None), Subscription.end_date > at),
        )
        .exists()
    )
    query = (
        select(component.plan_id)
        .where(component.metric_name == name, component.prorated.is_(True))
        .where(or_(component.version_to.is_(None), subscribed))
        .distinct()
    )
    return sorted(session.scalars(query))


def _defined_query(share: bool) -> str:
    """The ``metrics`` rows named in the :data:`~fubble.db.bulk.VALUES` list, as ``(name, aggregation, property,
    filters as exact JSON text, allow_negative, recurring)``, locked ``FOR SHARE`` if ``share`` (PostgreSQL only)."""
    lock = " ORDER BY name FOR SHARE" if share else ""
    return f"SELECT {_COLUMNS} FROM metrics WHERE name {bulk.VALUES}{lock}"


_COLUMNS = "name, aggregation, property, filters, allow_negative, recurring"


def defined(session: Session, names: Sequence[str], *, share: bool) -> list[tuple[Any, ...]]:
    """The rows of the defined metrics among ``names`` (see :func:`_defined_query`), on the raw driver."""
    return bulk.rows_matching(session, _defined_query(share), names)


def defined_or_priced_query(share: bool) -> str:
    """For the names among ``VALUES`` that events may carry: the row of each defined metric (as :func:`defined` gives
    it), and ``(name, None, None, None, False, False)`` of each name that only a plan prices (active or not); for
    :func:`fubble.db.bulk.rows_matching` (this runs for every group of ingested events)."""
    return (
        f"WITH defined AS ({_defined_query(share)})"
        f" SELECT {_COLUMNS} FROM defined UNION ALL"
        " SELECT DISTINCT metric_name, NULL, NULL, NULL, FALSE, FALSE FROM price_components"
        f" WHERE metric_name {bulk.VALUES} AND metric_name NOT IN (SELECT name FROM defined)"
    )


def known_metric_names(session: Session) -> list[str]:
    """Every name an event may carry: the defined metrics and the names priced by any plan (active or not), distinct
    and sorted (code-point order on both databases)."""
    # Core, not ORM: this runs for every group of ingested events.
    names = union(select(Metric.__table__.c.name), select(PriceComponent.__table__.c.metric_name))
    return sorted(name for (name,) in session.execute(names))
