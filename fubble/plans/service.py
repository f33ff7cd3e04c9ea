"""Plans and their price components: create, read, update, deactivate, add, change and remove components.

Every component's ``pricing_details`` is validated by :func:`fubble.pricing.models.parse_pricing` and its charge
options by :func:`fubble.pricing.charges.parse_options` (see :mod:`fubble.plans.options`), both stored in canonical
form, so what is stored is always priceable. A plan prices each metric at most once. Every change of the
components goes through :func:`fubble.plans.revisions.revise`, which makes a new version when subscribers are on
the latest one.

A plan may have a ``currency`` (then only customers in that currency subscribe, and its amounts, the
``minimum_commitment`` and each component's ``min_amount``, have at most its decimal places) and a
``minimum_commitment``. The currency, like the billing frequency and ``fees_in_advance``, cannot change once the
plan has subscriptions; the minimum commitment can (it applies to the periods invoiced after the change).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from fubble.clock import Clock
from fubble.db.models import Plan, PlanVersion, PriceComponent
from fubble.errors import Conflict, InvalidInput, NotFound, entry
from fubble.plans import options, repository
from fubble.plans.revisions import revise
from fubble.plans.schemas import MAX_COMPONENTS, PlanCreate, PlanUpdate, PriceComponentIn, PriceComponentUpdate
from fubble.plans.versions import prices_version
from fubble.pricing.charges import parse_options
from fubble.pricing.models import parse_pricing

Loc = tuple[str | int, ...]
# Plan fields that cannot change once the plan has subscriptions (they would re-price billed periods).
FIXED_ONCE_SUBSCRIBED = ("billing_frequency", "fees_in_advance", "currency")


def get(session: Session, plan_id: int, *, for_update: bool = False) -> Plan:
    plan = repository.get(session, plan_id, for_update=for_update)
    if plan is None:
        raise NotFound(f"plan {plan_id} not found")
    return plan


def create(session: Session, data: PlanCreate, *, clock: Clock) -> Plan:
    components = _validated(
        session,
        data.price_components,
        at=("body", "price_components"),
        currency=data.currency,
        also=_commitment_problems(data.currency, data.minimum_commitment),
    )
    now = clock.now()
    plan = Plan(
        name=data.name,
        description=data.description,
        billing_frequency=data.billing_frequency.value,
        is_active=True,
        version=1,
        fees_in_advance=data.fees_in_advance,
        currency=data.currency,
        minimum_commitment=data.minimum_commitment,
        created_at=now,
        updated_at=now,
    )
    for component in components:
        component.created_at = now
        component.version_from = 1
        plan.price_components.append(component)
    session.add(plan)
    session.flush()
    session.add(PlanVersion(plan_id=plan.id, version=1, created_at=now))
    session.flush()
    return plan


def update(session: Session, plan_id: int, data: PlanUpdate, *, clock: Clock) -> Plan:
    plan = get(session, plan_id, for_update=True)
    changes = data.model_dump(exclude_unset=True)
    for field in ("name", "billing_frequency", "is_active", "fees_in_advance", "price_components"):
        if field in changes and changes[field] is None:
            raise InvalidInput.at(("body", field), f"{field} cannot be null")
    currency = changes.get("currency", plan.currency)
    if "minimum_commitment" in changes:
        problems = _commitment_problems(currency, changes["minimum_commitment"])
    else:
        problems = _commitment_problems(currency, plan.minimum_commitment, at=("body", "currency"))
    wanted = None
    if data.price_components is not None:
        wanted = _validated(
            session, data.price_components, at=("body", "price_components"), currency=currency, also=problems
        )
    else:
        problems += _stored_places_problems(plan, currency)
        if problems:
            raise InvalidInput(problems)
    values = {
        field: value.value if field == "billing_frequency" else value
        for field, value in changes.items()
        if field != "price_components"
    }
    fixed = [field for field in FIXED_ONCE_SUBSCRIBED if field in values and values[field] != getattr(plan, field)]
    if fixed and repository.has_subscriptions(session, plan.id):
        raise Conflict(f"plan {plan.id} has subscriptions, so its {fixed[0]} cannot change; create a new plan instead")
    now = clock.now()
    for field, value in values.items():
        setattr(plan, field, value)
    plan.updated_at = now
    if wanted is not None:
        revise(session, plan, wanted, now=now)
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
    (component,) = _validated(session, [data], at=("body",), currency=plan.currency, single=True)
    current = list(plan.price_components)
    if any(existing.metric_name == component.metric_name for existing in current):
        raise Conflict(f"plan {plan.id} already prices metric {component.metric_name!r}")
    if len(current) >= MAX_COMPONENTS:
        raise Conflict(f"plan {plan.id} already has the maximum of {MAX_COMPONENTS} price components")
    return revise(session, plan, [*map(_copy, current), component], now=clock.now())[component.metric_name]


def change_component(
    session: Session, plan_id: int, component_id: int, data: PriceComponentUpdate, *, clock: Clock
) -> PriceComponent:
    """Change one component of the latest version (404 if it is not in it); returns it as the latest version has it
    (a new row, with a new id, when the change made a new version)."""
    plan = get(session, plan_id, for_update=True)
    stored = _latest_component(session, plan, component_id)
    changes = data.model_dump(exclude_unset=True)
    if not changes:
        raise InvalidInput.at(("body",), f"give at least one of {', '.join(PriceComponentUpdate.model_fields)}")
    for field in ("pricing_type", "pricing_details", "prorated"):
        if field in changes and changes[field] is None:
            raise InvalidInput.at(("body", field), f"{field} cannot be null")
    kept = options.raw_of(stored)
    merged = PriceComponentIn.model_construct(
        metric_name=stored.metric_name,
        display_name=changes.get("display_name", stored.display_name),
        pricing_type=changes.get("pricing_type", stored.pricing_type),
        pricing_details=changes.get("pricing_details", stored.pricing_details),
        **{key: changes.get(key, kept[key]) for key in options.KEYS},
    )
    (component,) = _validated(session, [merged], at=("body",), currency=plan.currency, single=True)
    wanted = [component if existing.id == stored.id else _copy(existing) for existing in plan.price_components]
    return revise(session, plan, wanted, now=clock.now())[stored.metric_name]


def remove_component(session: Session, plan_id: int, component_id: int, *, clock: Clock) -> None:
    plan = get(session, plan_id, for_update=True)
    stored = _latest_component(session, plan, component_id)
    wanted = [_copy(existing) for existing in plan.price_components if existing.id != stored.id]
    revise(session, plan, wanted, now=clock.now())


def versions(session: Session, plan_id: int) -> list[tuple[int, datetime, list[PriceComponent]]]:
    """Every version of the plan, oldest first: its number, when it began, its components (by id)."""
    plan = get(session, plan_id)
    components = repository.all_components(session, plan.id)
    began = repository.version_times(session, plan.id)
    return [
        (
            version,
            began.get(version, plan.created_at),
            [component for component in components if prices_version(component, version)],
        )
        for version in range(1, plan.version + 1)
    ]


def _latest_component(session: Session, plan: Plan, component_id: int) -> PriceComponent:
    component = repository.get_component(session, plan.id, component_id)
    if component is None:
        raise NotFound(f"price component {component_id} not found in the latest version of plan {plan.id}")
    return component


def _copy(component: PriceComponent) -> PriceComponent:
    """An unsaved copy of a stored component's pricing, as :func:`revise` takes the wanted set."""
    copy = PriceComponent(
        metric_name=component.metric_name,
        display_name=component.display_name or component.metric_name,
        pricing_type=component.pricing_type,
        pricing_details=component.pricing_details,
    )
    options.copy_to(component, copy)
    return copy


def _validated(
    session: Session,
    items: Sequence[PriceComponentIn],
    *,
    at: Loc,
    currency: str | None,
    single: bool = False,
    also: Sequence[dict[str, Any]] = (),
) -> list[PriceComponent]:
    """Components built from valid input, or one :class:`InvalidInput` listing every problem in ``items`` (and the
    entries ``also`` found elsewhere in the request)."""
    errors: list[dict[str, Any]] = list(also)
    components: list[tuple[Loc, PriceComponent]] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        here: Loc = at if single else (*at, index)
        if item.metric_name in seen:
            errors.append(entry((*here, "metric_name"), f"metric {item.metric_name!r} is priced twice in this plan"))
        seen.add(item.metric_name)
        try:
            model = parse_pricing(item.pricing_type, item.pricing_details)
            charge = parse_options(item.pricing_type, options.requested(item))
        except InvalidInput as exc:
            errors.extend(exc.entries_under(here))
            continue
        problem = options.places_problem(charge.min_amount, currency)
        if problem is not None:
            errors.append(entry((*here, "min_amount"), f"{problem} (the plan's currency)"))
        component = PriceComponent(
            metric_name=item.metric_name,
            display_name=item.display_name or item.metric_name,
            pricing_type=item.pricing_type,
            pricing_details=model.to_json(),
        )
        options.store(component, charge)
        components.append((here, component))
    errors += options.prorated_problems(session, components)
    if errors:
        raise InvalidInput(errors)
    return [component for _, component in components]


def _commitment_problems(
    currency: str | None, commitment: Decimal | None, *, at: Loc = ("body", "minimum_commitment")
) -> list[dict[str, Any]]:
    problem = options.places_problem(commitment, currency)
    if problem is None:
        return []
    stored = "" if at[-1] == "minimum_commitment" else f"the plan's minimum_commitment {commitment}: "
    return [entry(at, f"{stored}{problem} (the plan's currency)")]


def _stored_places_problems(plan: Plan, currency: str | None) -> list[dict[str, Any]]:
    """The stored amounts a new ``currency`` cannot express (located at the currency)."""
    if currency == plan.currency:
        return []
    return [
        entry(("body", "currency"), f"the component pricing {c.metric_name!r} has min_amount {c.min_amount}: {problem}")
        for c in plan.price_components
        if (problem := options.places_problem(c.min_amount, currency)) is not None
    ]
