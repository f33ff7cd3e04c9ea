"""Scenarios: plan versions. Editing the prices of a plan with subscribers makes a new version; subscribers keep
theirs (grandfathered) until migrated (at their now, or at their period's end), new subscribers get the latest, and
price overrides replace a subscription's prices for a metric."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient

from fubble.clock import FrozenClock
from tests.billing_runs.scenarios.helpers import (
    Json,
    amount,
    customer,
    event,
    fee,
    flat,
    invoices_of,
    lines,
    period,
    plan,
    run,
    subscribe,
    tiered,
    utc,
)

APRIL = "2024-04-01T00:00:00Z"  # April has 30 days


def _prices(platform: str, per_call: str) -> list[Json]:
    return [fee("platform", platform), tiered("api", (0, None, per_call))]


def _edit(client: TestClient, plan_id: int, platform: str, per_call: str) -> int:
    response = client.put(f"/plans/{plan_id}", json={"price_components": _prices(platform, per_call)})
    assert response.status_code == 200, response.text
    return int(response.json()["version"])


def _migrate(client: TestClient, plan_id: int, **body: object) -> Json:
    response = client.post(f"/plans/{plan_id}/migrate", json=body)
    assert response.status_code == 200, response.text
    result: Json = response.json()
    return result


def _by_customer(invoices: list[Json]) -> dict[int, Json]:
    assert len({i["customer_id"] for i in invoices}) == len(invoices)
    return {i["customer_id"]: i for i in invoices}


def test_grandfathered_migrated_now_and_new_subscriber(client: TestClient, clock: FrozenClock) -> None:
    clock.set(utc(APRIL))
    plan_id = plan(client, *_prices("30.00", "1.00"))
    old, moved, new = customer(client, "Old"), customer(client, "Moved"), customer(client, "New")
    assert subscribe(client, old, plan_id, APRIL)["plan_version"] == 1
    assert _edit(client, plan_id, "45.00", "0.75") == 2
    assert subscribe(client, moved, plan_id, APRIL)["plan_version"] == 2
    assert _edit(client, plan_id, "60.00", "0.50") == 3
    assert subscribe(client, new, plan_id, APRIL)["plan_version"] == 3
    for cid in (old, moved, new):
        event(client, cid, "api", 100, "2024-04-10T00:00:00Z")
        event(client, cid, "api", 100, "2024-04-20T00:00:00Z")
    clock.set(utc("2024-04-16"))
    assert _migrate(client, plan_id, from_version=2, effective="now")["migrated"] == 1  # only "Moved"; "Old" stays

    invoices = _by_customer(invoices_of(client, run(client, clock, "2024-05-01T00:00:00Z")))

    # Old, grandfathered on v1: 30.00 + 200 x 1.00 = 230.00.
    assert amount(invoices[old]) == Decimal("230.00")
    # Moved: v2 on [Apr 1, Apr 16) = 15/30: 45.00 x 1/2 = 22.50 + 100 x 0.75 = 75.00; v3 on [Apr 16, May 1):
    # 60.00 x 1/2 = 30.00 + 100 x 0.50 = 50.00. Total 22.50 + 75.00 + 30.00 + 50.00 = 177.50, one invoice.
    assert lines(invoices[moved]) == [
        ("api", "usage", Decimal("75.00")),
        ("platform", "usage", Decimal("22.50")),
        ("api", "usage", Decimal("50.00")),
        ("platform", "usage", Decimal("30.00")),
    ]
    assert amount(invoices[moved]) == Decimal("177.50")
    # New, on v3 from the start: 60.00 + 200 x 0.50 = 160.00.
    assert amount(invoices[new]) == Decimal("160.00")


def test_migrated_at_period_end(client: TestClient, clock: FrozenClock) -> None:
    clock.set(utc(APRIL))
    plan_id = plan(client, *_prices("30.00", "1.00"))
    cid = customer(client)
    subscribe(client, cid, plan_id, APRIL)
    _edit(client, plan_id, "60.00", "0.50")
    clock.set(utc("2024-04-10"))
    moved = _migrate(client, plan_id, effective="period_end")
    assert [utc(s["start_date"]) for s in moved["subscriptions"]] == [utc("2024-05-01")]
    event(client, cid, "api", 10, "2024-04-20T00:00:00Z")
    event(client, cid, "api", 10, "2024-05-20T00:00:00Z")

    april, may = invoices_of(client, run(client, clock, "2024-06-01T00:00:00Z"))

    # April still on v1: 30.00 + 10 x 1.00 = 40.00; May on v2: 60.00 + 10 x 0.50 = 65.00.
    assert period(april) == (utc(APRIL), utc("2024-05-01"))
    assert amount(april) == Decimal("40.00")
    assert period(may) == (utc("2024-05-01"), utc("2024-06-01"))
    assert amount(may) == Decimal("65.00")


def test_price_overrides_on_one_subscription(client: TestClient, clock: FrozenClock) -> None:
    clock.set(utc(APRIL))
    plan_id = plan(client, *_prices("30.00", "1.00"))
    listed, negotiated = customer(client, "Listed"), customer(client, "Negotiated")
    subscribe(client, listed, plan_id, APRIL)
    overrides = [
        {"metric_name": "platform", "pricing_details": {"amount": "20.00"}},
        {"metric_name": "api", "pricing_type": "package", "pricing_details": {"package_size": 100, "package_price": 5}},
    ]
    subscribe(client, negotiated, plan_id, APRIL, price_overrides=overrides)
    for cid in (listed, negotiated):
        event(client, cid, "api", 150, "2024-04-10T00:00:00Z")

    invoices = _by_customer(invoices_of(client, run(client, clock, "2024-05-01T00:00:00Z")))

    # Plan prices: 30.00 + 150 x 1.00 = 180.00.
    assert amount(invoices[listed]) == Decimal("180.00")
    # Overrides: 20.00 + ceil(150 / 100) = 2 packages x 5.00 = 10.00 -> 30.00.
    assert lines(invoices[negotiated]) == [("api", "usage", Decimal("10.00")), ("platform", "usage", Decimal("20.00"))]
    assert amount(invoices[negotiated]) == Decimal("30.00")


def test_migration_now_charges_the_flat_fee_once_at_the_new_price(client: TestClient, clock: FrozenClock) -> None:
    clock.set(utc(APRIL))
    plan_id = plan(client, fee("platform", "30.00"), flat("support", "10.00"))
    cid = customer(client)
    subscribe(client, cid, plan_id, APRIL)
    response = client.put(
        f"/plans/{plan_id}", json={"price_components": [fee("platform", "30.00"), flat("support", "12.00")]}
    )
    assert response.status_code == 200, response.text
    clock.set(utc("2024-04-16"))
    assert _migrate(client, plan_id)["migrated"] == 1

    [april] = invoices_of(client, run(client, clock, "2024-05-01T00:00:00Z"))

    # platform unchanged, split in halves: 15.00 + 15.00; support once, by v2 in force at the period's end: 12.00.
    assert lines(april) == [
        ("platform", "usage", Decimal("15.00")),
        ("platform", "usage", Decimal("15.00")),
        ("support", "usage", Decimal("12.00")),
    ]
    assert amount(april) == Decimal("42.00")
