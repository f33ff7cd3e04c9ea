"""Property-based fuzzing of the OpenAPI schema with schemathesis, against the real app (on SQLite; see below).

Every operation of ``/openapi.json`` gets generated requests, valid ones (``positive``) and invalid ones
(``negative``), sent with an admin key to the real ASGI app (the ``app`` fixture). Each response
must not be a 5xx, must have a documented status code and content type, and must match the documented schema. The
generation is deterministic (``derandomize``), so CI runs the same requests every time; the requests that reach the
app are counted and must be at least :data:`MIN_REQUESTS`.

The database is seeded first (customers, a plan with every pricing type, a subscription, events, invoices, a pricing
factor, a second API key), so small generated ids hit real objects and the deeper code paths run.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from random import Random
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.types import Message, Receive, Scope, Send

pytestmark = pytest.mark.slow  # scheduled first: see tests/conftest.py

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Generated cases per operation and mode. Operations with few possible requests (no parameters) stop early.
EXAMPLES = {GenerationMode.POSITIVE: 18, GenerationMode.NEGATIVE: 9}
MIN_REQUESTS = 2000

EVERY_PRICING_TYPE: list[tuple[str, dict[str, Any]]] = [
    ("flat", {"amount": 19.99}),
    ("tiered", {"tiers": [{"start": 0, "end": 1000, "price": 0.01}, {"start": 1000, "end": None, "price": 0.005}]}),
    ("volume", {"tiers": [{"start": 0, "end": 100, "price": 0.10}, {"start": 100, "end": None, "price": 0.08}]}),
    ("package", {"package_size": 1000, "package_price": 9.99}),
    ("subscription", {"amount": 29.99}),
    ("usage_based_subscription", {"base_fee": 20.0, "usage_price": 0.5}),
    ("time_based", {"rate_per_unit": 2.5, "unit": "hour"}),
    ("dynamic", {"base_rate": 0.15, "formula": "base_rate * (1 + market_factor) * usage"}),
]

# Valid values that the schema cannot express (a metric some plan prices, an existing customer, a time inside the seeded
# activity, a decimal of at most 12 places). Most positive cases get them wherever they fit, so ingestion, billing and
# analytics run past their validation; the others are sent as generated.
STEERED_SHARE = 0.6
SEEDED_METRICS = [f"m_{kind}" for kind, _ in EVERY_PRICING_TYPE]
SEEDED_CUSTOMERS = [1, 2]
SEEDED_EXTERNAL_ID = "globex-1"
SEEDED_IDS = [1, 2, 3]  # path ids: the seed made at least two of everything
SEEDED_TIMES = ["2023-06-01T00:00:00Z", "2023-07-01T00:00:00", "2023-08-15T12:00:00Z", "2023-10-01", "2024-01-01"]
SEEDED_NUMBERS = [0.5, 1, 2.25, 10, 1500]
TIME_KEYS = {"event_time", "issue_date", "due_date", "effective_from", "start_date", "end_date"}


class CountingApp:
    """The app, counting the HTTP requests that reach it and their responses by status class (2, 4, 5)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.requests = 0
        self.by_class: Counter[int] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.requests += 1

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.by_class[message["status"] // 100] += 1
            await send(message)

        await self.app(scope, receive, counting_send)


def _ok(client: TestClient, method: str, url: str, **kwargs: Any) -> Any:
    response = client.request(method, url, **kwargs)
    assert response.status_code < 300, f"{method} {url}: {response.status_code} {response.text}"
    return response.json()


def seed(client: TestClient) -> None:
    """Valid objects of every kind, with small ids the generated requests will hit."""
    customers = [
        _ok(client, "POST", "/customers/", json={"name": "Acme Corp", "email": "billing@acme.example"})["id"],
        _ok(
            client,
            "POST",
            "/customers/",
            json={"name": "Globex", "email": "ap@globex.example", "currency": "EUR", "external_id": SEEDED_EXTERNAL_ID},
        )["id"],
    ]
    _ok(client, "PUT", "/pricing-factors/market_factor", json={"value": 0.25, "effective_from": "2023-01-01T00:00:00"})
    components = [
        {"metric_name": f"m_{kind}", "pricing_type": kind, "pricing_details": details}
        for kind, details in EVERY_PRICING_TYPE
    ]
    plan = _ok(
        client,
        "POST",
        "/plans/",
        json={"name": "Every type", "billing_frequency": "monthly", "price_components": components},
    )
    _ok(client, "POST", "/plans/", json={"name": "Yearly", "billing_frequency": "yearly", "price_components": []})
    for customer_id in customers:
        _ok(
            client,
            "POST",
            f"/customers/{customer_id}/subscriptions",
            json={"plan_id": plan["id"], "start_date": "2023-06-01T00:00:00Z"},
        )
        events = [
            {
                "customer_id": customer_id,
                "metric_name": f"m_{kind}",
                "quantity": 10 * (i + 1),
                "event_time": f"2023-{month:02d}-15T12:00:00Z",
                "event_id": f"seed-{customer_id}-{kind}-{month}",
            }
            for i, (kind, _) in enumerate(EVERY_PRICING_TYPE)
            for month in (7, 8, 9)
        ]
        _ok(client, "POST", "/events/batch", json={"events": events})
    _ok(client, "POST", "/events/", json={"customer_id": customers[0], "metric_name": "m_flat", "quantity": 1.5})
    item = {"description": "Setup", "amount": 5.0, "quantity": 1, "unit_price": 5.0}
    _ok(client, "POST", "/invoices/", json={"customer_id": customers[0], "items": [item], "notes": "manual"})
    pending = _ok(client, "POST", "/invoices/", json={"customer_id": customers[1], "items": [item]})
    _ok(client, "PUT", f"/invoices/{pending['id']}/status", params={"status": "pending"})
    _ok(client, "POST", "/invoices/generate", json={"start_date": "2023-07-01", "end_date": "2023-09-01"})
    _ok(client, "POST", "/api-keys", json={"name": "fuzz reader", "scope": "read"})


def _seeded_value(key: str, value: Any, rnd: Random) -> Any:
    if key == "metric_name" and isinstance(value, str):
        return rnd.choice(SEEDED_METRICS)
    if key == "customer_id" and isinstance(value, int | float):
        return rnd.choice(SEEDED_CUSTOMERS)
    if key == "external_customer_id" and isinstance(value, str):
        return SEEDED_EXTERNAL_ID
    if key in TIME_KEYS and isinstance(value, str):
        return rnd.choice(SEEDED_TIMES)
    if isinstance(value, float):  # generated floats are mostly extreme (5e-324, 1e308), beyond 12 places or 32 digits
        return rnd.choice(SEEDED_NUMBERS)
    return value


def _steer(container: Any, rnd: Random) -> None:
    if isinstance(container, list):
        for item in container:
            _steer(item, rnd)
        return
    if not isinstance(container, dict):
        return
    for key, value in list(container.items()):
        if isinstance(value, dict | list):
            _steer(value, rnd)
        else:
            container[key] = _seeded_value(key, value, rnd)
    if "customer_id" in container and "external_customer_id" in container:  # an event names its customer once
        del container[rnd.choice(["customer_id", "external_customer_id"])]
    # A window gets seeded bounds in order (a seeded bound next to a generated one far away would only make a window
    # of thousands of billing periods: refused or slow, not a deeper test).
    if isinstance(container.get("start_date"), str) and isinstance(container.get("end_date"), str):
        container["start_date"], container["end_date"] = sorted(rnd.sample(SEEDED_TIMES[::2], 2))


def _steered(pair: tuple[Case, Random]) -> Case:
    case, rnd = pair
    if rnd.random() < STEERED_SHARE:
        for container in (case.body, case.query):
            _steer(container, rnd)
        for name, value in (case.path_parameters or {}).items():
            if name.endswith("_id") and isinstance(value, int):
                case.path_parameters[name] = rnd.choice(SEEDED_IDS)
    return case


def _keeps_admin_key(admin_key_id: int) -> Callable[[Case], bool]:
    """Revoking the key the fuzzer sends would turn every later request into a 401: leave that one case out."""

    def keep(case: Case) -> bool:
        return not (case.method.upper() == "DELETE" and case.path_parameters == {"key_id": admin_key_id})

    return keep


def _has_inputs(operation: Any) -> bool:
    return any(True for _ in operation.iter_parameters()) or len(operation.body) > 0


def fuzz_operation(operation: Any, mode: GenerationMode, headers: dict[str, str], admin_key_id: int) -> str | None:
    """Run the generated cases of one operation; the failure report, or None."""
    strategy = operation.as_strategy(generation_mode=mode)
    if mode is GenerationMode.POSITIVE and _has_inputs(operation):
        strategy = st.tuples(strategy, st.randoms(use_true_random=False)).map(_steered)

    @settings(
        max_examples=EXAMPLES[mode],
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
        print_blob=False,
    )
    @given(case=strategy.filter(_keeps_admin_key(admin_key_id)))
    def run(case: Case) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:  # schemathesis reports failures as an exception group
        return f"{operation.label} [{mode.value}]: {exc}"
    return None


# On SQLite only: tests/fuzz/test_schemathesis_all_checks.py fuzzes every operation against a live server on both
# databases, with every check; this one adds the seeded, steered cases in-process (about a minute of CPU per database).
@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_every_operation_survives_fuzzing(app: FastAPI, admin_key: str) -> None:
    headers = {"Authorization": f"Bearer {admin_key}"}
    with TestClient(app, raise_server_exceptions=False, headers=headers) as client:
        seed(client)
        admin_key_id = next(k["id"] for k in _ok(client, "GET", "/api-keys") if k["name"] == "test admin")
    counting = CountingApp(app)
    schema = schemathesis.openapi.from_asgi("/openapi.json", counting)
    counting.requests = 0
    counting.by_class.clear()
    started = time.monotonic()
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in EXAMPLES:
            if mode is GenerationMode.NEGATIVE and not _has_inputs(operation):
                continue  # nothing to make invalid (GET /health)
            failure = fuzz_operation(operation, mode, headers, admin_key_id)
            if failure is not None:
                failures.append(failure)
    elapsed = time.monotonic() - started
    assert not failures, f"{len(failures)} operations failed:\n\n" + "\n\n".join(failures)
    assert counting.requests >= MIN_REQUESTS, f"only {counting.requests} requests in {elapsed:.1f}s"
    # Most requests are refused (that is what fuzzing does), but enough must succeed for the deeper code to run: a
    # broken key or seed would otherwise pass unnoticed as a run of 401s and 404s.
    assert counting.by_class[2] >= counting.requests // 10, dict(counting.by_class)
    print(f"fuzzed {counting.requests} requests in {elapsed:.1f}s: {dict(counting.by_class)} by status class")
