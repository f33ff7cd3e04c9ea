"""Queries over plans and their price components."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import Session, joinedload, selectinload

from fubble.db.models import Plan, PlanVersion, PriceComponent, Subscription
from fubble.db.models.metric import Metric


def get(session: Session, plan_id: int, *, for_update: bool = False, for_share: bool = False) -> Plan | None:
    """The plan with its components; ``for_update``/``for_share`` lock its row until commit (PostgreSQL)."""
    if not (for_update or for_share):  # one query, components joined (the previews read a plan on every request)
        return session.scalars(_PLAN, {"plan_id": plan_id}).unique().first()
    query = select(Plan).where(Plan.id == plan_id).options(selectinload(Plan.price_components))
    if for_update:
        query = query.with_for_update()
    elif for_share:
        query = query.with_for_update(read=True)
    return session.scalars(query).first()


_PLAN = select(Plan).where(Plan.id == bindparam("plan_id")).options(joinedload(Plan.price_components))


def list_page(session: Session, *, active_only: bool, limit: int, offset: int) -> list[Plan]:
    query = select(Plan).options(selectinload(Plan.price_components)).order_by(Plan.id)
    if active_only:
        query = query.where(Plan.is_active.is_(True))
    return list(session.scalars(query.limit(limit).offset(offset)))


def get_component(session: Session, plan_id: int, component_id: int) -> PriceComponent | None:
    """The component, only if it belongs to the latest version of ``plan_id``."""
    query = select(PriceComponent).where(
        PriceComponent.id == component_id, PriceComponent.plan_id == plan_id, PriceComponent.version_to.is_(None)
    )
    return session.scalars(query).first()


def has_subscriptions(session: Session, plan_id: int) -> bool:
    return bool(session.scalar(select(exists().where(Subscription.plan_id == plan_id))))


def has_subscriptions_on(session: Session, plan_id: int, version: int) -> bool:
    """Whether any subscription (running or not) is on this version of the plan."""
    condition = exists().where(Subscription.plan_id == plan_id, Subscription.plan_version == version)
    return bool(session.scalar(select(condition)))


def all_components(session: Session, plan_id: int) -> list[PriceComponent]:
    """Every component the plan ever had (all versions), in id order."""
    query = select(PriceComponent).where(PriceComponent.plan_id == plan_id).order_by(PriceComponent.id)
    return list(session.scalars(query))


def version_times(session: Session, plan_id: int) -> dict[int, datetime]:
    """When each recorded version of the plan began."""
    query = select(PlanVersion.version, PlanVersion.created_at).where(PlanVersion.plan_id == plan_id)
    return {version: created_at for version, created_at in session.execute(query)}


def recurring_metric_names(session: Session, names: Iterable[str]) -> set[str]:
    """The names among ``names`` of metrics defined with ``recurring: true``."""
    query = select(Metric.name).where(Metric.name.in_(sorted(set(names))), Metric.recurring.is_(True))
    return set(session.scalars(query))
