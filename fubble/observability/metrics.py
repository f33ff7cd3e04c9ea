"""fubble's Prometheus metrics (every name prefixed ``fubble_``) and the small functions the code records them with.

Served at ``GET /-/metrics`` (:mod:`fubble.observability.router`) in Prometheus' text format. ``fubble serve`` with
several worker processes sets ``PROMETHEUS_MULTIPROC_DIR`` before they start (:mod:`fubble.observability.workers`):
each worker then writes its values to files there, and a scrape, whichever worker answers it, adds up every
worker's (``prometheus_client``'s multiprocess mode). Without it (one process: tests, ``fubble serve --workers 1``,
the CLI), the values live in this process and the scrape also shows ``prometheus_client``'s process and Python
metrics.

Recording costs about a microsecond (a dict lookup and a locked add, or an add to a memory-mapped file); every label
takes values from a small fixed set, so the number of series stays bounded.
"""

from __future__ import annotations

import functools
import os
import time
import weakref
from collections.abc import Callable
from typing import Any, ParamSpec

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, SessionTransaction

from fubble.errors import Conflict, InvalidInput, NotFound

# Decided once, as prometheus_client decides (when it is first imported) where metric values are kept.
MULTIPROCESS = "PROMETHEUS_MULTIPROC_DIR" in os.environ
CONTENT_TYPE = CONTENT_TYPE_LATEST
disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created series (multiprocess mode has none)

# Seconds: most requests take a few milliseconds, a batch of 10,000 events or a large invoice list about a second.
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BILLING_RUN_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)

HTTP_REQUEST_DURATION = Histogram(
    "fubble_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by method, route template and status code "
    "(its _count is the number of requests).",
    ("method", "route", "status"),
    buckets=REQUEST_BUCKETS,
)
EVENTS_INGESTED = Counter(
    "fubble_events_ingested_total", "Usage events stored (counted when the transaction that stored them commits)."
)
EVENTS_DUPLICATES = Counter(
    "fubble_events_duplicates_total",
    "Usage events sent again with the event_id and payload of a stored event: answered, not stored again.",
)
EVENTS_REJECTED = Counter(
    "fubble_events_rejected_total",
    "Usage events refused, by reason: unknown_customer, invalid (a value, an unknown metric), conflict (an event_id "
    "stored with another payload); every event of a refused batch counts.",
    ("reason",),
)
BILLING_RUNS = Counter(
    "fubble_billing_runs_total",
    "Billing runs ended, by trigger (scheduler, api, cli, test_clock) and outcome (completed, failed).",
    ("trigger", "outcome"),
)
BILLING_RUN_DURATION = Histogram(
    "fubble_billing_run_duration_seconds",
    "How long billing runs took, by trigger.",
    ("trigger",),
    buckets=BILLING_RUN_BUCKETS,
)
DB_POOL_IN_USE = Gauge(
    "fubble_db_pool_connections_in_use",
    "Database connections checked out of the pool (summed over the server's workers).",
    multiprocess_mode="livesum",
)
DB_POOL_SIZE = Gauge(
    "fubble_db_pool_size", "Connections the pool keeps open (summed over the workers).", multiprocess_mode="livesum"
)
DB_POOL_MAX = Gauge(
    "fubble_db_pool_max_connections",
    "Most connections the pool opens, its overflow included (summed over the workers).",
    multiprocess_mode="livesum",
)
WEBHOOK_DELIVERIES = Counter(
    "fubble_webhook_deliveries_total", "Webhook delivery attempts, by event type.", ("event_type",)
)
WEBHOOK_DELIVERY_FAILURES = Counter(
    "fubble_webhook_delivery_failures_total",
    "Webhook delivery attempts that failed (no 2xx answer in time), by event type.",
    ("event_type",),
)


def exposition() -> bytes:
    """Every metric in Prometheus' text format: this process's, or with ``PROMETHEUS_MULTIPROC_DIR`` every
    worker's, added up."""
    if MULTIPROCESS:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


# --- HTTP requests ----------------------------------------------------------------------------------------------

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_request_series: dict[tuple[str, str, int], Any] = {}


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """One request answered: ``route`` is its template (``/customers/{customer_id}``), never the raw path."""
    key = (method, route, status)
    series = _request_series.get(key)
    if series is None:
        label = method if method in METHODS else "other"  # a client can send any method name
        series = _request_series[key] = HTTP_REQUEST_DURATION.labels(label, route, str(status))
    series.observe(seconds)


# --- usage events -----------------------------------------------------------------------------------------------

_PENDING = "fubble.observability.events"  # key in Session.info: counts waiting for the transaction's commit


def count_events(
    session: Session, *, stored: int = 0, duplicates: int = 0, rejected: dict[str, int] | None = None
) -> None:
    """Count events decided in ``session``'s transaction, once it commits (not at all if it rolls back: a retried
    transaction is not counted twice)."""
    pending: list[Any] | None = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = [0, 0, {}]
    pending[0] += stored
    pending[1] += duplicates
    for reason, count in (rejected or {}).items():
        pending[2][reason] = pending[2].get(reason, 0) + count


def rejection_reason(error: BaseException) -> str:
    """The ``reason`` label of an event refused with ``error``."""
    if isinstance(error, NotFound):
        return "unknown_customer"
    if isinstance(error, Conflict):
        return "conflict"
    if isinstance(error, InvalidInput):
        return "invalid"
    return "other"


def count_rejected(error: BaseException, events: int = 1) -> None:
    """Count ``events`` refused now with ``error`` (a refusal that fails its request, and rolls its transaction
    back)."""
    EVENTS_REJECTED.labels(rejection_reason(error)).inc(events)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending is None:
        return
    stored, duplicates, rejected = pending
    if stored:
        EVENTS_INGESTED.inc(stored)
    if duplicates:
        EVENTS_DUPLICATES.inc(duplicates)
    for reason, count in rejected.items():
        EVENTS_REJECTED.labels(reason).inc(count)


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the whole transaction ended without a commit (after one, nothing is left)
        session.info.pop(_PENDING, None)


# --- billing runs -----------------------------------------------------------------------------------------------

P = ParamSpec("P")


def observed_billing_run(run: Callable[P, int]) -> Callable[P, int]:
    """Decorate :func:`fubble.billing_runs.job.run_billing`: each run counts by its ``trigger`` (a keyword
    argument) and outcome, with its duration (wall time, not the billing clock: a test clock may stand still)."""

    @functools.wraps(run)
    def observed(*args: P.args, **kwargs: P.kwargs) -> int:
        trigger = str(kwargs.get("trigger", "unknown"))
        started = time.perf_counter()
        outcome = "failed"
        try:
            run_id = run(*args, **kwargs)
            outcome = "completed"
            return run_id
        finally:
            BILLING_RUNS.labels(trigger, outcome).inc()
            BILLING_RUN_DURATION.labels(trigger).observe(time.perf_counter() - started)

    return observed


# --- the database pool ------------------------------------------------------------------------------------------


_watched: weakref.WeakSet[Engine] = weakref.WeakSet()


def watch_pool(engine: Engine, *, max_connections: int) -> None:
    """Keep the pool gauges up to date for ``engine`` (the app's): set at each checkout and checkin. Once per
    engine, however many apps share it (tests do)."""
    DB_POOL_SIZE.set(engine.pool.size())  # type: ignore[attr-defined]
    DB_POOL_MAX.set(max_connections)
    if engine in _watched:
        return
    _watched.add(engine)

    def checked_out(*_args: Any) -> None:
        DB_POOL_IN_USE.set(engine.pool.checkedout())  # type: ignore[attr-defined]

    def checked_in(*_args: Any) -> None:
        # The event comes before the connection is back in the pool.
        DB_POOL_IN_USE.set(engine.pool.checkedout() - 1)  # type: ignore[attr-defined]

    event.listen(engine, "checkout", checked_out)
    event.listen(engine, "checkin", checked_in)


# --- webhooks ---------------------------------------------------------------------------------------------------


def webhook_delivery(event_type: str, *, succeeded: bool) -> None:
    """One delivery attempt of a webhook message of ``event_type`` (``invoice.created``...): call it after each
    attempt, with ``succeeded`` when the endpoint answered 2xx in time."""
    WEBHOOK_DELIVERIES.labels(event_type).inc()
    if not succeeded:
        WEBHOOK_DELIVERY_FAILURES.labels(event_type).inc()
