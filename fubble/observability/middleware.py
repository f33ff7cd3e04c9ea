"""What every HTTP request goes through first: its request id, its latency metric and its access log line.

:class:`RequestObserver` is a plain ASGI middleware placed around the whole app (:meth:`fubble.api.fast_route.
FastAPIWithFastRoutes.wrap`), in front of the fast routes of ``POST /events/`` and the middleware stack, so every
response passes through it: the fast path's, errors, 404s, admission control's 503s. It

* picks the request id (:mod:`fubble.observability.request_id`), makes it the current one while the request runs
  (log records carry it) and adds ``X-Request-ID`` to the response;
* observes ``fubble_http_request_duration_seconds`` by method, route template and status;
* writes the access log line (logger ``fubble.access``, if enabled at INFO): method, path, status, duration,
  request id.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette._utils import get_route_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fubble.api.routing import other_spelling
from fubble.observability import metrics, request_id

UNMATCHED = "unmatched"  # the route label of a request no route matched (a 404), whatever its path

access_log = logging.getLogger("fubble.access")


class RequestObserver:
    """See the module docstring. ``app`` is the app to observe, ``routed`` the FastAPI app whose routes (and fast
    routes) name the route templates."""

    def __init__(self, app: ASGIApp, routed: Any) -> None:
        self.app = app
        self.routed = routed
        self._labels: dict[int, str] = {}  # id(route) -> its label
        self._documented: frozenset[str] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        sent = None
        for name, value in scope["headers"]:
            if name == request_id.HEADER:
                sent = value
                break
        rid = request_id.accepted(sent)
        token = request_id.current.set(rid)
        header = (request_id.HEADER, rid.encode("ascii"))
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except BaseException:
            status = status or 500  # the server answers 500 for an error that escaped before the response
            raise
        finally:
            if status:  # else the client left before any answer (nothing was sent)
                seconds = time.perf_counter() - started
                method = scope["method"]
                metrics.observe_request(method, self._route(scope), status, seconds)
                if access_log.isEnabledFor(logging.INFO):
                    _log_access(scope, method, status, seconds, rid)
            request_id.current.reset(token)

    def _route(self, scope: Scope) -> str:
        """The template of the route that answered (its documented spelling: ``/customers/`` for ``/customers``
        too), the fast route's path, or :data:`UNMATCHED`."""
        route = scope.get("route")
        if route is not None:
            label = self._labels.get(id(route))
            if label is None:
                label = self._labels[id(route)] = self._label(getattr(route, "path_format", None) or route.path)
            return label
        path = get_route_path(scope)
        if scope["method"] == "POST" and path in self.routed.fast_routes:  # answered in front of the routes
            return self._label(path)
        return UNMATCHED

    def _label(self, path: str) -> str:
        """``path`` in the spelling the OpenAPI document uses (routes answer with and without a trailing slash)."""
        if self._documented is None:
            self._documented = frozenset(
                getattr(route, "path_format", "")
                for route in self.routed.routes
                if getattr(route, "include_in_schema", False)
            )
        if path in self._documented:
            return path
        other = other_spelling(path)
        return other if other is not None and other in self._documented else path


def _log_access(scope: Scope, method: str, status: int, seconds: float, rid: str) -> None:
    path = scope.get("raw_path") or scope["path"].encode()
    query = scope.get("query_string")
    target = (path + b"?" + query if query else path).decode("latin-1")
    client = scope.get("client")
    duration_ms = round(seconds * 1000, 3)
    access_log.info(
        "%s %s %d %.1fms",
        method,
        target,
        status,
        duration_ms,
        extra={
            "method": method,
            "path": target,
            "status": status,
            "duration_ms": duration_ms,
            "client": f"{client[0]}:{client[1]}" if client else None,
            "request_id": rid,
        },
    )
