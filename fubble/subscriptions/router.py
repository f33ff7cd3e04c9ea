"""HTTP routes of a customer's subscriptions."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body, Query

from fubble.api.deps import ClockDep, CustomerId, PageDep, SessionDep, id_path
from fubble.api.fields import UTCTime
from fubble.api.routing import new_router
from fubble.errors import InvalidInput
from fubble.errors_doc import responses
from fubble.subscriptions import service
from fubble.subscriptions.schemas import SubscriptionCancel, SubscriptionCreate, SubscriptionOut

router = new_router("/customers", tag="subscriptions")

SubscriptionId = Annotated[int, id_path("The subscription's id")]


@router.post(
    "/{customer_id}/subscriptions", summary="Subscribe a customer to a plan", responses=responses(404, 409, 422)
)
def create_subscription(
    customer_id: CustomerId, body: SubscriptionCreate, session: SessionDep, clock: ClockDep
) -> SubscriptionOut:
    """Returns 200 with the subscription. `start_date` defaults to now; `end_date` null means ongoing and must
    otherwise be after `start_date` (422). 404 for an unknown customer or plan; 409 if the plan is inactive."""
    subscription = service.create(session, customer_id, body, clock=clock)
    return SubscriptionOut.of(subscription, now=clock.now())


@router.get(
    "/{customer_id}/subscriptions", summary="List a customer's subscriptions (by id)", responses=responses(404, 422)
)
def list_subscriptions(
    customer_id: CustomerId,
    session: SessionDep,
    clock: ClockDep,
    page: PageDep,
    active_only: Annotated[
        bool, Query(description="Only those with start_date <= now < end_date (or no end).")
    ] = False,
) -> list[SubscriptionOut]:
    subscriptions = service.list_for_customer(
        session, customer_id, active_only=active_only, clock=clock, limit=page.limit, offset=page.offset
    )
    now = clock.now()
    return [SubscriptionOut.of(s, now=now) for s in subscriptions]


@router.get(
    "/{customer_id}/subscriptions/{subscription_id}", summary="Get a subscription", responses=responses(404, 422)
)
def get_subscription(
    customer_id: CustomerId, subscription_id: SubscriptionId, session: SessionDep, clock: ClockDep
) -> SubscriptionOut:
    return SubscriptionOut.of(service.get(session, customer_id, subscription_id), now=clock.now())


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
    end_date: Annotated[UTCTime | None, Query(description="When it ends (exclusive); defaults to now.")] = None,
    body: Annotated[SubscriptionCancel | None, Body(description='Alternatively `{"end_date": ...}`.')] = None,
) -> SubscriptionOut:
    """Ends the subscription at `end_date` (query parameter or JSON body, which must agree when both are given;
    default now), which must be after its start_date (422). 404 if the subscription is not this customer's; 409 if
    it has already ended or an invoice that is not void bills it beyond `end_date`."""
    from_body = body.end_date if body is not None else None
    if end_date is not None and from_body is not None and end_date != from_body:
        raise InvalidInput.at(("query", "end_date"), "end_date given twice (query and body) with different values")
    subscription = service.cancel(session, customer_id, subscription_id, end_date or from_body, clock=clock)
    return SubscriptionOut.of(subscription, now=clock.now())
