"""Moving a plan's subscribers from earlier versions to its latest (``POST /plans/{id}/migrate``).

Its request and answer live here, not in :mod:`fubble.plans.schemas`, because the answer holds subscriptions and
:mod:`fubble.subscriptions.schemas` imports :mod:`fubble.plans.schemas`.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from fubble.api.fields import Ref
from fubble.clock import Clock
from fubble.db.models import Customer, Subscription
from fubble.errors import InvalidInput
from fubble.plans import service as plans
from fubble.subscriptions import service as subscriptions
from fubble.subscriptions.lifecycle import period_at
from fubble.subscriptions.schemas import ChangeEffective, SubscriptionOut
from fubble.test_clocks.now import customer_now


class PlanMigrate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    from_version: Ref | None = Field(
        None, description="Move only the subscriptions on this version (below the latest); default: every earlier one."
    )
    effective: ChangeEffective = Field(
        ChangeEffective.now,
        description="now: each subscription changes at its customer's now; period_end: at the end of its billing "
        "period containing that now (the trial's end during a trial).",
    )


class PlanMigrationOut(BaseModel):
    plan_id: int
    to_version: int = Field(description="The plan's latest version, which the subscriptions moved to.")
    migrated: int = Field(description="How many subscriptions moved.")
    subscriptions: list[SubscriptionOut] = Field(
        description="The subscriptions on the latest version that replace the moved ones (by the moved ones' ids)."
    )


def migrate(session: Session, plan_id: int, data: PlanMigrate, *, clock: Clock) -> PlanMigrationOut:
    """Move every subscription of the plan on ``from_version`` (default: any earlier version) that has not ended by
    its customer's now to the latest version, all or none (a subscription that cannot move fails the request).

    A running one goes through :func:`fubble.subscriptions.service.change_plan` (it ends at the change and its
    successor starts there, with ``previous_subscription_id``); one ending by the change (``period_end``) keeps its
    version; one that has not started yet is moved as it is (nothing of it was billed)."""
    plan = plans.get(session, plan_id, for_update=True)
    if data.from_version is not None and data.from_version >= plan.version:
        raise InvalidInput.at(
            ("body", "from_version"),
            f"plan {plan.id} is at version {plan.version}; from_version must be an earlier version (1 to "
            f"{plan.version - 1})"
            if plan.version > 1
            else f"plan {plan.id} has only version 1; nothing to migrate from",
        )
    query = select(Subscription).where(Subscription.plan_id == plan.id).order_by(Subscription.id).with_for_update()
    if data.from_version is not None:
        query = query.where(Subscription.plan_version == data.from_version)
    else:
        query = query.where(Subscription.plan_version < plan.version)
    customers: dict[int, tuple[Customer, datetime]] = {}
    moved: list[tuple[Subscription, Customer, datetime]] = []
    for subscription in list(session.scalars(query)):
        if subscription.customer_id not in customers:
            customer = session.get(Customer, subscription.customer_id)
            assert customer is not None  # a foreign key
            customers[customer.id] = (customer, customer_now(session, customer, clock))
        customer, now = customers[subscription.customer_id]
        if subscription.end_date is not None and subscription.end_date <= now:
            continue
        if subscription.start_date >= now:  # not started: nothing billed, it simply takes the latest version
            subscriptions.require_plan_currency(plan, customer)
            subscription.plan_version = plan.version
            moved.append((subscription, customer, now))
            continue
        if _ends_by_change(subscription, data.effective, customer.timezone, now):
            continue
        successor = subscriptions.change_plan(
            session, subscription, plan_id=plan.id, effective=data.effective.value, at=None, clock=clock
        )
        moved.append((successor, customer, now))
    session.flush()
    return PlanMigrationOut(
        plan_id=plan.id,
        to_version=plan.version,
        migrated=len(moved),
        subscriptions=[SubscriptionOut.of(s, now=now, timezone=customer.timezone) for s, customer, now in moved],
    )


def _ends_by_change(subscription: Subscription, effective: ChangeEffective, timezone: str, now: datetime) -> bool:
    """Whether a running subscription ends by the instant a ``period_end`` change would take effect."""
    if effective is not ChangeEffective.period_end or subscription.end_date is None:
        return False
    return subscription.end_date <= period_at(subscription, timezone, now)[1]
