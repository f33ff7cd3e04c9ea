"""Observability: Prometheus metrics (``GET /-/metrics``), readiness (``GET /ready``), request ids and structured logs.

:func:`install` puts it on an app: the request observer around everything it answers (request ids, latency
metrics, access log lines: :mod:`fubble.observability.middleware`) and the gauges of its database pool.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fubble.api.fast_route import FastAPIWithFastRoutes


def install(app: FastAPIWithFastRoutes) -> None:
    from fubble.observability import metrics, workers
    from fubble.observability.middleware import RequestObserver

    app.wrap(lambda inner: RequestObserver(inner, app))
    database = app.state.db
    metrics.watch_pool(database.engine, max_connections=database.max_connections)
    if metrics.MULTIPROCESS:
        workers.forget_dead_workers()
