"""HTTP routes of the tax rates."""

from __future__ import annotations

from fubble.api.routing import new_router

router = new_router(tag="tax rates")
