from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from fastapi.testclient import TestClient

from .helpers import dec, exact, invoice_in_status, new_customer, new_invoice, put_status


def test_concurrent_status_changes_serialize(client: TestClient) -> None:
    invoice_id = invoice_in_status(client, new_customer(client), "pending")
    targets = ["paid", "failed", "void", "paid", "failed", "void", "paid", "void"]
    with ThreadPoolExecutor(max_workers=len(targets)) as pool:
        codes = list(pool.map(lambda target: put_status(client, invoice_id, target).status_code, targets))
    assert all(code in (200, 409) for code in codes), codes
    final = client.get(f"/invoices/{invoice_id}").json()["status"]
    # every success was a legal step from the status at that moment, so at most pending -> failed -> paid|void
    assert 1 <= codes.count(200) <= 2
    assert final in ("paid", "void", "failed")


def test_concurrent_item_adds_keep_the_total_exact(client: TestClient) -> None:
    invoice_id = new_invoice(client, new_customer(client))["id"]
    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(
            pool.map(
                lambda _: (
                    client.post(
                        f"/invoices/{invoice_id}/items", json={"description": "x", "amount": "0.10"}
                    ).status_code
                ),
                range(16),
            )
        )
    assert codes == [201] * 16
    body = exact(client.get(f"/invoices/{invoice_id}"))
    assert len(body["invoice_items"]) == 16
    assert dec(body["amount"]) == Decimal("1.60")
