"""The request pipeline every route goes through.

:class:`FubbleRoute` does three things around each endpoint:

1. parses the JSON body with exact decimals (:class:`~fubble.api.json.ExactJSONRequest`);
2. runs the endpoint inside one database transaction (the *request boundary*): services never commit; the route
   commits after the endpoint succeeds and before the response is sent, so a 2xx means the change is durable, and
   rolls back on any error, so a 4xx never leaves a partial write. Deadlocks and serialization failures are retried
   with the whole endpoint re-run;
3. writes the endpoint's return value (pydantic models, lists, dicts) as exact JSON, keeping decimals' digits.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import random
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from fubble.api.json import ExactJSONRequest, ExactJSONResponse

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_RETRIES = 5
# PostgreSQL SQLSTATEs worth retrying: serialization_failure, deadlock_detected, lock_not_available.
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "55P03"})


def is_retryable(exc: BaseException) -> bool:
    if not isinstance(exc, DBAPIError):
        return False
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate in _RETRYABLE_SQLSTATES:
        return True
    return "database is locked" in str(exc.orig)


def _respond_exactly(endpoint: Callable[..., Any], status_code: int | None) -> Callable[..., Any]:
    status = status_code or 200

    def wrap(result: Any) -> Any:
        if isinstance(result, Response):
            return result
        if result is None and status == 204:
            return Response(status_code=204)
        return ExactJSONResponse(result, status_code=status)

    if inspect.iscoroutinefunction(endpoint):

        @functools.wraps(endpoint)
        async def async_endpoint(*args: Any, **kwargs: Any) -> Any:
            return wrap(await endpoint(*args, **kwargs))

        return async_endpoint

    @functools.wraps(endpoint)
    def sync_endpoint(*args: Any, **kwargs: Any) -> Any:
        return wrap(endpoint(*args, **kwargs))

    return sync_endpoint


class FubbleRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, _respond_exactly(endpoint, kwargs.get("status_code")), **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        inner = super().get_route_handler()

        async def handler(request: Request) -> Response:
            exact_request = ExactJSONRequest(request.scope, request.receive)
            return await run_in_unit_of_work(exact_request, inner)

        return handler


async def run_in_unit_of_work(request: Request, inner: Callable[[Request], Awaitable[Response]]) -> Response:
    database = request.app.state.db
    write = request.method not in SAFE_METHODS
    attempt = 0
    while True:
        session = database.session(write=write)
        request.state.session = session
        try:
            response = await inner(request)
            if write:
                await run_in_threadpool(session.commit)
            return response
        except Exception as exc:
            await run_in_threadpool(session.rollback)
            if attempt < MAX_RETRIES and is_retryable(exc):
                attempt += 1
                await asyncio.sleep(random.uniform(0.005, 0.02) * 2**attempt)
                continue
            raise
        finally:
            await run_in_threadpool(session.close)


def new_router(prefix: str = "", tag: str | None = None) -> APIRouter:
    """A router whose routes run through fubble's request pipeline."""
    return APIRouter(prefix=prefix, tags=[tag] if tag else None, route_class=FubbleRoute)
