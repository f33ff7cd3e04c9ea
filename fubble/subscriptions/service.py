"""Subscriptions: a customer's plan over the half-open interval [start_date, end_date).

"Now" is the customer's now (:func:`fubble.test_clocks.now.customer_now`: its test clock's time, else the injected
clock's); ``created_at`` and ``canceled_at`` record the server clock. The status a subscription has at an instant is
:func:`fubble.subscriptions.lifecycle.status_at`'s. Cancelling sets end_date (default now, or the end of the current
period) and canceled_at; a plan change ends the subscription at the change instant and starts its successor there.

A customer subscribes only to plans without a currency or in its own (:func:`require_plan_currency`, called by every
way onto a plan: a new subscription, a plan change, a migration to a plan's latest version), so every invoice has one
currency.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from fubble.clock import Clock
from fubble.customers import service as customers
from fubble.db.models import Customer, Plan, Subscription
from fubble.errors import Conflict, InvalidInput, NotFound
from fubble.plans import repository as plans
from fubble.subscriptions import overrides, repository
from fubble.subscriptions.lifecycle import period_at
from fubble.subscriptions.schemas import BillingAnchor, ChangeEffective, SubscriptionCreate, SubscriptionOut
from fubble.test_clocks.now import customer_now
from fubble.webhooks import outbox, run_events
from fubble.webhooks.event_types import EventType


def create(session: Session, customer_id: int, data: SubscriptionCreate, *, clock: Clock) -> Subscription:
    customer = customers.get(session, customer_id)
    plan = _active_plan(session, data.plan_id)
    require_plan_currency(plan, customer)
    start = data.start_date or customer_now(session, customer, clock)
    if data.end_date is not None and data.end_date <= start:
        raise InvalidInput.at(("body", "end_date"), f"end_date must be after start_date ({_iso(start)})")
    trial_end = _trial_end(data, start)
    price_overrides = overrides.validated(plan, data.price_overrides)
    # Anniversary periods count from the first charged instant; calendar ones ignore the anchor.
    anniversary = data.billing_anchor is BillingAnchor.anniversary
    subscription = Subscription(
        customer_id=customer_id,
        plan_id=plan.id,
        plan_version=plan.version,
        start_date=start,
        end_date=data.end_date,
        billing_anchor=data.billing_anchor.value,
        period_anchor=trial_end if trial_end is not None and anniversary else start,
        trial_end=trial_end,
        cancel_at_period_end=False,
        price_overrides=price_overrides or None,
        canceled_at=None,
        created_at=clock.now(),
    )
    session.add(subscription)
    session.flush()
    outbox.emit(
        session, EventType.SUBSCRIPTION_CREATED, lambda: _out(session, subscription, customer, clock), at=clock.now()
    )
    return subscription


def _trial_end(data: SubscriptionCreate, start: datetime) -> datetime | None:
    if data.trial_days is not None and data.trial_end is not None:
        raise InvalidInput.at(("body", "trial_end"), "give trial_days or trial_end, not both")
    if data.trial_days is not None:
        return start + timedelta(days=data.trial_days)
    if data.trial_end is not None and data.trial_end <= start:
        raise InvalidInput.at(("body", "trial_end"), f"trial_end must be after start_date ({_iso(start)})")
    return data.trial_end


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
    customer = customers.get(session, customer_id)
    active_at = customer_now(session, customer, clock) if active_only else None
    return repository.list_for_customer(session, customer_id, active_at=active_at, limit=limit, offset=offset)


def cancel(
    session: Session,
    customer_id: int,
    subscription_id: int,
    end_date: datetime | None,
    *,
    clock: Clock,
    at_period_end: bool = False,
) -> Subscription:
    """End the subscription at ``end_date`` (default the customer's now; may be in the past or the future), or with
    ``at_period_end`` at the end of the period containing the customer's now (the trial's end during a trial; the
    first period's end while the subscription is scheduled).

    422 if end_date is not after start_date, or given with at_period_end; 409 if the subscription has already ended,
    or if an invoice already bills the subscription in arrears beyond end_date (void that invoice first).
    """
    subscription = get(session, customer_id, subscription_id, for_update=True)
    customer = _customer_of(session, subscription)
    now = customer_now(session, customer, clock)
    if at_period_end:
        if end_date is not None:
            raise InvalidInput.at(("end_date",), "give end_date or at_period_end, not both")
        end = period_at(subscription, customer.timezone, max(now, subscription.start_date))[1]
    else:
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
    subscription.cancel_at_period_end = at_period_end
    subscription.canceled_at = clock.now()
    subscription.next_due_at = None  # billing runs look at it again (its end may credit paid-ahead time)
    session.flush()
    outbox.emit(
        session, EventType.SUBSCRIPTION_CANCELED, lambda: _out(session, subscription, customer, clock), at=clock.now()
    )
    if end <= now:  # over already: announced now (billing runs look at the ends since their previous run)
        run_events.announce_end(session, subscription, at=clock.now(), customer_now=now)
    return subscription


def change_plan(
    session: Session,
    subscription: Subscription,
    *,
    plan_id: int,
    effective: str,
    at: datetime | None,
    clock: Clock,
) -> Subscription:
    """End ``subscription`` at the change instant and return its successor on ``plan_id``'s latest version.

    The instant is ``at`` (default the customer's now) for ``effective="now"``, or the end of the period containing
    ``at`` for ``"period_end"`` (the trial's end during a trial). The successor starts there with
    ``previous_subscription_id`` = the old id, the same billing_anchor and period_anchor (periods keep their dates),
    the trial's end if it is still ahead, the old end_date if it is after the instant (with its cancel, if it was
    one). ``plan_id`` may be the subscription's own plan: it then moves to the latest version, keeping the negotiated
    prices (``price_overrides``) of the metrics that version still prices; a change to another plan drops them.

    404 unknown plan; 409 inactive plan, a plan in another currency than the customer's, a subscription that has
    ended by the instant or starts at or after it, or an instant inside time already invoiced in arrears (void those
    invoices first); 422 an unknown ``effective``.
    """
    customer = _customer_of(session, subscription)
    plan = _active_plan(session, plan_id)
    require_plan_currency(plan, customer)
    reference = at or customer_now(session, customer, clock)
    if effective == ChangeEffective.now:
        instant = reference
    elif effective == ChangeEffective.period_end:
        instant = period_at(subscription, customer.timezone, reference)[1]
    else:
        raise InvalidInput.at(("body", "effective"), f"effective must be 'now' or 'period_end', not {effective!r}")
    old_end = subscription.end_date
    if old_end is not None and old_end <= instant:
        raise Conflict(f"subscription {subscription.id} ends at {_iso(old_end)}, by the change at {_iso(instant)}")
    if subscription.start_date >= instant:
        raise Conflict(
            f"subscription {subscription.id} starts at {_iso(subscription.start_date)}, not before the change at "
            f"{_iso(instant)}; cancel it or change its plan once it has started"
        )
    billed = repository.billed_until(session, subscription.id)
    if billed is not None and instant < billed:
        raise Conflict(
            f"subscription {subscription.id} is invoiced until {_iso(billed)}, after the change at {_iso(instant)}; "
            "void those invoices first"
        )
    carried = old_end is not None and old_end > instant
    successor = Subscription(
        customer_id=subscription.customer_id,
        plan_id=plan.id,
        plan_version=plan.version,
        start_date=instant,
        end_date=old_end if carried else None,
        billing_anchor=subscription.billing_anchor,
        period_anchor=subscription.period_anchor,
        trial_end=subscription.trial_end
        if subscription.trial_end is not None and subscription.trial_end > instant
        else None,
        cancel_at_period_end=subscription.cancel_at_period_end if carried else False,
        previous_subscription_id=subscription.id,
        price_overrides=_kept_overrides(subscription, plan),
        canceled_at=subscription.canceled_at if carried else None,
        created_at=clock.now(),
    )
    subscription.end_date = instant
    subscription.cancel_at_period_end = False
    subscription.canceled_at = clock.now()
    subscription.next_due_at = None  # billing runs look at it again (its end may credit paid-ahead time)
    session.add(successor)
    session.flush()
    outbox.emit(
        session, EventType.SUBSCRIPTION_CHANGED, lambda: _out(session, successor, customer, clock), at=clock.now()
    )
    return successor


def _out(session: Session, subscription: Subscription, customer: Customer, clock: Clock) -> SubscriptionOut:
    """The subscription as the API returns it (at its customer's now), for webhook messages."""
    return SubscriptionOut.of(subscription, now=customer_now(session, customer, clock), timezone=customer.timezone)


def _kept_overrides(subscription: Subscription, plan: Plan) -> list[dict[str, Any]] | None:
    """The negotiated prices a plan change keeps: those of metrics the latest version still prices, when the
    subscription moves to a newer version of its own plan (a migration); none on another plan."""
    if plan.id != subscription.plan_id or not subscription.price_overrides:
        return None
    priced = {component.metric_name for component in plan.price_components}
    kept = [override for override in subscription.price_overrides if override.get("metric_name") in priced]
    return kept or None


def require_plan_currency(plan: Plan, customer: Customer) -> None:
    """:class:`Conflict` unless the customer may subscribe to the plan: the plan has no currency (it bills in the
    customer's) or the customer's."""
    if plan.currency is not None and plan.currency != customer.currency:
        raise Conflict(
            f"plan {plan.id} is priced in {plan.currency} and customer {customer.id} is billed in {customer.currency}; "
            "a customer subscribes only to plans in its own currency (or without one)"
        )


def _customer_of(session: Session, subscription: Subscription) -> Customer:
    customer = session.get(Customer, subscription.customer_id)
    assert customer is not None  # a foreign key
    return customer


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
