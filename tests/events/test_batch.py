"""POST /events/batch: all-or-nothing validation, duplicates, limits."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from decimal import Context, Decimal, localcontext
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fubble.config import Settings
from fubble.db.session import Database
from fubble.events import repository
from fubble.events.fingerprint import DERIVED

from .helpers import all_events, event, exact, new_customer


def usage(client: TestClient, customer_id: int) -> Any:
    return exact(client.get(f"/events/customers/{customer_id}/usage"))


def test_batch_of_three(client: TestClient, customer_id: int) -> None:
    response = client.post(
        "/events/batch",
        json={
            "events": [
                event(customer_id, quantity=10),
                event(customer_id, quantity="0.5", event_id="b-1", event_time="2024-01-10T00:00:00+01:00"),
                event(customer_id, metric_name="storage_gb", quantity="2.25", properties={"region": "eu"}),
            ]
        },
    )
    assert response.status_code == 200, response.text
    assert exact(response) == {"accepted": 3, "duplicates": 0, "duplicate_event_ids": []}
    stored = all_events(client, customer_id)
    assert [(e["event_id"], e["quantity"], e["event_time"]) for e in stored] == [
        ("b-1", Decimal("0.5"), "2024-01-09T23:00:00Z"),
        (None, 10, "2024-01-15T12:00:00Z"),
        (None, Decimal("2.25"), "2024-01-15T12:00:00Z"),
    ]
    assert stored[2]["properties"] == {"region": "eu"}
    assert usage(client, customer_id) == {"api_calls": Decimal("10.5"), "storage_gb": Decimal("2.25")}


def test_batch_with_bad_events_lists_each_and_stores_nothing(client: TestClient, customer_id: int) -> None:
    events = [
        event(customer_id, event_id="ok-0"),
        event(customer_id, event_id="bad-1", quantity=-1),
        event(customer_id),
        event(customer_id, event_id="bad-3", metric_name="api_call"),
        event(customer_id),
    ]
    response = client.post("/events/batch", json={"events": events})
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail["message"] == "2 of 5 events are invalid; nothing was stored"
    assert [(e["index"], e["event_id"]) for e in detail["errors"]] == [(1, "bad-1"), (3, "bad-3")]
    assert detail["errors"][0]["reason"].startswith("quantity: ")
    reason = "metric_name: unknown metric 'api_call'; known metrics: api_calls, storage_gb"
    assert detail["errors"][1]["reason"] == reason
    assert all_events(client, customer_id) == []


def test_batch_reports_every_kind_of_bad_event(client: TestClient, customer_id: int) -> None:
    assert client.post("/events/", json=event(customer_id, event_id="stored")).status_code == 201
    events: list[Any] = [
        "not an object",
        event(customer_id, quantity="abc", unexpected=1),
        event(customer_id + 99),
        event(customer_id, event_id="stored", quantity=2),
        event(customer_id, event_id="twice"),
        event(customer_id, event_id="twice", quantity=3),
        event(customer_id + 99, metric_name="nope"),
        {"customer_id": customer_id},
        event(customer_id),
    ]
    response = client.post("/events/batch", json={"events": events})
    assert response.status_code == 422, response.text
    errors = {e["index"]: e for e in response.json()["detail"]["errors"]}
    assert sorted(errors) == [0, 1, 2, 3, 5, 6, 7]
    assert errors[0]["reason"] == "must be a JSON object, not a string"
    assert errors[1]["reason"] == "unexpected: is not a field of an event"
    assert errors[2]["reason"] == f"customer {customer_id + 99} not found"
    assert errors[3] == {
        "index": 3,
        "event_id": "stored",
        "reason": "event_id 'stored' is already stored with a different payload",
    }
    assert errors[5]["reason"] == "event_id 'twice' appears at index 4 with a different payload"
    assert errors[6]["reason"].startswith(f"customer {customer_id + 99} not found; metric_name: unknown metric 'nope'")
    assert errors[7]["reason"] == "metric_name: is required; quantity: is required"
    assert len(all_events(client, customer_id)) == 1


def test_duplicates_inside_and_across_batches_count_once(client: TestClient, customer_id: int) -> None:
    a = event(customer_id, event_id="a", quantity=1)
    b = event(customer_id, event_id="b", quantity=2)
    c = event(customer_id, event_id="c", quantity=4)
    first = client.post("/events/batch", json={"events": [a, a, b, a]})
    assert first.status_code == 200, first.text
    assert exact(first) == {"accepted": 2, "duplicates": 2, "duplicate_event_ids": ["a"]}
    second = client.post("/events/batch", json={"events": [c, b, a, {**a, "quantity": "1.000"}]})
    assert second.status_code == 200, second.text
    assert exact(second) == {"accepted": 1, "duplicates": 3, "duplicate_event_ids": ["b", "a"]}
    assert usage(client, customer_id) == {"api_calls": 7}
    assert len(all_events(client, customer_id)) == 3
    # The single-event route sees batch events as replays, and the other way round.
    assert client.post("/events/", json=b).status_code == 200
    assert client.post("/events/", json={**b, "quantity": 3}).status_code == 409


def test_concurrent_overlapping_batches_do_not_double_count(client: TestClient, customer_id: int) -> None:
    batches = [
        {"events": [event(customer_id, event_id=f"e-{i}", quantity=1) for i in range(start, start + 50)]}
        for start in (0, 25, 10, 40)
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(pool.map(lambda body: client.post("/events/batch", json=body), batches))
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    results = [exact(r) for r in responses]
    assert sum(r["accepted"] for r in results) == 90
    assert sum(r["duplicates"] for r in results) == 200 - 90
    assert usage(client, customer_id) == {"api_calls": 90}


def test_batch_size_limits(client: TestClient, customer_id: int, settings: Settings) -> None:
    bodies: list[Any] = [{"events": []}, {"events": [event(customer_id)] * 10_001}]
    for body in bodies:
        response = client.post("/events/batch", json=body)
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == ["body", "events"]
    settings.max_batch_events = 2  # the app reads its settings per request
    response = client.post("/events/batch", json={"events": [event(customer_id)] * 3})
    assert response.status_code == 422
    assert "at most 2" in response.text
    assert all_events(client, customer_id) == []


def test_malformed_batch_bodies_are_422(client: TestClient, customer_id: int) -> None:
    bodies: list[Any] = [{}, {"events": "x"}, {"events": {"a": 1}}, {"events": [event(customer_id)], "extra": 1}, []]
    for body in bodies:
        response = client.post("/events/batch", json=body)
        assert response.status_code == 422, (body, response.text)
    assert all_events(client, customer_id) == []


def test_full_batch_of_ten_thousand(client: TestClient, customer_id: int) -> None:
    other = new_customer(client, "other@example.com")
    events = [
        event(customer_id if i % 2 else other, event_id=f"big-{i}" if i % 3 else None, quantity="0.001")
        for i in range(10_000)
    ]
    response = client.post("/events/batch", json={"events": events})
    assert response.status_code == 200, response.text
    assert exact(response) == {"accepted": 10_000, "duplicates": 0, "duplicate_event_ids": []}
    assert usage(client, customer_id) == {"api_calls": Decimal("5.000")}
    again = client.post("/events/batch", json={"events": events})
    assert again.status_code == 200, again.text
    assert exact(again)["accepted"] == 3334  # the events without an event_id cannot be recognised
    assert exact(again)["duplicates"] == 6666
    assert usage(client, other) == {"api_calls": Decimal("6.667")}  # 5000 events, then 1667 without event_id again


def test_batches_in_opposite_orders_in_parallel(client: TestClient, customer_id: int) -> None:
    ids = [f"o-{i:03}" for i in range(200)]
    bodies = [{"events": [event(customer_id, event_id=i, quantity=1) for i in order]} for order in (ids, ids[::-1])] * 3
    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(lambda body: client.post("/events/batch", json=body), bodies))
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    assert sum(exact(r)["accepted"] for r in responses) == 200
    assert usage(client, customer_id) == {"api_calls": 200}


def test_race_with_a_concurrent_identical_event_counts_a_duplicate(
    client: TestClient, customer_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = event(customer_id, event_id="a", quantity=1)
    assert client.post("/events/", json=a).status_code == 201
    # Pretend the stored event was committed by another request after this batch looked for it.
    real = repository.fingerprints_by_event_id
    calls: list[int] = []

    def late_visibility(session: Session, event_ids: Iterable[str]) -> dict[str, str]:
        calls.append(1)
        return {} if len(calls) == 1 else real(session, event_ids)

    monkeypatch.setattr(repository, "fingerprints_by_event_id", late_visibility)
    b = event(customer_id, event_id="b", quantity=2)
    # "b" twice: a batch that repeats an event_id is checked event by event before it is inserted.
    response = client.post("/events/batch", json={"events": [a, b, b]})
    assert response.status_code == 200, response.text
    assert exact(response) == {"accepted": 1, "duplicates": 2, "duplicate_event_ids": ["b", "a"]}
    assert usage(client, customer_id) == {"api_calls": 3}


def test_race_with_a_concurrent_conflicting_event_is_409_and_stores_nothing(
    client: TestClient, customer_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert client.post("/events/", json=event(customer_id, event_id="a", quantity=1)).status_code == 201
    real = repository.fingerprints_by_event_id
    calls: list[int] = []

    def late_visibility(session: Session, event_ids: Iterable[str]) -> dict[str, str]:
        calls.append(1)
        return {} if len(calls) == 1 else real(session, event_ids)

    monkeypatch.setattr(repository, "fingerprints_by_event_id", late_visibility)
    repeated = event(customer_id, event_id="a", quantity=2)
    batch = [event(customer_id, quantity=5), repeated, repeated]  # checked event by event (see above)
    response = client.post("/events/batch", json={"events": batch})
    assert response.status_code == 409, response.text
    assert "'a'" in response.json()["detail"]
    assert usage(client, customer_id) == {"api_calls": 1}


def test_a_plain_batch_replaying_stored_events_counts_them_as_duplicates(client: TestClient, customer_id: int) -> None:
    a = event(customer_id, event_id="a", quantity=1)
    b = event(customer_id, event_id="b", quantity=2)
    assert client.post("/events/batch", json={"events": [a, b]}).status_code == 200
    # No event_id twice: inserted straight away, the stored ones skipped by the unique index and then compared.
    replay = [event(customer_id, event_id="c", quantity=4), b, {**a, "quantity": "1.0"}]
    response = client.post("/events/batch", json={"events": replay})
    assert response.status_code == 200, response.text
    assert exact(response) == {"accepted": 1, "duplicates": 2, "duplicate_event_ids": ["b", "a"]}
    assert usage(client, customer_id) == {"api_calls": 7}
    again = client.post("/events/batch", json={"events": replay})
    assert exact(again) == {"accepted": 0, "duplicates": 3, "duplicate_event_ids": ["c", "b", "a"]}
    assert usage(client, customer_id) == {"api_calls": 7}


def test_a_plain_batch_reusing_a_stored_event_id_for_another_payload_stores_nothing(
    client: TestClient, customer_id: int
) -> None:
    assert client.post("/events/", json=event(customer_id, event_id="a", quantity=1)).status_code == 201
    batch = [
        event(customer_id, event_id="c", quantity=4),
        event(customer_id, quantity=2),
        event(customer_id, event_id="a", quantity=9),
    ]
    response = client.post("/events/batch", json={"events": batch})
    assert response.status_code == 422, response.text
    assert response.json()["detail"]["errors"] == [
        {"index": 2, "event_id": "a", "reason": "event_id 'a' is already stored with a different payload"}
    ]
    assert usage(client, customer_id) == {"api_calls": 1}
    assert len(all_events(client, customer_id)) == 1


def test_a_large_batch_stores_every_field_as_sent(client: TestClient, customer_id: int) -> None:
    # More than 500 rows: PostgreSQL takes them by COPY, SQLite in (customer, metric, time) order.
    sent = [
        event(
            customer_id,
            event_id=f"f-{i:03}",
            quantity=f"{i}.5",
            event_time=f"2024-02-{1 + i % 5:02d}T{i % 24:02d}:00:00+02:00",
            **({"properties": {"region": "eu", "flag": True, "n": i}} if i % 2 else {}),
        )
        for i in range(600)
    ]
    response = client.post("/events/batch", json={"events": sent})
    assert exact(response) == {"accepted": 600, "duplicates": 0, "duplicate_event_ids": []}
    stored = {e["event_id"]: e for e in all_events(client, customer_id)}
    for i, body in enumerate(sent):
        got = stored[body["event_id"]]
        assert got["quantity"] == Decimal(f"{i}.5")
        assert datetime.fromisoformat(got["event_time"]) == datetime.fromisoformat(body["event_time"])
        assert got["event_time"].endswith(("Z", "+00:00"))
        assert got["properties"] == body.get("properties")


def test_a_large_batch_keeps_each_quantity_as_written(client: TestClient, customer_id: int) -> None:
    """Whole quantities go to PostgreSQL's COPY as integers (cheaper to send), the others as decimals: either way
    each reads back as written, trailing zeros included, and the rollups add them exactly."""
    written = ["3", "3.0", "3.50", "0.000000000001", "99999999999999999999", "12.345678901234"]
    body = ",".join(
        f'{{"customer_id":{customer_id},"metric_name":"api_calls","quantity":{written[i % len(written)]},'
        f'"event_id":"q-{i:03}","event_time":"2024-02-01T{i % 24:02d}:00:00Z"}}'
        for i in range(600)
    )
    response = client.post(
        "/events/batch", content=f'{{"events":[{body}]}}', headers={"Content-Type": "application/json"}
    )
    assert exact(response)["accepted"] == 600
    stored = {e["event_id"]: e for e in all_events(client, customer_id)}
    quantities = [_as_written(stored[f"q-{i:03}"]["quantity"]) for i in range(600)]
    assert quantities == [written[i % len(written)] for i in range(600)]
    with localcontext(Context(prec=100)):  # the default 28 digits would round the expected sum
        total = sum((Decimal(q) for q in quantities), Decimal(0))
    assert usage(client, customer_id) == {"api_calls": total}


def _as_written(quantity: int | Decimal) -> str:
    """A JSON number as the response wrote it (an integer, or a decimal's digits in plain notation)."""
    return str(quantity) if isinstance(quantity, int) else format(quantity, "f")


_TRICKY = [
    {"quantity": 1, "event_time": "2024-03-01T10:00:00Z"},
    {"quantity": 2.50, "event_time": "2024-03-01T10:00:00.000001+05:30", "properties": {"b": 1, "a": [1.0, "x"]}},
    {"quantity": 99999999999999999999, "event_time": "1969-12-31T23:59:59.999999Z", "properties": {"ü": {"n": 10}}},
    {"quantity": 0.000000000001, "event_time": "2024-03-01T10:00:00", "properties": {"big": 12345678901234567890}},
]
# The same payloads written differently: other key order, other number spellings, the same instants otherwise written
_RESENT = [
    {"event_time": "2024-03-01T11:00:00+01:00", "quantity": 1.0},
    {"event_time": "2024-03-01T04:30:00.000001Z", "quantity": 2.5, "properties": {"a": [1, "x"], "b": 1.00}},
    {
        "event_time": "1970-01-01T00:59:59.999999+01:00",
        "quantity": 99999999999999999999,
        "properties": {"ü": {"n": 1e1}},
    },
    {"quantity": 1e-12, "event_time": "2024-03-01T10:00:00Z", "properties": {"big": 12345678901234567890}},
]


def _batch_of(customer_id: int, events: list[dict[str, Any]], ids: Iterable[str]) -> dict[str, Any]:
    return {
        "events": [
            {"customer_id": customer_id, "metric_name": "api_calls", "event_id": key, **e}
            for key, e in zip(ids, events, strict=True)
        ]
    }


def test_events_stored_without_their_own_fingerprint_still_tell_replays_from_conflicts(
    client: TestClient, customer_id: int, db: Database
) -> None:
    """A plain batch stores no fingerprint for events sent with their event_time (it is worked out from the stored
    row when needed): a retry written differently is still a duplicate, and another payload still a conflict, both
    for batches and for single events."""
    keys = [f"t-{i}" for i in range(len(_TRICKY))]
    response = client.post("/events/batch", json=_batch_of(customer_id, _TRICKY, keys))
    assert exact(response) == {"accepted": 4, "duplicates": 0, "duplicate_event_ids": []}
    with db.session(write=False) as session:
        assert set(session.scalars(select(repository.EVENTS.c.fingerprint))) == {DERIVED}
    response = client.post("/events/batch", json=_batch_of(customer_id, _RESENT, keys))
    assert exact(response) == {"accepted": 0, "duplicates": 4, "duplicate_event_ids": keys}
    for key, resent in zip(keys, _RESENT, strict=True):  # one at a time: replays
        response = client.post(
            "/events/", json={"customer_id": customer_id, "metric_name": "api_calls", "event_id": key, **resent}
        )
        assert response.status_code == 200, response.text
    changed = [dict(e) for e in _RESENT]
    changed[2]["properties"] = {"ü": {"n": 11}}
    response = client.post("/events/batch", json=_batch_of(customer_id, changed, keys))
    assert response.status_code == 422
    assert [e["index"] for e in response.json()["detail"]["errors"]] == [2]
    response = client.post(
        "/events/", json={"customer_id": customer_id, "metric_name": "api_calls", "event_id": keys[0], "quantity": 2}
    )
    assert response.status_code == 409
    assert len(all_events(client, customer_id)) == 4
