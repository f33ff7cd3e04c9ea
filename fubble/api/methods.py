"""405 Method Not Allowed, with an ``Allow`` header naming every method the path serves.

Starlette answers a request whose path matches a route but whose method does not with the ``Allow`` of the *first*
route that matched the path: ``OPTIONS /customers/`` got ``Allow: POST`` although ``GET /customers/`` is served too.
:func:`allowed_methods` collects the methods of every route matching the path, so ``Allow`` lists exactly what the
OpenAPI document lists for it. ``HEAD`` is not served (and not listed); ``OPTIONS`` is a 405 like any other method
the path does not serve, unless CORS is configured and the request is a preflight (answered by the CORS middleware
before routing).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.exception_handlers import http_exception_handler
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match

# Every method a route could be declared with.
_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE")


def allowed_methods(routes: list[BaseRoute], scope: dict[str, Any]) -> list[str]:
    """The methods some route serves at ``scope``'s path, sorted: each is asked whether it fully matches the path
    with that method (inside the routers FastAPI includes as routes of their own). As in OpenAPI's
    path matching, a concrete path comes before a templated one: only the routes matching with the fewest path
    parameters count (``/invoices/generate`` is POST's, not ``GET /invoices/{invoice_id}``'s)."""
    served: dict[str, int] = {}
    for method in _METHODS:
        for route in _leaves(routes):
            match, child = route.matches({**scope, "type": "http", "method": method, "path_params": {}})
            if match is Match.FULL:
                templated = len(child.get("path_params", {}))
                served[method] = min(templated, served.get(method, templated))
    fewest = min(served.values(), default=0)
    return [method for method in _METHODS if served.get(method) == fewest]


def _leaves(routes: list[BaseRoute]) -> Iterator[BaseRoute]:
    """The routes themselves, inside the routers FastAPI includes as routes of their own."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _leaves(included.routes)
        else:
            yield route


def owned_by_another_method(app: FastAPI, request: Request) -> list[str] | None:
    """The ``Allow`` of ``request``'s path when a concrete path of other methods comes before the templated route
    that took the request (``GET /invoices/generate`` reached ``GET /invoices/{invoice_id}``): such a request is a
    405, not a 422 for the path parameter. Asked only when a request failed validation, so it costs nothing else."""
    allowed = allowed_methods(app.router.routes, dict(request.scope))
    return allowed if allowed and request.method not in allowed else None


def install(app: FastAPI) -> None:
    """Answer every 405 with the ``Allow`` of :func:`allowed_methods` (other HTTP errors as FastAPI does)."""

    async def handler(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 405:
            allow = ", ".join(allowed_methods(app.router.routes, dict(request.scope)))
            exc = HTTPException(405, exc.detail, headers={**(exc.headers or {}), "Allow": allow})
        return await http_exception_handler(request, exc)

    app.add_exception_handler(HTTPException, handler)
