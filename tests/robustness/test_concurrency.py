"""Concurrency against a real server with ``--workers 2`` (two processes, each with its own connection pool), on
PostgreSQL and on SQLite.

Two worker processes are the production shape and the hardest case: requests race in separate processes, so only
the database's locks (PostgreSQL row locks and unique indexes; SQLite's single writer with ``BEGIN IMMEDIATE``) can
keep them apart; nothing in-process (the GIL, a shared pool) can hide a race. Each client thread has its own
keep-alive connection and all of them start together at a barrier.

* overlapping ``POST /events/batch`` (the same event_ids in several batches, in different orders) plus single
  ``POST /events/`` of the same events: each event is accepted by exactly one request and stored once;
* 8 concurrent ``POST /invoices/generate`` for the same window: exactly one invoice per customer, and every run
  returns the same invoices;
* concurrent status changes of one invoice: exactly one request wins each legal transition, the others get 409.

Nowhere may a 5xx, a 409 from a lock, or a lock/deadlock error reach a client (the pipeline retries them).
"""

from __future__ import annotations

import contextlib
import random
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from bench.server import ServerProcess, create_admin_key
from tests.robustness.conftest import BACKENDS, fresh_database
from tests.robustness.harness import (
    Api,
    Event,
    Live,
    Outcomes,
    Reply,
    accepted_ids,
    assert_clean_log,
    month_amount,
    new_customers,
    new_plan,
    run_threads,
    send,
    stored_events,
    subscribe,
    together,
    usage_truth,
)

pytestmark = pytest.mark.slow  # a long file: scheduled first (tests/conftest.py)


@pytest.fixture(scope="module", params=BACKENDS)
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One server with two worker processes per backend, shared by this module's tests (each uses its own customers
    and invoices)."""
    directory = tmp_path_factory.mktemp("concurrency")
    with fresh_database(request, request.param, directory) as url:
        key = create_admin_key(url)
        server = ServerProcess(url, workers=2, log_dir=directory)
        try:
            server.start()
            yield server, key
        finally:
            server.stop()


@contextlib.contextmanager
def clean_log(live: Live) -> Iterator[None]:
    yield
    assert_clean_log(live[0].log())


def test_overlapping_batches_store_each_event_once(live: Live) -> None:
    server, key = live
    api = Api(server.base, key)
    new_plan(api)
    customer_ids = new_customers(api, 3, "overlap")
    rng = random.Random(99)
    events: list[Event] = [
        {
            "event_id": f"overlap-{n:04d}",
            "customer_id": customer_ids[n % 3],
            "metric_name": ("api_calls", "storage_gb")[n % 2],
            "quantity": Decimal(rng.randint(1, 10**6)) / 100,
            "event_time": f"2024-02-{1 + n % 28:02d}T{n % 24:02d}:00:00Z",
        }
        for n in range(400)
    ]
    batches: list[list[Event]] = [[] for _ in range(12)]
    for event in events:  # every event in 3 of the 12 batches
        for index in rng.sample(range(len(batches)), 3):
            batches[index].append(event)
    for batch in batches:
        rng.shuffle(batch)  # each batch lists its events in its own order
    singles = [rng.sample(events, 15) for _ in range(4)]

    def batch_job(batch: list[Event]) -> Callable[[Api], Any]:
        return lambda client: [(batch, send(client, batch))]

    def singles_job(part: list[Event]) -> Callable[[Api], Any]:
        return lambda client: [([event], send(client, [event])) for event in part]

    outcomes = Outcomes()
    jobs = [batch_job(b) for b in batches] + [singles_job(p) for p in singles]
    with clean_log(live):
        run_threads(together(live, jobs, outcomes))
        assert outcomes.errors == []
        accepted: Counter[str] = Counter()
        for unit, reply in (pair for result in outcomes.items for pair in result):
            accepted.update(accepted_ids(unit, reply))  # asserts 200/201 only: no 409, no 5xx
        assert set(accepted) == {e["event_id"] for e in events}
        assert all(count == 1 for count in accepted.values()), "an event was accepted by two requests"

        stored = Counter(e["event_id"] for e in stored_events(api, customer_ids))
        assert stored == Counter({e["event_id"]: 1 for e in events})
        truth = usage_truth(events)
        for customer_id in customer_ids:
            usage = api.ok("GET", f"/events/customers/{customer_id}/usage")
            assert {name: Decimal(total) for name, total in usage.items()} == truth[customer_id]
    api.close()


def test_concurrent_generation_bills_each_customer_once(live: Live) -> None:
    server, key = live
    api = Api(server.base, key)
    plan_id = new_plan(api)
    customer_ids = new_customers(api, 12, "parallel-run")
    events: list[Event] = []
    for i, customer_id in enumerate(customer_ids):
        subscribe(api, customer_id, plan_id, "2024-03-01T00:00:00Z")
        events += [
            {
                "event_id": f"run-{customer_id}-{j}",
                "customer_id": customer_id,
                "metric_name": "api_calls" if j % 3 else "storage_gb",
                "quantity": Decimal(250 * (i % 6) + 17 * j) + Decimal("0.5"),
                "event_time": f"2024-03-{1 + j * 4:02d}T08:00:00Z",
            }
            for j in range(6)
        ]
    api.ok("POST", "/events/batch", {"events": events}, expect=(200,))
    truth = usage_truth(events)
    window = {"start_date": "2024-03-01T00:00:00Z", "end_date": "2024-04-01T00:00:00Z"}

    outcomes = Outcomes()
    jobs = [lambda client: client.call("POST", "/invoices/generate", window) for _ in range(8)]
    with clean_log(live):
        run_threads(together(live, jobs, outcomes))
        assert outcomes.errors == []
        replies: list[Reply] = outcomes.items
        assert [r.status for r in replies] == [200] * 8, [r.describe() for r in replies if r.status != 200]
        returned = [sorted((i["customer_id"], i["id"]) for i in r.body) for r in replies]
        assert all(ids == returned[0] for ids in returned), "concurrent runs returned different invoices"
        assert [cid for cid, _ in returned[0]] == sorted(customer_ids)
        for customer_id in customer_ids:
            invoices = api.pages(f"/invoices/customer/{customer_id}")
            assert len(invoices) == 1, f"customer {customer_id} has {len(invoices)} invoices"
            assert invoices[0]["amount"] == month_amount(truth[customer_id])
    api.close()


def test_concurrent_overlapping_windows_bill_every_moment_once(live: Live) -> None:
    """Runs over different, overlapping windows at once: however they interleave, each customer's January and
    February are billed exactly once in total (quantities are even integers, so cutting a period into slices cannot
    move a rounding cent and the sum must equal the two whole months)."""
    server, key = live
    api = Api(server.base, key)
    plan_id = new_plan(api)
    customer_ids = new_customers(api, 6, "windows")
    rng = random.Random(11)
    events: list[Event] = []
    for customer_id in customer_ids:
        # ends with the window, so the other tests' runs (2024) never bill these customers
        subscribe(api, customer_id, plan_id, "2023-01-01T00:00:00Z", "2023-03-01T00:00:00Z")
        events += [
            {
                "event_id": f"windows-{customer_id}-{j}",
                "customer_id": customer_id,
                "metric_name": "api_calls" if j % 3 else "storage_gb",
                "quantity": Decimal(2 * rng.randint(1, 400)),
                "event_time": f"2023-{1 + j % 2:02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:00:00Z",
            }
            for j in range(10)
        ]
    api.ok("POST", "/events/batch", {"events": events}, expect=(200,))
    by_month: dict[tuple[int, str], list[Event]] = {}
    for event in events:
        by_month.setdefault((event["customer_id"], event["event_time"][:7]), []).append(event)
    windows = [("01-01", "02-01"), ("01-01", "03-01"), ("02-10", "03-01"), ("01-20", "02-20")] * 2
    rng.shuffle(windows)

    def run(start: str, end: str) -> Callable[[Api], Any]:
        body = {"start_date": f"2023-{start}T00:00:00Z", "end_date": f"2023-{end}T00:00:00Z"}
        return lambda client: client.call("POST", "/invoices/generate", body)

    outcomes = Outcomes()
    with clean_log(live):
        run_threads(together(live, [run(*w) for w in windows], outcomes))
        assert outcomes.errors == []
        assert all(r.status == 200 for r in outcomes.items), [r.describe() for r in outcomes.items]
        for customer_id in customer_ids:
            months = [
                usage_truth(by_month.get((customer_id, m), [])).get(customer_id, {}) for m in ("2023-01", "2023-02")
            ]
            invoices = api.pages(f"/invoices/customer/{customer_id}")
            assert sum((i["amount"] for i in invoices), Decimal(0)) == sum(map(month_amount, months), Decimal(0))
    api.close()


def _status_job(invoice_id: int, action: str) -> Callable[[Api], Any]:
    def job(client: Api) -> tuple[str, Reply]:
        if action == "finalize":
            return action, client.call("PUT", f"/invoices/{invoice_id}/finalize")
        if action == "void":
            return action, client.call("PUT", f"/invoices/{invoice_id}/void", {"reason": "race"})
        return action, client.call("PUT", f"/invoices/{invoice_id}/status", {"status": action})

    return job


def _race(live: Live, invoice_id: int, actions: list[str]) -> list[tuple[str, Reply]]:
    outcomes = Outcomes()
    run_threads(together(live, [_status_job(invoice_id, action) for action in actions], outcomes))
    assert outcomes.errors == []
    results: list[tuple[str, Reply]] = outcomes.items
    for action, reply in results:
        assert reply.status in (200, 409), f"{action}: {reply.describe()}"
        if reply.status == 409:
            assert "cannot" in str(reply.body["detail"]), reply.describe()
    return results


def _winners(results: list[tuple[str, Reply]]) -> list[tuple[str, Reply]]:
    return [(action, reply) for action, reply in results if reply.status == 200]


def test_concurrent_status_changes_exactly_one_wins(live: Live) -> None:
    server, key = live
    api = Api(server.base, key)
    [customer_id] = new_customers(api, 1, "status-race")

    def new_invoice() -> int:
        body = {"customer_id": customer_id, "items": [{"description": "Consulting", "amount": "120.00"}]}
        return int(api.ok("POST", "/invoices/", body, expect=(201,))["id"])

    with clean_log(live):
        # 8 x finalize (draft -> pending), then 8 x paid (pending -> paid): one winner each.
        invoice_id = new_invoice()
        [(_, won)] = _winners(_race(live, invoice_id, ["finalize"] * 8))
        assert won.body["status"] == "pending"
        [(_, won)] = _winners(_race(live, invoice_id, ["paid"] * 8))
        final = api.ok("GET", f"/invoices/{invoice_id}")
        assert final["status"] == "paid" and final["paid_date"] == won.body["paid_date"] is not None
        assert final == won.body
        assert _winners(_race(live, invoice_id, ["void", "failed", "pending", "paid"] * 2)) == []  # paid is final

        # A mix on pending invoices: the winners must form one legal path. From pending any of paid/void/failed may
        # win first; after 'failed' exactly one of paid/void can still win; paid and void are final.
        rng = random.Random(5)
        for _ in range(4):
            invoice_id = new_invoice()
            api.ok("PUT", f"/invoices/{invoice_id}/finalize")
            actions = ["paid", "void", "failed"] * 3
            rng.shuffle(actions)
            winners = [action for action, _ in _winners(_race(live, invoice_id, actions))]
            final = api.ok("GET", f"/invoices/{invoice_id}")
            assert final["status"] in ("paid", "void")
            if "failed" in winners:
                assert sorted(winners) == sorted(["failed", final["status"]]), winners
            else:
                assert winners == [final["status"]], winners
            assert (final["paid_date"] is not None) == (final["status"] == "paid")
            assert (final["notes"] or "").count("Voided: race") == (final["status"] == "void")

        # Many invoices at once, each client paying all of them in its own order: one winner per invoice.
        invoice_ids = [new_invoice() for _ in range(5)]
        for invoice_id in invoice_ids:
            api.ok("PUT", f"/invoices/{invoice_id}/finalize")
        orders = [rng.sample(invoice_ids, len(invoice_ids)) for _ in range(8)]

        def pay_all(order: list[int]) -> Callable[[Api], Any]:
            return lambda client: [(i, client.call("PUT", f"/invoices/{i}/status", {"status": "paid"})) for i in order]

        outcomes = Outcomes()
        run_threads(together(live, [pay_all(order) for order in orders], outcomes))
        assert outcomes.errors == []
        results = [pair for result in outcomes.items for pair in result]
        assert sorted({r.status for _, r in results}) == [200, 409]
        assert Counter(i for i, r in results if r.status == 200) == Counter(invoice_ids)
        assert all(api.ok("GET", f"/invoices/{i}")["status"] == "paid" for i in invoice_ids)
    api.close()
