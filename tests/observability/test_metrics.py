"""GET /-/metrics: Prometheus' text format, without a key; requests by route template, events once committed, billing
runs, the database pool and webhook deliveries, read back through the endpoint (values are per process: each test
compares before and after)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from fubble.db.session import POOL_SIZES, Database
from fubble.observability import metrics
from tests.events.helpers import event, new_customer, new_plan

from .helpers import parse, reader

pytestmark = pytest.mark.slow  # a long file: scheduled first (tests/conftest.py)

DURATION = "fubble_http_request_duration_seconds"


@pytest.fixture
def value(anon_client: TestClient) -> Callable[..., float]:
    return reader(lambda: anon_client.get("/-/metrics").text)


def test_metrics_are_public_prometheus_text(anon_client: TestClient) -> None:
    response = anon_client.get("/-/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    families = parse(response.text)
    assert ("fubble_db_pool_size", frozenset()) in families
    assert "# TYPE fubble_http_request_duration_seconds histogram" in response.text
    assert "# TYPE fubble_events_ingested_total counter" in response.text
    assert anon_client.get("/-/metrics/").status_code == 200  # both spellings, like every route
    assert anon_client.post("/-/metrics").status_code == 405


def test_requests_are_counted_by_method_route_template_and_status(
    client: TestClient, value: Callable[..., float]
) -> None:
    def count(method: str, route: str, status: str) -> float:
        return value(DURATION + "_count", method=method, route=route, status=status)

    before = {
        "found": count("GET", "/customers/", "200"),
        "missing": count("GET", "/customers/{customer_id}", "404"),
        "unmatched": count("GET", "unmatched", "404"),
        "fast": count("POST", "/events/", "404"),
        "odd": count("other", "unmatched", "404"),
    }
    assert client.get("/customers/").status_code == 200
    assert client.get("/customers").status_code == 200  # the other spelling counts under the documented one
    assert client.get("/customers/7").status_code == 404
    assert client.get("/customers/8").status_code == 404
    assert client.get("/no/such/route").status_code == 404
    assert client.get("/customers/%0A").status_code == 404  # refused in front of the app
    assert client.post("/events/", json=event(99)).status_code == 404  # answered by the fast path
    assert client.request("BREW", "/coffee").status_code == 404  # any method name: one label for the odd ones
    assert count("GET", "/customers/", "200") == before["found"] + 2
    assert count("GET", "/customers/{customer_id}", "404") == before["missing"] + 2
    assert count("GET", "unmatched", "404") == before["unmatched"] + 2
    assert count("POST", "/events/", "404") == before["fast"] + 1
    assert count("other", "unmatched", "404") == before["odd"] + 1
    labels = {
        dict(sample)["route"] for name, sample in parse(client.get("/-/metrics").text) if name == DURATION + "_count"
    }
    assert "/customers/{customer_id}" in labels
    assert not [route for route in labels if route.startswith("/customers/") and route[-1].isdigit()]  # no raw path
    scrape = parse(client.get("/-/metrics").text)
    labelled = frozenset({"method": "GET", "route": "/customers/{customer_id}", "status": "404"}.items())
    every = scrape[(DURATION + "_bucket", labelled | {("le", "+Inf")})]
    assert every == scrape[(DURATION + "_count", labelled)]
    assert scrape[(DURATION + "_sum", labelled)] > 0


def test_events_are_counted_when_their_transaction_commits(client: TestClient, value: Callable[..., float]) -> None:
    new_plan(client)
    customer_id = new_customer(client)

    def counts() -> tuple[float, ...]:
        return (
            value("fubble_events_ingested_total"),
            value("fubble_events_duplicates_total"),
            value("fubble_events_rejected_total", reason="unknown_customer"),
            value("fubble_events_rejected_total", reason="invalid"),
            value("fubble_events_rejected_total", reason="conflict"),
        )

    start = counts()

    def delta() -> tuple[int, ...]:
        return tuple(int(now - then) for now, then in zip(counts(), start, strict=True))

    assert client.post("/events/", json=event(customer_id, event_id="e-1")).status_code == 201  # the fast path
    assert client.post("/events/", json=event(customer_id, event_id="e-1")).status_code == 200  # a replay
    assert client.post("/events/", json=event(customer_id, event_id="e-1", quantity=7)).status_code == 409
    keyed = client.post("/events/", json=event(customer_id), headers={"Idempotency-Key": "k-1"})  # the FastAPI route
    assert keyed.status_code == 201, keyed.text
    assert client.post("/events/", json=event(customer_id + 100)).status_code == 404
    assert delta() == (2, 1, 1, 0, 1)
    batch = [event(customer_id, event_id="e-1"), event(customer_id, event_id="e-2"), event(customer_id)]
    response = client.post("/events/batch", json={"events": batch})
    assert response.json() == {"accepted": 2, "duplicates": 1, "duplicate_event_ids": ["e-1"]}
    assert delta() == (4, 2, 1, 0, 1)
    refused = [event(customer_id, event_id="e-3"), event(customer_id, metric_name="no_such_metric")]
    assert client.post("/events/batch", json={"events": refused}).status_code == 422
    assert delta() == (4, 2, 1, 2, 1)  # every event of the refused batch, none stored


def test_event_counts_wait_for_the_commit_and_are_dropped_by_a_rollback(
    db: Database, value: Callable[..., float]
) -> None:
    before = value("fubble_events_ingested_total")
    session = db.session(write=True)
    session.execute(text("SELECT 1"))
    metrics.count_events(session, stored=5)
    session.rollback()  # a failed (or retried) transaction stored nothing
    session.close()
    assert value("fubble_events_ingested_total") == before
    with db.transaction() as session:
        session.execute(text("SELECT 1"))
        metrics.count_events(session, stored=3)
        nested = session.begin_nested()
        nested.rollback()  # a savepoint's rollback leaves the transaction's counts alone
        assert value("fubble_events_ingested_total") == before  # not before the commit
    assert value("fubble_events_ingested_total") == before + 3


def test_billing_runs_are_counted_with_their_duration(client: TestClient, value: Callable[..., float]) -> None:
    runs = value("fubble_billing_runs_total", trigger="api", outcome="completed")
    timed = value("fubble_billing_run_duration_seconds_count", trigger="api")
    response = client.post("/billing/runs", json={})  # as of now
    assert response.status_code == 200, response.text
    assert value("fubble_billing_runs_total", trigger="api", outcome="completed") == runs + 1
    assert value("fubble_billing_run_duration_seconds_count", trigger="api") == timed + 1
    assert value("fubble_billing_run_duration_seconds_sum", trigger="api") > 0


def test_the_pool_gauges_show_its_size_and_the_connections_in_use(
    client: TestClient, db: Database, value: Callable[..., float]
) -> None:
    assert client.get("/customers/").status_code == 200
    assert value("fubble_db_pool_size") == POOL_SIZES[db.dialect][0]
    assert value("fubble_db_pool_max_connections") == db.max_connections == sum(POOL_SIZES[db.dialect])
    with db.engine.connect(), db.engine.connect():
        assert value("fubble_db_pool_connections_in_use") == 2
    assert value("fubble_db_pool_connections_in_use") == 0  # every request gave its connection back


def test_webhook_deliveries_and_failures_by_event_type(value: Callable[..., float]) -> None:
    sent = value("fubble_webhook_deliveries_total", event_type="invoice.paid")
    failed = value("fubble_webhook_delivery_failures_total", event_type="invoice.paid")
    metrics.webhook_delivery("invoice.paid", succeeded=True)
    metrics.webhook_delivery("invoice.paid", succeeded=False)
    assert value("fubble_webhook_deliveries_total", event_type="invoice.paid") == sent + 2
    assert value("fubble_webhook_delivery_failures_total", event_type="invoice.paid") == failed + 1
