"""ASGI entry point for servers: ``uvicorn --factory fubble.api.asgi:build``."""

from __future__ import annotations

from fastapi import FastAPI

from fubble.api.app import create_app


def build() -> FastAPI:
    return create_app()
