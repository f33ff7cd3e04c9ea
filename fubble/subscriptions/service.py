"""Subscriptions: a customer's plan over the half-open interval [start_date, end_date).

"Now" is the injected clock's. A subscription is *scheduled* before its start, *active* from start_date until
end_date, and *ended* from end_date on. Cancelling sets end_date (default now) and canceled_at.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from fubble.clock import Clock
from fubble.customers import service as customers
from fubble.db.models import Plan, Subscription
from fubble.errors import Conflict, InvalidInput, NotFound
from fubble.plans import repository as plans
from fubble.subscriptions import repository
from fubble.subscriptions.schemas import SubscriptionCreate


def create(session: Session, customer_id: int, data: SubscriptionCreate, *, clock: Clock) -> Subscription:
    customers.get(session, customer_id)
    plan = _active_plan(session, data.plan_id)
    now = clock.now()
    start = data.start_date or now
    if data.end_date is not None and data.end_date <= start:
        raise InvalidInput.at(("body", "end_date"), f"end_date must be after start_date ({_iso(start)})")
    subscription = Subscription(
        customer_id=customer_id,
        plan_id=plan.id,
        start_date=start,
        period_anchor=start,
        end_date=data.end_date,
        canceled_at=None,
        created_at=now,
    )
    session.add(subscription)
    session.flush()
    return subscription


def get(session: Session, customer_id: int, subscription_id: int, *, for_update: bool = False) -> Subscription:
    """The subscription, which must belong to the customer (a subscription of another customer is not found)."""
    customers.get(session, customer_id)
    subscription = repository.get(session, subscription_id, for_update=for_update)
    if subscription is None or subscription.customer_id != customer_id:
        raise NotFound(f"subscription {subscription_id} not found for customer {customer_id}")
    return subscription


def list_for_customer(
    session: Session, customer_id: int, *, active_only: bool, clock: Clock, limit: int, offset: int
) -> list[Subscription]:
    customers.get(session, customer_id)
    active_at = clock.now() if active_only else None
    return repository.list_for_customer(session, customer_id, active_at=active_at, limit=limit, offset=offset)


def cancel(
    session: Session, customer_id: int, subscription_id: int, end_date: datetime | None, *, clock: Clock
) -> Subscription:
    """End the subscription at ``end_date`` (default now; may be in the past or the future).

    422 if end_date is not after start_date; 409 if the subscription has already ended, or if an invoice (not void)
    already bills the subscription beyond end_date (void that invoice first).
    """
    subscription = get(session, customer_id, subscription_id, for_update=True)
    now = clock.now()
    end = end_date or now
    if end <= subscription.start_date:
        raise InvalidInput.at(("end_date",), f"end_date must be after start_date ({_iso(subscription.start_date)})")
    if subscription.end_date is not None and subscription.end_date <= now:
        raise Conflict(f"subscription {subscription.id} already ended at {_iso(subscription.end_date)}")
    billed = repository.billed_until(session, subscription.id)
    if billed is not None and end < billed:
        raise Conflict(
            f"subscription {subscription.id} is invoiced until {_iso(billed)}; "
            "void those invoices before ending it earlier"
        )
    subscription.end_date = end
    subscription.canceled_at = now
    session.flush()
    return subscription


def _active_plan(session: Session, plan_id: int) -> Plan:
    # FOR SHARE: a concurrent deactivation or billing-frequency change waits for this subscription (or vice versa).
    plan = plans.get(session, plan_id, for_share=True)
    if plan is None:
        raise NotFound(f"plan {plan_id} not found")
    if not plan.is_active:
        raise Conflict(f"plan {plan_id} is inactive and accepts no new subscriptions")
    return plan


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
