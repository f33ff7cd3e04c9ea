"""The rules of contract terms (coupons, tax rates, credit grants, credit notes, plan previews) and of event
quantities and recurring metrics that JSON Schema cannot state (see :mod:`tests.fuzz.hooks`).

Each depends on other data: the currency of a customer or an invoice, the time now (a test clock's, for a customer
on one), a stored coupon, a metric's definition, an invoice's status and items. Where the schema could state a rule
but does not yet, the rule says so (``schema gap``): it is kept only until the OpenAPI document declares it.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from schemathesis.generation.case import Case

from tests.fuzz.hook_support import (
    LATEST,
    customer_now,
    cut,
    cut_to_places,
    decimal_of,
    get,
    metric,
    minor_unit,
    number,
    post,
    quoted,
    send,
    stored_customer,
    text_of,
    time_of,
)

AHEAD = timedelta(days=30)
_CODES = itertools.count(1)


def _later_than(body: dict[str, Any], name: str, now: datetime) -> None:
    """``body[name]``, a date-time that must be after ``now``: one that is not is moved 30 days after now (left out
    when that is past the schemas' last year)."""
    moment = time_of(body.get(name))
    if moment is None or moment > now:
        return
    if now + AHEAD > LATEST:
        del body[name]
    else:
        body[name] = text_of(now + AHEAD)


def coupon_valid(case: Case) -> None:
    """Rules (POST /coupons/): ``duration_in_periods`` is given for ``repeating`` (1 when missing) and only for it
    (left out otherwise; schema gap: an if/then on ``duration``); a fixed ``amount_off`` has at most the places of
    the coupon's ``currency`` and is more than 0 (cut down, at least one minor unit); ``expires_at`` is after now
    (moved 30 days ahead); ``plan_ids`` name existing plans, each once (schema gap: uniqueItems), and a fixed coupon
    no plan in another currency: they are left out."""
    body = case.body
    if not isinstance(body, dict):
        return
    # schema gap: fubble/coupons/schemas.py _CouponCreate could declare an if/then/else on duration (then: required
    # duration_in_periods, an integer; else: duration_in_periods null), like the metrics' property rule.
    if body.get("duration") == "repeating":
        if not isinstance(body.get("duration_in_periods"), int):
            body["duration_in_periods"] = 1
    else:
        body.pop("duration_in_periods", None)
    if body.get("type") == "fixed" and "amount_off" in body:
        currency = body.get("currency")
        body["amount_off"] = cut_to_places(body["amount_off"], currency, least=minor_unit(currency))
    _later_than(body, "expires_at", datetime.now(UTC))
    # schema gap (in part): _CouponCreate.plan_ids could declare uniqueItems; existence and currency stay a rule.
    body.pop("plan_ids", None)


def coupon_exists(case: Case) -> None:
    """Rule (POST /customers/{customer_id}/coupons): ``code`` names a stored coupon (422 otherwise); a new
    percentage coupon is created over the API, and its code sent."""
    if not isinstance(case.body, dict):
        return
    code = f"schemathesis-{next(_CODES)}"
    post(case, "/coupons/", {"code": code, "type": "percentage", "percent_off": 10, "duration": "once"})
    case.body["code"] = code


def stored_tax_rates(case: Case) -> None:
    """Rule (POST /customers/, PUT /customers/{customer_id}): ``tax_rate_ids`` name stored tax rates, each once
    (schema gap: uniqueItems); they are left out."""
    # schema gap (in part): fubble/customers/schemas.py TaxRateIds could declare uniqueItems; existence stays a rule.
    if isinstance(case.body, dict):
        case.body.pop("tax_rate_ids", None)


def _customer_currency(case: Case, customer_id: object) -> object:
    customer = get(case, f"/customers/{quoted(customer_id)}")
    return customer.get("currency") if isinstance(customer, dict) else None


def grant_valid(case: Case) -> None:
    """Rules (POST /customers/{customer_id}/credit-grants): ``amount`` has at most the places of the customer's
    currency and is more than 0 (cut down, at least one minor unit); ``expires_at`` is after the customer's now (its
    test clock's time, if it has one; moved 30 days ahead)."""
    body = case.body
    if not isinstance(body, dict):
        return
    customer_id = (case.path_parameters or {}).get("customer_id")
    if "amount" in body:
        currency = _customer_currency(case, customer_id)
        body["amount"] = cut_to_places(body["amount"], currency, least=minor_unit(currency))
    if body.get("expires_at") is not None:
        _later_than(body, "expires_at", customer_now(case, customer_id))


def quantity_sign(case: Case) -> None:
    """Rule (POST /events/, POST /events/batch): a quantity is negative only for a metric defined with
    ``allow_negative: true`` (read over the API); a negative quantity of another metric is made positive."""
    body = case.body
    events = body.get("events") if isinstance(body, dict) and "events" in body else [body]
    allowed: dict[object, bool] = {}
    for event in events if isinstance(events, list) else ():
        if not isinstance(event, dict) or (quantity := decimal_of(event.get("quantity"))) is None or quantity >= 0:
            continue
        name = event.get("metric_name")
        if name not in allowed:
            allowed[name] = metric(case, name).get("allow_negative") is True
        if not allowed[name]:
            event["quantity"] = number(-quantity)


def recurring_follows_aggregation(case: Case) -> None:
    """Rule (PUT /metrics/{metric}): a recurring metric is a ``sum`` or a ``unique_count``: with the aggregation the
    body gives, else the stored one, any other is not recurring (``recurring`` is sent false)."""
    body = case.body
    if not isinstance(body, dict):
        return
    stored = metric(case, (case.path_parameters or {}).get("metric"))
    aggregation = body.get("aggregation", stored.get("aggregation"))
    if body.get("recurring", stored.get("recurring")) is True and aggregation not in ("sum", "unique_count"):
        body["recurring"] = False


def _total(invoice: dict[str, Any]) -> Decimal:
    """What a note may credit at most: the invoice's ``total`` (its ``amount`` before totals existed), not below 0."""
    total = decimal_of(invoice.get("total") if invoice.get("total") is not None else invoice.get("amount"))
    return max(total or Decimal(0), Decimal(0))


def _note_items(body: dict[str, Any], invoice: dict[str, Any]) -> None:
    """The note's items become the invoice's items with something to credit, each credited at most its amount, in
    the invoice's currency's places, the sum at most the invoice's total (the ``amount`` form when none has)."""
    currency, budget = invoice.get("currency"), _total(invoice)
    unit = minor_unit(currency)
    asked = [decimal_of(item.get("amount")) for item in body["items"] if isinstance(item, dict)]
    items = []
    for item, wanted in zip(invoice.get("invoice_items") or (), itertools.cycle(asked or [unit]), strict=False):
        whole = decimal_of(item.get("amount"))
        if whole is None or budget < unit:
            break
        amount = cut(min(wanted or unit, whole, budget), currency)
        if amount >= unit:
            items.append({"invoice_item_id": item["id"], "amount": number(amount)})
            budget -= amount
    if items:
        body["items"] = items
    else:
        del body["items"]
        body["amount"] = number(unit)


def credit_note_fits_invoice(case: Case) -> None:
    """Rules (POST /invoices/{invoice_id}/credit-notes): each item names its invoice item once (checked first, for
    any invoice). For a ``pending`` or ``paid`` invoice (any other is a 409): every amount has at most the places of
    the invoice's currency and is more than 0; each item is an item of this invoice, credited at most its amount;
    the note credits at most the invoice's ``total``. The
    amounts are cut to the currency's places and to those bounds; items become the invoice's items. An invoice with
    nothing to credit (a total of 0) cannot take a note: the case is sent to a stored invoice that can (one is made
    over the API when none can: a manual invoice of 100, finalized). (A note for more than earlier notes left is a
    409, an accepted answer.)"""
    body = case.body
    if not isinstance(body, dict):
        return
    if isinstance(body.get("items"), list):
        _named_once(body)  # whatever the invoice: checked before its status
    path = case.path_parameters if case.path_parameters is not None else {}
    invoice = get(case, f"/invoices/{quoted(path.get('invoice_id'))}")
    if not isinstance(invoice, dict) or invoice.get("status") not in ("pending", "paid"):
        return
    unit = minor_unit(invoice.get("currency"))
    if _total(invoice) < unit:
        other = _creditable_invoice(case) or _new_creditable_invoice(case)
        if other is None:
            return  # no customer to invoice: nothing makes the request valid
        path["invoice_id"], invoice = other["id"], other
    if "items" in body:
        _note_items(body, invoice)
    if "amount" in body:
        amount = cut(min(decimal_of(body["amount"]) or unit, _total(invoice)), invoice.get("currency"))
        body["amount"] = number(max(amount, unit))


def _named_once(body: dict[str, Any]) -> None:
    """Each item of a note names its invoice item once (the first entry of each stays)."""
    seen: set[int] = set()
    kept = []
    for item in body["items"]:
        key = item.get("invoice_item_id") if isinstance(item, dict) else None
        if isinstance(key, int) and not isinstance(key, bool):
            if key in seen:
                continue
            seen.add(key)
        kept.append(item)
    body["items"] = kept


def _creditable_invoice(case: Case) -> dict[str, Any] | None:
    for status in ("paid", "pending"):
        found = get(case, f"/invoices/?status={status}&limit=100")
        for invoice in found if isinstance(found, list) else ():
            if _total(invoice) >= minor_unit(invoice.get("currency")):
                full = get(case, f"/invoices/{invoice['id']}")
                return full if isinstance(full, dict) else None
    return None


def _new_creditable_invoice(case: Case) -> dict[str, Any] | None:
    customer = stored_customer(case)
    item = {"description": "schemathesis: an invoice to credit", "amount": 100}
    made = post(case, "/invoices/", {"customer_id": customer, "items": [item]}) if customer is not None else None
    if not isinstance(made, dict):
        return None
    finalized = send(case, "PUT", f"/invoices/{made['id']}/finalize")
    return finalized if isinstance(finalized, dict) and finalized.get("status") == "pending" else None


def preview_valid(case: Case) -> None:
    """Rules (POST /plans/{plan_id}/preview): ``customer_id`` names a stored customer (404 otherwise: a stored one is
    sent, so the preview is computed); ``price_overrides`` only name metrics the plan prices (left empty)."""
    body = case.body
    if not isinstance(body, dict):
        return
    customer = stored_customer(case)
    if customer is not None:
        body["customer_id"] = customer
    if "price_overrides" in body:
        body["price_overrides"] = []
