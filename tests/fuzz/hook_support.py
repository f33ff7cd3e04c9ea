"""What the rules of :mod:`tests.fuzz.hooks` share: reading and writing a generated case's values, numbers as the
server reads them, and the stored state read (or written) over the API, as a client would."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

import simplejson
from schemathesis.generation.case import Case

from fubble.api import json as exact_json
from fubble.errors import InvalidInput
from fubble.pricing.money import minor_unit_digits

SHORTEST = timedelta(days=1)
EARLIEST, LATEST = datetime(1900, 1, 2, tzinfo=UTC), datetime(8999, 12, 30, tzinfo=UTC)  # the schemas' years


def time_of(value: object) -> datetime | None:
    """A date-time given as text, in UTC (naive means UTC), or ``None``."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def text_of(value: datetime) -> str:
    value = min(max(value, EARLIEST), LATEST)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def find(case: Case, name: str) -> tuple[str, datetime] | None:
    """Where (``body`` or ``query``) the date-time ``name`` is given, and its value."""
    for where, values in (("body", case.body), ("query", case.query)):
        if isinstance(values, dict) and (moment := time_of(values.get(name))) is not None:
            return where, moment
    return None


def put(case: Case, where: str, name: str, value: datetime) -> None:
    values = case.body if where == "body" else case.query
    assert isinstance(values, dict)
    values[name] = text_of(value)


def truthy(case: Case, name: str) -> bool:
    body = case.body if isinstance(case.body, dict) else {}
    return body.get(name) is True or str((case.query or {}).get(name, "")).lower() == "true"


def as_read(value: object) -> Any:
    """``value`` (a case's, or read from an answer) as the server reads it from JSON (every non-integer number a
    ``Decimal``)."""
    return exact_json.loads(simplejson.dumps(value))


def decimal_of(value: object) -> Decimal | None:
    """A JSON number of the case (or a ``Decimal`` read from an answer) as the exact number the server reads
    (``None`` for anything else)."""
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return Decimal(value) if isinstance(value, int) else Decimal(repr(value))


def number(value: Decimal) -> int | float:
    """``value`` as a JSON number of a case: an ``int`` when whole, else the ``float`` written with its digits, or,
    when a float cannot hold them (more than 15 significant digits), its whole part: never more decimal places than
    ``value``, and never further from 0."""
    if value == value.to_integral_value():
        return int(value)
    approximate = float(value)
    return approximate if Decimal(repr(approximate)) == value else int(value)


def places(currency: object) -> int | None:
    """The decimal places of ``currency``'s minor unit (``None`` for no or an unknown currency)."""
    if not isinstance(currency, str):
        return None
    try:
        return minor_unit_digits(currency.upper())
    except InvalidInput:
        return None


def cut(value: Decimal, currency: object) -> Decimal:
    """``value`` cut down (towards 0) to ``currency``'s decimal places (as it is for no or an unknown currency)."""
    digits = places(currency)
    if digits is None:
        return value
    try:
        return value.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_DOWN)
    except InvalidOperation:
        return value


def cut_to_places(value: Any, currency: object, *, least: Decimal | None = None) -> Any:
    """A JSON number with more decimal places than ``currency`` has, cut down to them (at least ``least``, when
    given); other values, and numbers that fit, are returned as they are (the same object)."""
    exact = decimal_of(value)
    if exact is None or places(currency) is None:
        return value
    shortened = cut(exact, currency)
    if least is not None and shortened < least:
        shortened = least
    return value if shortened == exact else number(shortened)


def minor_unit(currency: object) -> Decimal:
    """The smallest amount of ``currency`` (1 for an unknown one)."""
    digits = places(currency)
    return Decimal(1).scaleb(-(digits or 0))


def base_url(case: Case) -> str:
    return str(case.operation.schema.get_base_url()).rstrip("/")


def get(case: Case, path: str) -> Any:
    """The JSON ``GET path`` answers, its numbers exact (``Decimal``; ``None`` if it fails)."""
    return send(case, "GET", path)


def send(case: Case, method: str, path: str, body: object = None) -> Any:
    """The JSON ``METHOD path`` answers to ``body`` (``None`` if it fails, or if the schema was not loaded from a
    server: tests/fuzz/test_openapi_fuzz.py calls the app in process, and the rules then read nothing)."""
    try:
        request = urllib.request.Request(
            f"{base_url(case)}{path}",
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method=method,
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return exact_json.loads(response.read())
    except (urllib.error.URLError, ValueError):
        return None


def post(case: Case, path: str, body: object) -> Any:
    return send(case, "POST", path, body)


def quoted(name: object) -> str:
    return urllib.parse.quote(str(name), safe="")


_STORED: dict[tuple[str, str], Any] = {}


def stored(case: Case, path: str, key: str) -> Any:
    """``key`` of the first object ``GET path`` lists, remembered per server once found (customers, metrics and
    plans are never deleted)."""
    remembered = (base_url(case), path)
    if remembered not in _STORED:
        found = get(case, path)
        if not isinstance(found, list) or not found:
            return None
        _STORED[remembered] = found[0][key]
    return _STORED[remembered]


def stored_customer(case: Case) -> int | None:
    customer: int | None = stored(case, "/customers/?limit=1", "id")
    return customer


def stored_metric(case: Case) -> str | None:
    metric: str | None = stored(case, "/metrics/?include_implicit=true&limit=1", "name")
    return metric


def metric(case: Case, name: object) -> dict[str, Any]:
    """The stored definition of metric ``name`` (``{}`` when there is none)."""
    found = get(case, f"/metrics/{quoted(name)}") if isinstance(name, str) else None
    return found if isinstance(found, dict) else {}


def customer_now(case: Case, customer_id: object) -> datetime:
    """The customer's now: its test clock's time if it has one, else the server's (real) now."""
    customer = get(case, f"/customers/{quoted(customer_id)}")
    clock_id = customer.get("test_clock_id") if isinstance(customer, dict) else None
    clock = get(case, f"/test-clocks/{clock_id}") if clock_id is not None else None
    frozen = time_of(clock.get("frozen_time")) if isinstance(clock, dict) else None
    return frozen or datetime.now(UTC)
