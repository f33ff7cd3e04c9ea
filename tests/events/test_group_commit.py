"""Group commit of single events: concurrent POST /events/ requests share a transaction, yet each gets the outcome it
would get alone (stored, replay, 404/409/422), and nothing is counted twice."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fubble.api.json import dumps
from fubble.clock import FrozenClock
from fubble.db.session import Database
from fubble.errors import Conflict, InvalidInput, NotFound
from fubble.events import service
from fubble.events.group_commit import GroupCommitter
from fubble.events.schemas import EventIn

from .helpers import all_events, event, exact, post_event


def test_a_group_gives_each_event_its_sequential_outcome(
    client: TestClient, customer_id: int, db: Database, clock: FrozenClock
) -> None:
    stored = post_event(client, event(customer_id, event_id="s1", quantity=5))
    bodies = [
        event(customer_id, event_id="k1", quantity=1),  # 0: new
        event(customer_id, event_id="k1", quantity="1.00"),  # 1: replay of 0 (same value)
        event(customer_id, event_id="k1", quantity=2),  # 2: conflict with 0
        event(customer_id, event_id="s1", quantity=5),  # 3: replay of the stored event
        event(customer_id, event_id="s1", quantity=6),  # 4: conflict with the stored event
        event(999_999, event_id="x1"),  # 5: unknown customer
        event(customer_id, metric_name="nope"),  # 6: unknown metric
        event(customer_id, quantity=3, properties={"b": 1, "a": "x"}),  # 7: new, no event_id
        event(999_999, event_id="k2"),  # 8: invalid, so it does not claim k2
        event(customer_id, event_id="k2", quantity=4),  # 9: new
        event(999_999, event_id="s1", quantity=5),  # 10: names a stored event_id: its payload decides, not the 404
    ]
    with db.transaction() as session:
        outcomes = service.record_many(session, [EventIn.model_validate(b) for b in bodies], clock=clock)
    assert len(outcomes) == len(bodies)
    new, replay, conflict, replay_stored, conflict_stored, missing, unknown, anonymous, invalid, second, stored_id = (
        outcomes
    )
    assert isinstance(new, service.Recorded) and not new.replay
    assert isinstance(replay, service.Recorded) and replay.replay and replay.event == new.event
    assert isinstance(conflict, Conflict)
    assert isinstance(replay_stored, service.Recorded) and replay_stored.replay
    assert replay_stored.event.id == stored["id"]
    assert isinstance(conflict_stored, Conflict)
    assert isinstance(missing, NotFound)
    assert isinstance(unknown, InvalidInput)
    assert isinstance(anonymous, service.Recorded) and not anonymous.replay
    assert isinstance(invalid, NotFound)
    assert isinstance(second, service.Recorded) and not second.replay
    assert isinstance(stored_id, Conflict)  # as service.record would answer it: the stored event comes first

    listed = {e["id"]: e for e in all_events(client, customer_id)}
    assert len(listed) == 4  # s1, k1, the anonymous one and k2
    for recorded in (new, anonymous, second):
        assert isinstance(recorded, service.Recorded)
        assert dumps(recorded.event) == dumps(listed[recorded.event.id])  # as the response would write it


def test_concurrent_single_events_are_each_stored_once(client: TestClient, customer_id: int) -> None:
    bodies = [event(customer_id, event_id=f"c{n % 30}", quantity=n % 30 + 1) for n in range(90)]

    def send(body: dict[str, Any]) -> tuple[int, Any]:
        response = client.post("/events/", json=body)
        return response.status_code, exact(response)

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(send, bodies))
    assert sorted({status for status, _ in results}) in ([200, 201], [201])
    assert sum(1 for status, _ in results if status == 201) == 30
    by_key: dict[str, set[int]] = {}
    for status, body in results:
        assert status in (200, 201), body
        by_key.setdefault(body["event_id"], set()).add(body["id"])
    assert all(len(ids) == 1 for ids in by_key.values())  # replays return the stored event
    stored = all_events(client, customer_id)
    assert len(stored) == 30
    assert sum(e["quantity"] for e in stored) == Decimal(sum(range(1, 31)))
    usage = exact(client.get(f"/events/customers/{customer_id}/usage"))
    assert usage == {"api_calls": Decimal(sum(range(1, 31)))}


def test_an_idempotency_key_records_in_the_requests_own_transaction(client: TestClient, customer_id: int) -> None:
    body = event(customer_id, event_id="i1")
    first = client.post("/events/", json=body, headers={"Idempotency-Key": "req-1"})
    assert first.status_code == 201, first.text
    again = client.post("/events/", json=body, headers={"Idempotency-Key": "req-1"})
    assert again.status_code == 201 and again.content == first.content  # the stored response, replayed
    replay = client.post("/events/", json=body)
    assert replay.status_code == 200 and replay.headers["Idempotent-Replay"] == "true"
    assert len(all_events(client, customer_id)) == 1


def _committer_run(
    db: Database, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch, linger_us: int, scenario: Any
) -> list[int]:
    """Run ``scenario(committer)`` in an event loop; returns the size of each group committed."""
    groups: list[int] = []
    record_many = service.record_many

    def counted(session: Any, events: Any, *, clock: FrozenClock) -> Any:
        groups.append(len(events))
        return record_many(session, events, clock=clock)

    monkeypatch.setattr(service, "record_many", counted)
    asyncio.run(scenario(GroupCommitter(db, clock, linger_us=linger_us)))
    return groups


def _valid(customer_id: int, key: str) -> service.ValidEvent:
    return EventIn.model_validate(event(customer_id, event_id=key))


def test_under_load_a_group_waits_for_the_last_groups_senders(
    customer_id: int, db: Database, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Eight events outstanding, then their senders' next eight events arriving 20 ms apart: with a linger of 2 s they
    share one transaction (it waits until eight wait, not the whole 2 s); without one, the first goes alone."""

    async def scenario(committer: GroupCommitter) -> float:
        await asyncio.gather(*(committer.record(_valid(customer_id, f"a{n}")) for n in range(8)))
        started = time.monotonic()

        async def later(n: int) -> None:
            await asyncio.sleep(0.02 * n)
            await committer.record(_valid(customer_id, f"b{n}-{committer.linger_s}"))

        await asyncio.gather(*(later(n) for n in range(8)))
        return time.monotonic() - started

    waited: list[float] = []

    async def timed(committer: GroupCommitter) -> None:
        waited.append(await scenario(committer))

    assert _committer_run(db, clock, monkeypatch, 2_000_000, timed) == [8, 8]
    assert waited[0] < 1.5  # not the whole linger: it stopped waiting once eight were there
    monkeypatch.undo()
    groups = _committer_run(db, clock, monkeypatch, 0, timed)
    assert groups[:2] == [8, 1] and sum(groups) == 16


def test_light_traffic_never_waits_and_a_drop_in_load_costs_one_wait(
    customer_id: int, db: Database, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    linger_us = 400_000

    async def scenario(committer: GroupCommitter) -> None:
        started = time.monotonic()
        await committer.record(_valid(customer_id, "lone"))
        assert time.monotonic() - started < 0.3  # nothing was outstanding before it
        await asyncio.gather(*(committer.record(_valid(customer_id, f"few{n}")) for n in range(3)))
        started = time.monotonic()
        await committer.record(_valid(customer_id, "after a few"))  # three outstanding before: too few to wait for
        assert time.monotonic() - started < 0.3
        await asyncio.gather(*(committer.record(_valid(customer_id, f"g{n}")) for n in range(8)))
        started = time.monotonic()
        await committer.record(_valid(customer_id, "after"))  # the other seven senders went quiet
        assert time.monotonic() - started >= linger_us / 1_000_000 * 0.9
        started = time.monotonic()
        await committer.record(_valid(customer_id, "alone again"))
        assert time.monotonic() - started < 0.3

    assert _committer_run(db, clock, monkeypatch, linger_us, scenario) == [1, 3, 1, 8, 1, 1]
