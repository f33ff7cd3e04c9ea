"""Authentication in the request pipeline: ``Authorization: Bearer <key>``, checked against hashed keys.

Verified keys are cached for a few seconds per process (revoking through the API clears the local cache at once;
other worker processes notice within ``CACHE_SECONDS``). ``last_used_at`` is written at most once a minute per key.
With authentication disabled (``fubble serve --no-auth``), only requests that arrive on a loopback address are served.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from fubble.api_keys import repository as key_repository
from fubble.api_keys import service as key_service
from fubble.api_keys.scopes import PUBLIC, Scope, allows
from fubble.clock import Clock
from fubble.db.session import Database
from fubble.errors import Forbidden, Unauthorized

log = logging.getLogger("fubble.api")

CACHE_SECONDS = 5
TOUCH_SECONDS = 60
_NS = 1_000_000_000  # the caches below count time in integer nanoseconds (time.monotonic_ns)


@dataclass(frozen=True)
class Principal:
    key_id: int | None
    name: str
    scope: Scope


NO_AUTH_PRINCIPAL = Principal(key_id=None, name="no-auth (loopback)", scope=Scope.admin)


def is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost" or host == "testclient":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Authenticator:
    def __init__(self, database: Database, clock: Clock, *, enabled: bool) -> None:
        self.database = database
        self.clock = clock
        self.enabled = enabled
        self._cache: dict[str, tuple[Principal, int]] = {}  # key digest -> (principal, valid until)
        self._touched: dict[int, int] = {}  # key id -> when last_used_at was last written

    async def authenticate(self, request: Request, required: Scope | str) -> Principal | None:
        """The API's way: the key in ``Authorization: Bearer <key>``."""
        return await self.authenticate_key(request, required, _bearer(request.headers.get("authorization")))

    async def authenticate_key(
        self, request: Request, required: Scope | str, presented: str | None
    ) -> Principal | None:
        """The same checks for a key the caller took from elsewhere (the dashboard's session cookie, see
        :mod:`fubble.ui.auth`): 401 without a key or for an unknown or revoked one, 403 for a scope that does not
        allow ``required``; with authentication disabled, loopback requests only and no key needed."""
        if required == PUBLIC:
            return None
        if not self.enabled:
            server = request.scope.get("server")
            client = request.scope.get("client")
            if not (is_loopback(server[0] if server else None) and is_loopback(client[0] if client else None)):
                raise Forbidden("authentication is disabled (--no-auth), so only loopback requests are served")
            return NO_AUTH_PRINCIPAL
        principal = await self.principal(presented)
        if not allows(principal.scope, Scope(required)):
            raise Forbidden(f"this API key has scope {principal.scope.value!r}; this route needs {required!r}")
        return principal

    async def principal(self, presented: str | None) -> Principal:
        """Who the key is (401 if missing, unknown or revoked), whatever its scope."""
        if presented is None:
            raise Unauthorized("an API key is required: send 'Authorization: Bearer <key>'")
        if not presented:
            raise Unauthorized("use 'Authorization: Bearer <key>'")
        digest = key_service.hash_key(presented)
        cached = self._cache.get(digest)
        now = time.monotonic_ns()
        if cached is not None and cached[1] > now:
            principal = cached[0]
        else:
            principal = await run_in_threadpool(self._verify, presented)
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (principal, now + CACHE_SECONDS * _NS)
        touch_ns = TOUCH_SECONDS * _NS
        if principal.key_id is not None and now - self._touched.get(principal.key_id, -touch_ns) >= touch_ns:
            self._touched[principal.key_id] = now
            await run_in_threadpool(self._touch, principal.key_id)
        return principal

    def _verify(self, presented: str) -> Principal:
        with self.database.session(write=False) as session:
            row = key_service.verify(session, presented)
            if row is None:
                raise Unauthorized("unknown or revoked API key")
            return Principal(key_id=row.id, name=row.name, scope=Scope(row.scope))

    def _touch(self, key_id: int) -> None:
        """Record the use; best effort: a busy database must not fail the request itself."""
        try:
            with self.database.transaction() as session:
                key_repository.touch(session, key_id, self.clock.now())
        except DBAPIError:
            log.warning("could not record the use of API key %s; will retry on a later request", key_id)
            self._touched.pop(key_id, None)

    def forget_when_committed(self, session: Session, key_id: int) -> None:
        """After a revocation: forget the cached key now and again once ``session`` commits (a request verifying the
        key in between still saw it active and may have cached it)."""
        self.forget(key_id)
        event.listen(session, "after_commit", lambda _session: self.forget(key_id), once=True)

    def forget(self, key_id: int) -> None:
        """Drop a key from the cache (after revocation)."""
        self._cache = {k: v for k, v in self._cache.items() if v[0].key_id != key_id}


def _bearer(header: str | None) -> str | None:
    """The key of an ``Authorization: Bearer <key>`` header: None without a header, "" for a malformed one."""
    if not header:
        return None
    scheme, _, presented = header.partition(" ")
    presented = presented.strip()
    return presented if scheme.lower() == "bearer" else ""
