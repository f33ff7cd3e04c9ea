"""``fubble.client.Client`` against a real server process: the scenario to the cent, errors as fubble's error
classes, and retries that never do the work twice (a lost answer replayed by its Idempotency-Key, a 503 retried
after its Retry-After)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest

from bench.server import free_port
from fubble import errors
from fubble.client import (
    APIConnectionError,
    APIError,
    Client,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    UnauthorizedError,
)
from fubble.customers.schemas import CustomerOut
from tests.client import scenario
from tests.client.conftest import Served
from tests.client.lossy_proxy import lossy_proxy


@pytest.fixture
def client(served: Served) -> Iterator[Client]:
    with Client(served.base, served.key) as client:
        yield client


class Exchanges:
    """What went over the wire, seen through httpx's event hooks: (Idempotency-Key sent, status, replayed)."""

    def __init__(self) -> None:
        self.keys: list[str | None] = []
        self.answers: list[tuple[int, str | None]] = []

    def http_client(self) -> httpx.Client:
        return httpx.Client(event_hooks={"request": [self._request], "response": [self._response]})

    def _request(self, request: httpx.Request) -> None:
        self.keys.append(request.headers.get("Idempotency-Key"))

    def _response(self, response: httpx.Response) -> None:
        self.answers.append((response.status_code, response.headers.get("Idempotent-Replay")))


def test_the_scenario_to_the_cent(client: Client, suffix: str) -> None:
    scenario.check(scenario.run(client, suffix))


def test_answers_are_the_servers_models_with_exact_decimals(client: Client, suffix: str) -> None:
    customer = client.customers.create(
        name="Exact", email=f"exact-{suffix}@example.com", metadata={"rate": Decimal("0.1")}
    )
    assert isinstance(customer, CustomerOut)
    assert customer.metadata == {"rate": Decimal("0.1")}
    assert client.customers.get(customer.id) == customer
    assert client.customers.update(customer.id, phone="+1-555-0100").phone == "+1-555-0100"
    grant = client.credits.grant(customer.id, Decimal("10.10"), "Goodwill", priority=1)
    assert (str(grant.amount), str(client.credits.balance(customer.id).balance)) == ("10.10", "10.10")
    assert customer.id in [c.id for c in client.customers.list(limit=1000)]


def test_errors_are_fubbles_error_classes(client: Client, suffix: str) -> None:
    with pytest.raises(NotFoundError) as missing:
        client.customers.get(999_999_999)
    assert isinstance(missing.value, errors.NotFound) and isinstance(missing.value, APIError)
    assert (missing.value.status_code, missing.value.detail) == (404, "customer 999999999 not found")

    with pytest.raises(errors.InvalidInput) as invalid:
        client.customers.create(name="Bad", email="not-an-email")
    assert isinstance(invalid.value, InvalidInputError)
    assert [entry["loc"] for entry in invalid.value.detail] == [["body", "email"]]

    email = f"twice-{suffix}@example.com"
    client.customers.create(name="Once", email=email)
    with pytest.raises(ConflictError) as taken:
        client.customers.create(name="Twice", email=email)
    assert isinstance(taken.value, errors.Conflict) and taken.value.status_code == 409

    with pytest.raises(errors.InvalidInput) as refused:
        client.events.batch([{"customer_id": 1, "metric_name": "api_calls", "quantity": -1}])
    assert [e["index"] for e in refused.value.detail["errors"]] == [0]


def test_a_wrong_key_is_unauthorized(served: Served) -> None:
    with Client(served.base, "fbl_000000000000_" + "x" * 43) as client, pytest.raises(UnauthorizedError) as exc:
        client.customers.list()
    assert isinstance(exc.value, errors.Unauthorized) and exc.value.status_code == 401


def test_floats_are_refused_before_sending(client: Client) -> None:
    with pytest.raises(TypeError, match="float"):
        client.events.record(customer_id=1, metric_name="api_calls", quantity=1.5)  # type: ignore[arg-type]


def test_a_lost_answer_is_retried_with_the_same_key_and_replayed(served: Served, suffix: str) -> None:
    """The first answer never arrives, though the server stored the batch: the retry carries the same
    Idempotency-Key, so the server replays its answer and the events (without event_ids) are stored once."""
    with Client(served.base, served.key) as direct:
        customer = direct.customers.create(name="Lossy", email=f"lossy-{suffix}@example.com")
        metric = direct.metrics.create(name=f"lossy_{suffix}").name
    seen = Exchanges()
    port = int(served.base.rsplit(":", 1)[1])
    with lossy_proxy(port) as proxy, Client(proxy.base, served.key, http_client=seen.http_client()) as client:
        proxy.drop = 1
        events = [{"customer_id": customer.id, "metric_name": metric, "quantity": q} for q in (5, 7)]
        result = client.events.batch(events)
        assert proxy.dropped == 1
        assert (result.accepted, result.duplicates) == (2, 0)  # the first attempt's answer, replayed
        assert seen.answers == [(200, "true")]
        assert len(seen.keys) == 2 and seen.keys[0] == seen.keys[1] and seen.keys[0] is not None
        assert client.events.usage(customer.id) == {metric: Decimal(12)}
        assert seen.keys[2] is None  # reads carry no key


def test_a_503_is_retried_after_its_retry_after(served: Served, suffix: str) -> None:
    """A writer outside the server holds SQLite's write lock, so the server answers 503 with Retry-After: 1 (having
    done nothing); the lock is released once the 503 is seen, and the retry, a second later, succeeds."""
    lock = sqlite3.connect(served.db_path, isolation_level=None, timeout=5)
    lock.execute("BEGIN IMMEDIATE")
    seen = Exchanges()

    def release(response: httpx.Response) -> None:
        if response.status_code == 503 and lock.in_transaction:
            lock.execute("ROLLBACK")

    http = seen.http_client()
    http.event_hooks["response"].append(release)
    try:
        with Client(served.base, served.key, http_client=http) as client:
            started = time.monotonic()
            customer = client.customers.create(name="Busy", email=f"busy-{suffix}@example.com")
            waited = time.monotonic() - started
            assert [status for status, _ in seen.answers] == [503, 201]
            assert seen.keys[0] == seen.keys[1]
            assert waited >= 1.0
            assert [c.email for c in client.customers.list(limit=1000)].count(customer.email) == 1
    finally:
        if lock.in_transaction:
            lock.execute("ROLLBACK")
        lock.close()


def test_no_answer_at_all_is_a_connection_error_after_the_retries() -> None:
    seen = Exchanges()
    client = Client(f"http://127.0.0.1:{free_port()}", "k", max_retries=1, http_client=seen.http_client())
    with client, pytest.raises(APIConnectionError) as exc:
        client.customers.get(1)
    assert isinstance(exc.value.__cause__, httpx.ConnectError)
    assert len(seen.keys) == 2  # the first attempt and one retry
    assert isinstance(exc.value, errors.FubbleError)
