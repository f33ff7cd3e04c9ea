"""The one handler that turns errors into ``{"detail": ...}`` responses."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import DBAPIError, IntegrityError

from fubble.api import methods
from fubble.api.json import ExactJSONResponse
from fubble.errors import FubbleError, Unavailable

log = logging.getLogger("fubble.api")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(FubbleError)
    async def fubble_error(_request: Request, exc: FubbleError) -> Response:
        return ExactJSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        allow = methods.owned_by_another_method(app, request)
        if allow is not None:
            return ExactJSONResponse(
                {"detail": "Method Not Allowed"}, status_code=405, headers={"Allow": ", ".join(allow)}
            )
        errors = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in exc.errors()
        ]
        return ExactJSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(IntegrityError)
    async def integrity_error(_request: Request, exc: IntegrityError) -> Response:
        log.info("integrity error turned into 409: %s", exc.orig)
        return ExactJSONResponse({"detail": "the change conflicts with existing data"}, status_code=409)

    @app.exception_handler(DBAPIError)
    async def database_error(_request: Request, exc: DBAPIError) -> Response:
        log.exception("database error", exc_info=exc)
        busy = Unavailable("the database is unavailable or busy; retry the request")
        return ExactJSONResponse({"detail": busy.detail}, status_code=busy.status_code, headers=busy.headers)

    @app.exception_handler(Exception)
    async def unexpected_error(_request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", exc_info=exc)
        return ExactJSONResponse({"detail": "internal error"}, status_code=500)

    methods.install(app)  # 405 with the Allow of every route on the path
