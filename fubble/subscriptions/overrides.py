"""A subscription's negotiated prices: checked against the plan's latest components, stored canonical."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fubble.db.models import Plan
from fubble.errors import InvalidInput, entry
from fubble.pricing.models import parse_pricing
from fubble.subscriptions.schemas import PriceOverrideIn

Loc = tuple[str | int, ...]
AT: Loc = ("body", "price_overrides")


def validated(plan: Plan, items: Sequence[PriceOverrideIn]) -> list[dict[str, Any]]:
    """The overrides as stored (``{metric_name, pricing_type, pricing_details}``, details in their canonical form),
    or one :class:`InvalidInput` listing every problem, located under ``body.price_overrides.N``.

    Each metric must be priced by the plan's latest version (``plan.price_components``) and overridden at most once;
    ``pricing_type`` defaults to that component's, and ``pricing_details`` must satisfy it exactly as a plan
    component's must (:func:`fubble.pricing.models.parse_pricing`).
    """
    components = {c.metric_name: c for c in plan.price_components}
    errors: list[dict[str, Any]] = []
    stored: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        here: Loc = (*AT, index)
        if item.metric_name in seen:
            errors.append(entry((*here, "metric_name"), f"metric {item.metric_name!r} is overridden twice"))
            continue
        seen.add(item.metric_name)
        component = components.get(item.metric_name)
        if component is None:
            priced = ", ".join(repr(name) for name in components) or "none"
            msg = (
                f"plan {plan.id} (version {plan.version}) does not price metric {item.metric_name!r}; "
                f"its metrics: {priced}"
            )
            errors.append(entry((*here, "metric_name"), msg))
            continue
        pricing_type = item.pricing_type or component.pricing_type
        try:
            model = parse_pricing(pricing_type, item.pricing_details)
        except InvalidInput as exc:
            errors.extend(exc.entries_under(here))
            continue
        stored.append(
            {"metric_name": item.metric_name, "pricing_type": pricing_type, "pricing_details": model.to_json()}
        )
    if errors:
        raise InvalidInput(errors)
    return stored
