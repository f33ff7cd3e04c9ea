"""POST /invoices/{id}/credit-notes and the lists: golden notes, limits, statuses, numbering."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fubble.clock import FrozenClock
from tests.credits.helpers import balance, brief, ledger

from .helpers import exact, invoice, new_customer, note, post_note


def test_a_partial_credit_note_on_a_paid_invoice(client: TestClient, clock: FrozenClock) -> None:
    customer_id = new_customer(client)
    paid = invoice(client, customer_id, ["100.00", "50.00"])
    first_item, second_item = (item["id"] for item in paid["invoice_items"])
    clock.advance(timedelta(days=3))
    response = client.post(
        f"/invoices/{paid['id']}/credit-notes",
        json={"items": [{"invoice_item_id": first_item, "amount": "30"}], "reason": "Outage", "method": "credit"},
    )
    assert response.status_code == 201, response.text
    body = exact(response)
    assert body == {
        "id": body["id"],
        "number": f"CN-20240118-{customer_id}-000001",
        "invoice_id": paid["id"],
        "customer_id": customer_id,
        "amount": Decimal("30.00"),
        "method": "credit",
        "reason": "Outage",
        "items": [{"invoice_item_id": first_item, "amount": Decimal("30.00")}],
        "refund": None,
        "created_at": "2024-01-18T12:00:00Z",
    }
    assert '"amount":30.00,' in response.text
    # credit: the customer's balance has it, as a grant of the note
    credit = balance(client, customer_id)
    assert credit["balance"] == Decimal("30.00")
    (grant,) = credit["grants"]
    assert (grant["source"], grant["credit_note_id"], grant["description"]) == (
        "credit_note",
        body["id"],
        f"Credit note {body['number']}",
    )
    assert (grant["priority"], grant["expires_at"], grant["invoice_id"]) == (50, None, None)
    assert brief(ledger(client, customer_id)) == [("grant", "30.00", grant["id"], None, "2024-01-18T12:00:00Z")]
    # the invoice is never edited
    assert exact(client.get(f"/invoices/{paid['id']}")) == paid

    # what remains: 120.00 of the invoice, 70.00 of the first item, 50.00 of the second
    assert post_note(client, paid["id"], items=[{"invoice_item_id": first_item, "amount": "70.01"}]).status_code == 409
    second = note(client, paid["id"], items=[{"invoice_item_id": second_item, "amount": "50.00"}])
    assert second["number"] == f"CN-20240118-{customer_id}-000002"
    over = post_note(client, paid["id"], amount="70.01")
    assert over.status_code == 409
    assert "70.00 after earlier credit notes" in over.json()["detail"]
    last = note(client, paid["id"], amount="70.00")
    assert (last["amount"], last["items"], last["method"]) == (Decimal("70.00"), [], "refund")
    assert post_note(client, paid["id"], amount="0.01").status_code == 409
    assert balance(client, customer_id)["balance"] == Decimal("30.00")  # refunds are only recorded
    listed = exact(client.get(f"/invoices/{paid['id']}/credit-notes"))
    assert [n["number"][-6:] for n in listed] == ["000001", "000002", "000003"]
    assert listed[0] == body


def test_a_pending_invoice_takes_notes_and_jpy_has_no_places(client: TestClient) -> None:
    customer_id = new_customer(client, "JPY")
    pending = invoice(client, customer_id, [1000], status="pending")
    response = post_note(client, pending["id"], amount="250.0", method="credit")
    assert response.status_code == 201, response.text
    assert '"amount":250,' in response.text
    assert client.get(f"/customers/{customer_id}/credit-balance").text.startswith('{"balance":250,')
    bad = post_note(client, pending["id"], amount="0.5")
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "amount"]
    assert "JPY amounts have no decimal places" in bad.json()["detail"][0]["msg"]


@pytest.mark.parametrize("status", ["draft", "failed", "void"])
def test_only_pending_and_paid_invoices_take_notes(client: TestClient, status: str) -> None:
    customer_id = new_customer(client)
    other = invoice(client, customer_id, ["10.00"], status=status)
    response = post_note(client, other["id"], amount="1.00")
    assert response.status_code == 409, response.text
    assert f"is '{status}'" in response.json()["detail"]
    assert client.get(f"/invoices/{other['id']}/credit-notes").json() == []


def test_unknown_invoices_customers_and_notes_are_404(client: TestClient) -> None:
    assert post_note(client, 999, amount="1.00").status_code == 404
    assert client.get("/invoices/999/credit-notes").status_code == 404
    assert client.get("/customers/999/credit-notes").status_code == 404
    response = client.get("/credit-notes/999")
    assert response.status_code == 404
    assert "credit note 999" in response.json()["detail"]
    assert client.get("/credit-notes/0").status_code == 422


def _item_cases(ids: list[int], foreign: int) -> list[tuple[dict[str, Any], int, list[Any]]]:
    first, negative = ids
    return [
        ({"items": [{"invoice_item_id": first, "amount": "100.01"}]}, 422, ["body", "items", 0, "amount"]),
        ({"items": [{"invoice_item_id": foreign, "amount": "1.00"}]}, 422, ["body", "items", 0, "invoice_item_id"]),
        ({"items": [{"invoice_item_id": negative, "amount": "1.00"}]}, 422, ["body", "items", 0, "amount"]),
        ({"items": [{"invoice_item_id": first, "amount": "1.001"}]}, 422, ["body", "items", 0, "amount"]),
        (
            {"items": [{"invoice_item_id": first, "amount": "1"}, {"invoice_item_id": first, "amount": "2"}]},
            422,
            ["body", "items", 1, "invoice_item_id"],
        ),
        ({"items": [{"invoice_item_id": first, "amount": 0}]}, 422, ["body", "items", 0, "amount"]),
        ({"items": [{"invoice_item_id": first, "amount": "5", "note": "x"}]}, 422, ["body", "items", 0, "note"]),
        ({"items": []}, 422, ["body", "items"]),
        ({"items": None}, 422, ["body", "items"]),
        ({"amount": None}, 422, ["body", "amount"]),
        ({"amount": "90.01"}, 422, ["body", "amount"]),  # more than the invoice's total (90.00) at all
        ({"amount": "-1.00"}, 422, ["body", "amount"]),
        ({"amount": "1.00", "items": [{"invoice_item_id": first, "amount": "1.00"}]}, 422, ["body"]),
        ({}, 422, ["body"]),
        ({"amount": "1.00", "reason": ""}, 422, ["body", "reason"]),
        ({"amount": "1.00", "reason": None}, 422, ["body", "reason"]),
        ({"amount": "1.00", "method": "cash"}, 422, ["body", "method"]),
    ]


def test_bad_notes_are_422_naming_the_field(client: TestClient) -> None:
    customer_id = new_customer(client)
    paid = invoice(client, customer_id, ["100.00", "-10.00"])
    foreign = invoice(client, customer_id, ["5.00"])["invoice_items"][0]["id"]
    for change, code, loc in _item_cases([item["id"] for item in paid["invoice_items"]], foreign):
        response = post_note(client, paid["id"], **change)
        assert response.status_code == code, (change, response.text)
        assert [e["loc"] for e in response.json()["detail"]] == [loc], (change, response.text)
    missing = client.post(f"/invoices/{paid['id']}/credit-notes", json={"amount": "1.00"})
    assert sorted(e["loc"][-1] for e in missing.json()["detail"]) == ["method", "reason"]
    assert client.get(f"/invoices/{paid['id']}/credit-notes").json() == []
    assert balance(client, customer_id)["grants"] == []
    # a whole item, then the rest of the invoice: 100.00 + the -10.00 line leaves 90.00 in all
    assert note(client, paid["id"], items=[{"invoice_item_id": paid["invoice_items"][0]["id"], "amount": "90"}])
    assert post_note(client, paid["id"], amount="0.01").status_code == 409


def test_lists_by_invoice_and_customer_and_one_note(client: TestClient, clock: FrozenClock) -> None:
    a, b = new_customer(client), new_customer(client)
    first = invoice(client, a, ["10.00"])
    second = invoice(client, a, ["20.00"], status="pending")
    theirs = invoice(client, b, ["30.00"])
    n1 = note(client, first["id"], amount="1.00")
    clock.advance(timedelta(days=40))
    n2 = note(client, second["id"], amount="2.00", method="credit")
    n3 = note(client, first["id"], amount="3.00")
    nb = note(client, theirs["id"], amount="4.00")
    assert [n["number"] for n in (n1, n2, n3, nb)] == [
        f"CN-20240115-{a}-000001",
        f"CN-20240224-{a}-000002",
        f"CN-20240224-{a}-000003",
        f"CN-20240224-{b}-000001",  # each customer has its own sequence
    ]
    assert exact(client.get(f"/invoices/{first['id']}/credit-notes")) == [n1, n3]
    assert exact(client.get(f"/customers/{a}/credit-notes")) == [n1, n2, n3]
    assert exact(client.get(f"/customers/{a}/credit-notes", params={"limit": 1, "offset": 2})) == [n3]
    assert exact(client.get(f"/customers/{b}/credit-notes")) == [nb]
    assert exact(client.get(f"/credit-notes/{n2['id']}")) == n2
    assert client.get(f"/customers/{a}/credit-notes", params={"offset": -1}).status_code == 422


def test_a_retry_with_the_same_idempotency_key_issues_one_note(client: TestClient) -> None:
    customer_id = new_customer(client)
    paid = invoice(client, customer_id, ["10.00"])
    body = {"amount": "4.00", "reason": "Goodwill", "method": "credit"}
    headers = {"Idempotency-Key": "note-1"}
    first = client.post(f"/invoices/{paid['id']}/credit-notes", json=body, headers=headers)
    second = client.post(f"/invoices/{paid['id']}/credit-notes", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.text == first.text and second.headers["Idempotent-Replay"] == "true"
    assert len(client.get(f"/invoices/{paid['id']}/credit-notes").json()) == 1
    assert balance(client, customer_id)["balance"] == Decimal("4.00")
