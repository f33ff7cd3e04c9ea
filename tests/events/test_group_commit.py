"""Group commit of single events: concurrent POST /events/ requests share a transaction, yet each gets the outcome it
would get alone (stored, replay, 404/409/422), and nothing is counted twice."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from fubble.api.json import dumps
from fubble.clock import FrozenClock
from fubble.db.session import Database
from fubble.errors import Conflict, InvalidInput, NotFound
from fubble.events import service
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
