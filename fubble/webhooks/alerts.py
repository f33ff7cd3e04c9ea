"""Usage alerts: ``usage.threshold_reached``, once per billing period, when a customer's usage of a metric in the
period reaches a threshold, or the period's charges for the metric reach a percent of the plan's commitment.

* An alert names a known metric (defined, or priced by a plan) and exactly one of ``threshold`` (a quantity of the
  metric, compared with the period's usage so far, by the metric's aggregation) and ``percent_of_commitment`` (of the
  ``minimum_commitment`` of the subscription's plan, compared with the period's charges for the metric so far, as the
  upcoming invoice prices them; a plan without a commitment never fires it).
* The period is the current billing period (the trial, during a trial) of the customer's subscription active now
  (the customer's now: its test clock's time, if it has one) whose plan prices the metric, else of its first active
  subscription; a customer without an active subscription has no period, and its alerts wait.
* The delivery worker evaluates the alerts every ``FUBBLE_USAGE_ALERT_INTERVAL_SECONDS`` (one process at a time,
  through the ``usage_alerts`` lease), only while some endpoint subscribes to ``usage.threshold_reached``; ingestion
  never does. A firing is recorded per alert and period start (``usage_alert_firings``, unique), in the transaction
  that writes its message, so it fires once per period however many workers look.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fubble.billing.preview import upcoming_invoice
from fubble.billing.repository import subscriptions_in
from fubble.clock import Clock
from fubble.config import Settings
from fubble.customers import service as customers
from fubble.db.models import Customer, Subscription, UsageAlert, UsageAlertFiring
from fubble.db.session import Database
from fubble.errors import InvalidInput, NotFound
from fubble.events.service import unknown_metric
from fubble.metrics.repository import known_metric_names
from fubble.subscriptions.lifecycle import period_at
from fubble.test_clocks.now import customer_now
from fubble.usage.definitions import resolve
from fubble.usage.reader import usage
from fubble.webhooks import outbox
from fubble.webhooks.event_types import EventType
from fubble.webhooks.schemas import UsageAlertCreate

_MICROSECOND = timedelta(microseconds=1)
_LOOKBACK = timedelta(days=400)  # firings older than the longest period cannot be of a current period


def create(session: Session, customer_id: int, data: UsageAlertCreate, *, clock: Clock) -> UsageAlert:
    """404 unknown customer; 422 a null field, not exactly one of threshold and percent_of_commitment, or an
    unknown metric."""
    customers.get(session, customer_id)
    for name in ("threshold", "percent_of_commitment"):
        if name in data.model_fields_set and getattr(data, name) is None:
            raise InvalidInput.at(("body", name), f"{name} cannot be null; leave it out")
    if (data.threshold is None) == (data.percent_of_commitment is None):
        raise InvalidInput.at(("body",), "give exactly one of threshold and percent_of_commitment")
    known = known_metric_names(session)
    if data.metric_name not in known:
        raise InvalidInput.at(("body", "metric_name"), unknown_metric(data.metric_name, known))
    row = UsageAlert(
        customer_id=customer_id,
        metric_name=data.metric_name,
        threshold=data.threshold,
        percent_of_commitment=data.percent_of_commitment,
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    return row


def list_for_customer(session: Session, customer_id: int, *, limit: int, offset: int) -> list[UsageAlert]:
    customers.get(session, customer_id)
    query = select(UsageAlert).where(UsageAlert.customer_id == customer_id).order_by(UsageAlert.id)
    return list(session.scalars(query.limit(limit).offset(offset)))


def delete_alert(session: Session, customer_id: int, alert_id: int) -> None:
    customers.get(session, customer_id)
    row = session.get(UsageAlert, alert_id)
    if row is None or row.customer_id != customer_id:
        raise NotFound(f"usage alert {alert_id} not found for customer {customer_id}")
    session.execute(delete(UsageAlertFiring).where(UsageAlertFiring.alert_id == alert_id))
    session.delete(row)
    session.flush()


# --- evaluation -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Crossing:
    alert_id: int
    period: tuple[datetime, datetime]
    value: Decimal
    data: dict[str, Any]


def evaluate(db: Database, clock: Clock, settings: Settings) -> int:
    """Fire every alert whose current period reached its threshold and has not fired; the number fired. Reads in a
    read session, then writes the firings and their messages in one short transaction."""
    read = db.session(write=False)
    try:
        if not outbox.subscribers(read, EventType.USAGE_THRESHOLD_REACHED):
            return 0
        crossings = crossings_now(read, clock, settings)
    finally:
        read.close()
    if not crossings:
        return 0
    fired = 0
    with db.transaction() as session:
        now = clock.now()
        session.info.update(actor="usage alerts", now=now)
        for crossing in crossings:
            taken = session.scalar(
                select(UsageAlertFiring.id).where(
                    UsageAlertFiring.alert_id == crossing.alert_id, UsageAlertFiring.period_start == crossing.period[0]
                )
            )
            if taken is not None or session.get(UsageAlert, crossing.alert_id) is None:
                continue
            firing = UsageAlertFiring(
                alert_id=crossing.alert_id,
                period_start=crossing.period[0],
                period_end=crossing.period[1],
                value=crossing.value,
                fired_at=now,
            )
            session.add(firing)
            outbox.emit(session, EventType.USAGE_THRESHOLD_REACHED, crossing.data, at=now)
            fired += 1
    return fired


def crossings_now(session: Session, clock: Clock, settings: Settings) -> list[Crossing]:
    """The alerts whose current period reached their threshold and that have not fired for it."""
    alerts = list(session.scalars(select(UsageAlert).order_by(UsageAlert.customer_id, UsageAlert.id)))
    if not alerts:
        return []
    fired = {
        (alert_id, start)
        for alert_id, start in session.execute(
            select(UsageAlertFiring.alert_id, UsageAlertFiring.period_start).where(
                UsageAlertFiring.period_start >= clock.now() - _LOOKBACK
            )
        )
    }
    by_customer: dict[int, list[UsageAlert]] = defaultdict(list)
    for alert in alerts:
        by_customer[alert.customer_id].append(alert)
    crossings: list[Crossing] = []
    for customer_id, its_alerts in by_customer.items():
        customer = session.get(Customer, customer_id)
        if customer is None:
            continue
        now = customer_now(session, customer, clock)
        active = subscriptions_in(session, customer_id, now, now + _MICROSECOND)
        if not active:
            continue
        charges: dict[str, Decimal] | None = None
        for alert in its_alerts:
            subscription = _subscription_for(active, alert.metric_name)
            period = period_at(subscription, customer.timezone, now)
            if (alert.id, period[0]) in fired:
                continue
            if alert.threshold is not None:
                usage = _usage(session, customer_id, alert.metric_name, period, now)
                if usage >= alert.threshold:
                    crossings.append(_crossing(alert, subscription, period, usage, usage=usage))
                continue
            commitment = subscription.plan.minimum_commitment
            if not commitment or alert.percent_of_commitment is None:
                continue
            if charges is None:
                charges = _charges(session, customer_id, clock, settings)
            charged = charges.get(alert.metric_name, Decimal(0))
            if charged * 100 >= commitment * alert.percent_of_commitment:
                crossings.append(_crossing(alert, subscription, period, charged, charges=charged))
    return crossings


def _subscription_for(active: list[Subscription], metric_name: str) -> Subscription:
    for subscription in active:
        if any(c.metric_name == metric_name for c in subscription.plan.price_components):
            return subscription
    return active[0]


def _usage(
    session: Session, customer_id: int, metric_name: str, period: tuple[datetime, datetime], now: datetime
) -> Decimal:
    definition = resolve(session, [metric_name])[metric_name]
    return usage(session, customer_id, definition, period[0], min(now, period[1]), period=period[1] - period[0])


def _charges(session: Session, customer_id: int, clock: Clock, settings: Settings) -> dict[str, Decimal]:
    """The customer's charges so far in its current periods, per metric (the upcoming invoice's lines)."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for item in upcoming_invoice(session, customer_id, clock=clock, settings=settings).items:
        if item.metric_name is not None:
            totals[item.metric_name] += item.amount
    return dict(totals)


def _crossing(
    alert: UsageAlert,
    subscription: Subscription,
    period: tuple[datetime, datetime],
    value: Decimal,
    *,
    usage: Decimal | None = None,
    charges: Decimal | None = None,
) -> Crossing:
    data = {
        "alert_id": alert.id,
        "customer_id": alert.customer_id,
        "metric_name": alert.metric_name,
        "threshold": alert.threshold,
        "percent_of_commitment": alert.percent_of_commitment,
        "minimum_commitment": subscription.plan.minimum_commitment if charges is not None else None,
        "subscription_id": subscription.id,
        "period_start": period[0],
        "period_end": period[1],
        "usage": usage,
        "charges": charges,
    }
    return Crossing(alert.id, period, value, data)
