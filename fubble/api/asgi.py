"""ASGI entry point for servers: ``uvicorn --factory fubble.api.asgi:build``."""

from __future__ import annotations

import gc

from fastapi import FastAPI

from fubble.api.app import create_app


def build() -> FastAPI:
    app = create_app()
    # Everything loaded so far (modules, the app, its routes and schemas) lives as long as the process: moved out of
    # the collector's reach, it is not traversed again by every full collection (about 10 us per request saved).
    gc.collect()
    gc.freeze()
    return app
