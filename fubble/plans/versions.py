"""The price components of a plan's versions.

A component prices the plan versions ``[version_from, version_to)`` (``version_to`` NULL: up to the latest), so the
components of version ``v`` are those with ``version_from <= v`` and ``version_to`` NULL or above ``v``. The billing
engine prices a subscription with the components of its ``plan_version``.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, inspect, or_, select
from sqlalchemy.orm import Session

from fubble.db.models import PriceComponent, Subscription


def prices_version(component: PriceComponent, version: int) -> bool:
    """Whether ``component`` belongs to version ``version`` of its plan."""
    return component.version_from <= version and (component.version_to is None or component.version_to > version)


def components_of(session: Session, plan_id: int, version: int) -> list[PriceComponent]:
    """The components of version ``version`` of the plan, in id order (none for version 0 or an unknown plan; a
    version above the plan's latest would read as the latest)."""
    return list(session.scalars(_COMPONENTS_OF, {"plan_id": plan_id, "version": version}))


def components_of_subscription(session: Session, subscription: Subscription) -> list[PriceComponent]:
    """The components of the subscription's plan version: its plan's ``price_components`` (the latest version's) when
    it is on the latest version and they are loaded already, else read (:func:`components_of`)."""
    plan = subscription.plan
    if subscription.plan_version == plan.version and "price_components" not in inspect(plan).unloaded:
        return list(plan.price_components)
    return components_of(session, subscription.plan_id, subscription.plan_version)


def components_of_many(
    session: Session, keys: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], list[PriceComponent]]:
    """The components of each (plan_id, version) in ``keys``, in id order, read with one query; every key is in the
    answer (as :func:`components_of` would give it)."""
    wanted = set(keys)
    answer: dict[tuple[int, int], list[PriceComponent]] = {key: [] for key in wanted}
    if not wanted:
        return answer
    versions: dict[int, list[int]] = {}
    for plan_id, version in sorted(wanted):
        versions.setdefault(plan_id, []).append(version)
    query = select(PriceComponent).where(PriceComponent.plan_id.in_(sorted(versions))).order_by(PriceComponent.id)
    for component in session.scalars(query):
        for version in versions[component.plan_id]:
            if prices_version(component, version):
                answer[(component.plan_id, version)].append(component)
    return answer


# Built once (the previews read it on every request): building and keying the statement cost more than running it.
_COMPONENTS_OF = (
    select(PriceComponent)
    .where(
        PriceComponent.plan_id == bindparam("plan_id"),
        PriceComponent.version_from <= bindparam("version"),
        or_(PriceComponent.version_to.is_(None), PriceComponent.version_to > bindparam("version")),
    )
    .order_by(PriceComponent.id)
)
