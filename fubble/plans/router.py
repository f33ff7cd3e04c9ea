"""HTTP routes of plans and their price components."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from fubble.api.deps import ClockDep, PageDep, SessionDep, id_path
from fubble.api.routing import new_router
from fubble.errors_doc import responses
from fubble.plans import repository, service
from fubble.plans.schemas import PlanCreate, PlanOut, PlanUpdate, PriceComponentIn, PriceComponentOut

router = new_router("/plans", tag="plans")

PlanId = Annotated[int, id_path("The plan's id")]
ComponentId = Annotated[int, id_path("The price component's id")]


@router.post("/", status_code=201, summary="Create a plan with its price components", responses=responses(422))
def create_plan(body: PlanCreate, session: SessionDep, clock: ClockDep) -> PlanOut:
    """Each metric_name appears once in a plan. Every component's `pricing_details` is checked against its
    `pricing_type` (its keys; tiers contiguous from 0, only the last open-ended; a formula that compiles); if any is
    invalid the response is a 422 whose `loc` names it
    (`["body", "price_components", 0, "pricing_details", "tiers", 1, "start"]`) and nothing is stored. Numbers are
    stored exactly, in canonical form (`10.00` comes back as `10`)."""
    return PlanOut.of(service.create(session, body, clock=clock))


@router.get("/", summary="List plans (by id)", responses=responses(422))
def list_plans(
    session: SessionDep,
    page: PageDep,
    active_only: Annotated[bool, Query(description="Only plans that accept new subscriptions.")] = False,
) -> list[PlanOut]:
    plans = repository.list_page(session, active_only=active_only, limit=page.limit, offset=page.offset)
    return [PlanOut.of(plan) for plan in plans]


@router.get("/{plan_id}", summary="Get a plan", responses=responses(404, 422))
def get_plan(plan_id: PlanId, session: SessionDep) -> PlanOut:
    return PlanOut.of(service.get(session, plan_id))


@router.put("/{plan_id}", summary="Update a plan (fields present in the body)", responses=responses(404, 409, 422))
def update_plan(plan_id: PlanId, body: PlanUpdate, session: SessionDep, clock: ClockDep) -> PlanOut:
    """Changes `name`, `description`, `billing_frequency` or `is_active`. The billing frequency of a plan that has
    subscriptions cannot change (409). Price components are managed with their own routes."""
    return PlanOut.of(service.update(session, plan_id, body, clock=clock))


@router.put("/{plan_id}/deactivate", summary="Deactivate a plan", responses=responses(404, 422))
def deactivate_plan(plan_id: PlanId, session: SessionDep, clock: ClockDep) -> PlanOut:
    """An inactive plan accepts no new subscriptions; existing subscriptions go on. Deactivating twice is fine."""
    return PlanOut.of(service.deactivate(session, plan_id, clock=clock))


@router.post(
    "/{plan_id}/components",
    status_code=201,
    summary="Add a price component to a plan",
    responses=responses(404, 409, 422),
)
def add_component(plan_id: PlanId, body: PriceComponentIn, session: SessionDep, clock: ClockDep) -> PriceComponentOut:
    """`pricing_details` must match `pricing_type`, as in `POST /plans/` (422 naming what is wrong). 409 if the plan
    already prices this metric_name (remove that component first)."""
    return PriceComponentOut.of(service.add_component(session, plan_id, body, clock=clock))


@router.delete(
    "/{plan_id}/components/{component_id}",
    status_code=204,
    summary="Remove a price component from a plan",
    responses=responses(404, 422),
)
def remove_component(plan_id: PlanId, component_id: ComponentId, session: SessionDep, clock: ClockDep) -> None:
    """404 if the component does not exist or belongs to another plan. Invoices already issued keep their lines."""
    service.remove_component(session, plan_id, component_id, clock=clock)
