"""Raw ASGI routes for hot endpoints, tried before FastAPI's routes, with FastAPI's routes as the fallback.

A :class:`FastRoute` answers one ``POST`` path without FastAPI's dependency solving and validation, but inside the
whole middleware stack (body-size limit, CORS, the error handlers of :mod:`fubble.api.errors`). Its handler returns
the response, or ``None`` whenever it is not certain to answer exactly like the FastAPI route; the request is then
routed again without the fast route, so it reaches the FastAPI route (the *fallback*), with the body already read
replayed through ``receive``: every response the handler does not produce itself, errors included, comes from the one
definition of the endpoint. An error the handler
raises goes to the app's error handlers like any route's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette._utils import get_route_path
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import ASGIApp, Message, Receive, Scope, Send

JSON = b"application/json"


class FastRequest(Request):
    """A request whose body can be read once by the fast handler and replayed to the fallback."""

    def __init__(self, scope: Scope, receive: Receive) -> None:
        super().__init__(scope, receive)
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
            while True:
                message = await self._receive()
                if message["type"] == "http.disconnect":
                    raise ClientDisconnect()
                chunks.append(message.get("body", b""))
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


class FastRoute(BaseRoute):
    """``POST path`` answered by ``handler``; when it returns ``None`` the request is routed again, this route
    declining it, so it reaches the route (or redirect, or 405) the app would have chosen without this one."""

    def __init__(self, path: str, handler: Handler, router: ASGIApp) -> None:
        self.path = path
        self.handler = handler
        self.router = router  # the router this route is one of
        self._declined = f"fubble.fast_route.declined {path}"

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and get_route_path(scope) == self.path
            and self._declined not in scope
        ):
            return Match.FULL, {}
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = FastRequest(scope, receive)
        try:
            response = await self.handler(request)
        except ClientDisconnect:  # gone while sending its body: nothing was done, and there is nobody to answer
            return
        if response is not None:
            await response(scope, receive, send)
            return
        scope[self._declined] = True
        await self.router(scope, request.replaying_receive(), send)
