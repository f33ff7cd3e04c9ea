"""``/plans``: plans, their price components and versions, migrating subscribers, previews."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter

from fubble.billing.preview_schemas import UpcomingInvoiceOut
from fubble.client._call import Call, given, page, segment
from fubble.plans.migration import PlanMigrationOut
from fubble.plans.schemas import PlanOut, PlanVersionOut, PriceComponentOut

ONE = TypeAdapter(PlanOut)
MANY = TypeAdapter(list[PlanOut])
COMPONENT = TypeAdapter(PriceComponentOut)
VERSIONS = TypeAdapter(list[PlanVersionOut])
MIGRATION = TypeAdapter(PlanMigrationOut)
PREVIEW = TypeAdapter(UpcomingInvoiceOut)
NOTHING = TypeAdapter(type(None))


def create(
    name: str, billing_frequency: str, price_components: Sequence[Mapping[str, Any]] = (), **fields: Any
) -> Call[PlanOut]:
    """Create a plan (version 1) with its price components, each ``{"metric_name", "pricing_type",
    "pricing_details", ...}``. Other fields: ``description``, ``currency``, ``minimum_commitment``,
    ``fees_in_advance``."""
    body = {"name": name, "billing_frequency": billing_frequency, "price_components": list(price_components)}
    return Call("POST", "/plans/", ONE, body={**body, **fields})


def get(plan_id: int) -> Call[PlanOut]:
    """Get a plan (its latest version's components)."""
    return Call("GET", f"/plans/{segment(plan_id)}", ONE)


def list_(*, active_only: bool = False, limit: int = 100, offset: int = 0) -> Call[list[PlanOut]]:
    """List plans, by id."""
    return Call("GET", "/plans/", MANY, page(limit, offset, active_only=active_only))


def update(plan_id: int, **fields: Any) -> Call[PlanOut]:
    """Change the fields given (``price_components``: the whole new set, which may make a new version)."""
    return Call("PUT", f"/plans/{segment(plan_id)}", ONE, body=fields)


def deactivate(plan_id: int) -> Call[PlanOut]:
    """Accept no new subscriptions on the plan."""
    return Call("PUT", f"/plans/{segment(plan_id)}/deactivate", ONE)


def add_component(
    plan_id: int, metric_name: str, pricing_type: str, pricing_details: Mapping[str, Any], **fields: Any
) -> Call[PriceComponentOut]:
    """Add a price component to the plan."""
    body = {"metric_name": metric_name, "pricing_type": pricing_type, "pricing_details": dict(pricing_details)}
    return Call("POST", f"/plans/{segment(plan_id)}/components", COMPONENT, body={**body, **fields})


def change_component(plan_id: int, component_id: int, **fields: Any) -> Call[PriceComponentOut]:
    """Change a component of the plan's latest version (``pricing_type``, ``pricing_details``, ...)."""
    return Call("PUT", f"/plans/{segment(plan_id)}/components/{segment(component_id)}", COMPONENT, body=fields)


def remove_component(plan_id: int, component_id: int) -> Call[None]:
    """Remove a component from the plan's latest version."""
    return Call("DELETE", f"/plans/{segment(plan_id)}/components/{segment(component_id)}", NOTHING)


def versions(plan_id: int) -> Call[list[PlanVersionOut]]:
    """The plan's versions, oldest first."""
    return Call("GET", f"/plans/{segment(plan_id)}/versions", VERSIONS)


def migrate(plan_id: int, *, effective: str = "now", from_version: int | None = None) -> Call[PlanMigrationOut]:
    """Move the subscribers of older versions to the latest (``effective``: ``now`` or ``period_end``)."""
    body = {"effective": effective, **given(from_version=from_version)}
    return Call("POST", f"/plans/{segment(plan_id)}/migrate", MIGRATION, body=body)


def preview(
    plan_id: int, customer_id: int, *, start_date: datetime | None = None, **fields: Any
) -> Call[UpcomingInvoiceOut]:
    """What the customer would pay for the plan's first period (nothing is written)."""
    body = {"customer_id": customer_id, **given(start_date=start_date), **fields}
    return Call("POST", f"/plans/{segment(plan_id)}/preview", PREVIEW, body=body)
