"""Credit grants and credit notes in the audit log (they are logged by the ORM's flush hooks once they are listed in
fubble.audit.recorder.AUDITED: `credit_grant`, `credit_note`, `credit_note_item`)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from fubble.audit.recorder import AUDITED
from fubble.db.models import CreditGrant, CreditNote

from .helpers import grant, new_customer


def _entries(client: TestClient, entity_type: str) -> list[tuple[str, str, dict[str, object] | None]]:
    response = client.get("/audit-log", params={"entity_type": entity_type})
    assert response.status_code == 200, response.text
    return [(e["action"], e["entity_id"], e["after"]) for e in response.json()]


def test_a_grant_and_its_void_are_audited(client: TestClient) -> None:
    customer_id = new_customer(client)
    made = grant(client, customer_id, "12.50")
    assert client.post(f"/customers/{customer_id}/credit-grants/{made['id']}/void").status_code == 200
    entries = _entries(client, AUDITED[CreditGrant])
    assert [(action, entity_id) for action, entity_id, _ in entries] == [
        ("create", str(made["id"])),
        ("update", str(made["id"])),
    ]
    created, voided = entries[0][2], entries[1][2]
    assert created is not None and voided is not None
    assert (created["amount"], created["remaining"], created["source"]) == (12.5, 12.5, "grant")
    assert (voided["remaining"], voided["voided_at"]) == (0, "2024-01-15T12:00:00Z")


def test_a_credit_note_is_audited(client: TestClient) -> None:
    customer_id = new_customer(client)
    body = {"customer_id": customer_id, "items": [{"description": "Usage", "amount": "10.00"}]}
    invoice_id = client.post("/invoices/", json=body).json()["id"]
    assert client.put(f"/invoices/{invoice_id}/finalize").status_code == 200
    note = client.post(
        f"/invoices/{invoice_id}/credit-notes", json={"amount": "4.00", "reason": "Outage", "method": "credit"}
    ).json()
    entries = _entries(client, AUDITED[CreditNote])
    assert [(action, entity_id) for action, entity_id, _ in entries] == [("create", str(note["id"]))]
    after = entries[0][2]
    assert after is not None and (after["number"], after["method"]) == (note["number"], "credit")
    if CreditGrant in AUDITED:
        grants = _entries(client, AUDITED[CreditGrant])
        assert [after["credit_note_id"] for _, _, after in grants if after] == [note["id"]]
