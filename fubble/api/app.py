"""The application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from fubble import __version__
from fubble.api.errors import install_error_handlers
from fubble.api.limits import BodySizeLimit
from fubble.clock import Clock, SystemClock
from fubble.config import Settings, get_settings
from fubble.db.session import Database

DESCRIPTION = """
Usage-based billing: meter what customers use, price it with exact decimal arithmetic, issue correct invoices.

* Money and quantities are exact decimals: send them as JSON numbers (or numeric strings); responses carry their exact
  digits. Amounts are rounded once per invoice line, half-up, to the currency's minor unit.
* Times are UTC. A timestamp without an offset is taken as UTC; one with an offset is converted. Windows are half-open
  `[start, end)`.
* Every error is `{"detail": ...}` with 404 (unknown object), 409 (conflicts with the current state), 413 (body too
  large) or 422 (invalid values). Nothing is written when a request fails.
* Lists take `limit` (default 100, max 1000) and `offset`, and are ordered by id.
"""


def create_app(
    settings: Settings | None = None, *, clock: Clock | None = None, database: Database | None = None
) -> FastAPI:
    settings = settings or get_settings()
    db = database or Database(settings.database_url, sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    owns_db = database is None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if owns_db:
            db.dispose()

    app = FastAPI(title="fubble", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.clock = clock or SystemClock()
    app.state.db = db
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    for router in _routers():
        app.include_router(router)
    return app


def _routers() -> list[APIRouter]:
    from fubble.billing.router import router as billing
    from fubble.customers.router import router as customers
    from fubble.events.router import router as events
    from fubble.health.router import router as health
    from fubble.invoices.router import router as invoices
    from fubble.plans.router import router as plans
    from fubble.pricing_factors.router import router as pricing_factors
    from fubble.subscriptions.router import router as subscriptions

    # billing before invoices: POST /invoices/generate must not be shadowed by /invoices/{invoice_id} routes.
    return [health, customers, plans, subscriptions, events, billing, invoices, pricing_factors]
