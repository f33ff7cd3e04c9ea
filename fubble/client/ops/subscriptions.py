"""``/customers/{id}/subscriptions``: subscribe, list, get, cancel, change plan."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import TypeAdapter

from fubble.client._call import Call, given, page, segment
from fubble.subscriptions.schemas import SubscriptionOut

ONE = TypeAdapter(SubscriptionOut)
MANY = TypeAdapter(list[SubscriptionOut])


def _path(customer_id: int, subscription_id: int | None = None) -> str:
    path = f"/customers/{segment(customer_id)}/subscriptions"
    return path if subscription_id is None else f"{path}/{segment(subscription_id)}"


def create(customer_id: int, plan_id: int, **fields: Any) -> Call[SubscriptionOut]:
    """Subscribe the customer to the plan's latest version. Other fields: ``start_date`` (default: the customer's
    now), ``end_date``, ``billing_anchor``, ``trial_days`` or ``trial_end``, ``price_overrides``."""
    return Call("POST", _path(customer_id), ONE, body={"plan_id": plan_id, **fields})


def get(customer_id: int, subscription_id: int) -> Call[SubscriptionOut]:
    """Get one of the customer's subscriptions."""
    return Call("GET", _path(customer_id, subscription_id), ONE)


def list_(
    customer_id: int, *, active_only: bool = False, limit: int = 100, offset: int = 0
) -> Call[list[SubscriptionOut]]:
    """The customer's subscriptions, by id."""
    return Call("GET", _path(customer_id), MANY, page(limit, offset, active_only=active_only))


def cancel(
    customer_id: int,
    subscription_id: int,
    *,
    end_date: datetime | None = None,
    at_period_end: bool | None = None,
) -> Call[SubscriptionOut]:
    """End the subscription at ``end_date`` (default: the customer's now) or, with ``at_period_end=True``, at the
    end of its current period."""
    body = given(end_date=end_date, at_period_end=at_period_end)
    return Call("PUT", f"{_path(customer_id, subscription_id)}/cancel", ONE, body=body)


def change(
    customer_id: int, subscription_id: int, plan_id: int, *, effective: str = "now", at: datetime | None = None
) -> Call[SubscriptionOut]:
    """Move the subscription to ``plan_id`` at ``at`` (``effective="now"``) or at the end of the period containing
    it (``"period_end"``); answers the new subscription."""
    body = {"plan_id": plan_id, "effective": effective, **given(at=at)}
    return Call("POST", f"{_path(customer_id, subscription_id)}/change", ONE, body=body)
