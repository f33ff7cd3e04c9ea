"""GET /customers/{id}/credit-balance and GET /customers/{id}/credit-ledger: usable grants, derived expiries, order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from fastapi.testclient import TestClient

from fubble.clock import FrozenClock

from .helpers import balance, brief, dec, exact, grant, ledger, new_customer


def test_an_empty_balance_has_the_currency_places(client: TestClient) -> None:
    usd, jpy = new_customer(client), new_customer(client, "JPY")
    response = client.get(f"/customers/{usd}/credit-balance")
    assert response.status_code == 200
    assert response.text == '{"balance":0.00,"currency":"USD","grants":[]}'
    assert client.get(f"/customers/{jpy}/credit-balance").text == '{"balance":0,"currency":"JPY","grants":[]}'
    assert ledger(client, usd) == []


def test_the_balance_lists_usable_grants_in_the_order_invoices_use_them(client: TestClient) -> None:
    customer_id = new_customer(client)
    late = grant(client, customer_id, "10.00")  # priority 50, never expires
    soon = grant(client, customer_id, "0.10", priority=5, expires_at="2024-02-01T00:00:00Z")
    first = grant(client, customer_id, "3.33", priority=1)
    later = grant(client, customer_id, "7.00", priority=5, expires_at="2024-03-01T00:00:00Z")
    never = grant(client, customer_id, "0.01", priority=5)
    body = balance(client, customer_id)
    assert body["balance"] == Decimal("20.44")
    assert str(body["balance"]) == "20.44"
    assert body["currency"] == "USD"
    assert [g["id"] for g in body["grants"]] == [first["id"], soon["id"], later["id"], never["id"], late["id"]]
    assert all(g["status"] == "active" for g in body["grants"])
    assert sum(dec(e["amount"]) for e in ledger(client, customer_id)) == body["balance"]


def test_an_expired_grant_leaves_the_balance_and_shows_a_derived_expiry(client: TestClient, clock: FrozenClock) -> None:
    customer_id = new_customer(client)
    keep = grant(client, customer_id, "12.50")
    expiring = grant(client, customer_id, "7.25", expires_at="2024-01-20T00:00:00Z")
    clock.set(datetime(2024, 1, 19, 23, 59, 59, tzinfo=UTC))
    assert balance(client, customer_id)["balance"] == Decimal("19.75")
    assert [e["type"] for e in ledger(client, customer_id)] == ["grant", "grant"]

    clock.set(datetime(2024, 1, 20, tzinfo=UTC))  # expires_at itself: expired
    body = balance(client, customer_id)
    assert body["balance"] == Decimal("12.50")
    assert [g["id"] for g in body["grants"]] == [keep["id"]]
    assert brief(ledger(client, customer_id)) == [
        ("grant", "12.50", keep["id"], None, "2024-01-15T12:00:00Z"),
        ("grant", "7.25", expiring["id"], None, "2024-01-15T12:00:00Z"),
        ("expiry", "-7.25", expiring["id"], None, "2024-01-20T00:00:00Z"),
    ]
    statuses = {g["id"]: g["status"] for g in client.get(f"/customers/{customer_id}/credit-grants").json()}
    assert statuses == {keep["id"]: "active", expiring["id"]: "expired"}
    listed = exact(client.get(f"/customers/{customer_id}/credit-grants"))
    assert listed[1]["remaining"] == Decimal("7.25")  # expiry is read, never written


def test_the_ledger_is_in_time_order_and_pages(client: TestClient, clock: FrozenClock) -> None:
    customer_id = new_customer(client, "JPY")
    a = grant(client, customer_id, 1000, expires_at="2024-01-17T00:00:00Z")
    clock.advance(timedelta(days=1))  # 2024-01-16T12:00
    b = grant(client, customer_id, 500)
    clock.advance(timedelta(days=1))  # 2024-01-17T12:00: a expired at 00:00, before this
    c = grant(client, customer_id, 250)
    assert client.post(f"/customers/{customer_id}/credit-grants/{b['id']}/void").status_code == 200
    expected = [
        ("grant", "1000", a["id"], None, "2024-01-15T12:00:00Z"),
        ("grant", "500", b["id"], None, "2024-01-16T12:00:00Z"),
        ("expiry", "-1000", a["id"], None, "2024-01-17T00:00:00Z"),
        ("grant", "250", c["id"], None, "2024-01-17T12:00:00Z"),
        ("void", "-500", b["id"], None, "2024-01-17T12:00:00Z"),
    ]
    assert brief(ledger(client, customer_id)) == expected
    assert brief(ledger(client, customer_id, limit=2, offset=1)) == expected[1:3]
    assert brief(ledger(client, customer_id, offset=5)) == []
    assert balance(client, customer_id)["balance"] == 250
    assert client.get(f"/customers/{customer_id}/credit-balance").text.startswith('{"balance":250,')
    assert client.get(f"/customers/{customer_id}/credit-ledger", params={"limit": 1001}).status_code == 422


def test_a_voided_grant_never_shows_an_expiry(client: TestClient, clock: FrozenClock) -> None:
    customer_id = new_customer(client)
    body = grant(client, customer_id, "4.00", expires_at="2024-01-16T00:00:00Z")
    assert client.post(f"/customers/{customer_id}/credit-grants/{body['id']}/void").status_code == 200
    clock.advance(timedelta(days=3))
    assert [e["type"] for e in ledger(client, customer_id)] == ["grant", "void"]
    assert balance(client, customer_id)["balance"] == Decimal("0.00")


def test_a_test_clock_customer_lives_at_its_clock(client: TestClient) -> None:
    test_clock = client.post("/test-clocks/", json={"frozen_time": "2030-01-01T00:00:00Z"}).json()
    customer_id = new_customer(client, test_clock_id=test_clock["id"])
    # after the server's now (2024-01-15) but before the customer's: 422
    response = client.post(
        f"/customers/{customer_id}/credit-grants",
        json={"amount": "5.00", "description": "x", "expires_at": "2029-06-01T00:00:00Z"},
    )
    assert response.status_code == 422, response.text
    assert "2030-01-01T00:00:00Z" in response.json()["detail"][0]["msg"]
    body = grant(client, customer_id, "5.00", expires_at="2030-01-02T00:00:00Z")
    assert body["created_at"] == "2030-01-01T00:00:00Z"
    assert brief(ledger(client, customer_id)) == [("grant", "5.00", body["id"], None, "2030-01-01T00:00:00Z")]
    advanced = client.post(f"/test-clocks/{test_clock['id']}/advance", json={"to": "2030-01-03T00:00:00Z"})
    assert advanced.status_code == 200, advanced.text
    assert balance(client, customer_id)["balance"] == Decimal("0.00")
    assert [e["type"] for e in ledger(client, customer_id)] == ["grant", "expiry"]
