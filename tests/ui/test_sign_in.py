"""Signing in to the dashboard: the session cookie, redirects without it, scopes, the Origin check, and the JSON API
that never takes the cookie."""

from __future__ import annotations

from collections.abc import Callable
from html import unescape

from fastapi import FastAPI
from fastapi.testclient import TestClient

from fubble.api.app import create_app
from fubble.clock import FrozenClock
from fubble.config import Settings
from fubble.db.session import Database
from tests.ui.conftest import Seeded, new_browser

PAGES = [
    "/ui/customers",
    "/ui/plans",
    "/ui/subscriptions",
    "/ui/invoices",
    "/ui/api-keys",
    "/ui/webhooks",
    "/ui/audit",
]


def _cookie_attributes(response_header: str) -> set[str]:
    return {part.strip().lower() for part in response_header.split(";")}


def test_sign_in_keeps_the_key_in_an_http_only_same_site_strict_cookie(app: FastAPI, admin_key: str) -> None:
    browser = new_browser(app)
    form = browser.get("/ui/login")
    assert form.status_code == 200 and 'name="api_key"' in form.text
    response = browser.post("/ui/login", data={"api_key": admin_key, "next": "/ui/plans"})
    assert response.status_code == 303 and response.headers["location"] == "/ui/plans"
    attributes = _cookie_attributes(response.headers["set-cookie"])
    assert f"fubble_session={admin_key}".lower() in attributes
    assert {"httponly", "samesite=strict", "path=/ui"} <= attributes
    assert "secure" not in attributes  # plain http: a Secure cookie would never come back
    assert browser.get("/ui/plans").status_code == 200

    # Over https the cookie is Secure too; a "next" leading off the dashboard is not followed.
    secure = new_browser(app, base_url="https://testserver")
    response = secure.post("/ui/login", data={"api_key": admin_key, "next": "https://evil.example/ui/x"})
    assert response.headers["location"] == "/ui/customers"
    assert "secure" in _cookie_attributes(response.headers["set-cookie"])

    # Signing out clears the cookie: the pages send the browser to the sign-in page again.
    out = browser.post("/ui/logout")
    assert out.status_code == 303 and out.headers["location"] == "/ui/login"
    assert browser.get("/ui/plans").headers["location"] == "/ui/login?next=%2Fui%2Fplans"


def test_a_wrong_or_ingest_key_cannot_sign_in(app: FastAPI, make_key: Callable[[str], str]) -> None:
    browser = new_browser(app)
    wrong = browser.post("/ui/login", data={"api_key": "fbl_000000000000_" + "x" * 40})
    assert wrong.status_code == 401 and "Unknown or revoked API key" in wrong.text
    assert "set-cookie" not in wrong.headers
    ingest = browser.post("/ui/login", data={"api_key": make_key("ingest")})
    assert ingest.status_code == 403 and "ingest" in ingest.text
    assert "set-cookie" not in ingest.headers


def test_without_a_valid_cookie_every_page_and_action_leads_to_the_sign_in_page(
    app: FastAPI, client: TestClient, seeded: Seeded, make_key: Callable[[str], str]
) -> None:
    browser = new_browser(app)
    for page in [*PAGES, f"/ui/customers/{seeded.customer_id}", f"/ui/invoices/{seeded.invoice_id}/pdf"]:
        response = browser.get(page)
        assert response.status_code == 303, page
        assert response.headers["location"].startswith("/ui/login?next=%2Fui%2F"), page
    action = browser.post(f"/ui/invoices/{seeded.invoice_id}/finalize")
    assert action.status_code == 303 and action.headers["location"] == "/ui/login"

    # A revoked key's cookie is refused and cleared.
    key = make_key("write")
    browser.post("/ui/login", data={"api_key": key})
    assert browser.get("/ui/customers").status_code == 200
    key_id = next(k["id"] for k in client.get("/api-keys").json() if k["name"] == "test write")
    assert client.delete(f"/api-keys/{key_id}").status_code == 200
    refused = browser.get("/ui/customers")
    assert refused.status_code == 303 and refused.headers["location"].startswith("/ui/login")
    assert 'fubble_session=""' in refused.headers["set-cookie"]
    assert client.get(f"/invoices/{seeded.invoice_id}").json()["status"] == "draft"


def test_a_read_key_sees_pages_but_may_not_act_nor_see_admin_pages(
    client: TestClient, seeded: Seeded, browser_for: Callable[[str], TestClient], make_key: Callable[[str], str]
) -> None:
    browser = browser_for(make_key("read"))
    page = browser.get(f"/ui/invoices/{seeded.invoice_id}")
    assert page.status_code == 200
    assert "/finalize" not in page.text  # no form it could not use
    assert 'href="/ui/api-keys"' not in page.text
    for admin_page in ("/ui/api-keys", "/ui/webhooks", "/ui/audit"):
        refused = browser.get(admin_page)
        assert refused.status_code == 403, admin_page
        assert "this route needs 'admin'" in unescape(refused.text)
        assert 'href="/ui/invoices"' in refused.text and "(read)" in refused.text  # still signed in
    action = browser.post(f"/ui/invoices/{seeded.invoice_id}/finalize")
    assert action.status_code == 403 and "this route needs 'write'" in unescape(action.text)
    assert client.get(f"/invoices/{seeded.invoice_id}").json()["status"] == "draft"
    write = browser_for(make_key("write"))
    assert write.get("/ui/api-keys").status_code == 403
    assert write.post("/ui/api-keys", data={"name": "x", "scope": "admin"}).status_code == 403


def test_a_form_from_another_origin_is_refused(client: TestClient, seeded: Seeded, admin_browser: TestClient) -> None:
    url = f"/ui/invoices/{seeded.invoice_id}/finalize"
    refused = admin_browser.post(url, headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403 and "another origin" in refused.text
    assert admin_browser.post(url, headers={"Origin": "null"}).status_code == 403
    assert admin_browser.post(url, headers={"Origin": "http://testserver.evil.example"}).status_code == 403
    assert admin_browser.post(url, headers={"Origin": "http://testserver:8443"}).status_code == 403
    assert client.get(f"/invoices/{seeded.invoice_id}").json()["status"] == "draft"
    same = admin_browser.post(url, headers={"Origin": "https://testserver"})  # the page, over a TLS-ending proxy
    assert same.status_code == 303
    assert client.get(f"/invoices/{seeded.invoice_id}").json()["status"] == "pending"


def test_the_json_api_never_takes_the_cookie(app: FastAPI, admin_key: str) -> None:
    api = TestClient(app, raise_server_exceptions=False)
    response = api.get("/customers/", headers={"Cookie": f"fubble_session={admin_key}"})
    assert response.status_code == 401
    assert api.get("/customers/", headers={"Authorization": f"Bearer {admin_key}"}).status_code == 200


def test_without_authentication_the_dashboard_needs_no_sign_in(db: Database, clock: FrozenClock) -> None:
    app = create_app(Settings(database_url=db.url, auth_enabled=False), clock=clock, database=db)
    browser = new_browser(app, base_url="http://localhost")  # a loopback address: --no-auth serves only those
    assert browser.get("/ui/login").headers["location"] == "/ui/customers"
    page = browser.get("/ui/audit")
    assert page.status_code == 200 and "no-auth (loopback)" in page.text
    assert "Sign out" not in page.text
