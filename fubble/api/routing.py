"""The request pipeline every route goes through.

:class:`FubbleRoute` does this around each endpoint:

1. authenticates the API key and checks its scope against the route's (``x-required-scope`` in the OpenAPI
   operation; by default ``read`` for GET and ``write`` for other methods), see :mod:`fubble.api.auth`;
2. parses the JSON body with exact decimals (:class:`~fubble.api.json.ExactJSONRequest`);
3. runs the endpoint inside one database transaction (the *request boundary*): services never commit; the route
   commits after the endpoint succeeds and before the response is sent, so a 2xx means the change is durable, and
   rolls back on any error, so a 4xx never leaves a partial write. Deadlocks and serialization failures are retried
   with the whole endpoint re-run. The session is opened only once the worker admits the request: a busy worker
   has it wait its turn, or refuses it fast with 503 and ``Retry-After`` (:mod:`fubble.api.admission`);
4. for writes with an ``Idempotency-Key``, replays the stored response, or claims the key before running the
   endpoint and stores the response in that same transaction (:mod:`fubble.api.idempotency`);
5. writes the endpoint's return value (pydantic models, lists, dicts) as exact JSON, keeping decimals' digits.

The transaction part (3) is :func:`in_transaction`, shared with the raw routes of :mod:`fubble.api.fast_route`.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import inspect
import random
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import anyio
from fastapi import APIRouter
from fastapi.routing import APIRoute
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, compile_path

from fubble.api import idempotency
from fubble.api.admission import admitted
from fubble.api.auth import Principal
from fubble.api.json import ExactJSONRequest, ExactJSONResponse
from fubble.api_keys.scopes import PUBLIC, Scope
from fubble.errors import InvalidInput
from fubble.errors_doc import responses as error_responses

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

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


SCOPE_KEY = "x-required-scope"


OWN_TRANSACTIONS = "__fubble_own_transactions__"


def commits_its_own_work(endpoint: F) -> F:
    """Mark a route whose work commits in transactions of its own (a billing run, committed per batch): its request
    session must not hold a transaction (SQLite: the write lock) while the work runs, so its Idempotency-Key is
    checked and recorded in transactions around the work (:func:`fubble.api.idempotency.store_after`)."""
    setattr(endpoint, OWN_TRANSACTIONS, True)
    return endpoint


NO_DATABASE = "__fubble_no_database__"


def needs_no_database(endpoint: F) -> F:
    """Mark a route that never touches the database (``GET /-/metrics``): it runs outside the admission gate and
    without a session, so a saturated worker still answers it (a scrape is most needed when the server is busy)."""
    setattr(endpoint, NO_DATABASE, True)
    return endpoint


class FubbleRoute(APIRoute):
    default_scope: Scope | str | None = None  # set per router by new_router(scope=...)

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        methods = {m.upper() for m in kwargs.get("methods") or ["GET"]}
        extra = dict(kwargs.get("openapi_extra") or {})
        scope = extra.get(SCOPE_KEY) or self.default_scope or (Scope.read if methods <= SAFE_METHODS else Scope.write)
        self.required_scope = str(scope)
        extra[SCOPE_KEY] = self.required_scope
        # Every route can be refused when its worker is busy (503, see fubble.api.admission).
        codes: tuple[int, ...] = (503,)
        if self.required_scope != PUBLIC:
            extra.setdefault("security", [{"bearerAuth": []}])
            # Every route can refuse the key (401, 403) and invalid values (422: parameters, an Idempotency-Key);
            # every write can also meet a reused Idempotency-Key (409) or a body over the limit (413).
            codes += (401, 403, 422) if methods <= SAFE_METHODS else (401, 403, 409, 413, 422)
        kwargs["responses"] = {**error_responses(*sorted(codes)), **(kwargs.get("responses") or {})}
        kwargs["openapi_extra"] = extra
        super().__init__(path, _respond_exactly(endpoint, kwargs.get("status_code")), **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        inner = super().get_route_handler()
        required = self.required_scope
        own = bool(getattr(self.endpoint, OWN_TRANSACTIONS, False))
        no_database = bool(getattr(self.endpoint, NO_DATABASE, False))

        async def handler(request: Request) -> Response:
            principal = await request.app.state.auth.authenticate(request, required)
            reject_nul_characters(request)
            if no_database:
                return await inner(request)
            exact_request = ExactJSONRequest(request.scope, request.receive)
            return await run_in_unit_of_work(exact_request, inner, principal, own_transactions=own)

        return handler


def reject_nul_characters(request: Request) -> None:
    """422 for a NUL character in a path or query parameter, whatever its route: PostgreSQL can neither store nor
    compare text holding one, so it must never reach a query."""
    located = [("path", k, v) for k, v in request.path_params.items()]
    located += [("query", k, v) for k, v in request.query_params.multi_items()]
    errors = [
        {"loc": [where, name], "msg": "must not contain NUL characters", "type": "value_error"}
        for where, name, value in located
        if "\x00" in str(value) or "\x00" in name
    ]
    if errors:
        raise InvalidInput(errors)


async def run_in_unit_of_work(
    request: Request,
    inner: Callable[[Request], Awaitable[Response]],
    principal: Principal | None,
    *,
    own_transactions: bool = False,
) -> Response:
    clock = request.app.state.clock
    write = request.method not in SAFE_METHODS
    key = idempotency.validated_key(request.headers.get(idempotency.HEADER)) if write else None
    fingerprint = ""
    if key is not None:
        fingerprint = idempotency.request_hash(
            request.method, request.url.path, request.url.query, await request.body()
        )
    owner = principal.key_id if principal is not None and principal.key_id is not None else 0

    async def work(session: Session) -> Response:
        request.state.session = session
        record = None
        if key is not None and own_transactions:
            database = request.app.state.db
            replay = await run_in_threadpool(
                idempotency.stored_response_committed, database, owner, key, fingerprint, clock.now()
            )
            if replay is not None:
                return replay
        elif key is not None:
            replay = await run_in_threadpool(idempotency.stored_response, session, owner, key, fingerprint, clock.now())
            if replay is not None:
                return replay
            record = await run_in_threadpool(
                idempotency.claim, session, owner, key, fingerprint, request.method, request.url.path, clock.now()
            )
        response = await inner(request)
        if record is not None:
            await run_in_threadpool(idempotency.store, session, record, response, clock.now())
        elif key is not None:
            await run_in_threadpool(
                idempotency.store_after,
                session,
                owner,
                key,
                fingerprint,
                request.method,
                request.url.path,
                response,
                clock.now(),
            )
        return response

    return await in_transaction(request.app.state, principal, f"{request.method} {request.url.path}", work, write=write)


async def in_transaction(
    state: Any,
    principal: Principal | None,
    request_line: str,
    work: Callable[[Session], Awaitable[T]],
    *,
    write: bool = True,
) -> T:
    """Run ``work`` in one session of ``state.db`` (``state`` is ``app.state``): commit it if ``write`` (before
    returning, so the caller answers only once the change is durable), roll back on any error, re-run it on a
    retryable database error, and always close the session, even when the request is cancelled.

    The session is opened only once the worker's gate admits the request (:mod:`fubble.api.admission`): a busy worker
    makes it wait its turn, or refuses it with 503 before anything was done."""
    async with admitted(state):
        return await _in_session(state, principal, request_line, work, write=write)


async def _in_session(
    state: Any, principal: Principal | None, request_line: str, work: Callable[[Session], Awaitable[T]], *, write: bool
) -> T:
    database = state.db
    clock = state.clock
    attempt = 0
    while True:
        session = database.session(write=write)
        session.info.update(
            actor=principal.name if principal else "anonymous",
            api_key_id=principal.key_id if principal else None,
            request=request_line[:512],
            now=clock.now(),
            settings=state.settings,
        )
        try:
            result = await work(session)
            if write and _has_work(session):  # an untouched session has nothing to commit (no thread hop)
                await run_in_threadpool(session.commit)
            return result
        except Exception as exc:
            await run_in_threadpool(session.rollback)
            if attempt < MAX_RETRIES and (is_retryable(exc) or isinstance(exc, idempotency.KeyInUse)):
                attempt += 1
                await asyncio.sleep(random.uniform(0.005, 0.02) * 2**attempt)
                continue
            raise
        finally:
            # Shielded: a cancelled request (client gone, timeout) must still end its transaction and give the
            # connection back, or it would hold its locks (SQLite: the whole database) for good.
            with anyio.CancelScope(shield=True):
                if _has_work(session) or session.identity_map:
                    await run_in_threadpool(session.close)
                else:
                    session.close()  # no transaction, no objects: nothing to release


def _has_work(session: Session) -> bool:
    """Whether the session began a transaction or holds changes a commit would flush (routes like ``POST /events/``
    hand their writes to a shared transaction and never touch theirs)."""
    return session.in_transaction() or bool(session.new or session.dirty or session.deleted)


class FubbleRouter(APIRouter):
    """A router whose every route answers at both spellings of its path, with and without a trailing slash
    (``/customers/`` and ``/customers``): the form it is declared with is the one in the OpenAPI document, the other
    is a hidden alias of the same operation. Never a redirect: a client that does not follow a 307 (or follows it
    without the body) gets the same answer at either form."""

    def add_api_route(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().add_api_route(path, endpoint, **kwargs)
        other = other_spelling(self.prefix + path)
        if other is not None:
            self.routes.append(_alias(self.routes[-1], other))


def _alias(route: BaseRoute, path: str) -> BaseRoute:
    """The same built route answering at ``path`` too, hidden from the OpenAPI document: a copy that shares its
    parameters, models and handler (building them again costs as much as the route itself, at every start)."""
    alias = copy.copy(route)
    assert isinstance(alias, APIRoute)
    alias.path = path
    alias.path_regex, alias.path_format, alias.param_convertors = compile_path(path)
    alias.include_in_schema = False
    return alias


def other_spelling(path: str) -> str | None:
    """``path`` with its trailing slash removed, or with one added; ``None`` for the root, whose form is ``/``."""
    if path.rstrip("/") == "":
        return None
    return path[:-1] if path.endswith("/") else path + "/"


def new_router(prefix: str = "", tag: str | None = None, *, scope: Scope | str | None = None) -> APIRouter:
    """A router whose routes run through fubble's request pipeline, at both spellings of their paths
    (:class:`FubbleRouter`); ``scope`` overrides the per-method default."""
    route_class = FubbleRoute if scope is None else type("ScopedRoute", (FubbleRoute,), {"default_scope": scope})
    return FubbleRouter(prefix=prefix, tags=[tag] if tag else None, route_class=route_class)
