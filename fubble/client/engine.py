"""``fubble.Engine``: the API's operations in-process, for scripts, notebooks and tests; no server, no socket.

It has the client's namespaces and answers (``engine.customers.create(...)`` is a
:class:`~fubble.customers.schemas.CustomerOut`), because it *is* the client's code over another transport: each call
goes, as an HTTP request in memory, to the same app ``fubble serve`` runs (:func:`fubble.api.app.create_app`), so it
runs the same validation, services, transaction per call, idempotency and error mapping; there is no second
implementation to drift.

* The database (``sqlite:///billing.db`` or ``postgresql://...``) is created or migrated to the current schema on
  first use, like ``fubble db upgrade``.
* The engine is trusted: it runs the app with authentication off, the way ``fubble serve --no-auth`` serves a
  loopback client; it creates no API key (a key made per engine would pile up in the database, since a key's secret
  cannot be read back, and would stop ``fubble serve`` from printing its first admin key there). The audit log
  names the actor ``no-auth (loopback)``.
* ``clock``: "now" for everything (e.g. a :class:`fubble.clock.FrozenClock` to rehearse a month in a notebook).
* Settings come from ``settings`` or, like the server's, from the ``FUBBLE_`` environment; the URL given wins.
* No billing scheduler runs: bill with ``engine.billing.run(...)``.
* ``close()`` (or ``with Engine(...) as engine:``) ends the app and releases the database; an engine dropped
  without it is closed when collected or at exit.
"""

from __future__ import annotations

import functools
import weakref
from types import TracebackType

import httpx
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from fubble.client._inprocess import InProcessTransport
from fubble.client._transport import DEFAULT_MAX_RETRIES, SyncRequester, default_headers
from fubble.client.client import SyncNamespaces
from fubble.clock import Clock
from fubble.config import Settings


class Engine(SyncNamespaces):
    """The API in-process: ``Engine("sqlite:///billing.db")``, then ``engine.customers.create(...)`` etc. (see
    :mod:`fubble.client.engine`)."""

    def __init__(
        self,
        database_url: str | None = None,
        *,
        clock: Clock | None = None,
        settings: Settings | None = None,
        migrate: bool = True,
        max_retries: int = DEFAULT_MAX_RETRIES,
    ) -> None:
        base = settings or Settings()
        self.settings = base.model_copy(
            update={"database_url": database_url or base.database_url, "auth_enabled": False}
        )
        self.clock = clock
        # The transport builds the app on first use; it must not hold the engine (which is closed when collected).
        transport = InProcessTransport(functools.partial(_build_app, self.settings, clock, migrate))
        self.http = httpx.Client(transport=transport, base_url="http://127.0.0.1", headers=default_headers(None))
        self._finalizer = weakref.finalize(self, self.http.close)
        super().__init__(SyncRequester(self.http, max_retries=max_retries))

    @property
    def database_url(self) -> str:
        return self.settings.database_url

    def close(self) -> None:
        """End the in-process app and release its database connections (idempotent)."""
        self._finalizer()

    def __enter__(self) -> Engine:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Engine({make_url(self.settings.database_url).render_as_string(hide_password=True)!r})"


def _build_app(settings: Settings, clock: Clock | None, migrate: bool) -> FastAPI:
    from fubble.api.app import create_app
    from fubble.db.migrate import upgrade

    if migrate:
        upgrade(settings.database_url)
    return create_app(settings, clock=clock)
