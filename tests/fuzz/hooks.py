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
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import schemathesis
from schemathesis import GenerationMode
from schemathesis.generation.case import Case
from schemathesis.hooks import HookContext

from tests.fuzz.hook_support import (
    SHORTEST,
    find,
    get,
    put,
    quoted,
    stored_customer,
    stored_metric,
    text_of,
    time_of,
    truthy,
)
from tests.fuzz.plan_rules import (
    component_added_in_plan_currency,
    component_change_valid,
    metrics_priced_once,
    plan_amounts_in_currency,
    plan_update_in_currency,
    pricing_valid,
    prorated_needs_recurring,
)
from tests.fuzz.terms_rules import (
    coupon_exists,
    coupon_valid,
    credit_note_fits_invoice,
    grant_valid,
    preview_valid,
    quantity_sign,
    recurring_follows_aggregation,
    stored_tax_rates,
)
from tests.fuzz.webhook_rules import alert_metric_stored, webhook_url_public

START, END = "start_date", "end_date"
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


@schemathesis.hook
def before_add_examples(context: HookContext, examples: list[Case]) -> None:
    """The same rules for the cases the examples phase builds from the document's examples (schemathesis applies no
    ``map_case`` to them): an example of one field and a generated value of another may break a rule between them.
    They run when the operation's examples are about to be sent."""
    for case in examples:
        map_case(context, case)


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
        start, end = find(case, first), find(case, second)
        if start is None or end is None:
            return
        if end[1] < start[1]:
            put(case, start[0], first, end[1])
            put(case, end[0], second, start[1])
        elif end[1] == start[1] and strict:
            put(case, end[0], second, start[1] + SHORTEST)

    return rule


window_after_start = in_order(START, END)


def defaults_before(first: str, second: str) -> Callable[[Case], None]:
    """Rule: ``first`` defaults to now and ``second`` must not come before it: a ``second`` given without a
    ``first`` gets the ``first`` a day before it."""

    def rule(case: Case) -> None:
        body = case.body
        if isinstance(body, dict) and body.get(first) is None and (moment := time_of(body.get(second))) is not None:
            body[first] = text_of(moment - SHORTEST)

    return rule


def window_not_too_long(case: Case) -> None:
    """Rule: a series has at most a fixed number of points (the window's length over its granularity), and a billing
    run at most 240 billing periods of a subscription; windows longer than 30 days are cut to 30 days (720 hours,
    under every cap)."""
    start, end = find(case, START), find(case, END)
    if start is not None and end is not None and end[1] - start[1] > LONGEST:
        put(case, end[0], END, start[1] + LONGEST)


def cancel_after_start(case: Case) -> None:
    """Rule (PUT .../subscriptions/{subscription_id}/cancel): end_date (default now) is after the subscription's
    stored start_date; an end_date not after it is moved to a day after it."""
    path = case.path_parameters or {}
    stored = get(case, f"/customers/{path.get('customer_id')}/subscriptions/{path.get('subscription_id')}")
    start = time_of(stored.get(START)) if isinstance(stored, dict) else None
    if start is None:
        return
    end = find(case, END)
    at_period_end = truthy(case, "at_period_end")
    if end is None:
        # now (the customer's: a test clock's time, which may be the start itself) must be after the start
        if not at_period_end:
            case.query = {**(case.query or {}), END: text_of(start + SHORTEST)}
    elif end[1] <= start:
        put(case, end[0], END, start + SHORTEST)


def whole_amounts(case: Case) -> None:
    """Rules (manual invoice items): an amount has at most as many decimal places as the customer's currency (0 for
    JPY), and the invoice's total is not negative; amounts become whole, non-negative numbers."""
    body = case.body
    items = body.get("items") if isinstance(body, dict) and "items" in body else [body]
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict) and isinstance(item.get("amount"), int | float):
            item["amount"] = abs(int(Decimal(str(item["amount"]))))


def property_follows_aggregation(case: Case) -> None:
    """Rule (PUT /metrics/{metric}): ``property`` is given for ``unique_count`` and null for every other aggregation
    (the stored aggregation when none is given)."""
    body = case.body
    if not isinstance(body, dict):
        return
    aggregation = body.get("aggregation")
    if aggregation is None:
        stored = get(case, f"/metrics/{quoted((case.path_parameters or {}).get('metric', ''))}")
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


def not_in_the_future(name: str) -> Callable[[Case], None]:
    """Rule (POST /billing/runs): ``name`` is not after now (only a test clock bills the future); a later value is
    moved to the start of 2024."""

    def rule(case: Case) -> None:
        found = find(case, name)
        if found is not None and found[1] > datetime.now(UTC):
            put(case, found[0], name, datetime(2024, 1, 1, tzinfo=UTC))

    return rule


def one_trial_form(case: Case) -> None:
    """Rules (POST .../subscriptions): ``trial_days`` or ``trial_end``, not both, and ``trial_end`` after the start
    (then dropped); ``price_overrides`` only name metrics the plan prices (left empty); ``billing_anchor`` kept."""
    body = case.body
    if not isinstance(body, dict):
        return
    if "trial_days" in body and "trial_end" in body:
        del body["trial_end"]
    trial_end = time_of(body.get("trial_end"))
    start = time_of(body.get(START)) or datetime.now(UTC)
    if "trial_end" in body and (trial_end is None or trial_end <= start):
        del body["trial_end"]
    if "price_overrides" in body:
        body["price_overrides"] = []


def cancel_one_way(case: Case) -> None:
    """Rule (PUT .../cancel): ``at_period_end: true`` is not combined with an ``end_date`` (the end date is dropped)."""
    if truthy(case, "at_period_end"):
        if isinstance(case.body, dict):
            case.body.pop(END, None)
        if case.query:
            case.query.pop(END, None)


def clock_moves_forward(case: Case) -> None:
    """Rule (POST /test-clocks/{clock_id}/advance): ``to`` is after the clock's stored time (set to a day after it,
    when it is not)."""
    stored = get(case, f"/test-clocks/{(case.path_parameters or {}).get('clock_id')}")
    frozen = time_of(stored.get("frozen_time")) if isinstance(stored, dict) else None
    to = find(case, "to")
    if frozen is not None and to is not None and to[1] <= frozen:
        put(case, to[0], "to", frozen + SHORTEST)


def no_test_clock(case: Case) -> None:
    """Rule (POST /customers/): ``test_clock_id`` names an existing test clock; it is left out."""
    if isinstance(case.body, dict):
        case.body.pop("test_clock_id", None)


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
    customer, name = stored_customer(case), stored_metric(case)
    for event in events if isinstance(events, list) else ():
        if not isinstance(event, dict):
            continue
        if customer is not None:
            event.pop("external_customer_id", None)
            event["customer_id"] = customer
        if name is not None:
            event["metric_name"] = name
        if isinstance(event.get("event_id"), str):
            event["event_id"] = f"schemathesis-{next(_EVENT_IDS)}"


_EVENT_IDS = itertools.count(1)
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
    "POST /invoices/{invoice_id}/credit-notes": (credit_note_fits_invoice,),
    "POST /plans/": (metrics_priced_once, pricing_valid, prorated_needs_recurring, plan_amounts_in_currency),
    "PUT /plans/{plan_id}": (metrics_priced_once, pricing_valid, prorated_needs_recurring, plan_update_in_currency),
    "POST /plans/{plan_id}/components": (pricing_valid, prorated_needs_recurring, component_added_in_plan_currency),
    "PUT /plans/{plan_id}/components/{component_id}": (component_change_valid,),
    "POST /plans/{plan_id}/migrate": (latest_version_source,),
    "POST /plans/{plan_id}/preview": (preview_valid,),
    "PUT /metrics/{metric}": (property_follows_aggregation, recurring_follows_aggregation),
    "POST /billing/runs": (not_in_the_future("as_of"),),
    "POST /customers/": (no_test_clock, stored_tax_rates),
    "PUT /customers/{customer_id}": (stored_tax_rates,),
    "POST /test-clocks/{clock_id}/advance": (clock_moves_forward,),
    "POST /events/": (events_name_stored, quantity_sign),
    "POST /events/batch": (events_name_stored, quantity_sign),
    "POST /coupons/": (coupon_valid,),
    "POST /customers/{customer_id}/coupons": (coupon_exists,),
    "POST /customers/{customer_id}/credit-grants": (grant_valid,),
    "POST /webhook-endpoints": (webhook_url_public,),
    "PUT /webhook-endpoints/{endpoint_id}": (webhook_url_public,),
    "POST /customers/{customer_id}/usage-alerts": (alert_metric_stored,),
}
