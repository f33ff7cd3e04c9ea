"""Schemathesis hooks: the rules JSON Schema cannot state, taught to the generator of *positive* cases.

Loaded by tests/fuzz/test_schemathesis_all_checks.py (imported) and by scripts/schemathesis.sh (``SCHEMATHESIS_HOOKS
=tests.fuzz.hooks``). Schemathesis generates from the OpenAPI document alone, so a schema-valid request may still
break a rule between two fields, between the query and the body, or against stored state; the server rightly
refuses it (422), and schemathesis would report "Schema-valid request rejected". Each function below names one such
rule (every one is stated in its operation's description) and adjusts a generated positive case to satisfy it, the
case staying schema-valid. Negative cases (schema-invalid data) are never touched, so that the refusals are still
tested. Nothing here changes what the server accepts.

Rules against stored state (a subscription's start, the customers and metrics an event names) are satisfied by
reading the stored state over the API, as a client would.
"""

from __future__ import annotations

import itertools
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import schemathesis
from schemathesis import GenerationMode
from schemathesis.generation.case import Case
from schemathesis.hooks import HookContext

from fubble.errors import InvalidInput
from fubble.pricing.models import parse_pricing

START, END = "start_date", "end_date"
SHORTEST = timedelta(days=1)
LONGEST = timedelta(days=30)  # at most 720 hours, 30 days, 2 months: under every series' cap on its points


@schemathesis.hook
def map_case(_context: HookContext, case: Case) -> Case:
    """Every rule below, applied to a positive case of the operation it concerns."""
    meta = case.meta
    if meta is None or meta.generation.mode is not GenerationMode.POSITIVE:
        return case
    operation = f"{case.operation.method.upper()} {case.operation.path}"
    for rule in RULES.get(operation, ()):
        rule(case)
    return case


# --- the rules ------------------------------------------------------------------------------------------------------


def one_value_per_name(*names: str) -> Callable[[Case], None]:
    """Rule: a value given both as a query parameter and in the JSON body must be the same in both (routes accept
    either form, as the original product did). The query copy of a value the body also gives is dropped."""

    def rule(case: Case) -> None:
        body = case.body if isinstance(case.body, dict) else {}
        for name in names:
            if isinstance(case.query, dict) and name in case.query and body.get(name) is not None:
                del case.query[name]

    return rule


def given(**defaults: str) -> Callable[[Case], None]:
    """Rule: the values are required, as query parameters or in the body (either form, as the original product):
    one given in neither place is added to the query."""

    def rule(case: Case) -> None:
        body = case.body if isinstance(case.body, dict) else {}
        query = case.query if isinstance(case.query, dict) else {}
        missing = {
            name: value for name, value in defaults.items() if query.get(name) is None and body.get(name) is None
        }
        if missing:
            case.query = {**query, **missing}

    return rule


def in_order(first: str, second: str, *, strict: bool = True) -> Callable[[Case], None]:
    """Rule: date-time ``second`` is after (``strict``) or not before ``first``, where both are given (in the query,
    the body or one in each): they are swapped when in the wrong order, and a one-day window replaces an empty one
    (windows are half-open)."""

    def rule(case: Case) -> None:
        start, end = _find(case, first), _find(case, second)
        if start is None or end is None:
            return
        if end[1] < start[1]:
            _put(case, start[0], first, end[1])
            _put(case, end[0], second, start[1])
        elif end[1] == start[1] and strict:
            _put(case, end[0], second, start[1] + SHORTEST)

    return rule


window_after_start = in_order(START, END)


def defaults_before(first: str, second: str) -> Callable[[Case], None]:
    """Rule: ``first`` defaults to now and ``second`` must not come before it: a ``second`` given without a
    ``first`` gets the ``first`` a day before it."""

    def rule(case: Case) -> None:
        body = case.body
        if isinstance(body, dict) and body.get(first) is None and (moment := _time(body.get(second))) is not None:
            body[first] = _text(moment - SHORTEST)

    return rule


def window_not_too_long(case: Case) -> None:
    """Rule: a series has at most a fixed number of points (the window's length over its granularity), and a billing
    run at most 240 billing periods of a subscription; windows longer than 30 days are cut to 30 days (720 hours,
    under every cap)."""
    start, end = _find(case, START), _find(case, END)
    if start is not None and end is not None and end[1] - start[1] > LONGEST:
        _put(case, end[0], END, start[1] + LONGEST)


def cancel_after_start(case: Case) -> None:
    """Rule (PUT .../subscriptions/{subscription_id}/cancel): end_date (default now) is after the subscription's
    stored start_date; an end_date not after it is moved to a day after it."""
    path = case.path_parameters or {}
    stored = _get(case, f"/customers/{path.get('customer_id')}/subscriptions/{path.get('subscription_id')}")
    start = _time(stored.get(START)) if isinstance(stored, dict) else None
    if start is None:
        return
    end = _find(case, END)
    at_period_end = _truthy(case, "at_period_end")
    if end is None:
        # now (the customer's: a test clock's time, which may be the start itself) must be after the start
        if not at_period_end:
            case.query = {**(case.query or {}), END: _text(start + SHORTEST)}
    elif end[1] <= start:
        _put(case, end[0], END, start + SHORTEST)


def whole_amounts(case: Case) -> None:
    """Rules (manual invoice items): an amount has at most as many decimal places as the customer's currency (0 for
    JPY), and the invoice's total is not negative; amounts become whole, non-negative numbers."""
    body = case.body
    items = body.get("items") if isinstance(body, dict) and "items" in body else [body]
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict) and isinstance(item.get("amount"), int | float):
            item["amount"] = abs(int(Decimal(str(item["amount"]))))


def metrics_priced_once(case: Case) -> None:
    """Rule (POST /plans/): each metric_name appears once in a plan; later components pricing it again are left
    out."""
    body = case.body
    if not isinstance(body, dict) or not isinstance(body.get("price_components"), list):
        return
    seen: set[object] = set()
    kept = []
    for component in body["price_components"]:
        name = component.get("metric_name") if isinstance(component, dict) else None
        if name is None or name not in seen:
            kept.append(component)
        seen.add(name)
    body["price_components"] = kept


def property_follows_aggregation(case: Case) -> None:
    """Rule (PUT /metrics/{metric}): ``property`` is given for ``unique_count`` and null for every other aggregation
    (the stored aggregation when none is given)."""
    body = case.body
    if not isinstance(body, dict):
        return
    aggregation = body.get("aggregation")
    if aggregation is None:
        stored = _get(case, f"/metrics/{urllib.parse.quote((case.path_parameters or {}).get('metric', ''))}")
        aggregation = stored.get("aggregation") if isinstance(stored, dict) else None
        if aggregation is None:
            return
        if "property" not in body or (aggregation == "unique_count") == (body["property"] is not None):
            return
        body["aggregation"] = "unique_count" if body["property"] is not None else "sum"
    elif aggregation == "unique_count":
        if body.get("property") is None:
            body["property"] = "user_id"
    else:
        body["property"] = None


def pricing_valid(case: Case) -> None:
    """Rule (plans and price components): ``pricing_details`` are valid for ``pricing_type`` (the keys of the type,
    tiers contiguous from 0, a formula that compiles); details that are not are replaced by a valid example."""
    body = case.body
    components = body.get("price_components") if isinstance(body, dict) and "price_components" in body else [body]
    for component in components if isinstance(components, list) else ():
        if not isinstance(component, dict) or component.get("pricing_type") not in VALID_DETAILS:
            continue
        try:
            parse_pricing(component["pricing_type"], component.get("pricing_details"))
        except InvalidInput:
            component["pricing_details"] = dict(VALID_DETAILS[component["pricing_type"]])


def not_in_the_future(name: str) -> Callable[[Case], None]:
    """Rule (POST /billing/runs): ``name`` is not after now (only a test clock bills the future); a later value is
    moved to the start of 2024."""

    def rule(case: Case) -> None:
        found = _find(case, name)
        if found is not None and found[1] > datetime.now(UTC):
            _put(case, found[0], name, datetime(2024, 1, 1, tzinfo=UTC))

    return rule


def one_trial_form(case: Case) -> None:
    """Rules (POST .../subscriptions): ``trial_days`` or ``trial_end``, not both, and ``trial_end`` after the start
    (then dropped); ``price_overrides`` only name metrics the plan prices (left empty); ``billing_anchor`` kept."""
    body = case.body
    if not isinstance(body, dict):
        return
    if "trial_days" in body and "trial_end" in body:
        del body["trial_end"]
    trial_end = _time(body.get("trial_end"))
    start = _time(body.get(START)) or datetime.now(UTC)
    if "trial_end" in body and (trial_end is None or trial_end <= start):
        del body["trial_end"]
    if "price_overrides" in body:
        body["price_overrides"] = []


def _truthy(case: Case, name: str) -> bool:
    body = case.body if isinstance(case.body, dict) else {}
    return body.get(name) is True or str((case.query or {}).get(name, "")).lower() == "true"


def cancel_one_way(case: Case) -> None:
    """Rule (PUT .../cancel): ``at_period_end: true`` is not combined with an ``end_date`` (the end date is dropped)."""
    if _truthy(case, "at_period_end"):
        if isinstance(case.body, dict):
            case.body.pop(END, None)
        if case.query:
            case.query.pop(END, None)


def clock_moves_forward(case: Case) -> None:
    """Rule (POST /test-clocks/{clock_id}/advance): ``to`` is after the clock's stored time (set to a day after it,
    when it is not)."""
    stored = _get(case, f"/test-clocks/{(case.path_parameters or {}).get('clock_id')}")
    frozen = _time(stored.get("frozen_time")) if isinstance(stored, dict) else None
    to = _find(case, "to")
    if frozen is not None and to is not None and to[1] <= frozen:
        _put(case, to[0], "to", frozen + SHORTEST)


def no_test_clock(case: Case) -> None:
    """Rule (POST /customers/): ``test_clock_id`` names an existing test clock; it is left out."""
    if isinstance(case.body, dict):
        case.body.pop("test_clock_id", None)


def both_pricing_fields(case: Case) -> None:
    """Rule (PUT /plans/{plan_id}/components/{component_id}): a new ``pricing_type`` comes with valid
    ``pricing_details`` for it and vice versa (the stored type may differ)."""
    body = case.body
    if not isinstance(body, dict) or not ("pricing_type" in body or "pricing_details" in body):
        return
    pricing_type = body.get("pricing_type")
    if pricing_type not in VALID_DETAILS:
        pricing_type = "flat"
    body["pricing_type"] = pricing_type
    body["pricing_details"] = dict(VALID_DETAILS[pricing_type])


def latest_version_source(case: Case) -> None:
    """Rule (POST /plans/{plan_id}/migrate): ``from_version`` is an older version of the plan (left out: every
    older version)."""
    if isinstance(case.body, dict):
        case.body.pop("from_version", None)


def events_name_stored(case: Case) -> None:
    """Rules (POST /events/ and /events/batch): an event names a customer and a metric that exist, and an event_id
    already stored may be sent again only with the same payload; the generated event gets a stored customer and
    metric, and an event_id of its own."""
    body = case.body
    events = body.get("events") if isinstance(body, dict) and "events" in body else [body]
    customer, metric = _stored_customer(case), _stored_metric(case)
    for event in events if isinstance(events, list) else ():
        if not isinstance(event, dict):
            continue
        if customer is not None:
            event.pop("external_customer_id", None)
            event["customer_id"] = customer
        if metric is not None:
            event["metric_name"] = metric
        if isinstance(event.get("event_id"), str):
            event["event_id"] = f"schemathesis-{next(_EVENT_IDS)}"


_EVENT_IDS = itertools.count(1)
VALID_DETAILS: dict[str, dict[str, Any]] = {
    "flat": {"amount": 10},
    "subscription": {"amount": 10},
    "tiered": {"tiers": [{"start": 0, "end": 1000, "price": 0.01}, {"start": 1000, "end": None, "price": 0.005}]},
    "volume": {"tiers": [{"start": 0, "end": 1000, "price": 0.01}, {"start": 1000, "end": None, "price": 0.005}]},
    "package": {"package_size": 100, "package_price": 5},
    "usage_based_subscription": {"base_fee": 10, "usage_price": 0.01},
    "time_based": {"rate_per_unit": 0.5, "unit": "hour"},
    "dynamic": {"formula": "usage * base_rate", "base_rate": 0.15},
}
_WINDOW = (window_after_start,)
_SERIES = (window_after_start, window_not_too_long)
RULES: dict[str, tuple[Callable[[Case], None], ...]] = {
    "GET /analytics/revenue": _WINDOW,
    "GET /analytics/usage": _SERIES,
    "GET /customers/{customer_id}/usage": _SERIES,
    "GET /events/customers/{customer_id}": _WINDOW,
    "GET /events/customers/{customer_id}/usage": _WINDOW,
    "POST /invoices/generate": (
        one_value_per_name(START, END, "customer_id"),
        given(start_date="2024-01-01T00:00:00Z", end_date="2024-02-01T00:00:00Z"),
        window_after_start,
        window_not_too_long,
    ),
    "POST /customers/{customer_id}/subscriptions": (defaults_before(START, END), window_after_start, one_trial_form),
    "PUT /customers/{customer_id}/subscriptions/{subscription_id}/cancel": (
        one_value_per_name(END),
        one_value_per_name("at_period_end"),
        cancel_one_way,
        cancel_after_start,
    ),
    "PUT /invoices/{invoice_id}/status": (one_value_per_name("status"), given(status="paid")),
    "PUT /invoices/{invoice_id}/void": (one_value_per_name("reason"),),
    "POST /invoices/": (
        whole_amounts,
        defaults_before("issue_date", "due_date"),
        in_order("issue_date", "due_date", strict=False),
    ),
    "POST /invoices/{invoice_id}/items": (whole_amounts,),
    "POST /plans/": (metrics_priced_once, pricing_valid),
    "PUT /metrics/{metric}": (property_follows_aggregation,),
    "POST /plans/{plan_id}/components": (pricing_valid,),
    "PUT /plans/{plan_id}": (metrics_priced_once, pricing_valid),
    "PUT /plans/{plan_id}/components/{component_id}": (both_pricing_fields,),
    "POST /plans/{plan_id}/migrate": (latest_version_source,),
    "POST /billing/runs": (not_in_the_future("as_of"),),
    "POST /customers/": (no_test_clock,),
    "POST /test-clocks/{clock_id}/advance": (clock_moves_forward,),
    "POST /events/": (events_name_stored,),
    "POST /events/batch": (events_name_stored,),
}


# --- helpers ----------------------------------------------------------------------------------------------------


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _text(value: datetime) -> str:
    value = min(max(value, datetime(1900, 1, 2, tzinfo=UTC)), datetime(8999, 12, 30, tzinfo=UTC))
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _find(case: Case, name: str) -> tuple[str, datetime] | None:
    """Where (``body`` or ``query``) the date-time ``name`` is given, and its value."""
    for where, values in (("body", case.body), ("query", case.query)):
        if isinstance(values, dict) and (moment := _time(values.get(name))) is not None:
            return where, moment
    return None


def _put(case: Case, where: str, name: str, value: datetime) -> None:
    values = case.body if where == "body" else case.query
    assert isinstance(values, dict)
    values[name] = _text(value)


def _get(case: Case, path: str) -> Any:
    base = case.operation.schema.get_base_url()
    try:
        with urllib.request.urlopen(f"{base.rstrip('/')}{path}", timeout=10) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, ValueError):
        return None


_STORED: dict[tuple[str, str], Any] = {}


def _stored(case: Case, path: str, key: str) -> Any:
    """``key`` of the first object ``GET path`` lists, remembered per server once found (customers and metrics are
    never deleted)."""
    remembered = (case.operation.schema.get_base_url(), path)
    if remembered not in _STORED:
        found = _get(case, path)
        if not isinstance(found, list) or not found:
            return None
        _STORED[remembered] = found[0][key]
    return _STORED[remembered]


def _stored_customer(case: Case) -> int | None:
    customer: int | None = _stored(case, "/customers/?limit=1", "id")
    return customer


def _stored_metric(case: Case) -> str | None:
    metric: str | None = _stored(case, "/metrics/?include_implicit=true&limit=1", "name")
    return metric
