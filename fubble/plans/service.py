"""Plans and their price components: create, read, update, deactivate, add and remove components.

Every component's ``pricing_details`` is validated by :func:`fubble.pricing.models.parse_pricing` and stored in its
canonical form, so what is stored is always priceable. A plan prices each metric at most once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from fubble.clock import Clock
from fubble.db.models import Plan, PriceComponent
from fubble.errors import Conflict, InvalidInput, NotFound
from fubble.plans import repository
from fubble.plans.schemas import MAX_COMPONENTS, PlanCreate, PlanUpdate, PriceComponentIn
from fubble.pricing.models import parse_pricing

Loc = tuple[str | int, ...]


def get(session: Session, plan_id: int, *, for_update: bool = False) -> Plan:
    plan = repository.get(session, plan_id, for_update=for_update)
    if plan is None:
        raise NotFound(f"plan {plan_id} not found")
    return plan


def create(session: Session, data: PlanCreate, *, clock: Clock) -> Plan:
    components = _validated(data.price_components, at=("body", "price_components"))
    now = clock.now()
    plan = Plan(
        name=data.name,
        description=data.description,
        billing_frequency=data.billing_frequency.value,
        is_active=True,
        created_at=now,
        updated_at=now,
    )
    for component in components:
        component.created_at = now
        plan.price_components.append(component)
    session.add(plan)
    session.flush()
    return plan


def update(session: Session, plan_id: int, data: PlanUpdate, *, clock: Clock) -> Plan:
    plan = get(session, plan_id, for_update=True)
    changes = data.model_dump(exclude_unset=True)
    for field in ("name", "billing_frequency", "is_active"):
        if field in changes and changes[field] is None:
            raise InvalidInput.at(("body", field), f"{field} cannot be null")
    frequency = changes.get("billing_frequency")
    if frequency is not None and frequency != plan.billing_frequency and repository.has_subscriptions(session, plan.id):
        raise Conflict(
            f"plan {plan.id} has subscriptions, so its billing_frequency cannot change; create a new plan instead"
        )
    for field, value in changes.items():
        setattr(plan, field, value.value if field == "billing_frequency" else value)
    plan.updated_at = clock.now()
    session.flush()
    return plan


def deactivate(session: Session, plan_id: int, *, clock: Clock) -> Plan:
    """Stop offering the plan: no new subscriptions; existing ones are untouched. Idempotent."""
    plan = get(session, plan_id, for_update=True)
    if plan.is_active:
        plan.is_active = False
        plan.updated_at = clock.now()
        session.flush()
    return plan


def add_component(session: Session, plan_id: int, data: PriceComponentIn, *, clock: Clock) -> PriceComponent:
    plan = get(session, plan_id, for_update=True)
    (component,) = _validated([data], at=("body",), single=True)
    if any(existing.metric_name == component.metric_name for existing in plan.price_components):
        raise Conflict(f"plan {plan.id} already prices metric {component.metric_name!r}")
    if len(plan.price_components) >= MAX_COMPONENTS:
        raise Conflict(f"plan {plan.id} already has the maximum of {MAX_COMPONENTS} price components")
    now = clock.now()
    component.created_at = now
    plan.price_components.append(component)
    plan.updated_at = now
    session.flush()
    return component


def remove_component(session: Session, plan_id: int, component_id: int, *, clock: Clock) -> None:
    plan = get(session, plan_id, for_update=True)
    component = repository.get_component(session, plan.id, component_id)
    if component is None:
        raise NotFound(f"price component {component_id} not found in plan {plan.id}")
    plan.price_components.remove(component)
    plan.updated_at = clock.now()
    session.flush()


def _validated(items: Sequence[PriceComponentIn], *, at: Loc, single: bool = False) -> list[PriceComponent]:
    """Components built from valid input, or one :class:`InvalidInput` listing every problem in ``items``."""
    errors: list[dict[str, Any]] = []
    components: list[PriceComponent] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        here: Loc = at if single else (*at, index)
        if item.metric_name in seen:
            errors.append(_entry((*here, "metric_name"), f"metric {item.metric_name!r} is priced twice in this plan"))
        seen.add(item.metric_name)
        try:
            model = parse_pricing(item.pricing_type, item.pricing_details)
        except InvalidInput as exc:
            errors.extend(_located(exc, here))
            continue
        components.append(
            PriceComponent(
                metric_name=item.metric_name,
                display_name=item.display_name or item.metric_name,
                pricing_type=item.pricing_type,
                pricing_details=model.to_json(),
            )
        )
    if errors:
        raise InvalidInput(errors)
    return components


def _entry(loc: Loc, msg: str) -> dict[str, Any]:
    return {"loc": list(loc), "msg": msg, "type": "value_error"}


def _located(exc: InvalidInput, prefix: Loc) -> list[dict[str, Any]]:
    """The error's entries with ``prefix`` put in front of each ``loc``, so the response names the body field."""
    entries = exc.detail if isinstance(exc.detail, list) else [exc.detail]
    return [
        {**entry, "loc": [*prefix, *entry.get("loc", [])]} if isinstance(entry, dict) else _entry(prefix, str(entry))
        for entry in entries
    ]
