"""What invoices call: grants_for, use, restore, grant_from and void_grant, on a real session of each database, checked
through the HTTP surface."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from fubble.clock import FrozenClock
from fubble.credits import repository, service
from fubble.db.models import Customer, Invoice
from fubble.db.session import Database
from fubble.errors import Conflict, InvalidInput

from .helpers import balance, brief, dec, grant, ledger, new_customer

AT = datetime(2024, 1, 20, tzinfo=UTC)
AT_TEXT = "2024-01-20T00:00:00Z"


def _invoice(client: TestClient, customer_id: int) -> int:
    body = {"customer_id": customer_id, "items": [{"description": "Usage", "amount": "100.00"}]}
    response = client.post("/invoices/", json=body)
    assert response.status_code == 201, response.text
    invoice_id: int = response.json()["id"]
    return invoice_id


def _use(db: Database, invoice_id: int, taken: list[tuple[int, Decimal]], at: datetime = AT) -> None:
    with db.transaction() as session:
        invoice = session.get(Invoice, invoice_id)
        assert invoice is not None
        service.use(session, invoice, taken, at)


def _restore(db: Database, invoice_id: int, at: datetime) -> None:
    with db.transaction() as session:
        invoice = session.get(Invoice, invoice_id)
        assert invoice is not None
        service.restore(session, invoice, at)


def _sums_to_balance(client: TestClient, customer_id: int) -> Decimal:
    total = balance(client, customer_id)["balance"]
    assert sum(dec(e["amount"]) for e in ledger(client, customer_id)) == total
    return Decimal(total)


def test_grants_for_gives_each_customer_its_grants_that_can_still_give(client: TestClient, db: Database) -> None:
    a, b, empty = new_customer(client), new_customer(client), new_customer(client)
    kept = grant(client, a, "5.00")
    voided = grant(client, a, "6.00")
    used = grant(client, a, "7.00")
    expired = grant(client, a, "8.00", expires_at="2024-01-16T00:00:00Z")
    other = grant(client, b, "9.00")
    assert client.post(f"/customers/{a}/credit-grants/{voided['id']}/void").status_code == 200
    _use(db, _invoice(client, a), [(used["id"], Decimal("7.00"))], at=datetime(2024, 1, 15, 13, tzinfo=UTC))
    for lock in (False, True):
        with db.transaction() as session:
            found = repository.grants_for(session, [a, b, empty], lock=lock)
            assert {k: [g.id for g in v] for k, v in found.items()} == {
                a: [kept["id"], expired["id"]],  # expired ones too: the caller decides with its instant
                b: [other["id"]],
                empty: [],
            }
    with db.transaction() as session:
        assert repository.grants_for(session, [], lock=True) == {}


def test_use_takes_credit_and_restore_returns_it(client: TestClient, db: Database, clock: FrozenClock) -> None:
    customer_id = new_customer(client)
    g1 = grant(client, customer_id, "30.00", priority=1)
    g2 = grant(client, customer_id, "20.00")
    invoice_id = _invoice(client, customer_id)
    _use(db, invoice_id, [(g1["id"], Decimal("30.00")), (g2["id"], Decimal("12.34")), (g2["id"], Decimal(0))])
    assert _sums_to_balance(client, customer_id) == Decimal("7.66")
    listed = {g["id"]: g for g in client.get(f"/customers/{customer_id}/credit-grants").json()}
    assert (listed[g1["id"]]["remaining"], listed[g1["id"]]["status"]) == (0.0, "used")
    assert (listed[g2["id"]]["remaining"], listed[g2["id"]]["status"]) == (7.66, "active")
    assert brief(ledger(client, customer_id))[2:] == [
        ("use", "-30.00", g1["id"], invoice_id, AT_TEXT),
        ("use", "-12.34", g2["id"], invoice_id, AT_TEXT),
    ]

    voided_at = datetime(2024, 1, 21, tzinfo=UTC)
    _restore(db, invoice_id, voided_at)
    assert _sums_to_balance(client, customer_id) == Decimal("50.00")
    assert brief(ledger(client, customer_id))[4:] == [
        ("use", "30.00", g1["id"], invoice_id, "2024-01-21T00:00:00Z"),
        ("use", "12.34", g2["id"], invoice_id, "2024-01-21T00:00:00Z"),
    ]
    _restore(db, invoice_id, voided_at + timedelta(hours=1))  # nothing more to return
    assert len(ledger(client, customer_id)) == 6
    assert _sums_to_balance(client, customer_id) == Decimal("50.00")


def test_restore_to_a_voided_grant_voids_it_again(client: TestClient, db: Database) -> None:
    customer_id = new_customer(client, "JPY")
    g = grant(client, customer_id, 1000)
    invoice_id = _invoice_jpy(client, customer_id)
    _use(db, invoice_id, [(g["id"], Decimal(400))])
    assert client.post(f"/customers/{customer_id}/credit-grants/{g['id']}/void").status_code == 200
    _restore(db, invoice_id, datetime(2024, 1, 22, tzinfo=UTC))
    assert brief(ledger(client, customer_id)) == [
        ("grant", "1000", g["id"], None, "2024-01-15T12:00:00Z"),
        ("void", "-600", g["id"], None, "2024-01-15T12:00:00Z"),
        ("use", "-400", g["id"], invoice_id, AT_TEXT),  # written at the invoice's instant
        ("use", "400", g["id"], invoice_id, "2024-01-22T00:00:00Z"),
        ("void", "-400", g["id"], None, "2024-01-22T00:00:00Z"),
    ]
    assert _sums_to_balance(client, customer_id) == 0
    assert client.get(f"/customers/{customer_id}/credit-grants").json()[0]["remaining"] == 0


def _invoice_jpy(client: TestClient, customer_id: int) -> int:
    body = {"customer_id": customer_id, "items": [{"description": "Usage", "amount": 5000}]}
    response = client.post("/invoices/", json=body)
    assert response.status_code == 201, response.text
    invoice_id: int = response.json()["id"]
    return invoice_id


def test_restore_to_an_expired_grant_expires_at_once(client: TestClient, db: Database, clock: FrozenClock) -> None:
    customer_id = new_customer(client)
    g = grant(client, customer_id, "10.00", expires_at="2024-01-25T00:00:00Z")
    invoice_id = _invoice(client, customer_id)
    _use(db, invoice_id, [(g["id"], Decimal("4.00"))])
    clock.set(datetime(2024, 2, 1, tzinfo=UTC))
    _restore(db, invoice_id, clock.now())
    assert brief(ledger(client, customer_id)) == [
        ("grant", "10.00", g["id"], None, "2024-01-15T12:00:00Z"),
        ("use", "-4.00", g["id"], invoice_id, AT_TEXT),
        ("expiry", "-10.00", g["id"], None, "2024-01-25T00:00:00Z"),
        ("use", "4.00", g["id"], invoice_id, "2024-02-01T00:00:00Z"),
    ]
    assert _sums_to_balance(client, customer_id) == Decimal("0.00")


def test_use_refuses_what_it_cannot_take(client: TestClient, db: Database) -> None:
    customer_id = new_customer(client)
    other = new_customer(client)
    g = grant(client, customer_id, "5.00", expires_at="2024-01-19T00:00:00Z")
    v = grant(client, customer_id, "5.00")
    foreign = grant(client, other, "5.00")
    assert client.post(f"/customers/{customer_id}/credit-grants/{v['id']}/void").status_code == 200
    invoice_id = _invoice(client, customer_id)
    early = datetime(2024, 1, 18, tzinfo=UTC)
    cases: list[tuple[list[tuple[int, Decimal]], datetime, type[Exception], str]] = [
        ([(g["id"], Decimal("5.01"))], early, Conflict, "5.00 left"),
        ([(g["id"], Decimal("1.00"))], AT, Conflict, "expired"),
        ([(v["id"], Decimal("1.00"))], early, Conflict, "voided"),
        ([(foreign["id"], Decimal("1.00"))], early, ValueError, "not a grant of invoice"),
        ([(999, Decimal("1.00"))], early, ValueError, "not a grant of invoice"),
        ([(g["id"], Decimal("-1.00"))], early, ValueError, "negative"),
        # the first takes 3.00 and the second asks for 3.00 of the 2.00 left: all of it is rolled back
        ([(g["id"], Decimal("3.00")), (g["id"], Decimal("3.00"))], early, Conflict, "2.00 left"),
    ]
    for taken, at, error, message in cases:
        with pytest.raises(error, match=message):
            _use(db, invoice_id, taken, at)
    assert _sums_to_balance(client, customer_id) == Decimal("5.00")  # g untouched (v is voided)
    assert client.get(f"/customers/{customer_id}/credit-grants").json()[0]["remaining"] == 5.0


def test_grant_from_an_invoice_or_a_credit_note(client: TestClient, db: Database) -> None:
    customer_id = new_customer(client, "KWD")
    invoice_id = _invoice_kwd(client, customer_id)
    with db.transaction() as session:
        customer = session.get(Customer, customer_id)
        assert customer is not None
        made = service.grant_from(
            session,
            customer=customer,
            amount=Decimal("1.5"),
            at=AT,
            source="invoice",
            invoice_id=invoice_id,
            description="Credit from invoice",
        )
        made_id = made.id
        for bad in (Decimal(0), Decimal("-1")):
            with pytest.raises(ValueError, match="more than 0"):
                service.grant_from(session, customer=customer, amount=bad, at=AT, source="invoice", description="x")
        with pytest.raises(InvalidInput, match="KWD amounts have at most 3 decimal places"):
            service.grant_from(
                session, customer=customer, amount=Decimal("0.0001"), at=AT, source="invoice", description="x"
            )
        with pytest.raises(ValueError):
            service.grant_from(session, customer=customer, amount=Decimal(1), at=AT, source="gift", description="x")
    (body,) = client.get(f"/customers/{customer_id}/credit-grants").json()
    assert body["id"] == made_id
    assert (body["source"], body["invoice_id"], body["credit_note_id"]) == ("invoice", invoice_id, None)
    assert (body["priority"], body["expires_at"], body["created_at"]) == (50, None, AT_TEXT)
    assert client.get(f"/customers/{customer_id}/credit-grants").text.count('"amount":1.500,') == 1
    assert brief(ledger(client, customer_id)) == [("grant", "1.500", made_id, None, AT_TEXT)]

    with db.transaction() as session:
        stored = repository.get(session, customer_id, made_id)
        assert stored is not None
        service.void_grant(session, stored, at=AT + timedelta(days=1))
        service.void_grant(session, stored, at=AT + timedelta(days=2))  # already voided: nothing more
    assert [e["type"] for e in ledger(client, customer_id)] == ["grant", "void"]
    assert client.get(f"/customers/{customer_id}/credit-grants").json()[0]["voided_at"] == "2024-01-21T00:00:00Z"


def _invoice_kwd(client: TestClient, customer_id: int) -> int:
    body = {"customer_id": customer_id, "items": [{"description": "Usage", "amount": "3.000"}]}
    response = client.post("/invoices/", json=body)
    assert response.status_code == 201, response.text
    invoice_id: int = response.json()["id"]
    return invoice_id
