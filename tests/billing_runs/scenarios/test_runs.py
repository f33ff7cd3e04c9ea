"""Scenarios: billing runs themselves. Back-filling, repeating a run, which subscriptions share an invoice, voiding,
runs next to ``POST /invoices/generate``, the runs API, and grace periods (the customer's and the server default)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from fubble.clock import FrozenClock
from fubble.config import Settings
from fubble.db.session import Database
from tests.billing_runs.scenarios.helpers import (
    amount,
    customer,
    customer_invoices,
    event,
    fee,
    flat,
    invoice,
    invoices_of,
    lines,
    period,
    plan,
    run,
    subscribe,
    tiered,
    utc,
)

JANUARY = "2024-01-01T00:00:00Z"


def _subscribed(client: TestClient, clock: FrozenClock, monthly_fee: str = "100.00", **customer_fields: object) -> int:
    clock.set(utc(JANUARY))
    cid = customer(client, **customer_fields)
    subscribe(client, cid, plan(client, fee("platform", monthly_fee)), JANUARY)
    return cid


def test_a_run_in_the_past_back_fills_one_invoice_per_period_and_a_repeat_creates_nothing(
    client: TestClient, clock: FrozenClock
) -> None:
    cid = _subscribed(client, clock)
    clock.set(utc("2024-06-01"))

    result = run(client, clock, "2024-04-15T00:00:00Z")

    # Periods ended by Apr 15: January, February, March, each whole: 100.00, finalized (grace 0).
    invoices = invoices_of(client, result)
    assert [period(i) for i in invoices] == [
        (utc("2024-01-01"), utc("2024-02-01")),
        (utc("2024-02-01"), utc("2024-03-01")),
        (utc("2024-03-01"), utc("2024-04-01")),
    ]
    assert [amount(i) for i in invoices] == [Decimal("100.00")] * 3
    assert {(i["status"], i["billing_run_id"], i["customer_id"]) for i in invoices} == {("pending", result["id"], cid)}
    assert (result["invoices_created"], result["invoices_finalized"]) == (3, 3)

    assert run(client, clock, "2024-04-15T00:00:00Z")["invoices_created"] == 0
    assert run(client, clock, "2024-04-30T23:59:59Z")["invoices_created"] == 0  # April has not ended
    assert len(customer_invoices(client, cid)) == 3


def test_subscriptions_ending_together_share_an_invoice_another_anchor_gets_its_own(
    client: TestClient, clock: FrozenClock
) -> None:
    clock.set(utc(JANUARY))
    cid = customer(client)
    subscribe(client, cid, plan(client, fee("seats", "10.00"), name="Seats"), JANUARY)
    subscribe(client, cid, plan(client, fee("storage", "20.00"), name="Storage"), JANUARY)
    subscribe(client, cid, plan(client, fee("support", "45.00"), name="Support"), "2024-01-15T00:00:00Z")

    jan_1_anchor, jan_15_anchor = invoices_of(client, run(client, clock, "2024-02-15T00:00:00Z"))

    # Seats and storage both end a period on Feb 1: one invoice, 10.00 + 20.00 = 30.00.
    assert period(jan_1_anchor) == (utc("2024-01-01"), utc("2024-02-01"))
    assert sorted(i["metric_name"] for i in jan_1_anchor["invoice_items"]) == ["seats", "storage"]
    assert amount(jan_1_anchor) == Decimal("30.00")
    # Support's period [Jan 15, Feb 15) ends on its own instant: its own invoice, 45.00.
    assert period(jan_15_anchor) == (utc("2024-01-15"), utc("2024-02-15"))
    assert amount(jan_15_anchor) == Decimal("45.00")


def test_voiding_an_invoice_lets_the_next_run_bill_the_period_again(client: TestClient, clock: FrozenClock) -> None:
    cid = _subscribed(client, clock)
    [first] = invoices_of(client, run(client, clock, "2024-02-01T00:00:00Z"))

    voided = client.put(f"/invoices/{first['id']}/void", json={"reason": "wrong address"})
    assert voided.status_code == 200, voided.text

    [again] = invoices_of(client, run(client, clock, "2024-02-01T00:00:00Z"))
    assert again["id"] != first["id"]
    assert period(again) == (utc("2024-01-01"), utc("2024-02-01"))
    assert amount(again) == Decimal("100.00")
    assert run(client, clock, "2024-02-01T00:00:00Z")["invoices_created"] == 0
    assert [i["status"] for i in customer_invoices(client, cid)] == ["void", "pending"]


def _generate(client: TestClient, start: str, end: str) -> list[int]:
    response = client.post("/invoices/generate", json={"start_date": start, "end_date": end})
    assert response.status_code == 200, response.text
    return [int(i["id"]) for i in response.json()]


def test_generate_over_a_window_a_run_billed_creates_nothing(client: TestClient, clock: FrozenClock) -> None:
    cid = _subscribed(client, clock)
    [billed] = invoices_of(client, run(client, clock, "2024-02-01T00:00:00Z"))

    # Nothing new: the answer is the run's invoice that already bills January.
    assert _generate(client, JANUARY, "2024-02-01T00:00:00Z") == [billed["id"]]
    assert [i["id"] for i in customer_invoices(client, cid)] == [billed["id"]]


def test_a_run_over_a_window_generate_billed_creates_nothing(client: TestClient, clock: FrozenClock) -> None:
    cid = _subscribed(client, clock)
    clock.set(utc("2024-02-01"))
    [generated] = _generate(client, JANUARY, "2024-02-01T00:00:00Z")
    assert amount(invoice(client, generated)) == Decimal("100.00")  # January, whole

    assert run(client, clock, "2024-02-01T00:00:00Z")["invoices_created"] == 0
    assert [i["id"] for i in customer_invoices(client, cid)] == [generated]
    assert invoice(client, generated)["status"] == "draft"  # generated drafts are finalized by hand, not by runs


def test_runs_api_shapes(client: TestClient, clock: FrozenClock) -> None:
    _subscribed(client, clock)
    clock.set(utc("2024-03-10T12:00:00Z"))
    first = run(client, clock, "2024-02-01T00:00:00Z")
    second = run(client, clock, "2024-03-01T00:00:00Z")

    listed = client.get("/billing/runs")
    assert listed.status_code == 200, listed.text
    assert [r["id"] for r in listed.json()] == [second["id"], first["id"]]  # newest first
    got = client.get(f"/billing/runs/{first['id']}")
    assert got.status_code == 200, got.text
    body = got.json()
    assert set(body) == {
        "id",
        "as_of",
        "started_at",
        "finished_at",
        "invoices_created",
        "invoices_finalized",
        "invoice_ids",
        "trigger",
        "test_clock_id",
    }
    assert utc(body["as_of"]) == utc("2024-02-01")
    assert utc(body["started_at"]) == utc(body["finished_at"]) == utc("2024-03-10T12:00:00Z")
    assert (body["invoices_created"], body["invoices_finalized"], body["trigger"], body["test_clock_id"]) == (
        1,
        1,
        "api",
        None,
    )
    assert body["invoice_ids"] == first["invoice_ids"] and len(body["invoice_ids"]) == 1
    assert client.get("/billing/runs/999999").status_code == 404


def test_as_of_in_the_future_is_refused(client: TestClient, clock: FrozenClock) -> None:
    _subscribed(client, clock)
    clock.set(utc("2024-03-10T12:00:00Z"))

    response = client.post("/billing/runs", json={"as_of": "2024-03-10T12:00:01Z"})

    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "as_of"]
    assert client.get("/billing/runs").json() == []


def test_customer_grace_period_keeps_the_invoice_a_draft_until_it_is_over(
    client: TestClient, clock: FrozenClock
) -> None:
    cid = _subscribed(client, clock, invoice_grace_period_hours=48)

    [draft] = invoices_of(client, run(client, clock, "2024-02-01T00:00:00Z"))
    # Period ends Feb 1 00:00; 48 hours of grace: until Feb 3 00:00.
    assert draft["status"] == "draft"
    assert utc(draft["grace_until"]) == utc("2024-02-03")
    assert amount(draft) == Decimal("100.00")

    at_47h = run(client, clock, "2024-02-02T23:00:00Z")
    assert (at_47h["invoices_created"], at_47h["invoices_finalized"]) == (0, 0)
    assert invoice(client, draft["id"])["status"] == "draft"

    at_48h = run(client, clock, "2024-02-03T00:00:00Z")
    assert (at_48h["invoices_created"], at_48h["invoices_finalized"]) == (0, 1)
    final = invoice(client, draft["id"])
    assert final["status"] == "pending"
    assert amount(final) == Decimal("100.00")
    assert [i["id"] for i in customer_invoices(client, cid)] == [draft["id"]]


class TestServerDefaultGrace:
    """``FUBBLE_GRACE_PERIOD_HOURS`` (here 24) for customers without their own grace period."""

    @pytest.fixture
    def settings(self, db: Database) -> Settings:
        return Settings(database_url=db.url, grace_period_hours=24)

    def test_default_grace_and_a_customer_override(self, client: TestClient, clock: FrozenClock) -> None:
        default = _subscribed(client, clock)
        immediate = customer(client, "Immediate", invoice_grace_period_hours=0)
        subscribe(client, immediate, plan(client, fee("platform", "50.00")), JANUARY)

        result = run(client, clock, "2024-02-01T00:00:00Z")

        invoices = {i["customer_id"]: i for i in invoices_of(client, result)}
        # The server default: 24 hours from Feb 1 00:00, a draft until Feb 2 00:00.
        assert invoices[default]["status"] == "draft"
        assert utc(invoices[default]["grace_until"]) == utc("2024-02-02")
        # The customer's 0 overrides it: finalized at once.
        assert invoices[immediate]["status"] == "pending"
        assert result["invoices_finalized"] == 1

        assert run(client, clock, "2024-02-01T23:59:59Z")["invoices_finalized"] == 0
        assert run(client, clock, "2024-02-02T00:00:00Z")["invoices_finalized"] == 1
        assert invoice(client, invoices[default]["id"])["status"] == "pending"
        assert amount(invoice(client, invoices[default]["id"])) == Decimal("100.00")


def test_a_late_subscription_joins_the_draft_of_its_period_end(client: TestClient, clock: FrozenClock) -> None:
    cid = _subscribed(client, clock, invoice_grace_period_hours=48)
    [draft] = invoices_of(client, run(client, clock, "2024-02-01T00:00:00Z"))
    # Recorded late, back-dated: its January also ends on Feb 1.
    subscribe(client, cid, plan(client, fee("storage", "20.00"), name="Storage"), JANUARY)

    result = run(client, clock, "2024-02-01T12:00:00Z")

    # One invoice per customer and period end: the draft now holds both, 100.00 + 20.00 = 120.00.
    assert result["invoices_created"] == 0
    refreshed = invoice(client, draft["id"])
    assert sorted(i["metric_name"] for i in refreshed["invoice_items"]) == ["platform", "storage"]
    assert amount(refreshed) == Decimal("120.00")
    assert [i["id"] for i in customer_invoices(client, cid)] == [draft["id"]]


def test_a_late_subscription_after_its_period_end_invoice_was_finalized(client: TestClient, clock: FrozenClock) -> None:
    cid = _subscribed(client, clock)
    [final] = invoices_of(client, run(client, clock, "2024-02-01T00:00:00Z"))
    subscribe(client, cid, plan(client, fee("storage", "20.00"), name="Storage"), JANUARY)

    [extra] = invoices_of(client, run(client, clock, "2024-02-01T12:00:00Z"))

    # A finalized invoice is never edited: the late January gets its own invoice, 20.00.
    assert invoice(client, final["id"])["status"] == "pending"
    assert amount(invoice(client, final["id"])) == Decimal("100.00")
    assert period(extra) == (utc("2024-01-01"), utc("2024-02-01"))
    assert amount(extra) == Decimal("20.00")


def test_a_run_continues_a_period_generate_billed_in_part(client: TestClient, clock: FrozenClock) -> None:
    clock.set(utc("2024-04-01"))
    cid = customer(client)
    tiers = tiered("api", (0, 100, "1.00"), (100, None, "0.50"))
    subscribe(client, cid, plan(client, fee("platform", "30.00"), flat("support", "10.00"), tiers), "2024-04-01")
    event(client, cid, "api", 150, "2024-04-10T00:00:00Z")
    event(client, cid, "api", 150, "2024-04-20T00:00:00Z")
    clock.set(utc("2024-04-16"))
    [part] = _generate(client, "2024-04-01T00:00:00Z", "2024-04-16T00:00:00Z")
    # [Apr 1, Apr 16) = 15/30: platform 15.00; support 10.00 (once per period); api 100 x 1.00 + 50 x 0.50 = 125.00.
    assert amount(invoice(client, part)) == Decimal("150.00")

    [rest] = invoices_of(client, run(client, clock, "2024-05-01T00:00:00Z"))

    # [Apr 16, May 1): platform 15.00; support already charged this period; api from unit 150 on: 150 x 0.50 = 75.00.
    assert period(rest) == (utc("2024-04-16"), utc("2024-05-01"))
    assert lines(rest) == [("api", "usage", Decimal("75.00")), ("platform", "usage", Decimal("15.00"))]
    assert amount(rest) == Decimal("90.00")


def test_a_run_after_generate_billed_a_period_ahead(client: TestClient, clock: FrozenClock) -> None:
    clock.set(utc("2024-04-01"))
    cid = customer(client)
    ahead = plan(client, fee("platform", "30.00"), tiered("api", (0, None, "1.00")), fees_in_advance=True)
    subscribe(client, cid, ahead, "2024-04-01")
    event(client, cid, "api", 5, "2024-04-10T00:00:00Z")
    clock.set(utc("2024-05-01"))
    [april] = _generate(client, "2024-04-01T00:00:00Z", "2024-05-01T00:00:00Z")
    # The window's fee and usage: 30.00 + 5 x 1.00 = 35.00.
    assert amount(invoice(client, april)) == Decimal("35.00")

    [may] = invoices_of(client, run(client, clock, "2024-05-01T00:00:00Z"))

    # Only May's fee is new: 30.00.
    assert lines(may) == [("platform", "fee", Decimal("30.00"))]
