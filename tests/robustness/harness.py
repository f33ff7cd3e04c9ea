"""What the robustness tests share: a blocking HTTP client (one keep-alive connection per thread), scenario setup
through the public API, the ground truth of the pricing used, and checks on the server's log.

Everything talks to a REAL ``fubble serve`` process (:class:`bench.server.ServerProcess`) over 127.0.0.1.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlencode, urlsplit

import simplejson

from bench.server import ServerProcess

# A ``tiered`` metric and a monthly flat fee; :func:`tiered_amount` and :data:`FLAT_FEE` are their ground truth.
TIERS = ((Decimal(0), Decimal(1000), Decimal("0.01")), (Decimal(1000), None, Decimal("0.005")))
FLAT_FEE = Decimal("10.00")
STORAGE_PRICE = Decimal("0.02")
PLAN: dict[str, Any] = {
    "name": "Robustness",
    "billing_frequency": "monthly",
    "price_components": [
        {
            "metric_name": "api_calls",
            "pricing_type": "tiered",
            "pricing_details": {
                "tiers": [
                    {"start": str(start), "end": None if end is None else str(end), "price": str(price)}
                    for start, end, price in TIERS
                ]
            },
        },
        {
            "metric_name": "storage_gb",
            "pricing_type": "volume",
            "pricing_details": {"tiers": [{"start": 0, "end": None, "price": str(STORAGE_PRICE)}]},
        },
        {"metric_name": "base_fee", "pricing_type": "flat", "pricing_details": {"amount": str(FLAT_FEE)}},
    ],
}
# Log lines that must never appear: a 5xx (the app logs every unhandled or database error with its traceback) or a
# lock/deadlock error that reached a client instead of being retried.
FORBIDDEN_LOG = ("Traceback", "database is locked", "deadlock detected", "could not serialize", "unhandled error")


def tiered_amount(usage: Decimal) -> Decimal:
    """Graduated tiers, then one half-up rounding to cents for the line."""
    total = Decimal(0)
    for start, end, price in TIERS:
        upper = usage if end is None else min(usage, end)
        if upper > start:
            total += (upper - start) * price
    return total.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def month_amount(usage: dict[str, Decimal]) -> Decimal:
    """What one full monthly period of the plan costs with this usage: flat fee + tiered api_calls + volume storage."""
    storage = (usage.get("storage_gb", Decimal(0)) * STORAGE_PRICE).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return FLAT_FEE + tiered_amount(usage.get("api_calls", Decimal(0))) + storage


Live = tuple[ServerProcess, str]  # a started server and an admin key for it


class ConnectionLost(Exception):
    """The request got no response: the server died (or closed the connection) while it was in flight."""

    def __init__(self, sent: bool, cause: BaseException) -> None:
        super().__init__(f"no response ({'after' if sent else 'before'} the request was sent): {cause!r}")
        self.sent = sent


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]

    def describe(self) -> str:
        return f"{self.status} {self.body!r}"[:600]


class Api:
    """A blocking JSON client on one keep-alive connection; use one per thread. Decimals travel as JSON numbers and
    come back as :class:`~decimal.Decimal` (never float)."""

    def __init__(self, base: str, key: str, *, timeout: float = 60.0) -> None:
        parts = urlsplit(base)
        assert parts.hostname == "127.0.0.1", "robustness tests only talk to 127.0.0.1"
        self.host, self.port = parts.hostname, parts.port or 80
        self.timeout = timeout
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        self._conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def call(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Reply:
        if params:
            path = f"{path}?{urlencode(params)}"
        payload = None if body is None else simplejson.dumps(body, use_decimal=True).encode()
        reused = self._conn is not None
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        sent = False
        try:
            self._conn.request(method, path, body=payload, headers=self.headers)
            sent = True
            response = self._conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            if reused and method == "GET" and isinstance(exc, (http.client.RemoteDisconnected, ConnectionResetError)):
                # the server closed the idle keep-alive connection as the request went out (its keep-alive timeout
                # passed while this client waited); a read is sent again on a new connection, as HTTP clients do
                return self.call(method, path, params=None)
            raise ConnectionLost(sent, exc) from exc
        parsed = json.loads(data, parse_float=Decimal) if data else None
        return Reply(response.status, parsed, {k.lower(): v for k, v in response.getheaders()})

    def ok(self, method: str, path: str, body: Any = None, *, expect: Iterable[int] = (200, 201), **kw: Any) -> Any:
        reply = self.call(method, path, body, **kw)
        assert reply.status in set(expect), f"{method} {path}: {reply.describe()}"
        return reply.body

    def pages(self, path: str, params: dict[str, Any] | None = None, *, limit: int = 1000) -> list[Any]:
        """Every item of a paginated list (bounded: at most 1000 pages)."""
        items: list[Any] = []
        for page in range(1000):
            batch = self.ok("GET", path, params={**(params or {}), "limit": limit, "offset": page * limit})
            items.extend(batch)
            if len(batch) < limit:
                return items
        raise AssertionError(f"{path}: more than 1000 pages")


Event = dict[str, Any]
Unit = list[Event]  # one request: a single event (length 1, sent to POST /events/) or a batch


def send(api: Api, unit: Unit) -> Reply:
    if len(unit) == 1:
        return api.call("POST", "/events/", unit[0])
    return api.call("POST", "/events/batch", {"events": unit})


def accepted_ids(unit: Unit, reply: Reply) -> set[str]:
    """The event_ids this successful reply stored now (not duplicates); fails on any other reply."""
    ids = [event["event_id"] for event in unit]
    if len(unit) == 1:
        assert reply.status in (200, 201), reply.describe()
        if reply.status == 200:
            assert reply.headers.get("idempotent-replay") == "true", reply.headers
            return set()
        return set(ids)
    assert reply.status == 200, reply.describe()
    duplicates = set(reply.body["duplicate_event_ids"])
    assert duplicates <= set(ids)
    assert reply.body["duplicates"] == len(duplicates)
    assert reply.body["accepted"] + reply.body["duplicates"] == len(unit), reply.describe()
    return set(ids) - duplicates


def new_customers(api: Api, count: int, tag: str) -> list[int]:
    return [
        api.ok("POST", "/customers/", {"name": f"{tag} {n}", "email": f"{tag}-{n}@example.com"}, expect=(201,))["id"]
        for n in range(count)
    ]


def new_plan(api: Api) -> int:
    return int(api.ok("POST", "/plans/", PLAN, expect=(201,))["id"])


def subscribe(api: Api, customer_id: int, plan_id: int, start: str, end: str | None = None) -> None:
    body = {"plan_id": plan_id, "start_date": start, "end_date": end}
    api.ok("POST", f"/customers/{customer_id}/subscriptions", body)


def stored_events(api: Api, customer_ids: Sequence[int]) -> list[dict[str, Any]]:
    return [event for cid in customer_ids for event in api.pages(f"/events/customers/{cid}")]


def usage_truth(events: Iterable[dict[str, Any]]) -> dict[int, dict[str, Decimal]]:
    """{customer_id: {metric: total quantity}} of the given (sent) events."""
    totals: dict[int, dict[str, Decimal]] = {}
    for event in events:
        per_customer = totals.setdefault(event["customer_id"], {})
        per_customer[event["metric_name"]] = per_customer.get(event["metric_name"], Decimal(0)) + event["quantity"]
    return totals


def assert_clean_log(log: str) -> None:
    bad = [line for line in log.splitlines() if any(word in line for word in FORBIDDEN_LOG)]
    assert not bad, "the server logged errors (a 5xx or a surfaced lock error):\n" + "\n".join(bad[:20])


@dataclass
class Outcomes:
    """Thread-safe collection of what concurrent callers saw."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    items: list[Any] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, item: Any) -> None:
        with self.lock:
            self.items.append(item)

    def fail(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)


def run_threads(targets: Sequence[Callable[[], None]], *, timeout: float = 60.0) -> None:
    """Run each callable in its own thread, started together; fail if any is still running after ``timeout``."""
    threads = [threading.Thread(target=target, daemon=True) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    stuck = sum(thread.is_alive() for thread in threads)
    assert stuck == 0, f"{stuck} client threads still running after {timeout} s (a hung request or a deadlock)"


def together(
    live: Live, jobs: list[Callable[[Api], Any]], outcomes: Outcomes, *, timeout: float = 60
) -> list[Callable[[], None]]:
    """Threads, one connection each, released at once by a barrier; each job's result goes to ``outcomes``."""
    server, key = live
    barrier = threading.Barrier(len(jobs), timeout=timeout)

    def thread(job: Callable[[Api], Any]) -> Callable[[], None]:
        def run() -> None:
            api = Api(server.base, key)
            try:
                api.call("GET", "/health")  # connect (and authenticate once) before the barrier
                barrier.wait()
                outcomes.add(job(api))
            except (AssertionError, ConnectionLost, threading.BrokenBarrierError) as exc:
                outcomes.fail(repr(exc))
            finally:
                api.close()

        return run

    return [thread(job) for job in jobs]
