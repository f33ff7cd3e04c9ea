"""HTTP routes of plans and their price components."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from fubble.api.deps import ClockDep, PageDep, SessionDep, id_path
from fubble.api.routing import new_router
from fubble.errors_doc import responses
from fubble.plans import repository, service
from fubble.plans.migration import PlanMigrate, PlanMigrationOut, migrate
from fubble.plans.schemas import (
    PlanCreate,
    PlanOut,
    PlanUpdate,
    PlanVersionOut,
    PriceComponentIn,
    PriceComponentOut,
    PriceComponentUpdate,
)

router = new_router("/plans", tag="plans")

PlanId = Annotated[int, id_path("The plan's id")]
ComponentId = Annotated[int, id_path("The price component's id")]


@router.post("/", status_code=201, summary="Create a plan with its price components", responses=responses(422))
def create_plan(body: PlanCreate, session: SessionDep, clock: ClockDep) -> PlanOut:
    """A new plan is version 1. Each metric_name appears once in a plan. Every component's `pricing_details` is
    checked against its `pricing_type` (its keys; tiers contiguous from 0, only the last open-ended; a formula that
    compiles); if any is invalid the response is a 422 whose `loc` names it
    (`["body", "price_components", 0, "pricing_details", "tiers", 1, "start"]`) and nothing is stored. Numbers are
    stored exactly, in canonical form (`10.00` comes back as `10`).

    A component may carry charge options: `grouped_by` (one line per combination of those event properties),
    `filters` (events matching a filter's `properties` are priced by its `pricing_details`, on a line of their own),
    `min_amount` (a true-up line when the component charges less in a period) and `prorated` (only for a metric
    defined with `recurring: true`: each unit charged for the part of the period it was held). A fee per period
    (`flat`, `subscription`, `usage_based_subscription`) takes no `grouped_by` or `filters`. Every component answer
    has all four (`null`/`false` when not set).

    A plan may have a `currency` (ISO 4217): only customers in it subscribe (409 otherwise); without one it bills in
    each subscriber's currency. `minimum_commitment` is the least a subscription is charged per billing period (a
    true-up line makes up the difference). With a currency, `minimum_commitment` and every `min_amount` have at most
    its decimal places (422) and are answered with exactly them (`10` EUR: `10.00`)."""
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
    """Changes `name`, `description`, `billing_frequency`, `is_active`, `fees_in_advance`, `currency`,
    `minimum_commitment` or `price_components` (the whole new set, checked as in `POST /plans/`; 422 naming the
    component). The billing frequency, `fees_in_advance` and `currency` of a plan that has subscriptions cannot
    change (409; create a new plan). A new currency must express the stored `minimum_commitment` and `min_amount`s
    (422 at `currency`). A change of the
    components while subscriptions are on the plan's latest version makes the next `version`: those subscriptions
    keep the prices of theirs (`GET /plans/{plan_id}/versions`); new subscriptions take the latest. Without such
    subscriptions the latest version is changed in place."""
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
    already prices this metric_name (change or remove that component instead). Makes the plan's next version when
    subscriptions are on its latest one (see `PUT /plans/{plan_id}`)."""
    component = service.add_component(session, plan_id, body, clock=clock)
    return PriceComponentOut.of(component, service.get(session, plan_id).currency)


@router.delete(
    "/{plan_id}/components/{component_id}",
    status_code=204,
    summary="Remove a price component from a plan",
    responses=responses(404, 422),
)
def remove_component(plan_id: PlanId, component_id: ComponentId, session: SessionDep, clock: ClockDep) -> None:
    """404 if the component is not in the plan's latest version. Invoices already issued keep their lines. Makes
    the plan's next version when subscriptions are on its latest one (the component stays in the earlier versions)."""
    service.remove_component(session, plan_id, component_id, clock=clock)


@router.put(
    "/{plan_id}/components/{component_id}",
    summary="Change a price component of a plan",
    responses=responses(404, 422),
)
def change_component(
    plan_id: PlanId, component_id: ComponentId, body: PriceComponentUpdate, session: SessionDep, clock: ClockDep
) -> PriceComponentOut:
    """Changes `display_name`, `pricing_type`, `pricing_details`, `grouped_by`, `filters`, `min_amount` and/or
    `prorated` (at least one) of a component in the plan's latest version (404 otherwise); `null` clears
    `display_name`, `grouped_by`, `filters` or `min_amount`. The result is checked as in `POST /plans/` (422
    naming what is wrong, e.g. `["body", "pricing_details", "tiers", 1, "start"]`; a new `pricing_type` must suit
    the stored filters' details too). When subscriptions are on the plan's latest version, the
    change makes the next version and the answer is the component's new row (a new `id`); the old one keeps pricing
    the earlier versions. Otherwise the component is changed in place (same `id`)."""
    component = service.change_component(session, plan_id, component_id, body, clock=clock)
    return PriceComponentOut.of(component, service.get(session, plan_id).currency)


@router.get("/{plan_id}/versions", summary="List a plan's versions (oldest first)", responses=responses(404, 422))
def list_versions(plan_id: PlanId, session: SessionDep) -> list[PlanVersionOut]:
    """Every version of the plan's price components, from 1 to the plan's `version`, with when it began and the
    components that price it. A subscription is priced by the components of its `plan_version`."""
    versions = service.versions(session, plan_id)
    currency = service.get(session, plan_id).currency
    return [
        PlanVersionOut(
            version=version,
            created_at=created_at,
            price_components=[PriceComponentOut.of(component, currency) for component in components],
        )
        for version, created_at, components in versions
    ]


@router.post(
    "/{plan_id}/migrate",
    summary="Move a plan's subscribers to its latest version",
    responses=responses(404, 409, 422),
)
def migrate_subscribers(plan_id: PlanId, body: PlanMigrate, session: SessionDep, clock: ClockDep) -> PlanMigrationOut:
    """Moves every subscription of the plan on `from_version` (default: every version before the latest) that has not
    ended by its customer's now to the plan's latest version, as
    `POST /customers/{customer_id}/subscriptions/{subscription_id}/change` to the same plan would: the subscription
    ends at the change (`effective`: `now`, its customer's now, or `period_end`, the end of its current billing
    period) and a new one on the latest version starts there, with `previous_subscription_id`, the same billing
    periods and no price overrides. A subscription that ends by the change is left as it is; one that has not started
    yet moves as it is (same id). The answer lists the subscriptions now on the latest version in place of the moved
    ones. 422 if `from_version` is not an earlier version of the plan. All or nothing: 409 if the plan is inactive, a
    subscription cannot change at that instant (it is invoiced beyond it: void those invoices first) or its customer
    is billed in another currency than the plan's."""
    return migrate(session, plan_id, body, clock=clock)
