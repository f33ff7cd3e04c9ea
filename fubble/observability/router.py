"""``GET /-/metrics`` (Prometheus) and ``GET /ready`` (readiness), beside ``GET /health``: no API key needed."""

from __future__ import annotations

from starlette.responses import Response

from fubble.api.deps import SessionDep
from fubble.api.json import ExactJSONResponse
from fubble.api.routing import needs_no_database, new_router
from fubble.api_keys.scopes import PUBLIC
from fubble.observability import metrics, readiness
from fubble.observability.schemas import NotReady, Ready

router = new_router(tag="health", scope=PUBLIC)

RETRY_AFTER_S = 5


@router.get("/-/metrics", include_in_schema=False)
@needs_no_database  # answered even when every transaction slot is taken
def prometheus_metrics() -> Response:
    """Every metric in Prometheus' text format (see :mod:`fubble.observability.metrics`)."""
    return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)


@router.get(
    "/ready",
    response_model=Ready,
    summary="Readiness: the database answers and its schema is current (no API key needed)",
    responses={
        503: {
            "model": NotReady,
            "description": "Not ready (`status` is `not_ready`, `reason` says why), or the server is busy (`detail` "
            "alone): retry after `Retry-After` seconds",
            "headers": {
                "Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}}
            },
        }
    },
)
def ready(session: SessionDep) -> Ready | Response:
    """200 when this server can serve: its database answers and is migrated to the revision this version of fubble
    needs. Otherwise 503 with the reason: `database_unreachable`, `not_migrated`, `migrations_pending` (run `fubble db
    upgrade`) or `unknown_revision` (a newer fubble migrated the database). `GET /health` checks only that the
    process and its database answer."""
    result = readiness.check(session)
    if isinstance(result, NotReady):
        return ExactJSONResponse(result.model_dump(), status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)})
    return result
