"""Usage that arrives for a finalized period: adjustment lines on the next invoice, or an invoice of their own."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient

from fubble.clock import FrozenClock
from tests.billing_runs.late_driver import TIERED, VOLUME, event, invoice, lines, run, setup

JANUARY = "Adjustment for api_calls, 2024-01-01 to 2024-02-01"


def test_late_usage_on_tiered_pricing_is_adjusted_on_the_next_invoice(client: TestClient, clock: FrozenClock) -> None:
    cid = setup(client, TIERED)
    event(client, cid, "api_calls", 500, "2024-01-10T00:00:00Z")
    (january,) = run(client, clock, "2024-02-01T00:00:00Z")["invoice_ids"]
    assert invoice(client, january)["status"] == "pending"  # no grace: finalized at once
    assert Decimal(invoice(client, january)["amount"]) == Decimal("5.00")  # 500 x 0.01

    event(client, cid, "api_calls", 700, "2024-01-20T00:00:00Z")  # late: January is finalized
    event(client, cid, "api_calls", 100, "2024-02-10T00:00:00Z")
    waiting = run(client, clock, "2024-02-02T00:00:00Z")  # the subscription bills again at the end of February
    assert waiting["invoices_created"] == 0
    assert Decimal(invoice(client, january)["amount"]) == Decimal("5.00")  # never edited

    (february,) = run(client, clock, "2024-03-01T00:00:00Z")["invoice_ids"]
    body = invoice(client, february)
    assert lines(body) == [
        ("usage", "api_calls (2024-02-01 \N{EN DASH} 2024-03-01) (100 x 0.01)", Decimal(100), Decimal("1.00")),
        # January's 1200 units: 1000 x 0.01 + 200 x 0.005 = 11.00, less 5.00 billed = 6.00 for 700 more units
        ("adjustment", JANUARY, Decimal(700), Decimal("6.00")),
    ]
    assert Decimal(body["amount"]) == Decimal("7.00")  # 1.00 + 6.00
    adjustment = body["invoice_items"][1]
    assert adjustment["period_start"].startswith("2024-01-01T00:00:00")
    assert adjustment["period_end"].startswith("2024-02-01T00:00:00")
    assert Decimal(invoice(client, january)["amount"]) == Decimal("5.00")


def test_late_usage_on_volume_pricing_can_be_a_credit(client: TestClient, clock: FrozenClock) -> None:
    # Periods of a New York customer start at local midnight (05:00 UTC in winter); the line shows local dates.
    cid = setup(client, VOLUME, start="2024-01-01T05:00:00Z", timezone="America/New_York")
    event(client, cid, "storage", 900, "2024-01-10T00:00:00Z")
    (january,) = run(client, clock, "2024-02-01T05:00:00Z")["invoice_ids"]
    assert Decimal(invoice(client, january)["amount"]) == Decimal("90.00")  # 900 x 0.10

    event(client, cid, "storage", 200, "2024-01-31T23:00:00Z")  # 18:00 in New York: still January there
    event(client, cid, "storage", 500, "2024-02-10T00:00:00Z")
    (february,) = run(client, clock, "2024-03-01T05:00:00Z")["invoice_ids"]
    body = invoice(client, february)
    assert [(kind, quantity, amount) for kind, _, quantity, amount in lines(body)] == [
        ("usage", Decimal(500), Decimal("50.00")),  # 500 x 0.10
        # January's 1100 units all at 0.05 = 55.00, less 90.00 billed: a credit of 35.00
        ("adjustment", Decimal(200), Decimal("-35.00")),
    ]
    assert lines(body)[1][1] == "Adjustment for storage, 2024-01-01 to 2024-02-01"
    assert Decimal(body["amount"]) == Decimal("15.00")  # 50.00 - 35.00


def test_late_usage_of_an_ended_subscription_gets_an_invoice_of_its_own(client: TestClient, clock: FrozenClock) -> None:
    cid = setup(client, TIERED, end="2024-02-01T00:00:00Z")
    event(client, cid, "api_calls", 500, "2024-01-10T00:00:00Z")
    (january,) = run(client, clock, "2024-02-01T00:00:00Z")["invoice_ids"]

    event(client, cid, "api_calls", 700, "2024-01-20T00:00:00Z")
    adjusted = run(client, clock, "2024-02-02T00:00:00Z")
    assert adjusted["invoices_created"] == 1
    (first,) = adjusted["invoice_ids"]
    body = invoice(client, first)
    assert body["status"] == "pending"  # no grace
    assert lines(body) == [("adjustment", JANUARY, Decimal(700), Decimal("6.00"))]  # 11.00 - 5.00
    assert Decimal(body["amount"]) == Decimal("6.00")
    assert body["period_start"].startswith("2024-01-01T00:00:00")
    assert body["period_end"].startswith("2024-02-01T00:00:00")

    # Late twice: only the new difference. 1500 units: 10.00 + 500 x 0.005 = 12.50, less 5.00 + 6.00 billed = 1.50.
    event(client, cid, "api_calls", 300, "2024-01-25T00:00:00Z")
    (second,) = run(client, clock, "2024-02-03T00:00:00Z")["invoice_ids"]
    assert lines(invoice(client, second)) == [("adjustment", JANUARY, Decimal(300), Decimal("1.50"))]

    quiet = run(client, clock, "2024-02-04T00:00:00Z")  # the same events again: nothing more
    assert quiet["invoices_created"] == 0
    assert Decimal(invoice(client, january)["amount"]) == Decimal("5.00")


def test_without_late_usage_there_are_no_adjustments(client: TestClient, clock: FrozenClock) -> None:
    cid = setup(client, TIERED)
    event(client, cid, "api_calls", 500, "2024-01-10T00:00:00Z")
    (january,) = run(client, clock, "2024-02-01T00:00:00Z")["invoice_ids"]
    event(client, cid, "api_calls", 300, "2024-02-10T00:00:00Z")  # for the open period: not late
    assert run(client, clock, "2024-02-02T00:00:00Z")["invoices_created"] == 0
    (february,) = run(client, clock, "2024-03-01T00:00:00Z")["invoice_ids"]
    assert [kind for kind, *_ in lines(invoice(client, february))] == ["usage"]
    assert Decimal(invoice(client, february)["amount"]) == Decimal("3.00")  # 300 x 0.01
    assert Decimal(invoice(client, january)["amount"]) == Decimal("5.00")


def test_an_invoice_whose_usage_was_adjusted_is_voided_after_its_adjustment(
    client: TestClient, clock: FrozenClock
) -> None:
    cid = setup(client, TIERED)
    event(client, cid, "api_calls", 500, "2024-01-10T00:00:00Z")
    (january,) = run(client, clock, "2024-02-01T00:00:00Z")["invoice_ids"]  # 500 x 0.01 = 5.00
    event(client, cid, "api_calls", 700, "2024-01-20T00:00:00Z")  # late
    run(client, clock, "2024-02-02T00:00:00Z")
    (february,) = run(client, clock, "2024-03-01T00:00:00Z")["invoice_ids"]  # adjusts January by 6.00

    # Voiding January alone would bill it again in full and leave the adjustment standing: refused.
    refused = client.put(f"/invoices/{january}/void", json={})
    assert refused.status_code == 409
    assert f"invoice {february} adjusts" in refused.json()["detail"]
    assert client.put(f"/invoices/{february}/void", json={}).status_code == 200
    assert client.put(f"/invoices/{january}/void", json={}).status_code == 200

    # Billed again: January's 1200 units, 1000 x 0.01 + 200 x 0.005 = 11.00; February, 0 units: 0.00.
    again = run(client, clock, "2024-03-02T00:00:00Z")["invoice_ids"]
    assert [Decimal(invoice(client, i)["amount"]) for i in again] == [Decimal("11.00"), Decimal("0.00")]
