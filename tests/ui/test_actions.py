"""The dashboard's actions change what the JSON API answers (they are the same service calls); a domain error is a page
with its message and 4xx status, and nothing is written."""

from __future__ import annotations

from collections.abc import Callable
from html import unescape

from fastapi.testclient import TestClient

from tests.ui.conftest import Seeded


def test_finalize_pay_and_credit_an_invoice_through_the_forms(
    client: TestClient, seeded: Seeded, admin_browser: TestClient
) -> None:
    invoice = f"/ui/invoices/{seeded.invoice_id}"
    done = admin_browser.post(f"{invoice}/finalize")
    assert done.status_code == 303 and done.headers["location"] == invoice
    assert client.get(f"/invoices/{seeded.invoice_id}").json()["status"] == "pending"
    page = admin_browser.get(invoice)
    assert "Invoice INV-20240115-1-000001 finalized." in page.text  # the message, once
    assert "finalized." not in admin_browser.get(invoice).text

    note = admin_browser.post(
        f"{invoice}/credit-notes", data={"amount": "2.50", "reason": "Outage <3 March>", "method": "credit"}
    )
    assert note.status_code == 303, note.text
    notes = client.get(f"/invoices/{seeded.invoice_id}/credit-notes").json()
    assert [(n["amount"], n["reason"], n["method"]) for n in notes] == [(2.5, "Outage <3 March>", "credit")]
    assert client.get(f"/customers/{seeded.customer_id}/credit-balance").json()["balance"] == 2.5
    shown = admin_browser.get(invoice).text
    assert "Outage &lt;3 March&gt;" in shown and notes[0]["number"] in shown

    assert admin_browser.post(f"{invoice}/pay").status_code == 303
    paid = client.get(f"/invoices/{seeded.invoice_id}").json()
    assert paid["status"] == "paid" and paid["paid_date"] == "2024-01-15T12:00:00Z"


def test_void_an_invoice_and_cancel_a_subscription(
    client: TestClient, seeded: Seeded, admin_browser: TestClient
) -> None:
    voided = admin_browser.post(f"/ui/invoices/{seeded.invoice_id}/void", data={"reason": "Sent twice"})
    assert voided.status_code == 303
    invoice = client.get(f"/invoices/{seeded.invoice_id}").json()
    assert invoice["status"] == "void" and invoice["notes"].endswith("Voided: Sent twice")

    url = f"/ui/subscriptions/{seeded.subscription_id}"
    assert admin_browser.post(f"{url}/cancel", data={"when": "period_end"}).status_code == 303
    sub = client.get(f"/customers/{seeded.customer_id}/subscriptions/{seeded.subscription_id}").json()
    assert sub["cancel_at_period_end"] is True and sub["end_date"] == "2024-02-01T00:00:00Z"
    page = admin_browser.get(url).text
    assert "canceled at the end of its period" in page and "Cancel subscription" not in page


def test_a_domain_error_is_a_page_with_its_message_and_status(
    client: TestClient, seeded: Seeded, admin_browser: TestClient
) -> None:
    invoice = f"/ui/invoices/{seeded.invoice_id}"
    draft_note = admin_browser.post(f"{invoice}/credit-notes", data={"amount": "1", "reason": "x", "method": "credit"})
    assert draft_note.status_code == 409
    assert "text/html" in draft_note.headers["content-type"] and "Conflict (409)" in draft_note.text

    admin_browser.post(f"{invoice}/finalize")
    again = admin_browser.post(f"{invoice}/finalize", headers={"Referer": f"http://testserver{invoice}"})
    assert again.status_code == 409
    assert "only 'draft' invoices can be finalized" in unescape(again.text)
    assert f'href="{invoice}"' in again.text  # back to the page the form was on

    invalid = admin_browser.post(f"{invoice}/credit-notes", data={"amount": "lots", "reason": "x", "method": "gift"})
    assert invalid.status_code == 422
    assert "amount:" in invalid.text and "method:" in invalid.text
    too_much = admin_browser.post(f"{invoice}/credit-notes", data={"amount": "99", "reason": "x", "method": "refund"})
    assert too_much.status_code == 422
    assert client.get(f"/invoices/{seeded.invoice_id}/credit-notes").json() == []

    assert admin_browser.get("/ui/invoices/999").status_code == 404
    assert admin_browser.get("/ui/invoices/abc").status_code == 422
    assert admin_browser.get("/ui/invoices?status=unknown").status_code == 422
    assert admin_browser.post("/ui/webhooks/1/deliveries/1/replay").status_code == 404


def test_api_keys_are_created_shown_once_and_revoked(
    client: TestClient, admin_browser: TestClient, browser_for: Callable[[str], TestClient]
) -> None:
    created = admin_browser.post("/ui/api-keys", data={"name": "reporting", "scope": "read"})
    assert created.status_code == 201
    key = created.text.split('<code class="key">')[1].split("</code>")[0]
    assert key.startswith("fbl_")
    assert TestClient(client.app).get("/plans/", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert key not in admin_browser.get("/ui/api-keys").text  # shown once

    reader = browser_for(key)
    assert reader.get("/ui/customers").status_code == 200
    key_id = next(k["id"] for k in client.get("/api-keys").json() if k["name"] == "reporting")
    revoked = admin_browser.post(f"/ui/api-keys/{key_id}/revoke")
    assert revoked.status_code == 303 and revoked.headers["location"] == "/ui/api-keys"
    assert TestClient(client.app).get("/plans/", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    assert reader.get("/ui/customers").status_code == 303  # its session ends with the key

    bad = admin_browser.post("/ui/api-keys", data={"name": "", "scope": "root"})
    assert bad.status_code == 422 and "scope:" in bad.text
