"""POST /customers/{id}/credit-grants, GET .../credit-grants and POST .../credit-grants/{grant_id}/void."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fubble.clock import FrozenClock

from .helpers import brief, exact, grant, ledger, new_customer


def test_a_grant_in_usd_answers_every_field(client: TestClient) -> None:
    customer_id = new_customer(client)
    body = grant(client, customer_id, "50", priority=10, expires_at="2024-03-01T00:00:00+01:00", description="Q1")
    assert body == {
        "id": body["id"],
        "customer_id": customer_id,
        "amount": Decimal("50.00"),
        "remaining": Decimal("50.00"),
        "currency": "USD",
        "expires_at": "2024-02-29T23:00:00Z",
        "priority": 10,
        "description": "Q1",
        "source": "grant",
        "invoice_id": None,
        "credit_note_id": None,
        "voided_at": None,
        "created_at": "2024-01-15T12:00:00Z",
        "status": "active",
    }
    assert isinstance(body["id"], int) and body["id"] >= 1
    assert brief(ledger(client, customer_id)) == [("grant", "50.00", body["id"], None, "2024-01-15T12:00:00Z")]


@pytest.mark.parametrize(
    ("currency", "amount", "written"),
    [("JPY", 1000, "1000"), ("JPY", "1000.0", "1000"), ("KWD", "1.5", "1.500"), ("USD", "0.01", "0.01")],
)
def test_amounts_have_the_currency_places(client: TestClient, currency: str, amount: Any, written: str) -> None:
    customer_id = new_customer(client, currency)
    response = client.post(f"/customers/{customer_id}/credit-grants", json={"amount": amount, "description": "x"})
    assert response.status_code == 201, response.text
    assert f'"amount":{written},' in response.text
    assert f'"remaining":{written},' in response.text
    assert response.json()["currency"] == currency
    assert response.json()["priority"] == 50  # the default: used last


@pytest.mark.parametrize(("currency", "amount"), [("USD", "10.005"), ("JPY", "1000.5"), ("KWD", "0.0001")])
def test_more_places_than_the_currency_is_422(client: TestClient, currency: str, amount: str) -> None:
    customer_id = new_customer(client, currency)
    response = client.post(f"/customers/{customer_id}/credit-grants", json={"amount": amount, "description": "x"})
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "amount"]
    assert currency in error["msg"]
    assert client.get(f"/customers/{customer_id}/credit-grants").json() == []


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": "-5.00"}, "amount"),
        ({"amount": True}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"amount": None}, "amount"),
        ({"priority": 0}, "priority"),
        ({"priority": 51}, "priority"),
        ({"priority": True}, "priority"),
        ({"priority": 2.5}, "priority"),
        ({"description": ""}, "description"),
        ({"description": "   "}, "description"),
        ({"description": "x" * 501}, "description"),
        ({"description": None}, "description"),
        ({"description": "nul\x00"}, "description"),
        ({"expires_at": "2024-01-15T12:00:00Z"}, "expires_at"),  # now: not after it
        ({"expires_at": "2023-12-31T00:00:00Z"}, "expires_at"),
        ({"expires_at": 0}, "expires_at"),
        ({"color": "red"}, "color"),
    ],
)
def test_bad_grants_are_422_naming_the_field(client: TestClient, change: dict[str, Any], loc: str) -> None:
    customer_id = new_customer(client)
    body = {"amount": "10.00", "description": "Prepaid", **change}
    response = client.post(f"/customers/{customer_id}/credit-grants", json=body)
    assert response.status_code == 422, response.text
    assert [e["loc"] for e in response.json()["detail"]] == [["body", loc]]
    assert client.get(f"/customers/{customer_id}/credit-grants").json() == []
    assert ledger(client, customer_id) == []


def test_missing_fields_are_422(client: TestClient) -> None:
    customer_id = new_customer(client)
    response = client.post(f"/customers/{customer_id}/credit-grants", json={})
    assert response.status_code == 422
    assert sorted(e["loc"][-1] for e in response.json()["detail"]) == ["amount", "description"]


def test_boundaries_are_accepted(client: TestClient) -> None:
    customer_id = new_customer(client)
    assert grant(client, customer_id, "0.01", priority=1)["priority"] == 1
    assert grant(client, customer_id, "1", priority=50, description="x" * 500)["priority"] == 50
    body = grant(client, customer_id, "1", expires_at="2024-01-15T12:00:00.000001Z")
    assert body["expires_at"] == "2024-01-15T12:00:00.000001Z"


def test_unknown_customer_is_404(client: TestClient) -> None:
    response = client.post("/customers/999/credit-grants", json={"amount": "1.00", "description": "x"})
    assert response.status_code == 404
    assert "customer 999" in response.json()["detail"]
    for path in ("credit-grants", "credit-balance", "credit-ledger"):
        assert client.get(f"/customers/999/{path}").status_code == 404
    assert client.post("/customers/999/credit-grants/1/void").status_code == 404


def test_a_retry_with_the_same_idempotency_key_answers_the_same_grant(client: TestClient) -> None:
    customer_id = new_customer(client)
    body = {"amount": "25.00", "description": "Top-up"}
    headers = {"Idempotency-Key": "top-up-1"}
    first = client.post(f"/customers/{customer_id}/credit-grants", json=body, headers=headers)
    second = client.post(f"/customers/{customer_id}/credit-grants", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.text == first.text
    assert second.headers["Idempotent-Replay"] == "true"
    assert len(client.get(f"/customers/{customer_id}/credit-grants").json()) == 1
    assert [e["type"] for e in ledger(client, customer_id)] == ["grant"]
    assert client.get(f"/customers/{customer_id}/credit-balance").json()["balance"] == 25.0
    other = client.post(f"/customers/{customer_id}/credit-grants", json={**body, "amount": "26.00"}, headers=headers)
    assert other.status_code == 409
    assert "already used for a different request" in other.json()["detail"]
    third = client.post(f"/customers/{customer_id}/credit-grants", json=body, headers={"Idempotency-Key": "top-up-2"})
    assert third.status_code == 201 and third.json()["id"] != first.json()["id"]


def test_a_failed_request_stores_nothing_under_its_key(client: TestClient) -> None:
    customer_id = new_customer(client)
    headers = {"Idempotency-Key": "k"}
    bad = client.post(
        f"/customers/{customer_id}/credit-grants", json={"amount": "1.001", "description": "x"}, headers=headers
    )
    assert bad.status_code == 422
    good = client.post(
        f"/customers/{customer_id}/credit-grants", json={"amount": "1.00", "description": "x"}, headers=headers
    )
    assert good.status_code == 201


def test_list_grants_by_id_with_pages(client: TestClient) -> None:
    customer_id = new_customer(client)
    other = new_customer(client)
    ids = [grant(client, customer_id, f"{n}.00")["id"] for n in (1, 2, 3)]
    grant(client, other, "9.00")
    listed = client.get(f"/customers/{customer_id}/credit-grants").json()
    assert [g["id"] for g in listed] == ids
    page = client.get(f"/customers/{customer_id}/credit-grants", params={"limit": 1, "offset": 1}).json()
    assert [g["id"] for g in page] == ids[1:2]
    assert client.get(f"/customers/{customer_id}/credit-grants", params={"limit": 0}).status_code == 422


def test_void_takes_what_remains(client: TestClient, clock: FrozenClock) -> None:
    customer_id = new_customer(client)
    kept = grant(client, customer_id, "5.00")
    voided = grant(client, customer_id, "20.00")
    clock.advance(timedelta(hours=1))
    response = client.post(f"/customers/{customer_id}/credit-grants/{voided['id']}/void")
    assert response.status_code == 200, response.text
    body = exact(response)
    assert body == {
        **voided,
        "remaining": Decimal("0.00"),
        "voided_at": "2024-01-15T13:00:00Z",
        "status": "voided",
    }
    assert brief(ledger(client, customer_id)) == [
        ("grant", "5.00", kept["id"], None, "2024-01-15T12:00:00Z"),
        ("grant", "20.00", voided["id"], None, "2024-01-15T12:00:00Z"),
        ("void", "-20.00", voided["id"], None, "2024-01-15T13:00:00Z"),
    ]
    assert client.get(f"/customers/{customer_id}/credit-balance").json()["balance"] == 5.0
    again = client.post(f"/customers/{customer_id}/credit-grants/{voided['id']}/void")
    assert again.status_code == 409
    assert "already voided" in again.json()["detail"]
    assert len(ledger(client, customer_id)) == 3


def test_an_expired_grant_cannot_be_voided(client: TestClient, clock: FrozenClock) -> None:
    customer_id = new_customer(client)
    body = grant(client, customer_id, "5.00", expires_at="2024-01-16T00:00:00Z")
    clock.set(body["expires_at"].replace("Z", "+00:00") and clock.now() + timedelta(hours=12))
    response = client.post(f"/customers/{customer_id}/credit-grants/{body['id']}/void")
    assert response.status_code == 409
    assert "expired" in response.json()["detail"]
    assert client.get(f"/customers/{customer_id}/credit-grants").json()[0]["status"] == "expired"


def test_void_of_an_unknown_or_foreign_grant_is_404(client: TestClient) -> None:
    customer_id = new_customer(client)
    other = new_customer(client)
    foreign = grant(client, other, "5.00")
    for grant_id in (foreign["id"], 999):
        response = client.post(f"/customers/{customer_id}/credit-grants/{grant_id}/void")
        assert response.status_code == 404, response.text
        assert f"credit grant {grant_id}" in response.json()["detail"]
    assert client.get(f"/customers/{other}/credit-grants").json()[0]["status"] == "active"
    assert client.post(f"/customers/{customer_id}/credit-grants/0/void").status_code == 422
