"""The dashboard end to end in a real browser: Playwright driving Debian's chromium (headless) against a real
``fubble serve`` process on a fresh SQLite database, seeded through the JSON API.

One server and one browser for the whole module. Each test signs in through the form, each page loads with its
heading, the usage chart draws bars as tall as the data, an action changes an invoice's state, and a full-page
screenshot of each page is saved to ``FUBBLE_UI_SCREENSHOTS`` (default ``artifacts/ui-screenshots/``; CI keeps it).

``/usr/bin/chromium`` comes from Debian (``./dev test`` installs it when missing); never ``playwright install``.
Without it the module is skipped, or fails in CI (``CI=true``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from bench.server import ServerProcess
from fubble.api_keys import service as key_service
from fubble.api_keys.scopes import Scope
from fubble.clock import SystemClock
from fubble.db.session import Database

pytestmark = pytest.mark.slow  # a long file: scheduled first (tests/conftest.py)

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("FUBBLE_UI_SCREENSHOTS") or REPO / "artifacts" / "ui-screenshots")


# (hours before now, calls): usage over the last days, in different amounts per hour.
USAGE = [(1, "12"), (2, "4"), (5, "9"), (30, "6"), (75, "3")]


@dataclass(frozen=True)
class Deployment:
    base: str
    key: str
    customer_id: int
    plan_id: int
    subscription_id: int
    invoice_id: int
    endpoint_id: int


def _created(response: httpx.Response) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


def _seed(base: str, key: str) -> Deployment:
    now = datetime.now(UTC)
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=10) as api:
        _created(api.post("/metrics/", json={"name": "api_calls", "aggregation": "sum", "unit": "calls"}))
        tiers = {"tiers": [{"start": 0, "end": None, "price": "0.25"}]}
        component = {"metric_name": "api_calls", "pricing_type": "tiered", "pricing_details": tiers}
        plan = _created(
            api.post("/plans/", json={"name": "Scale", "billing_frequency": "monthly", "price_components": [component]})
        )
        customer = _created(api.post("/customers/", json={"name": "Globex <Ltd>", "email": "ops@globex.example"}))
        start = (now - timedelta(days=10)).isoformat()
        subscription = _created(
            api.post(f"/customers/{customer['id']}/subscriptions", json={"plan_id": plan["id"], "start_date": start})
        )
        events = [
            {
                "customer_id": customer["id"],
                "metric_name": "api_calls",
                "quantity": quantity,
                "event_time": (now - timedelta(hours=hours)).isoformat(),
                "event_id": f"browser-{hours}",
            }
            for hours, quantity in USAGE
        ]
        assert api.post("/events/batch", json={"events": events}).status_code == 200
        item = {"description": "Onboarding", "amount": "250.00"}
        invoice = _created(api.post("/invoices/", json={"customer_id": customer["id"], "items": [item]}))
        endpoint = _created(
            api.post("/webhook-endpoints", json={"url": "http://127.0.0.1:9/hooks", "event_types": ["invoice.paid"]})
        )
    return Deployment(base, key, customer["id"], plan["id"], subscription["id"], invoice["id"], endpoint["id"])


@dataclass(frozen=True)
class Booting:
    server: ServerProcess
    started: Future[str]  # the base URL, once /health answers
    url: str


@pytest.fixture(scope="module")
def chromium() -> Path:
    """Debian's chromium; without it every test here fails in CI (``CI=true``) and is skipped elsewhere."""
    if not CHROMIUM.exists():
        why = f"{CHROMIUM} is missing: install Debian's chromium (`apt-get install -y chromium`; ./dev test does)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(why, pytrace=False)
        pytest.skip(why)
    return CHROMIUM


@pytest.fixture(scope="module")
def booting(chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Booting]:
    """``fubble serve`` starting on a fresh SQLite database (it creates the schema), while the browser launches."""
    tmp = tmp_path_factory.mktemp("dashboard")
    url = f"sqlite:///{tmp / 'dashboard.db'}"
    server = ServerProcess(url, log_dir=tmp, access_log=False, extra_env={"FUBBLE_WEBHOOK_ALLOW_PRIVATE_URLS": "true"})
    with ThreadPoolExecutor(max_workers=1) as pool:
        started = pool.submit(server.start)
        try:
            yield Booting(server, started, url)
        finally:
            started.exception()  # wait for the start to end either way before stopping
            server.stop()


@pytest.fixture(scope="module")
def browser(chromium: Path, booting: Booting) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def deployment(booting: Booting, browser: Browser) -> Deployment:
    """The started server with an operator's admin key, seeded through the JSON API."""
    base = booting.started.result()
    database = Database(booting.url)
    try:
        with database.transaction() as session:
            _row, key = key_service.create(session, name="operator", scope=Scope.admin, clock=SystemClock())
    finally:
        database.dispose()
    return _seed(base, key)


@dataclass
class Session:
    page: Page
    console_errors: list[str]


@pytest.fixture(scope="module")
def signed_in(browser: Browser, deployment: Deployment) -> Iterator[Session]:
    """One browser tab, signed in through the sign-in form."""
    context = browser.new_context(base_url=deployment.base, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: _keep_error(message, errors))
    response = page.goto("/ui/invoices")
    assert response is not None and response.ok
    assert page.url.startswith(f"{deployment.base}/ui/login?next=")  # sent to sign in first
    _screenshot(page, "login")
    page.fill("#api_key", deployment.key)
    page.click("button[type=submit]")
    page.wait_for_url(f"{deployment.base}/ui/invoices")  # and back to the page asked for
    session_cookie = next(c for c in context.cookies() if c["name"] == "fubble_session")
    assert session_cookie["httpOnly"] and session_cookie["sameSite"] == "Strict" and session_cookie["path"] == "/ui"
    assert page.evaluate("document.cookie") == ""  # no script can read it
    try:
        yield Session(page, errors)
    finally:
        context.close()


def _keep_error(message: ConsoleMessage, errors: list[str]) -> None:
    if message.type == "error":  # a blocked stylesheet (CSP), a missing asset, a script error
        errors.append(message.text)


def _screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    image = page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    assert image.startswith(b"\x89PNG") and (SCREENSHOTS / f"{name}.png").read_bytes() == image


def test_every_page_loads_with_its_heading(signed_in: Session, deployment: Deployment) -> None:
    d = deployment
    pages = [
        ("customers", "/ui/customers", "Customers"),
        ("customer", f"/ui/customers/{d.customer_id}", "Globex <Ltd>"),
        ("customer-daily", f"/ui/customers/{d.customer_id}?granularity=day", "Globex <Ltd>"),
        ("plans", "/ui/plans", "Plans"),
        ("plan", f"/ui/plans/{d.plan_id}", "Scale"),
        ("subscriptions", "/ui/subscriptions", "Subscriptions"),
        ("subscription", f"/ui/subscriptions/{d.subscription_id}", f"Subscription #{d.subscription_id}"),
        ("invoices", "/ui/invoices", "Invoices"),
        ("invoice", f"/ui/invoices/{d.invoice_id}", "Invoice INV-"),
        ("api-keys", "/ui/api-keys", "API keys"),
        ("webhooks", "/ui/webhooks", "Webhook endpoints"),
        ("webhook", f"/ui/webhooks/{d.endpoint_id}", f"Webhook endpoint #{d.endpoint_id}"),
        ("audit", "/ui/audit", "Audit log"),
    ]
    page = signed_in.page
    for name, url, heading in pages:
        response = page.goto(url)
        assert response is not None and response.status == 200, url
        assert heading in page.inner_text("h1"), url
        _screenshot(page, name)
    # The stylesheet applied (the Content-Security-Policy lets the package's own file in), nothing was refused.
    header = page.eval_on_selector("header.top", "e => getComputedStyle(e).backgroundColor")
    assert header == "rgb(255, 255, 255)"
    assert signed_in.console_errors == []


def test_the_usage_chart_draws_bars_as_tall_as_the_usage(signed_in: Session, deployment: Deployment) -> None:
    page = signed_in.page
    page.goto(f"/ui/customers/{deployment.customer_id}?granularity=hour")
    chart = page.locator('figure.usage[data-metric="api_calls"] svg.chart')
    assert chart.is_visible()
    bars = chart.locator("rect.bar")
    assert bars.count() == 48
    heights = [float(h) for h in bars.evaluate_all("rs => rs.map(r => r.getBoundingClientRect().height)")]
    drawn = sorted(h for h in heights if h > 0)
    assert len(drawn) >= 3 and len(set(drawn)) >= 3  # 12, 9 and 4 calls in the last hours: three heights
    assert drawn[-1] > 2.5 * drawn[0]
    fill = bars.first.evaluate("r => getComputedStyle(r).fill")
    assert fill == "rgb(47, 91, 211)"  # styled by the stylesheet
    page.click("text=day")
    page.wait_for_url("**granularity=day")
    assert page.locator('figure.usage[data-metric="api_calls"] rect.bar').count() == 30


def test_finalizing_an_invoice_changes_its_state_on_the_page(signed_in: Session, deployment: Deployment) -> None:
    page = signed_in.page
    page.goto(f"/ui/invoices/{deployment.invoice_id}")
    assert page.inner_text("dd.invoice-status") == "draft"
    page.click("button:has-text('Finalize')")
    page.wait_for_selector(".flash")
    assert "finalized" in page.inner_text(".flash")
    assert page.inner_text("dd.invoice-status") == "pending"
    assert page.locator("button:has-text('Finalize')").count() == 0
    assert page.locator("button:has-text('Mark paid')").count() == 1
    _screenshot(page, "invoice-finalized")
    with httpx.Client(base_url=deployment.base, headers={"Authorization": f"Bearer {deployment.key}"}) as api:
        assert api.get(f"/invoices/{deployment.invoice_id}").json()["status"] == "pending"
    # A second finalize (a stale tab) is refused with the reason, on a page, not a crash.
    response = page.request.post(f"/ui/invoices/{deployment.invoice_id}/finalize")
    assert response.status == 409 and "only 'draft' invoices can be finalized" in response.text().replace("&#39;", "'")
