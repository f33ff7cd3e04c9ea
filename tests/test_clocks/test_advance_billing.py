"""Advancing a test clock bills its customers, and only them, as of each period end on the way."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from fastapi.testclient import TestClient

from fubble.clock import FrozenClock
from tests.test_clocks.helpers import (
    advance,
    body,
    customer,
    invoices_of,
    make_clock,
    monthly_plan,
    subscribe,
    summary,
)

JAN, FEB, MAR, APR = (f"2024-{m:02d}-01T00:00:00Z" for m in (1, 2, 3, 4))


def test_three_months_on_a_clock_make_three_invoices(client: TestClient) -> None:
    clock_id = make_clock(client, JAN)
    alice = customer(client, "alice@globex.example", test_clock_id=clock_id)
    subscription = subscribe(client, alice, plan_id=monthly_plan(client))
    assert subscription["start_date"] == JAN  # the clock's time, not the server's (2024-01-15T12:00)
    event = {"customer_id": alice, "metric_name": "api_calls", "quantity": 150, "event_time": "2024-01-10T00:00:00Z"}
    body(client.post("/events/", json=event), 201)

    advanced = advance(client, clock_id, APR)

    assert (advanced["id"], advanced["frozen_time"]) == (clock_id, APR)
    runs = [body(client.get(f"/billing/runs/{run_id}")) for run_id in advanced["billing_run_ids"]]
    assert [(r["as_of"], r["trigger"], r["test_clock_id"], r["invoices_created"]) for r in runs] == [
        (JAN, "test_clock", clock_id, 0),  # the subscription's start, at the clock's time
        (FEB, "test_clock", clock_id, 1),
        (MAR, "test_clock", clock_id, 1),
        (APR, "test_clock", clock_id, 1),
    ]
    invoices = invoices_of(client, alice)
    assert summary(invoices) == [
        (JAN, FEB, Decimal("34.00"), "pending", FEB),  # $30 + 2 packages of 100 calls at $2
        (FEB, MAR, Decimal("30.00"), "pending", MAR),
        (MAR, APR, Decimal("30.00"), "pending", APR),
    ]
    assert [i["billing_run_id"] for i in invoices] == advanced["billing_run_ids"][1:]
    # Advancing again bills only the new month.
    again = advance(client, clock_id, "2024-04-15T00:00:00Z")
    assert len(again["billing_run_ids"]) == 1
    assert len(invoices_of(client, alice)) == 3


def test_an_advance_bills_only_its_clocks_customers(client: TestClient, clock: FrozenClock) -> None:
    plan_id = monthly_plan(client)
    clock_id = make_clock(client, JAN)
    other_clock_id = make_clock(client, JAN)
    on_clock = customer(client, "clock@globex.example", test_clock_id=clock_id)
    on_other_clock = customer(client, "other@globex.example", test_clock_id=other_clock_id)
    real = customer(client, "real@globex.example")
    for customer_id in (on_clock, on_other_clock, real):
        subscribe(client, customer_id, plan_id=plan_id, start_date=JAN)

    # A run without a test clock, once three months are over for real: only the real customer.
    clock.set(datetime(2024, 4, 1, tzinfo=UTC))
    run = body(client.post("/billing/runs", json={}))
    assert run["invoices_created"] == 3
    expected = [
        (JAN, FEB, Decimal("30.00"), "pending", APR),
        (FEB, MAR, Decimal("30.00"), "pending", APR),
        (MAR, APR, Decimal("30.00"), "pending", APR),
    ]
    assert summary(invoices_of(client, real)) == expected
    assert invoices_of(client, on_clock) == invoices_of(client, on_other_clock) == []

    # Advancing the clock: only its own customer, dated at the clock's time.
    advanced = advance(client, clock_id, APR)
    assert summary(invoices_of(client, on_clock)) == [
        (JAN, FEB, Decimal("30.00"), "pending", FEB),
        (FEB, MAR, Decimal("30.00"), "pending", MAR),
        (MAR, APR, Decimal("30.00"), "pending", APR),
    ]
    created = [i for r in advanced["billing_run_ids"] for i in body(client.get(f"/billing/runs/{r}"))["invoice_ids"]]
    assert created == [i["id"] for i in invoices_of(client, on_clock)]
    assert summary(invoices_of(client, real)) == expected
    assert invoices_of(client, on_other_clock) == []
    assert body(client.get(f"/test-clocks/{other_clock_id}"))["frozen_time"] == JAN


def test_a_trial_on_a_clock_is_billed_from_its_end(client: TestClient) -> None:
    clock_id = make_clock(client, JAN)
    bob = customer(client, "bob@globex.example", test_clock_id=clock_id)
    subscription = subscribe(client, bob, plan_id=monthly_plan(client), trial_days=14)
    assert (subscription["start_date"], subscription["trial_end"]) == (JAN, "2024-01-15T00:00:00Z")
    assert subscription["status"] == "trialing"

    advanced = advance(client, clock_id, "2024-03-20T00:00:00Z")

    runs = [body(client.get(f"/billing/runs/{run_id}")) for run_id in advanced["billing_run_ids"]]
    assert [(r["as_of"], r["invoices_created"]) for r in runs] == [
        (JAN, 0),  # the start, at the clock's time
        ("2024-01-15T00:00:00Z", 0),  # the trial's end: nothing due yet
        ("2024-02-15T00:00:00Z", 1),
        ("2024-03-15T00:00:00Z", 1),
        ("2024-03-20T00:00:00Z", 0),
    ]
    assert summary(invoices_of(client, bob)) == [
        ("2024-01-15T00:00:00Z", "2024-02-15T00:00:00Z", Decimal("30.00"), "pending", "2024-02-15T00:00:00Z"),
        ("2024-02-15T00:00:00Z", "2024-03-15T00:00:00Z", Decimal("30.00"), "pending", "2024-03-15T00:00:00Z"),
    ]
    now = body(client.get(f"/customers/{bob}/subscriptions/{subscription['id']}"))
    assert (now["status"], now["current_period_start"]) == ("active", "2024-03-15T00:00:00Z")


def test_a_grace_deadline_on_the_way_is_a_step_that_finalizes_the_draft(client: TestClient) -> None:
    clock_id = make_clock(client, JAN)
    carol = customer(client, "carol@globex.example", test_clock_id=clock_id, invoice_grace_period_hours=48)
    subscribe(client, carol, plan_id=monthly_plan(client))

    advance(client, clock_id, "2024-02-02T00:00:00Z")  # inside the grace period: a draft
    (draft,) = invoices_of(client, carol)
    assert (draft["status"], draft["grace_until"], draft["amount"]) == ("draft", "2024-02-03T00:00:00Z", Decimal("30"))

    advanced = advance(client, clock_id, "2024-02-20T00:00:00Z")
    runs = [body(client.get(f"/billing/runs/{run_id}")) for run_id in advanced["billing_run_ids"]]
    assert [(r["as_of"], r["invoices_finalized"]) for r in runs] == [
        ("2024-02-03T00:00:00Z", 1),  # the grace deadline
        ("2024-02-20T00:00:00Z", 0),
    ]
    (finalized,) = invoices_of(client, carol)
    assert (finalized["id"], finalized["status"], finalized["amount"]) == (draft["id"], "pending", Decimal("30.00"))


def test_a_subscription_ending_on_the_way_is_billed_to_its_end(client: TestClient) -> None:
    clock_id = make_clock(client, JAN)
    dave = customer(client, "dave@globex.example", test_clock_id=clock_id)
    subscribe(client, dave, plan_id=monthly_plan(client), end_date="2024-02-16T00:00:00Z")

    advanced = advance(client, clock_id, MAR)

    runs = [body(client.get(f"/billing/runs/{run_id}")) for run_id in advanced["billing_run_ids"]]
    assert [(r["as_of"], r["invoices_created"]) for r in runs] == [
        (JAN, 0),
        (FEB, 1),
        ("2024-02-16T00:00:00Z", 0),  # the subscription's end: its last period is due at the period's end
        (MAR, 1),
    ]
    assert [(i["period_start"], i["period_end"], i["amount"]) for i in invoices_of(client, dave)] == [
        (JAN, FEB, Decimal("30.00")),
        (FEB, MAR, Decimal("15.52")),  # 15 of February's 29 days: 30 x 15/29
    ]


def test_fees_in_advance_are_billed_when_each_period_starts(client: TestClient) -> None:
    clock_id = make_clock(client, JAN)
    erin = customer(client, "erin@globex.example", test_clock_id=clock_id)
    plan = {
        "name": "Ahead",
        "billing_frequency": "monthly",
        "fees_in_advance": True,
        "price_components": [{"metric_name": "fee", "pricing_type": "subscription", "pricing_details": {"amount": 30}}],
    }
    plan_id = body(client.post("/plans/", json=plan), 201)["id"]
    subscribe(client, erin, plan_id=plan_id, end_date="2024-02-16T00:00:00Z")

    advanced = advance(client, clock_id, MAR)

    runs = [body(client.get(f"/billing/runs/{run_id}")) for run_id in advanced["billing_run_ids"]]
    assert [(r["as_of"], r["invoices_created"]) for r in runs] == [
        (JAN, 1),  # the start, at the clock's time: January's fee
        (FEB, 1),
        ("2024-02-16T00:00:00Z", 0),
        (MAR, 0),
    ]
    assert summary(invoices_of(client, erin)) == [
        (JAN, FEB, Decimal("30.00"), "pending", JAN),
        (FEB, "2024-02-16T00:00:00Z", Decimal("15.52"), "pending", FEB),  # 30 x 15/29 days
    ]
    # The clock's time was billed: advancing again does not bill it twice (no run as of it).
    again = advance(client, clock_id, "2024-03-02T00:00:00Z")
    assert [body(client.get(f"/billing/runs/{r}"))["as_of"] for r in again["billing_run_ids"]] == [
        "2024-03-02T00:00:00Z"
    ]
