"""A run's draft is refreshed in place with late usage while its grace lasts, and finalized once it has passed."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient

from fubble.clock import FrozenClock
from tests.billing_runs.late_driver import TIERED, event, invoice, lines, run, setup


def test_late_usage_during_grace_refreshes_the_draft_in_place(client: TestClient, clock: FrozenClock) -> None:
    cid = setup(client, TIERED, invoice_grace_period_hours=72)
    event(client, cid, "api_calls", 500, "2024-01-10T00:00:00Z")

    first = run(client, clock, "2024-02-01T12:00:00Z")
    assert first["invoices_created"] == 1
    (draft_id,) = first["invoice_ids"]
    draft = invoice(client, draft_id)
    assert draft["status"] == "draft"
    assert draft["grace_until"].startswith("2024-02-04T00:00:00")
    assert Decimal(draft["amount"]) == Decimal("5.00")  # 500 x 0.01

    event(client, cid, "api_calls", 700, "2024-01-20T00:00:00Z")  # late, inside the grace period
    second = run(client, clock, "2024-02-02T00:00:00Z")
    assert second["invoices_created"] == 0
    assert second["invoice_ids"] == []
    refreshed = invoice(client, draft_id)
    assert refreshed["status"] == "draft"
    assert refreshed["invoice_number"] == draft["invoice_number"]
    assert refreshed["issue_date"] == draft["issue_date"]
    assert refreshed["grace_until"] == draft["grace_until"]
    # 1200 units: 1000 x 0.01 + 200 x 0.005 = 10.00 + 1.00 = 11.00
    assert Decimal(refreshed["amount"]) == Decimal("11.00")
    assert [(kind, quantity, amount) for kind, _, quantity, amount in lines(refreshed)] == [
        ("usage", Decimal(1200), Decimal("11.00"))
    ]

    again = run(client, clock, "2024-02-03T00:00:00Z")  # nothing new: the same figures
    assert again["invoices_created"] == 0
    assert Decimal(invoice(client, draft_id)["amount"]) == Decimal("11.00")

    final = run(client, clock, "2024-02-04T00:00:00Z")  # the grace is over: finalized, unchanged
    assert final["invoices_finalized"] == 1
    finalized = invoice(client, draft_id)
    assert finalized["status"] == "pending"
    assert Decimal(finalized["amount"]) == Decimal("11.00")
    listed = client.get("/invoices/", params={"customer_id": cid}).json()
    assert [i["id"] for i in listed] == [draft_id]


def test_a_refresh_is_in_the_audit_log(client: TestClient, clock: FrozenClock) -> None:
    cid = setup(client, TIERED, invoice_grace_period_hours=72)
    event(client, cid, "api_calls", 500, "2024-01-10T00:00:00Z")
    (draft_id,) = run(client, clock, "2024-02-01T12:00:00Z")["invoice_ids"]
    event(client, cid, "api_calls", 700, "2024-01-20T00:00:00Z")
    run(client, clock, "2024-02-02T00:00:00Z")
    entries = client.get("/audit-log", params={"entity_type": "invoice", "entity_id": str(draft_id)})
    assert entries.status_code == 200, entries.text
    updates = [e for e in entries.json() if e["action"] == "update"]
    assert len(updates) == 1
    assert Decimal(str(updates[0]["before"]["amount"])) == Decimal("5.00")
    assert Decimal(str(updates[0]["after"]["amount"])) == Decimal("11.00")
