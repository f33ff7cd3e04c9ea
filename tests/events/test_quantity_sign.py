"""A quantity of 0 is accepted for every metric; a negative one only for a metric defined with allow_negative, by
every way in (single events alone or grouped, batches plain or not), and negative quantities sum in the usage."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from fubble.api.json import dumps
from fubble.clock import FrozenClock
from fubble.db.session import Database
from fubble.errors import InvalidInput
from fubble.events import service
from fubble.events.decoder import ParsedEvent, decode_event

from .helpers import all_events, event, exact, post_event

REFUSED = (
    "must not be negative: metric {!r} does not allow negative quantities (a metric defined with allow_negative: "
    "true does)"
)


@pytest.fixture
def gauge(client: TestClient) -> str:
    """A defined metric that allows negative quantities (a plan prices api_calls and storage_gb, which do not)."""
    response = client.post("/metrics/", json={"name": "seats_delta", "allow_negative": True})
    assert response.status_code == 201, response.text
    return "seats_delta"


def parsed(body: dict[str, object]) -> ParsedEvent:
    event = decode_event(dumps(body))
    assert event is not None
    return event


def usage(client: TestClient, customer_id: int) -> dict[str, Decimal]:
    response = client.get(f"/events/customers/{customer_id}/usage")
    assert response.status_code == 200, response.text
    totals: dict[str, Decimal] = exact(response)
    return totals


def test_zero_is_accepted_for_every_metric(client: TestClient, customer_id: int, gauge: str) -> None:
    for metric in ("api_calls", "storage_gb", gauge):
        stored = post_event(client, event(customer_id, metric_name=metric, quantity=0))
        assert stored["quantity"] == 0
    batch = client.post("/events/batch", json={"events": [event(customer_id, quantity="0.000")]})
    assert batch.status_code == 200 and batch.json()["accepted"] == 1
    assert [e["quantity"] for e in all_events(client, customer_id)] == [0, 0, 0, 0]


def test_every_zero_is_stored_as_zero(client: TestClient, customer_id: int) -> None:
    for quantity in ("0.000", "0E+30", "-0E-30"):
        assert str(post_event(client, event(customer_id, quantity=quantity))["quantity"]) == "0"
    raw = b'{"customer_id":%d,"metric_name":"api_calls","quantity":0E+30}' % customer_id
    sent = client.post("/events/", content=raw, headers={"Content-Type": "application/json"})
    assert sent.status_code == 201 and sent.json()["quantity"] == 0
    stored = post_event(client, event(customer_id, quantity="-0.0", event_id="z"))
    assert str(stored["quantity"]) == "0"
    again = client.post("/events/", json=event(customer_id, quantity=0, event_id="z"))
    assert again.status_code == 200  # the same payload: a replay


def test_a_single_negative_event_needs_allow_negative(client: TestClient, customer_id: int, gauge: str) -> None:
    response = client.post("/events/", json=event(customer_id, quantity=-1))
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == [
        {"loc": ["body", "quantity"], "msg": REFUSED.format("api_calls"), "type": "value_error"}
    ]
    # With an Idempotency-Key the event is recorded alone (service.record), not in a group: the same answer.
    keyed = client.post("/events/", json=event(customer_id, quantity=-1), headers={"Idempotency-Key": "neg-1"})
    assert keyed.status_code == 422 and keyed.json()["detail"][0]["msg"] == REFUSED.format("api_calls")
    assert all_events(client, customer_id) == []
    post_event(client, event(customer_id, metric_name=gauge, quantity=5))
    corrected = post_event(client, event(customer_id, metric_name=gauge, quantity="-1.5"))
    assert corrected["quantity"] == Decimal("-1.5")
    alone = client.post(
        "/events/", json=event(customer_id, metric_name=gauge, quantity=-1), headers={"Idempotency-Key": "neg-2"}
    )
    assert alone.status_code == 201, alone.text
    assert usage(client, customer_id) == {gauge: Decimal("2.5")}


def test_a_group_refuses_only_its_negative_events(
    client: TestClient, customer_id: int, gauge: str, db: Database, clock: FrozenClock
) -> None:
    bodies = [
        event(customer_id, quantity=2),
        event(customer_id, quantity=-2, event_id="neg"),
        event(customer_id, metric_name=gauge, quantity=-3),
        event(customer_id, quantity=-2),
    ]
    with db.transaction() as session:
        outcomes = service.record_many(session, [parsed(body) for body in bodies], clock=clock)
    kept, keyed, allowed, refused = outcomes
    assert isinstance(kept, service.Recorded) and isinstance(allowed, service.Recorded)
    for outcome in (keyed, refused):
        assert isinstance(outcome, InvalidInput)
        assert outcome.detail == [
            {"loc": ["body", "quantity"], "msg": REFUSED.format("api_calls"), "type": "value_error"}
        ]
    assert usage(client, customer_id) == {"api_calls": Decimal(2), gauge: Decimal(-3)}


@pytest.mark.parametrize("plain", [True, False], ids=["plain batch", "batch checked event by event"])
def test_a_batch_lists_every_refused_negative_event(
    client: TestClient, customer_id: int, gauge: str, plain: bool
) -> None:
    good = event(customer_id, quantity=1)
    if not plain:  # a customer named by external id sends the batch down the event-by-event path
        assert client.put(f"/customers/{customer_id}", json={"external_id": "ext"}).status_code == 200
        good = {"external_customer_id": "ext", "metric_name": "api_calls", "quantity": 1}
    events = [
        event(customer_id, metric_name=gauge, quantity=-4),
        event(customer_id, quantity=-1, event_id="a"),
        good,
        event(customer_id, metric_name="storage_gb", quantity="-0.5"),
    ]
    response = client.post("/events/batch", json={"events": events})
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail["message"] == "2 of 4 events are invalid; nothing was stored"
    assert detail["errors"] == [
        {"index": 1, "event_id": "a", "reason": "quantity: " + REFUSED.format("api_calls")},
        {"index": 3, "event_id": None, "reason": "quantity: " + REFUSED.format("storage_gb")},
    ]
    assert all_events(client, customer_id) == []
    accepted = client.post("/events/batch", json={"events": [events[0], good]})
    assert accepted.status_code == 200, accepted.text
    assert usage(client, customer_id) == {gauge: Decimal(-4), "api_calls": Decimal(1)}


def test_negative_quantities_sum_max_and_latest_in_the_rollups(
    client: TestClient, customer_id: int, gauge: str
) -> None:
    times = [f"2024-01-0{day}T10:00:00Z" for day in (2, 3, 4)]
    events = [
        event(customer_id, metric_name=gauge, quantity=q, event_time=t)
        for q, t in zip(("10", "-2.5", "-3"), times, strict=True)
    ]
    assert client.post("/events/batch", json={"events": events}).status_code == 200
    assert usage(client, customer_id) == {gauge: Decimal("4.5")}
    for aggregation, expected in (("max", Decimal(10)), ("latest", Decimal(-3)), ("count", Decimal(3))):
        assert client.put(f"/metrics/{gauge}", json={"aggregation": aggregation}).status_code == 200
        assert usage(client, customer_id) == {gauge: expected}, aggregation
    all_negative = client.post("/metrics/", json={"name": "refunds", "allow_negative": True, "aggregation": "max"})
    assert all_negative.status_code == 201
    batch = [event(customer_id, metric_name="refunds", quantity=q) for q in ("-7", "-2")]
    assert client.post("/events/batch", json={"events": batch}).status_code == 200
    assert usage(client, customer_id)["refunds"] == Decimal(-2)


def test_turning_allow_negative_off_keeps_stored_events_and_refuses_new_ones(
    client: TestClient, customer_id: int, gauge: str
) -> None:
    post_event(client, event(customer_id, metric_name=gauge, quantity=-2))
    assert client.put(f"/metrics/{gauge}", json={"allow_negative": False}).status_code == 200
    assert usage(client, customer_id) == {gauge: Decimal(-2)}
    response = client.post("/events/", json=event(customer_id, metric_name=gauge, quantity=-1))
    assert response.status_code == 422 and response.json()["detail"][0]["msg"] == REFUSED.format(gauge)
