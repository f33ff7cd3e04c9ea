"""Scenarios: the peers' charge models billed by a run, every amount written out. Grouped lines, charge filters,
percentage with allowances and per-transaction bounds, event amounts, a component minimum, a plan commitment,
recurring seats (prorated or not), a gauge that may go negative, tier flat amounts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from fubble.clock import FrozenClock
from tests.billing_runs.scenarios.helpers import (
    Json,
    amount,
    customer,
    fee,
    invoices_of,
    plan,
    run,
    subscribe,
    utc,
)


def _event(client: TestClient, cid: int, metric: str, quantity: int | str, at: str, **properties: Any) -> None:
    body = {"customer_id": cid, "metric_name": metric, "quantity": quantity, "event_time": at}
    if properties:
        body["properties"] = properties
    response = client.post("/events/", json=body)
    assert response.status_code in (200, 201), response.text


def _metric(client: TestClient, name: str, aggregation: str = "sum", **fields: Any) -> None:
    response = client.post("/metrics/", json={"name": name, "aggregation": aggregation, **fields})
    assert response.status_code == 201, response.text


def _lines(inv: Json) -> list[tuple[str, Decimal]]:
    """(description up to the period, amount) of each line, in line order."""
    return [(i["description"].split(" (")[0], Decimal(i["amount"])) for i in inv["invoice_items"]]


def _january(client: TestClient, clock: FrozenClock, *components: Json, **plan_fields: Any) -> tuple[int, Any]:
    cid = customer(client)
    clock.set(utc("2024-01-01"))
    subscribe(client, cid, plan(client, *components, **plan_fields), "2024-01-01T00:00:00Z")
    return cid, lambda as_of="2024-02-01T00:00:00Z": invoices_of(client, run(client, clock, as_of))


def _tiers(*tiers: tuple[int, int | None, str]) -> dict[str, Any]:
    return {"tiers": [{"start": s, "end": e, "price": p} for s, e, p in tiers]}


def test_grouped_by_region_rates_each_group_on_its_own_tiers(client: TestClient, clock: FrozenClock) -> None:
    component = {
        "metric_name": "api",
        "pricing_type": "tiered",
        "pricing_details": _tiers((0, 100, "0.10"), (100, None, "0.05")),
        "grouped_by": ["region"],
    }
    cid, bill = _january(client, clock, component)
    _event(client, cid, "api", 150, "2024-01-05T00:00:00Z", region="eu")
    _event(client, cid, "api", 50, "2024-01-06T00:00:00Z", region="us")
    [inv] = bill()
    # eu: 100 x 0.10 + 50 x 0.05 = 12.50; us: 50 x 0.10 = 5.00 (one tier table per group).
    assert _lines(inv) == [("api [region: eu]", Decimal("12.50")), ("api [region: us]", Decimal("5.00"))]
    assert amount(inv) == Decimal("17.50")


def test_charge_filters_price_matching_events_by_the_most_specific_filter(
    client: TestClient, clock: FrozenClock
) -> None:
    component = {
        "metric_name": "requests",
        "pricing_type": "tiered",
        "pricing_details": _tiers((0, None, "0.01")),
        "filters": [
            {"properties": {"method": ["POST"]}, "pricing_details": _tiers((0, None, "0.05"))},
            {"properties": {"method": ["POST"], "region": ["eu"]}, "pricing_details": _tiers((0, None, "0.10"))},
        ],
    }
    cid, bill = _january(client, clock, component)
    _event(client, cid, "requests", 100, "2024-01-05T00:00:00Z", method="GET", region="eu")
    _event(client, cid, "requests", 10, "2024-01-05T00:00:00Z", method="POST", region="us")
    _event(client, cid, "requests", 10, "2024-01-05T00:00:00Z", method="POST", region="eu")
    [inv] = bill()
    # POST us: 10 x 0.05 = 0.50; POST eu (two properties beat one): 10 x 0.10 = 1.00; GET: 100 x 0.01 = 1.00.
    assert _lines(inv) == [
        ("requests [method: POST]", Decimal("0.50")),
        ("requests [method: POST, region: eu]", Decimal("1.00")),
        ("requests", Decimal("1.00")),
    ]
    assert amount(inv) == Decimal("2.50")


def test_percentage_with_free_events_and_per_transaction_bounds(client: TestClient, clock: FrozenClock) -> None:
    details = {
        "rate": "2",
        "fixed_amount": "0.30",
        "free_units_per_events": 2,
        "per_transaction_min_amount": "0.50",
        "per_transaction_max_amount": "5.00",
    }
    cid, bill = _january(
        client, clock, {"metric_name": "volume", "pricing_type": "percentage", "pricing_details": details}
    )
    for day, value in enumerate(["100", "50", "10", "1000", "300"], start=2):
        _event(client, cid, "volume", value, f"2024-01-{day:02d}T00:00:00Z")
    [inv] = bill()
    # 100 and 50: free events. 10: 0.20 + 0.30 = 0.50. 1000: 20.30, capped 5.00. 300: 6.30, capped 5.00.
    assert [a for _, a in _lines(inv)] == [Decimal("10.50")]


def test_event_amounts_are_summed_and_rounded_once(client: TestClient, clock: FrozenClock) -> None:
    details = {"amount_property": "cost"}
    component = {"metric_name": "resold", "pricing_type": "event_amount", "pricing_details": details}
    cid, bill = _january(client, clock, component)
    for day, cost in enumerate(["1.25", "2.10", "0.333"], start=2):
        _event(client, cid, "resold", 1, f"2024-01-{day:02d}T00:00:00Z", cost=cost)
    [inv] = bill()
    assert [a for _, a in _lines(inv)] == [Decimal("3.68")]  # 3.683, rounded once


def test_a_component_minimum_is_trued_up(client: TestClient, clock: FrozenClock) -> None:
    component = {
        "metric_name": "api",
        "pricing_type": "tiered",
        "pricing_details": _tiers((0, None, "1.00")),
        "min_amount": "50.00",
    }
    cid, bill = _january(client, clock, component)
    _event(client, cid, "api", 20, "2024-01-05T00:00:00Z")
    [inv] = bill()
    # 20 x 1.00 = 20.00; the minimum 50.00 adds a 30.00 true-up.
    assert [a for _, a in _lines(inv)] == [Decimal("20.00"), Decimal("30.00")]
    assert [i["kind"] for i in inv["invoice_items"]] == ["usage", "minimum"]
    assert amount(inv) == Decimal("50.00")


def test_a_plan_commitment_is_trued_up(client: TestClient, clock: FrozenClock) -> None:
    usage = {"metric_name": "api", "pricing_type": "tiered", "pricing_details": _tiers((0, None, "0.50"))}
    cid, bill = _january(client, clock, fee("platform", "30.00"), usage, minimum_commitment="100.00")
    _event(client, cid, "api", 40, "2024-01-05T00:00:00Z")
    [inv] = bill()
    # 30.00 + 40 x 0.50 = 50.00 of charges; the 100.00 commitment adds 50.00.
    assert sorted(a for _, a in _lines(inv)) == [Decimal("20.00"), Decimal("30.00"), Decimal("50.00")]
    assert "commitment" in [i["kind"] for i in inv["invoice_items"]]
    assert amount(inv) == Decimal("100.00")


def _seats(client: TestClient, clock: FrozenClock, *, prorated: bool) -> tuple[int, Any]:
    _metric(client, "seats", "unique_count", property="seat_id", recurring=True)
    component = {
        "metric_name": "seats",
        "pricing_type": "tiered",
        "pricing_details": _tiers((0, None, "10.00")),
        "prorated": prorated,
    }
    cid, bill = _january(client, clock, component)
    _event(client, cid, "seats", 1, "2023-12-20T00:00:00Z", seat_id="a")  # before the start: counts from it
    _event(client, cid, "seats", 1, "2024-01-11T00:00:00Z", seat_id="b")
    _event(client, cid, "seats", 1, "2024-01-21T00:00:00Z", seat_id="a", operation="remove")
    return cid, bill


def test_recurring_seats_prorated_by_the_days_held(client: TestClient, clock: FrozenClock) -> None:
    _, bill = _seats(client, clock, prorated=True)
    [january] = bill()
    # a: Jan 1-21 (20 of 31 days), b: Jan 11-Feb 1 (21 days): 41/31 seat-months = 1.322580645161 x 10.00 = 13.23.
    assert [a for _, a in _lines(january)] == [Decimal("13.23")]
    [february] = bill("2024-03-01T00:00:00Z")
    assert [a for _, a in _lines(february)] == [Decimal("10.00")]  # b held all of February: carried over


def test_recurring_seats_not_prorated_count_every_seat_held_in_the_period(
    client: TestClient, clock: FrozenClock
) -> None:
    _, bill = _seats(client, clock, prorated=False)
    [january] = bill()
    assert [a for _, a in _lines(january)] == [Decimal("20.00")]  # a and b were both held in January
    [february] = bill("2024-03-01T00:00:00Z")
    assert [a for _, a in _lines(february)] == [Decimal("10.00")]  # only b is still held


def test_a_sum_that_goes_negative_is_billed_as_zero(client: TestClient, clock: FrozenClock) -> None:
    _metric(client, "gauge", "sum", allow_negative=True)
    component = {"metric_name": "gauge", "pricing_type": "tiered", "pricing_details": _tiers((0, None, "1.00"))}
    cid, bill = _january(client, clock, component)
    _event(client, cid, "gauge", 10, "2024-01-05T00:00:00Z")
    _event(client, cid, "gauge", -15, "2024-01-06T00:00:00Z")
    _event(client, cid, "gauge", 0, "2024-01-07T00:00:00Z")
    [january] = bill()
    assert [a for _, a in _lines(january)] == [Decimal("0.00")]  # -5 is never billed below zero
    _event(client, cid, "gauge", 8, "2024-02-05T00:00:00Z")
    [february] = bill("2024-03-01T00:00:00Z")
    assert [a for _, a in _lines(february)] == [Decimal("8.00")]


def test_tier_flat_amounts_first_tier_even_at_zero_usage(client: TestClient, clock: FrozenClock) -> None:
    details = {
        "tiers": [
            {"start": 0, "end": 100, "price": "0", "flat_amount": "10.00"},
            {"start": 100, "end": None, "price": "0.10", "flat_amount": "5.00"},
        ]
    }
    cid, bill = _january(client, clock, {"metric_name": "api", "pricing_type": "tiered", "pricing_details": details})
    [january] = bill()
    assert [a for _, a in _lines(january)] == [Decimal("10.00")]  # no usage: the first tier's flat amount
    _event(client, cid, "api", 150, "2024-02-05T00:00:00Z")
    [february] = bill("2024-03-01T00:00:00Z")
    assert [a for _, a in _lines(february)] == [Decimal("20.00")]  # 10.00 + 5.00 + 50 x 0.10


def test_late_usage_adjusts_a_minimum_and_an_event_priced_component(client: TestClient, clock: FrozenClock) -> None:
    minimum = {
        "metric_name": "api",
        "pricing_type": "tiered",
        "pricing_details": _tiers((0, None, "1.00")),
        "min_amount": "50.00",
    }
    volume = {"metric_name": "volume", "pricing_type": "percentage", "pricing_details": {"rate": "2"}}
    cid, bill = _january(client, clock, minimum, volume)
    _event(client, cid, "api", 20, "2024-01-05T00:00:00Z")
    _event(client, cid, "volume", 100, "2024-01-05T00:00:00Z")
    [january] = bill()
    # api 20.00 + minimum 30.00; volume 2% of 100 = 2.00.
    assert sorted(a for _, a in _lines(january)) == [Decimal("2.00"), Decimal("20.00"), Decimal("30.00")]
    # Late January usage, after January was finalized: +10 api calls, +50 of volume.
    _event(client, cid, "api", 10, "2024-01-20T00:00:00Z")
    _event(client, cid, "volume", 50, "2024-01-21T00:00:00Z")
    [february] = bill("2024-03-01T00:00:00Z")
    kinds = sorted((i["kind"], i["metric_name"], Decimal(i["amount"])) for i in february["invoice_items"])
    assert kinds == [
        ("adjustment", "api", Decimal("10.00")),  # January's api: 30.00 instead of 20.00
        ("adjustment", "volume", Decimal("1.00")),  # January's volume: 2% of 150 = 3.00 instead of 2.00
        ("minimum", "api", Decimal("-10.00")),  # January's minimum now needs 20.00, not 30.00
        ("minimum", "api", Decimal("50.00")),  # February: no usage, the whole minimum
        ("usage", "api", Decimal("0.00")),
        ("usage", "volume", Decimal("0.00")),
    ]
    assert amount(february) == Decimal("51.00")


def test_a_grouped_gauge_holds_each_groups_last_value_into_the_period(client: TestClient, clock: FrozenClock) -> None:
    _metric(client, "storage", "weighted_sum")
    component = {
        "metric_name": "storage",
        "pricing_type": "tiered",
        "pricing_details": _tiers((0, None, "1.00")),
        "grouped_by": ["region"],
    }
    cid, bill = _january(client, clock, component)
    # Reported before the subscription: eu holds 31 GB from Dec 20, us 62 GB; eu drops to 0 on Jan 16 (15 of 31 days).
    _event(client, cid, "storage", 31, "2023-12-20T00:00:00Z", region="eu")
    _event(client, cid, "storage", 62, "2023-12-21T00:00:00Z", region="us")
    _event(client, cid, "storage", 0, "2024-01-16T00:00:00Z", region="eu")
    [january] = bill()
    # eu: 31 GB x 15/31 of the month = 15 GB-months = 15.00; us: 62 GB all month = 62.00.
    assert _lines(january) == [("storage [region: eu]", Decimal("15.00")), ("storage [region: us]", Decimal("62.00"))]
