"""The rules of plans and their price components that JSON Schema cannot state (see :mod:`tests.fuzz.hooks`).

The pricing and charge-option checks are the service's own pure validators (:func:`fubble.pricing.models.
parse_pricing`, :func:`fubble.pricing.charges.parse_options`), applied to the numbers as the server reads them.
"""

from __future__ import annotations

from typing import Any

from schemathesis.generation.case import Case

from fubble.errors import InvalidInput
from fubble.pricing.charges import NO_EVENTS, parse_options
from fubble.pricing.models import parse_pricing
from tests.fuzz.hook_support import as_read, cut_to_places, get, metric

_TIERS = [{"start": 0, "end": 1000, "price": 0.01}, {"start": 1000, "end": None, "price": 0.005}]
VALID_DETAILS: dict[str, dict[str, Any]] = {
    "flat": {"amount": 10},
    "subscription": {"amount": 10},
    "tiered": {"tiers": _TIERS},
    "volume": {"tiers": _TIERS},
    "package": {"package_size": 100, "package_price": 5},
    "usage_based_subscription": {"base_fee": 10, "usage_price": 0.01},
    "time_based": {"rate_per_unit": 0.5, "unit": "hour"},
    "dynamic": {"formula": "usage * base_rate", "base_rate": 0.15},
    "percentage": {"rate": 1.5, "fixed_amount": 0.25},
    "graduated_percentage": {"tiers": [{"start": 0, "end": 1000, "rate": 2}, {"start": 1000, "end": None, "rate": 1}]},
    "event_amount": {"amount_property": "amount"},
}


def _components(case: Case) -> list[Any]:
    """The price components a case's body gives: the body itself for a component's operation, else the plan's
    ``price_components``."""
    body = case.body
    if "/components" in case.operation.path:
        return [body]
    found = body.get("price_components") if isinstance(body, dict) else None
    return found if isinstance(found, list) else []


def _valid(pricing_type: object, details: object) -> bool:
    if not isinstance(pricing_type, str):
        return False
    try:
        parse_pricing(pricing_type, as_read(details))
    except InvalidInput:
        return False
    return True


def _details_valid(component: dict[str, Any], pricing_type: object) -> None:
    """The component's own ``pricing_details`` and each filter's, valid for ``pricing_type`` (a valid example replaces
    details that are not); then the filters the options check refuses together (two naming the same properties and
    values) are left out, one by one."""
    if pricing_type not in VALID_DETAILS:
        return
    if "pricing_details" in component and not _valid(pricing_type, component["pricing_details"]):
        component["pricing_details"] = dict(VALID_DETAILS[pricing_type])
    filters = component.get("filters")
    if not isinstance(filters, list):
        return
    kept: list[Any] = []
    for item in filters:
        # schema gap (in part): ChargeFilterDoc.pricing_details could declare its values as JsonValue (numbers within
        # 1e-40..1e41, as the filters' validator refuses anywhere in them); validity for the type stays a rule.
        if isinstance(item, dict) and not _valid(pricing_type, item.get("pricing_details")):
            item["pricing_details"] = dict(VALID_DETAILS[pricing_type])
        try:
            parse_options(pricing_type, {"filters": as_read([*kept, item])})
        except InvalidInput:
            continue
        kept.append(item)
    component["filters"] = kept


def pricing_valid(case: Case) -> None:
    """Rules (POST /plans/, PUT /plans/{plan_id}, POST /plans/{plan_id}/components): ``pricing_details`` are valid
    for ``pricing_type`` (the keys of the type, tiers contiguous from 0, a formula that compiles, a percentage's
    minimum not above its maximum); so are the ``pricing_details`` of each charge filter (for the component's type),
    and no two filters name the same properties with the same values. Invalid details are replaced by a valid
    example; a filter repeating an earlier one is left out."""
    for component in _components(case):
        if isinstance(component, dict):
            _details_valid(component, component.get("pricing_type"))


def metrics_priced_once(case: Case) -> None:
    """Rule (POST /plans/, PUT /plans/{plan_id}): each metric_name appears once in a plan; later components pricing
    it again are left out."""
    body = case.body
    components = body.get("price_components") if isinstance(body, dict) else None
    if not isinstance(body, dict) or not isinstance(components, list):
        return
    seen: set[object] = set()
    kept = []
    for component in components:
        name = component.get("metric_name") if isinstance(component, dict) else None
        if name is None or name not in seen:
            kept.append(component)
        seen.add(name)
    body["price_components"] = kept


def _recurring(case: Case, name: object) -> bool:
    return metric(case, name).get("recurring") is True


def prorated_needs_recurring(case: Case) -> None:
    """Rule (POST /plans/, PUT /plans/{plan_id}, POST /plans/{plan_id}/components): a component is ``prorated`` only
    when its metric is defined with ``recurring: true`` (read over the API); otherwise ``prorated`` becomes false."""
    for component in _components(case):
        prorated = isinstance(component, dict) and component.get("prorated") is True
        if prorated and not _recurring(case, component.get("metric_name")):
            component["prorated"] = False


def _plan(case: Case) -> dict[str, Any]:
    found = get(case, f"/plans/{(case.path_parameters or {}).get('plan_id')}")
    return found if isinstance(found, dict) else {}


def _amounts_in(case: Case, currency: object) -> None:
    """The plan's ``minimum_commitment`` and every component's ``min_amount`` cut to ``currency``'s places."""
    body = case.body
    if isinstance(body, dict) and "minimum_commitment" in body:
        body["minimum_commitment"] = cut_to_places(body["minimum_commitment"], currency)
    for component in _components(case):
        if isinstance(component, dict) and "min_amount" in component:
            component["min_amount"] = cut_to_places(component["min_amount"], currency)


def plan_amounts_in_currency(case: Case) -> None:
    """Rule (POST /plans/): with a plan ``currency``, ``minimum_commitment`` and each component's ``min_amount`` have
    at most its decimal places (0 for JPY); they are cut down to them."""
    if isinstance(case.body, dict):
        _amounts_in(case, case.body.get("currency"))


def _same_currency(a: object, b: object) -> bool:
    return str(a).upper() == str(b).upper()


def _fits(amount: object, currency: object) -> bool:
    return amount is None or cut_to_places(amount, currency) is amount


def plan_update_in_currency(case: Case) -> None:
    """Rules (PUT /plans/{plan_id}): the plan's amounts have at most the decimal places of its currency, the one the
    body gives or else the stored one: the body's ``minimum_commitment`` and ``min_amount`` are cut to them. A new
    currency must also suit the stored amounts the body keeps: a stored ``minimum_commitment`` that does not is sent
    cut down; a body keeping stored components whose ``min_amount`` does not fit keeps the stored currency."""
    body = case.body
    if not isinstance(body, dict):
        return
    stored = _plan(case)
    currency = body["currency"] if "currency" in body else stored.get("currency")
    _amounts_in(case, currency)
    if currency is None or _same_currency(currency, stored.get("currency")):
        return
    if "minimum_commitment" not in body and not _fits(stored.get("minimum_commitment"), currency):
        body["minimum_commitment"] = cut_to_places(stored["minimum_commitment"], currency)
    kept = [] if "price_components" in body else stored.get("price_components") or ()
    if not all(_fits(component.get("min_amount"), currency) for component in kept):
        body.pop("currency")


def _stored_component(plan: dict[str, Any], component_id: object) -> dict[str, Any]:
    for component in plan.get("price_components") or ():
        if str(component.get("id")) == str(component_id):
            return dict(component)
    return {}


def component_added_in_plan_currency(case: Case) -> None:
    """Rule (POST /plans/{plan_id}/components): ``min_amount`` has at most the decimal places of the plan's stored
    currency (cut down to them)."""
    if isinstance(case.body, dict) and "min_amount" in case.body:
        _amounts_in(case, _plan(case).get("currency"))


def component_change_valid(case: Case) -> None:
    """Rules (PUT /plans/{plan_id}/components/{component_id}): the body changes the stored component, and the result
    is checked as a new one: a new ``pricing_type`` comes with ``pricing_details`` valid for it and vice versa (both
    are sent: the type given, else the stored one, with the details given, else the stored ones, if valid for it, else
    a valid example); filters (given, or else stored) have
    details valid for the resulting type (stored ones that are not are cleared); a fee per period (flat,
    subscription, usage_based_subscription) keeps no stored ``grouped_by`` or ``filters`` (cleared); ``min_amount``
    has at most the plan currency's places (cut down); the result is ``prorated`` only for a recurring metric (else
    ``prorated`` is sent false)."""
    body = case.body
    if not isinstance(body, dict):
        return
    plan = _plan(case)
    stored = _stored_component(plan, (case.path_parameters or {}).get("component_id"))
    if "pricing_type" in body or "pricing_details" in body:
        pricing_type = body.get("pricing_type", stored.get("pricing_type"))
        if pricing_type not in VALID_DETAILS:
            pricing_type = "flat"
        body["pricing_type"] = pricing_type
        if not _valid(pricing_type, body.get("pricing_details", stored.get("pricing_details"))):
            body["pricing_details"] = dict(VALID_DETAILS[pricing_type])
    if not stored:
        return  # a 404: the rest of the body does not matter
    pricing_type = body.get("pricing_type", stored.get("pricing_type"))
    if pricing_type in NO_EVENTS:
        for key in ("grouped_by", "filters"):
            if body.get(key, stored.get(key)) not in (None, []):
                body[key] = None
    elif "filters" in body:
        _details_valid(body, pricing_type)
    elif stored.get("filters") and not all(_valid(pricing_type, f["pricing_details"]) for f in stored["filters"]):
        body["filters"] = None
    if "min_amount" in body:
        _amounts_in(case, plan.get("currency"))
    if body.get("prorated", stored.get("prorated")) is True and not _recurring(case, stored.get("metric_name")):
        body["prorated"] = False
