"""Rendering the dashboard's pages: Jinja2 templates (``templates/``, autoescaping on, so whatever a customer's name
or an invoice line holds is shown as text) and the stylesheet (``static/``), both shipped in the package."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Any

import simplejson
from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse

from fubble.api.auth import Principal
from fubble.api_keys.scopes import Scope, allows
from fubble.ui.auth import flash_of

STATIC_FILES = {"dashboard.css": "text/css; charset=utf-8", "favicon.svg": "image/svg+xml"}

# Pages hold billing data: nothing may load from elsewhere or frame them, and they are never cached.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}
NO_STORE = {"Cache-Control": "no-store"}


@dataclass(frozen=True)
class StaticFile:
    content: bytes
    media_type: str
    version: str  # a digest of the content: its URL changes with it, so it can be cached for good


@lru_cache
def static_file(name: str) -> StaticFile | None:
    media_type = STATIC_FILES.get(name)
    if media_type is None:
        return None
    content = resources.files("fubble.ui").joinpath("static").joinpath(name).read_bytes()
    return StaticFile(content, media_type, hashlib.sha256(content).hexdigest()[:12])


def static_url(name: str) -> str:
    found = static_file(name)
    assert found is not None, name
    return f"/ui/static/{name}?v={found.version}"


def when(value: datetime | None) -> str:
    """A time as the pages show it: UTC, to the minute (seconds when it has some)."""
    if value is None:
        return "—"
    text = value.strftime("%Y-%m-%d %H:%M:%S" if value.second or value.microsecond else "%Y-%m-%d %H:%M")
    return f"{text} UTC"


def period(start: datetime | None, end: datetime | None) -> str:
    """A half-open window ``[start, end)`` as the pages show it, or a dash when there is none."""
    if start is None and end is None:
        return "—"
    return f"{when(start)} \u2013 {when(end)}"


def amount(value: Decimal | None, currency: str | None = None) -> str:
    """An amount with its exact digits, as stored (never rounded for display)."""
    if value is None:
        return "—"
    text = f"{value:,f}"
    return f"{text} {currency}" if currency else text


def as_json(value: Any) -> str:
    """JSON with exact decimals (pricing details, audit states), as the API writes it."""
    return str(simplejson.dumps(value, use_decimal=True, ensure_ascii=False, default=str))


@lru_cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("fubble.ui", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(static_url=static_url)
    env.filters.update(when=when, amount=amount, as_json=as_json)
    env.globals.update(period=period)
    return env


def principal_of(request: Request) -> Principal | None:
    found: Principal | None = getattr(request.state, "principal", None)
    return found


def may(request: Request, scope: Scope) -> bool:
    """Whether the signed-in key's scope allows ``scope`` (so the page shows the forms it could use)."""
    principal = principal_of(request)
    return principal is not None and allows(principal.scope, scope)


def render(request: Request, template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    principal = principal_of(request)
    page = (
        _environment()
        .get_template(template)
        .render(
            principal=principal,
            can_write=may(request, Scope.write),
            is_admin=may(request, Scope.admin),
            auth_enabled=request.app.state.auth.enabled,
            flash=flash_of(request),
            path=request.url.path,
            query=dict(request.query_params),
            **context,
        )
    )
    return HTMLResponse(page, status_code=status_code, headers=NO_STORE)
