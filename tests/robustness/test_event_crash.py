"""Crash durability of event ingestion, against a real server process killed with SIGKILL mid-stream.

Several clients (threads, one connection each) stream events with unique ``event_id`` s, as single
``POST /events/`` and ``POST /events/batch``. Once enough events are acknowledged, the server is SIGKILLed while
requests are in flight. After a restart on the same database:

1. every acknowledged event is stored, exactly once and with its payload (durability: a 2xx means committed);
2. the clients re-send everything that was not acknowledged (as the same requests) plus a sample of acknowledged
   events regrouped differently (singles inside batches and vice versa); no acknowledged event is ever accepted
   again, and what the retries accept adds up exactly to what was missing;
3. in the end each event is stored exactly once and ``GET /events/customers/{id}/usage`` equals the ground truth.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial

import pytest

from tests.robustness.conftest import ServerFactory
from tests.robustness.harness import (
    Api,
    ConnectionLost,
    Event,
    Unit,
    accepted_ids,
    assert_clean_log,
    new_customers,
    new_plan,
    run_threads,
    send,
    stored_events,
    usage_truth,
)

pytestmark = pytest.mark.slow  # a long file: scheduled first (tests/conftest.py)

CUSTOMERS = 4
EVENTS = 1200
CLIENTS = 4
KILL_AFTER = 450  # acknowledged events before the kill
METRICS = ("api_calls", "storage_gb")


def make_events(customer_ids: list[int], rng: random.Random) -> list[Event]:
    return [
        {
            "event_id": f"crash-{n:05d}",
            "customer_id": customer_ids[n % len(customer_ids)],
            "metric_name": METRICS[(n // len(customer_ids)) % len(METRICS)],
            "quantity": Decimal(rng.randint(1, 500_000)) / 1000,  # up to 3 decimal places
            "event_time": f"2024-01-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:00Z",
            "properties": {"n": n, "region": rng.choice(["eu", "us"])},
        }
        for n in range(EVENTS)
    ]


def as_units(events: list[Event], rng: random.Random) -> list[Unit]:
    """Cut into requests: about half of them single events, the others batches of 2..40 events."""
    units: list[Unit] = []
    i = 0
    while i < len(events):
        size = 1 if rng.random() < 0.5 else rng.randint(2, 40)
        units.append(events[i : i + size])
        i += size
    return units


@dataclass
class Stream:
    """What the clients of one phase saw."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    acked: set[str] = field(default_factory=set)  # event_ids in requests that got a 2xx
    accepted: list[str] = field(default_factory=list)  # event_ids those replies say were stored now
    unanswered: list[Unit] = field(default_factory=list)  # requests cut by the crash, or never sent
    cut_in_flight: int = 0  # requests fully sent whose response never came
    in_flight: int = 0
    errors: list[str] = field(default_factory=list)

    def client(self, base: str, key: str, units: list[Unit], crash_expected: bool) -> None:
        api = Api(base, key)
        try:
            for position, unit in enumerate(units):
                with self.lock:
                    self.in_flight += 1
                try:
                    reply = send(api, unit)
                except ConnectionLost as lost:
                    with self.lock:
                        self.unanswered.extend(units[position:])
                        self.cut_in_flight += lost.sent
                    if not crash_expected:
                        self.errors.append(f"connection lost without a crash: {lost}")
                    return
                finally:
                    with self.lock:
                        self.in_flight -= 1
                try:
                    new = accepted_ids(unit, reply)
                except AssertionError as exc:
                    self.errors.append(str(exc))
                    return
                with self.lock:
                    self.acked.update(event["event_id"] for event in unit)
                    self.accepted.extend(new)
        finally:
            api.close()


def spread(units: list[Unit], clients: int) -> list[list[Unit]]:
    return [units[i::clients] for i in range(clients)]


def check_stored(stored: list[Event], sent: dict[str, Event]) -> Counter[str]:
    """Every stored event is one that was sent, with its payload; returns how often each event_id is stored."""
    counts = Counter(event["event_id"] for event in stored)
    for event in stored:
        original = sent.get(event["event_id"])
        assert original is not None, f"an event nobody sent is stored: {event}"
        for name in ("customer_id", "metric_name", "quantity", "properties"):
            assert event[name] == original[name], (name, event, original)
    return counts


def test_acknowledged_events_survive_sigkill_and_retries_never_double_count(server_factory: ServerFactory) -> None:
    server, key = server_factory()
    setup = Api(server.base, key)
    new_plan(setup)
    customer_ids = new_customers(setup, CUSTOMERS, "crash")
    setup.close()
    rng = random.Random(20240115)
    events = make_events(customer_ids, rng)
    sent = {event["event_id"]: event for event in events}
    units = as_units(events, rng)
    assert any(len(u) == 1 for u in units) and any(len(u) > 1 for u in units)

    # Phase 1: stream, and SIGKILL the server once KILL_AFTER events are acknowledged.
    first = Stream()
    threads = [
        threading.Thread(target=first.client, args=(server.base, key, part, True), daemon=True)
        for part in spread(units, CLIENTS)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while len(first.acked) < KILL_AFTER and not first.errors and time.monotonic() < deadline:
        time.sleep(0.001)
    in_flight_at_kill = first.in_flight
    server.kill()
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads), "a client hung after the server was killed"
    assert first.errors == []
    assert KILL_AFTER <= len(first.acked) < EVENTS, "the kill did not happen mid-stream"
    assert in_flight_at_kill >= 1 and first.cut_in_flight >= 1, "no request was in flight when the server died"
    assert first.accepted and set(first.accepted) == first.acked  # all new events before the crash
    assert len(first.accepted) == len(first.acked)

    # Phase 2: restart. Every acknowledged event must be there, once, with its payload.
    server.start()
    api = Api(server.base, key)
    after_crash = check_stored(stored_events(api, customer_ids), sent)
    assert all(count == 1 for count in after_crash.values()), [i for i, c in after_crash.items() if c > 1]
    assert first.acked <= set(after_crash), f"acknowledged but lost: {sorted(first.acked - set(after_crash))[:10]}"
    unacked_but_stored = set(after_crash) - first.acked  # committed, but the response died with the server
    assert unacked_but_stored <= {e["event_id"] for unit in first.unanswered for e in unit}

    # Phase 3: clients retry what was never acknowledged (the same requests), plus every 4th acknowledged event cut
    # into new requests at random (so events first sent alone come back inside batches, and batch events alone).
    acked_sample = sorted(first.acked)[::4]
    rng.shuffle(acked_sample)
    regrouped = as_units([sent[event_id] for event_id in acked_sample], rng)
    retries = first.unanswered + regrouped
    rng.shuffle(retries)
    second = Stream()
    run_threads([partial(second.client, server.base, key, part, False) for part in spread(retries, CLIENTS)])
    assert second.errors == []
    assert not second.unanswered
    accepted_again = Counter(second.accepted)
    assert not (set(accepted_again) & first.acked), "a retry of an acknowledged event was stored again"
    assert all(count == 1 for count in accepted_again.values()), "two retries of one event were both stored"
    assert len(after_crash) + len(accepted_again) == EVENTS

    # Final state: every event exactly once, with its payload; usage totals equal the ground truth.
    final = check_stored(stored_events(api, customer_ids), sent)
    assert set(final) == set(sent)
    assert all(count == 1 for count in final.values())
    truth = usage_truth(events)
    for customer_id in customer_ids:
        usage = api.ok("GET", f"/events/customers/{customer_id}/usage")
        assert {name: Decimal(total) for name, total in usage.items()} == truth[customer_id]
    api.close()
    server.stop()
    assert_clean_log(server.log())
