"""Raw ASGI handlers for hot endpoints, in front of the middleware stack, with FastAPI's routes as the fallback.

:class:`FastAPIWithFastRoutes` is the app: before its middleware stack, it offers a plain request for a registered
``POST`` path to that path's handler, which answers it without FastAPI's dependency solving and validation. A plain
request is one the middleware would pass through untouched: an exact path, a ``Content-Length`` within the body-size
limit (so the 413 of :class:`~fubble.api.limits.BodySizeLimit` cannot apply) and no ``Origin`` header (so CORS has
nothing to add). The handler returns the response, or ``None`` whenever it is not certain to answer exactly like the
FastAPI route; the request then goes through the whole app (middleware and all) to the FastAPI route, the
*fallback*, with the body already read replayed through ``receive``: every response the handler does not produce
itself comes from the one definition of the endpoint. An error the handler raises is rendered by the app's own error
handlers (:mod:`fubble.api.errors`), as the middleware would have rendered it. Skipping the middleware saves about a
sixth of what a single ``POST /events/`` costs the server. What it skips besides: FastAPI's request telemetry
(OpenTelemetry spans) for the requests a handler answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI
from starlette._utils import get_route_path
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fubble.api.limits import too_large
from fubble.api.routing import other_spelling

JSON = b"application/json"


class FastRequest(Request):
    """A request whose body can be read once by the fast handler and replayed to the fallback."""

    def __init__(self, scope: Scope, receive: Receive, max_body_bytes: int) -> None:
        super().__init__(scope, receive)
        self.max_body_bytes = max_body_bytes
        self.raw_body: bytes | None = None
        self._raw_headers: dict[bytes, bytes] | None = None

    def header(self, name: bytes) -> bytes | None:
        """A header's raw value, its first one if repeated, as ``request.headers`` reads it (``name`` in lower case:
        ASGI servers lower-case header names)."""
        if self._raw_headers is None:
            self._raw_headers = dict(reversed(self.scope["headers"]))
        return self._raw_headers.get(name)

    async def read_body(self) -> bytes:
        if self.raw_body is None:
            chunks = []
            received = 0
            while True:
                message = await self._receive()
                if message["type"] == "http.disconnect":
                    raise ClientDisconnect()
                chunk = message.get("body", b"")
                received += len(chunk)
                if received > self.max_body_bytes:  # more than its Content-Length said: a server would not pass it
                    raise too_large(self.max_body_bytes)
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
            self.raw_body = b"".join(chunks)
        return self.raw_body

    def replaying_receive(self) -> Receive:
        """``receive`` for the fallback: the body read so far (if any), then the connection's own messages."""
        body = self.raw_body
        if body is None:
            return self._receive
        pending = [body]
        receive = self._receive

        async def replay() -> Message:
            if pending:
                return {"type": "http.request", "body": pending.pop(), "more_body": False}
            return await receive()

        return replay


Handler = Callable[[FastRequest], Awaitable[Response | None]]


class FastAPIWithFastRoutes(FastAPI):
    """A FastAPI app that offers plain requests for the paths of :meth:`add_fast_route` to their handlers first."""

    def __init__(self, *args: Any, max_body_bytes: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_body_bytes = max_body_bytes
        self.fast_routes: dict[str, Handler] = {}
        self._outermost: ASGIApp = self._dispatch

    def wrap(self, middleware: Callable[[ASGIApp], ASGIApp]) -> None:
        """Put ``middleware`` (given the app it wraps, returning the wrapper) around everything this app answers:
        the fast routes too, unlike ``add_middleware`` (:mod:`fubble.observability.middleware`)."""
        self._outermost = middleware(self._outermost)

    def add_fast_route(self, path: str, handler: Handler) -> None:
        """Answer plain ``POST path`` requests with ``handler`` (see the module docstring), at both spellings of the
        path, with and without a trailing slash, like every route (:class:`~fubble.api.routing.FubbleRouter`)."""
        self.fast_routes[path] = handler
        other = other_spelling(path)
        if other is not None:
            self.fast_routes[other] = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._outermost(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].endswith("\n"):
            # Starlette anchors route patterns with "$", which also matches before a final newline: GET
            # /customers/%0A reached the list of customers. No route's path ends in a newline.
            await JSONResponse({"detail": "Not Found"}, status_code=404)(scope, receive, send)
            return
        handler = self._fast_handler(scope) if scope["type"] == "http" and scope["method"] == "POST" else None
        if handler is None:
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self
        request = FastRequest(scope, receive, self.max_body_bytes)
        try:
            response = await handler(request)
        except ClientDisconnect:  # gone while sending its body: nothing was done, and there is nobody to answer
            return
        except Exception as exc:
            response = await self._error_response(request, exc)
        if response is None:
            await super().__call__(scope, request.replaying_receive(), send)
            return
        await response(scope, receive, send)

    def _fast_handler(self, scope: Scope) -> Handler | None:
        handler = self.fast_routes.get(get_route_path(scope))
        if handler is None:
            return None
        length = None
        for name, value in scope["headers"]:
            if name == b"content-length" and length is None:
                length = value
            elif name in (b"origin", b"transfer-encoding"):
                return None
        if length is None or not length.isdigit() or int(length) > self.max_body_bytes:
            return None
        return handler

    async def _error_response(self, request: Request, exc: Exception) -> Response:
        """The response the app's error handlers give for ``exc`` (there is one for every ``Exception``)."""
        for kind in type(exc).__mro__:
            handler = self.exception_handlers.get(kind)
            if handler is not None:  # the app's handlers are all async (fubble.api.errors)
                response = handler(request, exc)
                return response if isinstance(response, Response) else await response
        raise exc
