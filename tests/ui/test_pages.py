"""The dashboard's pages show what the JSON API answers, escaped, with the security headers and a local stylesheet."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.ui.conftest import Seeded

BAR = re.compile(r'<rect class="bar" x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)"><title>([^<]*)</title>')


def test_every_page_answers_with_its_heading_and_the_security_headers(
    client: TestClient, seeded: Seeded, admin_browser: TestClient
) -> None:
    pages = {
        "/ui/customers": "<h1>Customers</h1>",
        f"/ui/customers/{seeded.customer_id}": "<h1>Acme &lt;Corp&gt; <small>#1</small></h1>",
        "/ui/plans": "<h1>Plans</h1>",
        f"/ui/plans/{seeded.plan_id}": "<h1>Pro <small>#1</small></h1>",
        "/ui/subscriptions": "<h1>Subscriptions</h1>",
        f"/ui/subscriptions/{seeded.subscription_id}": "<h1>Subscription #1",
        "/ui/invoices": "<h1>Invoices</h1>",
        f"/ui/invoices/{seeded.invoice_id}": "<h1>Invoice INV-20240115-1-000001",
        "/ui/api-keys": "<h1>API keys</h1>",
        "/ui/webhooks": "<h1>Webhook endpoints</h1>",
        "/ui/audit": "<h1>Audit log</h1>",
    }
    for url, heading in pages.items():
        response = admin_browser.get(url)
        assert response.status_code == 200, (url, response.text)
        assert heading in response.text, url
        assert "<script" not in response.text and "Acme <Corp>" not in response.text
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "style-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "same-origin"
        assert response.headers["cache-control"] == "no-store"
    assert admin_browser.get("/ui").headers["location"] == "/ui/customers"

    invoice = admin_browser.get(f"/ui/invoices/{seeded.invoice_id}").text
    assert "10.00 USD" in invoice and "Setup" in invoice and f'href="/ui/invoices/{seeded.invoice_id}/pdf"' in invoice
    pdf = admin_browser.get(f"/ui/invoices/{seeded.invoice_id}/pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and pdf.headers["x-frame-options"] == "DENY"
    audit = admin_browser.get("/ui/audit?entity_type=invoice").text
    assert "POST /invoices/" in audit and "POST /customers/" not in audit
    filtered = admin_browser.get("/ui/invoices?status=paid").text
    assert "No invoices." in filtered


def test_the_customer_page_charts_its_usage_per_hour_and_per_day(seeded: Seeded, admin_browser: TestClient) -> None:
    hourly = admin_browser.get(f"/ui/customers/{seeded.customer_id}").text
    bars = BAR.findall(hourly)
    assert len(bars) == 48  # two days of hours up to the customer's now (2024-01-15 12:00)
    drawn = {title: height for height, title in bars if height != "0.0"}
    assert drawn == {  # in proportion to the largest, which fills the plot area (164 px)
        "2024-01-15 02:00: 3 calls": "49.2",
        "2024-01-15 05:00: 10 calls": "164.0",
        "2024-01-15 09:00: 6 calls": "98.4",
    }
    assert "total 19 calls" in hourly

    daily = admin_browser.get(f"/ui/customers/{seeded.customer_id}?granularity=day").text
    day_bars = BAR.findall(daily)
    assert len(day_bars) == 30
    assert [(h, t) for h, t in day_bars if h != "0.0"] == [("164.0", "2024-01-15: 19 calls")]
    assert admin_browser.get(f"/ui/customers/{seeded.customer_id}?granularity=month").status_code == 422


def test_the_stylesheet_ships_in_the_package_and_is_cached_for_good(admin_browser: TestClient) -> None:
    page = admin_browser.get("/ui/customers").text
    href = re.search(r'<link rel="stylesheet" href="([^"]+)">', page)
    assert href is not None and href.group(1).startswith("/ui/static/dashboard.css?v=")
    css = TestClient(admin_browser.app).get(href.group(1))  # no key needed
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "immutable" in css.headers["cache-control"] and "svg.chart .bar" in css.text
    assert TestClient(admin_browser.app).get("/ui/static/../auth.py").status_code == 404
    assert "http" not in page.replace("http://www.w3.org/2000/svg", "")  # nothing from another host


def test_the_dashboard_is_not_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert paths and not [path for path in paths if path.startswith("/ui")]
