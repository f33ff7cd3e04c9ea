"""The application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from fubble import __version__, observability
from fubble.api import docs
from fubble.api.auth import Authenticator
from fubble.api.errors import install_error_handlers
from fubble.api.fast_route import FastAPIWithFastRoutes
from fubble.api.limits import BodySizeLimit
from fubble.api.openapi import build_openapi
from fubble.clock import Clock, SystemClock
from fubble.config import Settings, get_settings
from fubble.db.session import Database

DESCRIPTION = """
Usage-based billing: meter what customers use, price it with exact decimal arithmetic, issue correct invoices.

* Money and quantities are exact decimals: send them as JSON numbers (or numeric strings); responses carry their exact
  digits. Amounts are rounded once per invoice line, half-up, to the currency's minor unit.
* Times are UTC. A timestamp without an offset is taken as UTC; one with an offset is converted. Windows are half-open
  `[start, end)`.
* Every error is `{"detail": ...}` with 404 (unknown object), 405 (wrong method, with `Allow`), 409 (conflicts with
  the current state), 413 (body too large), 422 (invalid values, naming the field) or 503 (busy: retry after the
  `Retry-After` seconds). Nothing is written when a request fails.
* Lists take `limit` (default 100, max 1000) and `offset`, and are ordered by id. Collection routes answer with and
  without a trailing slash.

**Authentication.** Every route but `/health`, `/ready` and `/-/metrics` needs an API key: send
`Authorization: Bearer <key>` (in these docs, use the *Authorize* button). The first start of `fubble serve` creates
an admin key and prints it once; create more with `fubble keys create NAME --scope SCOPE` or `POST /api-keys`.
Scopes: `admin` (everything), `write` (everything but API keys and the audit log), `ingest` (only `POST /events/` and
`POST /events/batch`), `read` (every GET but API keys and the audit log). Each operation lists its scope as
`x-required-scope`. Missing or unknown keys get 401, a scope that does not allow the route 403.

**Idempotency.** Send `Idempotency-Key: <unique string>` with any POST, PUT or DELETE: the first successful response
is stored (48 hours) and replayed, with `Idempotent-Replay: true`, for retries with the same key; the same key with a
different request is a 409.
"""


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    database: Database | None = None,
    background: bool = False,
) -> FastAPI:
    """The API. ``background``: also run the billing scheduler and the webhook delivery worker while the app runs
    (``fubble serve`` does)."""
    settings = settings or get_settings()
    db = database or Database(settings.database_url, sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    owns_db = database is None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        from fubble.billing_runs.scheduler import Scheduler
        from fubble.payments.worker import PaymentWorker
        from fubble.webhooks.delivery import WebhookWorker

        scheduler = Scheduler(db, app.state.clock, settings)
        webhooks = WebhookWorker(db, app.state.clock, settings)
        payments = PaymentWorker(db, app.state.clock, settings)
        if background:
            scheduler.start()
            webhooks.start()
            payments.start()  # only with FUBBLE_STRIPE_SECRET_KEY
        try:
            yield
        finally:
            payments.stop()
            webhooks.stop()
            scheduler.stop()
            if owns_db:
                db.dispose()

    app = FastAPIWithFastRoutes(
        title="fubble",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        max_body_bytes=settings.max_body_bytes,
        docs_url=None,  # /docs and /redoc come from fubble.api.docs, with their scripts served locally
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.clock = clock or SystemClock()
    app.state.db = db
    app.state.auth = Authenticator(db, app.state.clock, enabled=settings.auth_enabled)
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        # Keys travel in the Authorization header, never in cookies: credentials are not allowed cross-origin.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=False,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
            expose_headers=["Idempotent-Replay", "X-Request-ID", "Retry-After"],
        )
    for router in _routers():
        # The routes themselves, built once per process when their module was imported: include_router would make
        # FastAPI build every route's parameters again for each app, on its first request (a few hundred ms).
        # The routers carry no prefix, tags or dependencies of their own that an include would add.
        app.router.routes.extend(router.routes)
    docs.install(app)
    from fubble.events import ingest_route

    ingest_route.install(app)  # in front of the middleware; the FastAPI routes stay their documentation and fallback
    observability.install(app)  # around everything: request ids, latency metrics, access log; the pool's gauges
    _document_security(app)
    return app


def _document_security(app: FastAPI) -> None:
    def openapi() -> dict[str, object]:
        if app.openapi_schema is None:
            schema = build_openapi(app)
            components = schema.setdefault("components", {})
            components.setdefault("securitySchemes", {})["bearerAuth"] = {
                "type": "http",
                "scheme": "bearer",
                "description": "An API key: `Authorization: Bearer fbl_...`",
            }
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _routers() -> list[APIRouter]:
    from fubble.analytics.router import router as analytics
    from fubble.api_keys.router import router as api_keys
    from fubble.audit.router import router as audit
    from fubble.billing.preview_router import router as upcoming_invoice
    from fubble.billing.router import router as billing
    from fubble.billing_runs.router import router as billing_runs
    from fubble.coupons.router import router as coupons
    from fubble.credit_notes.router import router as credit_notes
    from fubble.credits.router import router as credits
    from fubble.customers.router import router as customers
    from fubble.documents.router import router as documents
    from fubble.events.router import router as events
    from fubble.health.router import router as health
    from fubble.invoices.router import router as invoices
    from fubble.metrics.router import router as metrics
    from fubble.observability.router import router as probes
    from fubble.payments.router import router as payments
    from fubble.plans.router import router as plans
    from fubble.pricing_factors.router import router as pricing_factors
    from fubble.subscriptions.router import router as subscriptions
    from fubble.taxes.router import router as taxes
    from fubble.test_clocks.router import router as test_clocks
    from fubble.ui import actions as ui_actions
    from fubble.ui import router as ui
    from fubble.usage.router import router as usage
    from fubble.webhooks.router import alerts_router as usage_alerts
    from fubble.webhooks.router import router as webhooks

    # billing before invoices: POST /invoices/generate must not be shadowed by /invoices/{invoice_id} routes.
    return [
        health,
        probes,
        customers,
        plans,
        subscriptions,
        events,
        billing,
        invoices,
        pricing_factors,
        api_keys,
        audit,
        metrics,
        upcoming_invoice,
        billing_runs,
        test_clocks,
        analytics,
        usage,
        taxes,
        coupons,
        credits,
        credit_notes,
        webhooks,
        usage_alerts,
        documents,
        payments,
        # The dashboard (/ui): pages and actions for people, outside the OpenAPI document.
        ui.static_router,
        ui.public_router,
        ui.router,
        ui.admin_router,
        ui_actions.router,
        ui_actions.admin_router,
    ]
