"""HTTP routes of a customer's subscriptions. "Now" is the customer's now: its test clock's time, if it has one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, TypeVar

from fastapi import Body, Query
from sqlalchemy.orm import Session

from fubble.api.deps import ClockDep, CustomerId, PageDep, SessionDep, id_path
from fubble.api.fields import UTCTime
from fubble.api.routing import new_router
from fubble.clock import Clock
from fubble.customers import service as customers
from fubble.db.models import Subscription
from fubble.errors import InvalidInput
from fubble.errors_doc import responses
from fubble.subscriptions import service
from fubble.subscriptions.schemas import SubscriptionCancel, SubscriptionChange, SubscriptionCreate, SubscriptionOut
from fubble.test_clocks.now import customer_now

router = new_router("/customers", tag="subscriptions")

SubscriptionId = Annotated[int, id_path("The subscription's id")]


def _out(
    session: Session, clock: Clock, customer_id: int, subscriptions: Sequence[Subscription]
) -> list[SubscriptionOut]:
    """The subscriptions as their customer sees them: at its now, in its time zone."""
    customer = customers.get(session, customer_id)
    now = customer_now(session, customer, clock)
    return [SubscriptionOut.of(s, now=now, timezone=customer.timezone) for s in subscriptions]


@router.post(
    "/{customer_id}/subscriptions", summary="Subscribe a customer to a plan", responses=responses(404, 409, 422)
)
def create_subscription(
    customer_id: CustomerId, body: SubscriptionCreate, session: SessionDep, clock: ClockDep
) -> SubscriptionOut:
    """Returns 200 with the subscription, billed at the plan's latest version. `start_date` defaults to the
    customer's now (its test clock's time, if it has one); `end_date` null means ongoing and must otherwise be after
    `start_date` (422). A trial is `trial_days` (1-730 days of 24 hours from the start) or `trial_end` (after
    `start_date`), not both (422); anniversary periods then count from the trial's end. Each of `price_overrides`
    must name a metric the plan's latest version prices, at most once, with `pricing_details` valid for its
    `pricing_type` (default: that component's), else 422 at `body.price_overrides.N`. 404 for an unknown customer or
    plan; 409 if the plan is inactive or has a `currency` other than the customer's.

    `status`, from the customer's now, is the first that applies: `ended` (end_date <= now), `scheduled` (start_date
    > now), `canceled` (canceled, ending in the future), `trialing` (now < trial_end), `active`.
    `current_period_start`/`current_period_end` are the trial during a trial, else the billing period containing
    now (in the customer's time zone); null when scheduled or ended."""
    subscription = service.create(session, customer_id, body, clock=clock)
    return _out(session, clock, customer_id, [subscription])[0]


@router.get(
    "/{customer_id}/subscriptions", summary="List a customer's subscriptions (by id)", responses=responses(404, 422)
)
def list_subscriptions(
    customer_id: CustomerId,
    session: SessionDep,
    clock: ClockDep,
    page: PageDep,
    active_only: Annotated[
        bool,
        Query(description="Only those with start_date <= now < end_date (or no end), now being the customer's now."),
    ] = False,
) -> list[SubscriptionOut]:
    """Statuses and current periods as of the customer's now (see creating a subscription)."""
    subscriptions = service.list_for_customer(
        session, customer_id, active_only=active_only, clock=clock, limit=page.limit, offset=page.offset
    )
    return _out(session, clock, customer_id, subscriptions)


@router.get(
    "/{customer_id}/subscriptions/{subscription_id}", summary="Get a subscription", responses=responses(404, 422)
)
def get_subscription(
    customer_id: CustomerId, subscription_id: SubscriptionId, session: SessionDep, clock: ClockDep
) -> SubscriptionOut:
    """Status and current period as of the customer's now (see creating a subscription)."""
    return _out(session, clock, customer_id, [service.get(session, customer_id, subscription_id)])[0]


@router.put(
    "/{customer_id}/subscriptions/{subscription_id}/cancel",
    summary="Cancel a subscription",
    responses=responses(404, 409, 422),
)
def cancel_subscription(
    customer_id: CustomerId,
    subscription_id: SubscriptionId,
    session: SessionDep,
    clock: ClockDep,
    end_date: Annotated[
        UTCTime | None, Query(description="When it ends (exclusive); defaults to the customer's now.")
    ] = None,
    at_period_end: Annotated[
        bool | None,
        Query(
            description="true: end at the end of the billing period containing the customer's now (the trial's end "
            "during a trial); not with end_date."
        ),
    ] = None,
    body: Annotated[
        SubscriptionCancel | None, Body(description='Alternatively `{"end_date": ...}` or `{"at_period_end": true}`.')
    ] = None,
) -> SubscriptionOut:
    """Ends the subscription at `end_date` (default: the customer's now, its test clock's time if it has one), or,
    with `at_period_end: true`, at the end of the billing period containing the customer's now (during a trial: at
    `trial_end`), setting `cancel_at_period_end`. Each may be a query parameter or in the JSON body (both copies
    must agree); `end_date` with `at_period_end: true` is a 422. The end must be after start_date (422). Sets
    `canceled_at`. 404 if the subscription is not this customer's; 409 if it has already ended or an invoice that is
    not void bills it in arrears beyond the end (fees billed in advance do not block a cancel: they are credited)."""
    end = _agreed("end_date", end_date, body.end_date if body is not None else None)
    at_end = _agreed("at_period_end", at_period_end, body.at_period_end if body is not None else None)
    subscription = service.cancel(session, customer_id, subscription_id, end, clock=clock, at_period_end=bool(at_end))
    return _out(session, clock, customer_id, [subscription])[0]


T = TypeVar("T", datetime, bool)


def _agreed(name: str, from_query: T | None, from_body: T | None) -> T | None:
    if from_query is not None and from_body is not None and from_query != from_body:
        raise InvalidInput.at(("query", name), f"{name} given twice (query and body) with different values")
    return from_query if from_query is not None else from_body


@router.post(
    "/{customer_id}/subscriptions/{subscription_id}/change",
    summary="Change a subscription's plan",
    responses=responses(404, 409, 422),
)
def change_subscription(
    customer_id: CustomerId,
    subscription_id: SubscriptionId,
    body: SubscriptionChange,
    session: SessionDep,
    clock: ClockDep,
) -> SubscriptionOut:
    """Returns 200 with the NEW subscription. The change instant is `at` (default: the customer's now) with
    `effective: now`, or the end of the billing period containing `at` (during a trial: `trial_end`) with
    `effective: period_end`. The subscription ends at that instant (its `end_date`; `canceled_at` is set) and a new
    one starts there on `plan_id` at the plan's latest version (the same plan moves to its latest version), with
    `previous_subscription_id` set, the same `billing_anchor` and billing-period dates, the trial if it is still
    running, the old `end_date` if it is later, and no price overrides. 404 for an unknown customer, subscription or
    plan; 409 if the plan is inactive or has a `currency` other than the customer's, the subscription has ended by
    the instant or does not start before it, or an invoice that is not void bills it in arrears beyond the instant
    (void those invoices first)."""
    subscription = service.get(session, customer_id, subscription_id, for_update=True)
    successor = service.change_plan(
        session, subscription, plan_id=body.plan_id, effective=body.effective, at=body.at, clock=clock
    )
    return _out(session, clock, customer_id, [successor])[0]
