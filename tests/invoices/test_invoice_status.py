from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from fubble.clock import FrozenClock
from fubble.invoices.status import ALLOWED, InvoiceStatus

from .helpers import exact, invoice_in_status, new_customer, new_invoice, put_status

STATUSES = [s.value for s in InvoiceStatus]
LEGAL = sorted((a.value, b.value) for a, targets in ALLOWED.items() for b in targets)
ILLEGAL = [(a, b) for a in STATUSES for b in STATUSES if (a, b) not in LEGAL]


def test_the_machine() -> None:
    assert sorted(LEGAL) == sorted(
        [
            ("draft", "pending"),
            ("draft", "void"),
            ("pending", "paid"),
            ("pending", "failed"),
            ("pending", "void"),
            ("failed", "pending"),
            ("failed", "paid"),
            ("failed", "void"),
        ]
    )
    assert len(ILLEGAL) == 25 - 8


@pytest.mark.parametrize(("source", "target"), LEGAL)
def test_legal_transition(client: TestClient, clock: FrozenClock, source: str, target: str) -> None:
    invoice_id = invoice_in_status(client, new_customer(client), source)
    clock.advance(timedelta(days=2))
    response = put_status(client, invoice_id, target)
    assert response.status_code == 200, response.text
    body = exact(response)
    assert body["status"] == target
    assert body["updated_at"] == "2024-01-17T12:00:00Z"
    assert body["paid_date"] == ("2024-01-17T12:00:00Z" if target == "paid" else None)
    assert exact(client.get(f"/invoices/{invoice_id}")) == body


@pytest.mark.parametrize(("source", "target"), ILLEGAL)
def test_illegal_transition_is_409(client: TestClient, source: str, target: str) -> None:
    invoice_id = invoice_in_status(client, new_customer(client), source)
    before = exact(client.get(f"/invoices/{invoice_id}"))
    response = put_status(client, invoice_id, target)
    assert response.status_code == 409, response.text
    detail = response.json()["detail"]
    assert f"from '{source}' to '{target}'" in detail
    for allowed in ALLOWED[InvoiceStatus(source)]:
        assert allowed.value in detail.split("allowed from", 1)[1]
    assert exact(client.get(f"/invoices/{invoice_id}")) == before


def test_status_in_the_body(client: TestClient) -> None:
    invoice_id = invoice_in_status(client, new_customer(client), "pending")
    response = client.put(f"/invoices/{invoice_id}/status", json={"status": "failed"})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "failed"
    response = client.put(f"/invoices/{invoice_id}/status", params={"status": "paid"}, json={"status": "paid"})
    assert response.status_code == 200, response.text
    assert response.json()["paid_date"] == "2024-01-15T12:00:00Z"


def test_bad_status_requests(client: TestClient) -> None:
    invoice_id = invoice_in_status(client, new_customer(client), "pending")
    for params, body in (
        ({"status": "settled"}, None),
        ({"status": "PAID"}, None),
        ({}, None),
        ({}, {"status": "settled"}),
        ({}, {"state": "paid"}),
        ({"status": "paid"}, {"status": "failed"}),
    ):
        response = client.put(f"/invoices/{invoice_id}/status", params=params, json=body)
        assert response.status_code == 422, (params, body, response.text)
    assert client.get(f"/invoices/{invoice_id}").json()["status"] == "pending"
    assert put_status(client, 999, "paid").status_code == 404
    assert put_status(client, 0, "paid").status_code == 422


def test_finalize(client: TestClient, clock: FrozenClock) -> None:
    customer_id = new_customer(client)
    invoice_id = new_invoice(client, customer_id)["id"]
    clock.advance(timedelta(minutes=1))
    response = client.put(f"/invoices/{invoice_id}/finalize")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "pending"
    assert response.json()["updated_at"] == "2024-01-15T12:01:00Z"
    for status in ("pending", "paid", "failed", "void"):
        other = invoice_in_status(client, customer_id, status)
        response = client.put(f"/invoices/{other}/finalize")
        assert response.status_code == 409, (status, response.text)
        assert "draft" in response.json()["detail"]
        assert client.get(f"/invoices/{other}").json()["status"] == status
    assert client.put("/invoices/999/finalize").status_code == 404


def test_void_appends_the_reason(client: TestClient, clock: FrozenClock) -> None:
    customer_id = new_customer(client)
    with_notes = new_invoice(client, customer_id, notes="September services")["id"]
    response = client.put(f"/invoices/{with_notes}/void", params={"reason": "Duplicate"})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "void"
    assert response.json()["notes"] == "September services\nVoided: Duplicate"
    assert response.json()["paid_date"] is None

    without_notes = invoice_in_status(client, customer_id, "pending")
    response = client.put(f"/invoices/{without_notes}/void", json={"reason": "Customer cancelled"})
    assert response.status_code == 200, response.text
    assert response.json()["notes"] == "Voided: Customer cancelled"

    no_reason = invoice_in_status(client, customer_id, "failed")
    clock.advance(timedelta(seconds=30))
    response = client.put(f"/invoices/{no_reason}/void")
    assert response.status_code == 200, response.text
    assert response.json()["notes"] is None
    assert response.json()["updated_at"] == "2024-01-15T12:00:30Z"


@pytest.mark.parametrize("status", ["paid", "void"])
def test_void_of_a_final_invoice_is_409(client: TestClient, status: str) -> None:
    invoice_id = invoice_in_status(client, new_customer(client), status)
    before = exact(client.get(f"/invoices/{invoice_id}"))
    response = client.put(f"/invoices/{invoice_id}/void", params={"reason": "Too late"})
    assert response.status_code == 409
    assert "final" in response.json()["detail"]
    assert exact(client.get(f"/invoices/{invoice_id}")) == before


def test_bad_void_requests(client: TestClient) -> None:
    invoice_id = new_invoice(client, new_customer(client))["id"]
    for params, body in (
        ({"reason": ""}, None),
        ({"reason": "   "}, None),
        ({}, {"reason": "x" * 1001}),
        ({}, {"why": "x"}),
        ({"reason": "a"}, {"reason": "b"}),
    ):
        response = client.put(f"/invoices/{invoice_id}/void", params=params, json=body)
        assert response.status_code == 422, (params, body, response.text)
    assert client.get(f"/invoices/{invoice_id}").json()["status"] == "draft"
    assert client.put("/invoices/999/void").status_code == 404
